//! Web sessions on SQLite: a `tower_sessions` store on the catalogue's pool.
//!
//! Records are JSON. Expiry is kept in unix seconds beside the record, so a load skips
//! expired rows without decoding them and a sweep deletes them through an index.

use async_trait::async_trait;
use bioshadock_core::PortResult;
use sqlx::SqlitePool;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::map_err;

/// The session store of the embedded mode.
#[derive(Debug, Clone)]
pub struct SqliteSessionStore {
    pool: SqlitePool,
}

impl SqliteSessionStore {
    /// A store on a pool from [`super::open`] (migrations already run).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Deletes the sessions that expired, and says how many. Call it now and then: loads
    /// already ignore expired rows, this only reclaims their space.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn delete_expired(&self) -> PortResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expiry_date <= ?1")
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    /// Inserts `record` unless its id exists; says whether it did.
    async fn insert_new(&self, record: &Record) -> session_store::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(record.id.to_string())
        .bind(encode(record)?)
        .bind(record.expiry_date.unix_timestamp())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl SessionStore for SqliteSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits, so a collision is all but impossible; if one happens, the
        // existing session must survive, so draw another id rather than overwrite.
        while !self.insert_new(record).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, \
               expiry_date = excluded.expiry_date",
        )
        .bind(record.id.to_string())
        .bind(encode(record)?)
        .bind(record.expiry_date.unix_timestamp())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT data FROM sessions WHERE id = ?1 AND expiry_date > ?2")
                .bind(id.to_string())
                .bind(now())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        data.map(|data| {
            serde_json::from_slice(&data)
                .map_err(|e| session_store::Error::Decode(format!("session record: {e}")))
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = ?1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    serde_json::to_vec(record)
        .map_err(|e| session_store::Error::Encode(format!("session record: {e}")))
}

/// The session layer only logs store errors; keep the port's wording (no SQL, no data).
fn backend(err: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(map_err(err).to_string())
}
