//! The record `bioshadock registry-gc` leaves of its last run, for the admin storage page:
//! `data_dir/registry/last-gc.json`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The spawned registry's directory under `data_dir`: its configuration, pid file and images.
pub const REGISTRY_DIR: &str = "registry";
/// The record's file, under [`REGISTRY_DIR`].
pub const LAST_GC_FILE: &str = "last-gc.json";

/// How the last garbage collection went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastGc {
    pub finished_at: DateTime<Utc>,
    /// The registry's storage on disk before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub ok: bool,
}

/// Where the record of `data_dir`'s spawned registry is kept.
pub fn record_path(data_dir: &Path) -> PathBuf {
    data_dir.join(REGISTRY_DIR).join(LAST_GC_FILE)
}

/// The record of `data_dir`'s registry, if there is a readable one (at most 4 KiB: it is small).
pub fn read_last_gc(data_dir: &Path) -> Option<LastGc> {
    let path = record_path(data_dir);
    let path = path.as_path();
    let metadata = std::fs::metadata(path).ok()?;
    if metadata.len() > 4096 {
        return None;
    }
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_read_back_and_junk_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = record_path(dir.path());
        assert_eq!(read_last_gc(dir.path()), None);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let record = LastGc {
            finished_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            bytes_before: 10,
            bytes_after: 4,
            ok: true,
        };
        std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
        assert_eq!(read_last_gc(dir.path()), Some(record));
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(read_last_gc(dir.path()), None);
        std::fs::write(&path, vec![b' '; 5000]).unwrap();
        assert_eq!(read_last_gc(dir.path()), None);
    }
}
