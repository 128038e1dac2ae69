//! `data_dir` holds the session table, API key hashes and the token signing key: only the
//! account that runs the portal may read it. The directory is made (or tightened to) 0700 and
//! what is in it to 0600 (directories 0700); the database file is created 0600 before SQLite
//! opens it, so its `-wal` and `-shm` files, which SQLite gives the database's mode, are too.
//! Files that other code creates later inside (search index segments) are out of reach of
//! other accounts through the directory's own mode.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use bioshadock_core::{PortError, PortResult};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
/// Bounds the walk: a data_dir holds a database, a key pair and an index of a few hundred files.
const MAX_ENTRIES: usize = 100_000;

fn unavailable(what: &str, path: &Path, e: std::io::Error) -> PortError {
    PortError::Unavailable(format!("cannot {what} {}: {e}", path.display()))
}

/// Creates `dir` (and its parents) 0700, or tightens an existing one and everything in it,
/// saying in the log what it changed.
pub fn make_private(dir: &Path) -> PortResult<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| unavailable("create", dir, e))?;
    // Only what an older version left world-readable at the top is worth a warning; files
    // deeper down (search index segments, written with the default umask inside a private
    // directory) are tightened silently.
    let mut tightened = 0usize;
    let mut pending = vec![(dir.to_path_buf(), 0usize)];
    let mut seen = 0usize;
    while let Some((path, depth)) = pending.pop() {
        seen += 1;
        if seen > MAX_ENTRIES {
            break;
        }
        // symlink_metadata: a link inside is not followed (nor its target's mode changed).
        // A running portal may remove what the listing just saw (the search index's temporary
        // files, while `bioshadock user` runs beside it): gone is nothing to tighten.
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && depth > 0 => continue,
            Err(e) => return Err(unavailable("inspect", &path, e)),
        };
        let wanted = if meta.is_dir() {
            DIR_MODE
        } else if meta.is_file() {
            FILE_MODE
        } else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & !wanted != 0 {
            match std::fs::set_permissions(&path, Permissions::from_mode(mode & wanted)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && depth > 0 => continue,
                Err(e) => return Err(unavailable("change the mode of", &path, e)),
            }
            if depth <= 1 {
                tightened += 1;
            }
        }
        if meta.is_dir() {
            let entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && depth > 0 => continue,
                Err(e) => return Err(unavailable("list", &path, e)),
            };
            for entry in entries.flatten() {
                pending.push((entry.path(), depth + 1));
            }
        }
    }
    if tightened > 0 {
        tracing::warn!(
            data_dir = %dir.display(),
            tightened,
            "data_dir was readable by other accounts: its directories are now 0700 and its files 0600"
        );
    }
    Ok(())
}

/// Creates `path` empty with mode 0600 if it does not exist (for SQLite to open).
pub fn create_private_file(path: &Path) -> PortResult<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(unavailable("create", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_private_and_tightens_what_is_there() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("a/b/data");
        make_private(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        create_private_file(&fresh.join("db")).unwrap();
        assert_eq!(mode(&fresh.join("db")), 0o600);

        let old = root.path().join("old");
        std::fs::create_dir_all(old.join("index")).unwrap();
        std::fs::write(old.join("db"), b"x").unwrap();
        std::fs::write(old.join("index/seg"), b"x").unwrap();
        for (path, m) in [(&old, 0o755), (&old.join("index"), 0o755)] {
            std::fs::set_permissions(path, Permissions::from_mode(m)).unwrap();
        }
        std::fs::set_permissions(old.join("db"), Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(old.join("index/seg"), Permissions::from_mode(0o666)).unwrap();
        make_private(&old).unwrap();
        assert_eq!(mode(&old), 0o700);
        assert_eq!(mode(&old.join("index")), 0o700);
        assert_eq!(mode(&old.join("db")), 0o600);
        assert_eq!(mode(&old.join("index/seg")), 0o600);
    }
}
