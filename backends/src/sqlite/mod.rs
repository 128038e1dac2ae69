//! The embedded SQLite backend: one database file holds the catalogue store (containers and
//! accounts), the job queue and the web sessions.
//!
//! SQL is checked at run time (`query`/`query_as`), not by the `query!` macros, so building the
//! crate needs no database. Times are stored as unix milliseconds, JSON values as text.

mod accounts;
pub mod builds;
mod events;
mod orgs;
pub mod queue;
mod robots;
mod rules;
pub mod sessions;
pub mod store;
mod triggers;
mod webhooks;

use std::path::Path;
use std::time::Duration;

use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};
use sqlx::error::ErrorKind;
use sqlx::sqlite::SqliteQueryResult;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub use builds::SqliteBuildStore;
pub use queue::SqliteQueue;
pub use sessions::SqliteSessionStore;
pub use store::SqliteStore;

/// SQLite has one writer at a time; a few readers beside it are all a small pool needs.
const MAX_CONNECTIONS: u32 = 8;
/// How long a writer waits for another one before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) the database at `path` and brings its schema up to date.
pub async fn open(path: &Path) -> PortResult<SqlitePool> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            PortError::Unavailable(format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        // WAL lets readers (the portal) run while a writer (a seed, a build) commits. NORMAL
        // sync survives a process crash; a power cut may lose the last commits, never the file.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        // REGEXP, with the `regex` crate: lists under access rules filter by their names.
        .with_regexp()
        // 16 MiB of page cache per connection (SQLite's default is 2 MiB): bulk writes touch
        // index pages all over the file, and the default cache thrashes on them.
        .pragma("cache_size", "-16384");
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(map_err)?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|e| PortError::Backend(format!("migrating {}: {e}", path.display()).into()))?;
    Ok(pool)
}

/// Starts a write transaction. IMMEDIATE takes the write lock up front, so a concurrent writer
/// waits (busy timeout) instead of failing when a transaction would upgrade from reading.
pub(crate) async fn begin_write(pool: &SqlitePool) -> PortResult<Transaction<'static, Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)
}

/// `NotFound` when a statement that targets one row by id touched none.
pub(crate) fn found(done: SqliteQueryResult) -> PortResult<()> {
    if done.rows_affected() == 0 {
        Err(PortError::NotFound)
    } else {
        Ok(())
    }
}

/// Turns a sqlx error into the port's terms; the one place that knows sqlx's error kinds.
pub(crate) fn map_err(err: sqlx::Error) -> PortError {
    match err {
        sqlx::Error::RowNotFound => PortError::NotFound,
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            PortError::Conflict(db.message().to_owned())
        }
        // SQLITE_BUSY / SQLITE_LOCKED (and their extended codes): another writer held the
        // database past the busy timeout; trying again later may work.
        sqlx::Error::Database(db) if is_busy(db.code().as_deref()) => {
            PortError::Unavailable(db.message().to_owned())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_) => PortError::Unavailable(err.to_string()),
        other => PortError::backend(other),
    }
}

fn is_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// A stored time (unix milliseconds) back as a date; an impossible value is corrupt data.
pub(crate) fn from_millis(ms: i64) -> PortResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(format!("time {ms} out of range")))
}

/// An error for rows that cannot be read back into the model.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> PortError {
    PortError::Backend(format!("corrupt row: {what}").into())
}

/// A value as the JSON text a row keeps.
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> PortResult<String> {
    serde_json::to_string(value).map_err(PortError::backend)
}

/// Counters are `u64` in the model and `INTEGER` (i64) in SQLite; values past i64 are capped.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
