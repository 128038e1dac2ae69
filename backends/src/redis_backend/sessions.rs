//! Web sessions on Redis: a `tower_sessions` store for distributed mode, so every `web`
//! process sees the same sessions.
//!
//! Key layout: one string per session, `P session:{id}` (`P` the configured prefix), holding
//! the record as JSON (the encoding of the SQLite store). The record's expiry is the key's
//! expiry (`SET ... PXAT`), so Redis drops expired sessions by itself and a load never sees
//! one: no sweep is needed.

use std::fmt;

use redis::aio::ConnectionManager;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::map_err;

/// The session store of distributed mode.
#[derive(Clone)]
pub struct RedisSessionStore {
    conn: ConnectionManager,
    prefix: String,
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    /// A store on `conn` (see [`super::connect`]) whose keys start with `prefix`
    /// ([`super::DEFAULT_PREFIX`] for an installation).
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
        }
    }

    fn key(&self, id: &Id) -> String {
        format!("{}session:{id}", self.prefix)
    }

    /// Writes `record` with its expiry; with `only_new`, only if its id is not taken (`NX`).
    /// Says whether it wrote. A record already expired is written and expires at once, so it
    /// replaces (deletes) a live one under `save` and is never loaded.
    async fn set(&self, record: &Record, only_new: bool) -> session_store::Result<bool> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(&record.id))
            .arg(encode(record)?)
            .arg("PXAT")
            .arg(expiry_ms(record));
        if only_new {
            cmd.arg("NX");
        }
        // `SET` answers OK when it wrote and nil when `NX` refused.
        let reply: Option<String> = cmd
            .query_async(&mut self.conn.clone())
            .await
            .map_err(backend)?;
        Ok(reply.is_some())
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits, so a collision is all but impossible; if one happens, the
        // existing session must survive, so draw another id rather than overwrite.
        while !self.set(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.set(record, false).await.map(drop)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.key(id))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(backend)?;
        data.map(|data| {
            serde_json::from_slice(&data)
                .map_err(|e| session_store::Error::Decode(format!("session record: {e}")))
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        redis::cmd("DEL")
            .arg(self.key(id))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(backend)
    }
}

/// The record's expiry in unix milliseconds, for `PXAT` (which takes positive times only:
/// anything before 1970 is simply long past).
fn expiry_ms(record: &Record) -> i64 {
    let ms = record.expiry_date.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(ms).unwrap_or(i64::MAX).max(1)
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    serde_json::to_vec(record)
        .map_err(|e| session_store::Error::Encode(format!("session record: {e}")))
}

/// The session layer only logs store errors; keep the port's wording.
fn backend(err: redis::RedisError) -> session_store::Error {
    session_store::Error::Backend(map_err(err).to_string())
}
