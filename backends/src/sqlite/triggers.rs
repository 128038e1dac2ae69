//! Push triggers and their decision log on SQLite (`triggers`, `trigger_decisions`), each
//! record as JSON beside the columns queries use.

use async_trait::async_trait;
use bioshadock_core::PortResult;
use bioshadock_core::ports::triggers::{MAX_DECISIONS_PER_READ, TriggerStore};
use bioshadock_core::triggers::{Decision, Trigger};
use chrono::{DateTime, Utc};

use super::{SqliteStore, corrupt, found, json, map_err, to_i64};

fn read<T: serde::de::DeserializeOwned>(what: &str, doc: &str) -> PortResult<T> {
    serde_json::from_str(doc).map_err(|e| corrupt(format!("{what}: {e}")))
}

#[async_trait]
impl TriggerStore for SqliteStore {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create_trigger(&self, trigger: &Trigger) -> PortResult<()> {
        sqlx::query(
            "INSERT INTO triggers (id, container, created_at, doc) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(&trigger.id)
        .bind(&trigger.container)
        .bind(trigger.created_at.timestamp_millis())
        .bind(json(trigger)?)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn triggers_of(&self, container: &str) -> PortResult<Vec<Trigger>> {
        let docs: Vec<String> = sqlx::query_scalar(
            "SELECT doc FROM triggers WHERE container = ?1 ORDER BY created_at, id",
        )
        .bind(container)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        docs.iter().map(|d| read("trigger", d)).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete_trigger(&self, id: &str) -> PortResult<()> {
        let done = sqlx::query("DELETE FROM triggers WHERE id = ?1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete_triggers_of(&self, container: &str) -> PortResult<()> {
        sqlx::query("DELETE FROM triggers WHERE container = ?1")
            .bind(container)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn record_decision(&self, decision: &Decision) -> PortResult<()> {
        sqlx::query("INSERT INTO trigger_decisions (container, at, doc) VALUES (?1, ?2, ?3)")
            .bind(&decision.container)
            .bind(decision.at.timestamp_millis())
            .bind(json(decision)?)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn decisions(&self, container: &str, limit: usize) -> PortResult<Vec<Decision>> {
        let docs: Vec<String> = sqlx::query_scalar(
            "SELECT doc FROM trigger_decisions WHERE container = ?1 ORDER BY id DESC LIMIT ?2",
        )
        .bind(container)
        .bind(to_i64(limit.min(MAX_DECISIONS_PER_READ) as u64))
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        docs.iter().map(|d| read("decision", d)).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn prune_decisions(&self, cutoff: DateTime<Utc>) -> PortResult<u64> {
        let done = sqlx::query("DELETE FROM trigger_decisions WHERE at < ?1")
            .bind(cutoff.timestamp_millis())
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
