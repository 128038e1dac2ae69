//! Reading a small file of an untrusted checkout (`Dockerfile`, `.dockerignore`).
//!
//! A plain `read_to_string` follows symlinks: a committed `.dockerignore -> /dev/zero` would
//! read until memory runs out, and `-> /etc/shadow` would read the builder's disk. These files
//! are read only when they resolve to a regular file inside the checkout, and only up to a cap.

use std::io::{self, Read};
use std::path::Path;

/// Largest `Dockerfile` or `.dockerignore` read (Docker's own are a few KiB).
pub const MAX_SMALL_FILE: u64 = 1 << 20;

/// Why a small file of the checkout cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SmallFileError {
    #[error("`{0}` is a link to outside the repository")]
    Outside(String),
    #[error("`{0}` is not a regular file")]
    NotAFile(String),
    #[error("`{name}` is larger than {} KiB", max / 1024)]
    TooLarge { name: String, max: u64 },
    #[error("cannot read `{name}`: {source}")]
    Io {
        name: String,
        #[source]
        source: io::Error,
    },
}

/// The bytes of `root/relative`, or `None` when it does not exist. It must resolve (symlinks
/// followed) to a regular file inside `root`, at most `max` bytes long.
pub fn read_regular_file(
    root: &Path,
    relative: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, SmallFileError> {
    let name = || relative.to_owned();
    let io_error = |source| SmallFileError::Io {
        name: name(),
        source,
    };
    let path = root.join(relative);
    if let Err(e) = path.symlink_metadata() {
        return match e.kind() {
            io::ErrorKind::NotFound => Ok(None),
            _ => Err(io_error(e)),
        };
    }
    let root = root.canonicalize().map_err(io_error)?;
    let target = match path.canonicalize() {
        Ok(target) => target,
        // A dangling link: the engine would not find the file either.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(e)),
    };
    if !target.starts_with(&root) {
        return Err(SmallFileError::Outside(name()));
    }
    // Checked before opening: opening a FIFO would block.
    let meta = std::fs::metadata(&target).map_err(io_error)?;
    if !meta.is_file() {
        return Err(SmallFileError::NotAFile(name()));
    }
    if meta.len() > max {
        return Err(SmallFileError::TooLarge { name: name(), max });
    }
    let file = std::fs::File::open(&target).map_err(io_error)?;
    // Read at most one byte past the cap: the file may grow between the check and the read.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > max {
        return Err(SmallFileError::TooLarge { name: name(), max });
    }
    Ok(Some(bytes))
}
