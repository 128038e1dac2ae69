//! Builds the configured backends. The one place that turns configuration into adapters.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::Arc;

use bioshadock_core::config::Config;
use bioshadock_core::ports::queue::JobQueue;
use bioshadock_core::ports::search::SearchIndex;
use bioshadock_core::ports::store::ContainerStore;
use bioshadock_core::{PortError, PortResult};
use sqlx::SqlitePool;

use crate::sqlite::{self, SqliteQueue, SqliteStore};
use crate::tantivy_search::TantivySearch;

/// The three ports, ready to use.
#[derive(Clone)]
pub struct Backends {
    pub store: Arc<dyn ContainerStore>,
    pub search: Arc<dyn SearchIndex>,
    pub queue: Arc<dyn JobQueue>,
    /// The embedded database behind store and queue, kept to close it cleanly on shutdown.
    sqlite: SqlitePool,
    /// Held for the life of the process: the embedded backends belong to one process.
    _lock: Arc<File>,
}

impl Backends {
    /// Flushes and closes what needs closing; call before the process exits.
    pub async fn close(&self) {
        self.sqlite.close().await;
    }
}

/// Opens the backends named in `config` (only the embedded ones exist so far; the
/// configuration refuses the others before we get here).
pub async fn open_backends(config: &Config) -> PortResult<Backends> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        PortError::Unavailable(format!(
            "cannot create data_dir {}: {e}",
            config.data_dir.display()
        ))
    })?;
    let lock = lock_data_dir(&config.data_dir)?;
    let pool = sqlite::open(&config.sqlite_path()).await?;
    let search = TantivySearch::open(&config.index_dir())?;
    Ok(Backends {
        store: Arc::new(SqliteStore::new(pool.clone())),
        search: Arc::new(search),
        queue: Arc::new(SqliteQueue::new(pool.clone())),
        sqlite: pool,
        _lock: Arc::new(lock),
    })
}

/// Takes an exclusive lock on `data_dir/.lock`. The embedded index and queue must not be shared
/// by two processes; the OS releases the lock when the process ends, however it ends.
fn lock_data_dir(data_dir: &Path) -> PortResult<File> {
    let path = data_dir.join(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| PortError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(PortError::Conflict(format!(
            "{} is in use by another bioshadock process",
            data_dir.display()
        ))),
        Err(TryLockError::Error(e)) => Err(PortError::Unavailable(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}
