//! Builds the configured backends. The one place that turns configuration into adapters.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::Arc;

use bioshadock_core::config::Config;
use bioshadock_core::ports::accounts::{KeyStore, UserStore};
use bioshadock_core::ports::builds::BuildStore;
use bioshadock_core::ports::queue::JobQueue;
use bioshadock_core::ports::search::SearchIndex;
use bioshadock_core::ports::store::ContainerStore;
use bioshadock_core::{PortError, PortResult};
use sqlx::SqlitePool;
use tower_sessions::SessionStore;

use crate::sqlite::{self, SqliteBuildStore, SqliteQueue, SqliteSessionStore, SqliteStore};
use crate::tantivy_search::TantivySearch;

/// The three ports (the store with its accounts half) and the web session store, ready to use.
#[derive(Clone)]
pub struct Backends {
    pub store: Arc<dyn ContainerStore>,
    pub users: Arc<dyn UserStore>,
    pub keys: Arc<dyn KeyStore>,
    pub search: Arc<dyn SearchIndex>,
    pub queue: Arc<dyn JobQueue>,
    /// Build records and logs, on the same database as the queue whose job ids they share.
    pub builds: Arc<dyn BuildStore>,
    pub sessions: Arc<dyn SessionStore>,
    /// The same store as `sessions`, kept concrete for the expiry sweep the trait lacks.
    session_store: SqliteSessionStore,
    /// The embedded database behind store, queue and sessions, kept to close it on shutdown.
    sqlite: SqlitePool,
    /// Held for the life of the process: the embedded backends belong to one process.
    _lock: Arc<File>,
}

impl Backends {
    /// Deletes expired web sessions and says how many (a periodic chore of the portal).
    pub async fn delete_expired_sessions(&self) -> PortResult<u64> {
        self.session_store.delete_expired().await
    }

    /// Flushes and closes what needs closing; call before the process exits.
    pub async fn close(&self) {
        self.sqlite.close().await;
    }
}

/// The accounts half of the store alone, for the `user` commands.
#[derive(Clone)]
pub struct Accounts {
    pub users: Arc<dyn UserStore>,
    pub keys: Arc<dyn KeyStore>,
    pool: SqlitePool,
}

impl Accounts {
    /// Closes the database; call before the process exits.
    pub async fn close(&self) {
        self.pool.close().await;
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
    let store = Arc::new(SqliteStore::new(pool.clone()));
    let sessions = SqliteSessionStore::new(pool.clone());
    Ok(Backends {
        store: store.clone(),
        users: store.clone(),
        keys: store,
        search: Arc::new(search),
        queue: Arc::new(SqliteQueue::new(pool.clone())),
        builds: Arc::new(SqliteBuildStore::new(pool.clone())),
        sessions: Arc::new(sessions.clone()),
        session_store: sessions,
        sqlite: pool,
        _lock: Arc::new(lock),
    })
}

/// Opens only the accounts (users and API keys) named in `config`, for the `user` commands.
///
/// Unlike [`open_backends`] this takes no `data_dir` lock and leaves the search index and the
/// queue alone, so it works while `bioshadock serve` runs on the same `data_dir`: SQLite in
/// WAL mode with a busy timeout lets two processes share the database file safely, and a
/// user or a key written here is seen by the server's next query.
pub async fn open_accounts(config: &Config) -> PortResult<Accounts> {
    let pool = sqlite::open(&config.sqlite_path()).await?;
    let store = Arc::new(SqliteStore::new(pool.clone()));
    Ok(Accounts {
        users: store.clone(),
        keys: store,
        pool,
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
