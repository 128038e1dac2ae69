//! Build contexts as the uncompressed tar archives the Docker Engine's build API takes.
//!
//! The context comes from a user's repository, so it is read without trusting it: symlinks are
//! stored as symlinks and never followed (a `data -> /` link must not send the builder's disk to
//! the engine), special files are skipped, and the size is capped while reading, before a huge
//! repository fills the builder's memory.

mod dockerignore;
mod regular_file;

use std::io;
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header, HeaderMode};

pub use dockerignore::{DockerIgnore, IgnoreError, MAX_PATTERNS};
pub use regular_file::{MAX_SMALL_FILE, SmallFileError, read_regular_file};

/// Why a build context could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The files to send exceed the configured limit.
    #[error(
        "the build context is larger than the limit of {} MiB: add a .dockerignore or build from a smaller sub-directory",
        max_bytes / (1024 * 1024)
    )]
    TooLarge { max_bytes: u64 },
    /// The `.dockerignore` cannot be read (a link out, too large) or used (a bad pattern).
    #[error("{0}")]
    Ignore(String),
    /// `cancelled()` turned true while the archive was made.
    #[error("making the build context was cancelled")]
    Cancelled,
    /// A file of the context could not be read (the path is relative to the context).
    #[error("cannot read `{path}` in the build context: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The directory `dir` as a tar archive, paths relative to `dir`, at most `max_bytes` long.
///
/// - Symlinks are stored as links (with their target as written), never followed.
/// - Regular files, directories and symlinks only; sockets, FIFOs and devices are skipped.
/// - `.git` directories (at any depth) are skipped: the engine does not need the history.
/// - Metadata is made deterministic (fixed owner and time, modes 644/755), so the engine's
///   layer cache hits when the content did not change, whatever the checkout time.
/// - `.dockerignore` at the root is honoured as described in [`DockerIgnore`]; `Dockerfile` and
///   `.dockerignore` themselves are always sent, as the docker CLI does.
///
/// `cancelled` is polled for every directory and file; the walk stops with
/// [`ContextError::Cancelled`] once it returns true.
pub fn tar_directory(
    dir: &Path,
    max_bytes: u64,
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<u8>, ContextError> {
    let ignore = read_dockerignore(dir)?;
    let mut tar = Builder::new(Vec::new());
    tar.mode(HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    let mut pending: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let full = dir.join(&relative);
        let io_error = |source| ContextError::Io {
            path: display(&relative),
            source,
        };
        let mut children = std::fs::read_dir(&full)
            .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
            .map_err(io_error)?;
        children.sort_by_key(|entry| entry.file_name());
        // Reversed onto the stack so that the archive lists names in order (depth first).
        let mut subdirs = Vec::new();
        for entry in children {
            if cancelled() {
                return Err(ContextError::Cancelled);
            }
            let name = entry.file_name();
            if name == ".git" {
                continue;
            }
            let path = relative.join(&name);
            let kept_anyway = relative.as_os_str().is_empty()
                && (name == "Dockerfile" || name == ".dockerignore");
            let excluded = !kept_anyway && ignore.excludes(&display(&path));
            let meta = entry.metadata().map_err(|source| ContextError::Io {
                path: display(&path),
                source,
            })?;
            let kind = meta.file_type();
            if kind.is_dir() {
                // An excluded directory is still walked when a `!` line may bring back
                // something inside it.
                if !excluded {
                    append(&mut tar, dir, &path, 0, max_bytes)?;
                }
                if !excluded || ignore.has_exceptions() {
                    subdirs.push(path);
                }
            } else if (kind.is_file() || kind.is_symlink()) && !excluded {
                let size = if kind.is_file() { meta.len() } else { 0 };
                append(&mut tar, dir, &path, size, max_bytes)?;
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    let bytes = tar.into_inner().map_err(|source| ContextError::Io {
        path: ".".into(),
        source,
    })?;
    if bytes.len() as u64 > max_bytes {
        return Err(ContextError::TooLarge { max_bytes });
    }
    Ok(bytes)
}

/// The context's `.dockerignore`, read as a regular file inside `dir` of at most
/// [`MAX_SMALL_FILE`] bytes; none when there is no such file.
fn read_dockerignore(dir: &Path) -> Result<DockerIgnore, ContextError> {
    let unusable = |why: String| ContextError::Ignore(format!("{why}: fix the .dockerignore"));
    let Some(bytes) = read_regular_file(dir, ".dockerignore", MAX_SMALL_FILE)
        .map_err(|e| unusable(e.to_string()))?
    else {
        return Ok(DockerIgnore::default());
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| unusable("the .dockerignore is not UTF-8 text".to_owned()))?;
    DockerIgnore::parse(&text).map_err(|e| unusable(e.to_string()))
}

/// A context holding only a `Dockerfile` with `content`, for containers defined by a Dockerfile
/// written in the portal rather than a git repository.
pub fn tar_dockerfile(content: &str) -> Result<Vec<u8>, ContextError> {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    let mut tar = Builder::new(Vec::new());
    tar.append_data(&mut header, "Dockerfile", content.as_bytes())
        .and_then(|()| tar.into_inner())
        .map_err(|source| ContextError::Io {
            path: "Dockerfile".into(),
            source,
        })
}

/// Appends one entry after checking that it keeps the archive within `max_bytes` (header and
/// padding included), so an oversized file is refused before it is read.
fn append(
    tar: &mut Builder<Vec<u8>>,
    dir: &Path,
    relative: &Path,
    size: u64,
    max_bytes: u64,
) -> Result<(), ContextError> {
    let after = tar.get_ref().len() as u64 + 512 + size.div_ceil(512) * 512;
    if after > max_bytes {
        return Err(ContextError::TooLarge { max_bytes });
    }
    tar.append_path_with_name(dir.join(relative), relative)
        .map_err(|source| ContextError::Io {
            path: display(relative),
            source,
        })
}

fn display(relative: &Path) -> String {
    if relative.as_os_str().is_empty() {
        ".".into()
    } else {
        relative.to_string_lossy().into_owned()
    }
}
