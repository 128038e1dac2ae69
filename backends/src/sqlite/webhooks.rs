//! Outgoing webhooks on SQLite: `webhooks`, `webhook_deliveries` (the outbox) and
//! `webhook_cursor`, each record as JSON beside the columns queries use.

use async_trait::async_trait;
use bioshadock_core::ports::webhooks::{MAX_DELIVERIES_PER_READ, WebhookStore};
use bioshadock_core::webhooks::{Delivery, DeliveryState, Webhook};
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};

use super::{SqliteStore, corrupt, found, json, map_err, to_i64};

const CURSOR: &str = "dispatcher";

fn hook_of(id: &str, doc: &str) -> PortResult<Webhook> {
    serde_json::from_str(doc).map_err(|e| corrupt(format!("webhook {id}: {e}")))
}

fn delivery_of((id, doc): (String, String)) -> PortResult<Delivery> {
    serde_json::from_str(&doc).map_err(|e| corrupt(format!("delivery {id}: {e}")))
}

/// The `pending` column: 1 or NULL (so the due index holds only pending deliveries).
fn pending(delivery: &Delivery) -> Option<i64> {
    (delivery.state == DeliveryState::Pending).then_some(1)
}

fn limited(limit: usize) -> i64 {
    to_i64(limit.min(MAX_DELIVERIES_PER_READ) as u64)
}

#[async_trait]
impl WebhookStore for SqliteStore {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create_hook(&self, hook: &Webhook) -> PortResult<()> {
        sqlx::query("INSERT INTO webhooks (id, created_at, doc) VALUES (?1, ?2, ?3)")
            .bind(&hook.id)
            .bind(hook.created_at.timestamp_millis())
            .bind(json(hook)?)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn hooks(&self) -> PortResult<Vec<Webhook>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, doc FROM webhooks ORDER BY created_at, id")
                .fetch_all(self.pool())
                .await
                .map_err(map_err)?;
        rows.iter().map(|(id, doc)| hook_of(id, doc)).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete_hook(&self, id: &str) -> PortResult<()> {
        // Its deliveries go by the cascade.
        let done = sqlx::query("DELETE FROM webhooks WHERE id = ?1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn add_delivery(&self, delivery: &Delivery) -> PortResult<bool> {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (id, hook, created_at, pending, next_at, doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&delivery.id)
        .bind(&delivery.hook)
        .bind(delivery.created_at.timestamp_millis())
        .bind(pending(delivery))
        .bind(delivery.next_attempt_at.timestamp_millis())
        .bind(json(delivery)?)
        .execute(self.pool())
        .await
        .map_err(|e| match map_err(e) {
            // The hook is gone (a foreign key): nothing to deliver to.
            PortError::Backend(b) if b.to_string().contains("FOREIGN KEY") => PortError::NotFound,
            other => other,
        })?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn update_delivery(&self, delivery: &Delivery) -> PortResult<()> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET pending = ?2, next_at = ?3, doc = ?4 WHERE id = ?1",
        )
        .bind(&delivery.id)
        .bind(pending(delivery))
        .bind(delivery.next_attempt_at.timestamp_millis())
        .bind(json(delivery)?)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delivery(&self, id: &str) -> PortResult<Delivery> {
        let row: (String, String) =
            sqlx::query_as("SELECT id, doc FROM webhook_deliveries WHERE id = ?1")
                .bind(id)
                .fetch_one(self.pool())
                .await
                .map_err(map_err)?;
        delivery_of(row)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn deliveries(&self, hook: &str, limit: usize) -> PortResult<Vec<Delivery>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, doc FROM webhook_deliveries WHERE hook = ?1 \
             ORDER BY created_at DESC, id DESC LIMIT ?2",
        )
        .bind(hook)
        .bind(limited(limit))
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.into_iter().map(delivery_of).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> PortResult<Vec<Delivery>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, doc FROM webhook_deliveries WHERE pending = 1 AND next_at <= ?1 \
             ORDER BY next_at, created_at, id LIMIT ?2",
        )
        .bind(now.timestamp_millis())
        .bind(limited(limit))
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.into_iter().map(delivery_of).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn prune_deliveries(&self, cutoff: DateTime<Utc>) -> PortResult<u64> {
        let done =
            sqlx::query("DELETE FROM webhook_deliveries WHERE pending IS NULL AND created_at < ?1")
                .bind(cutoff.timestamp_millis())
                .execute(self.pool())
                .await
                .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn cursor(&self) -> PortResult<u64> {
        let value: Option<i64> =
            sqlx::query_scalar("SELECT value FROM webhook_cursor WHERE name = ?1")
                .bind(CURSOR)
                .fetch_optional(self.pool())
                .await
                .map_err(map_err)?;
        Ok(value.map_or(0, |v| u64::try_from(v).unwrap_or(0)))
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn set_cursor(&self, event_id: u64) -> PortResult<()> {
        sqlx::query(
            "INSERT INTO webhook_cursor (name, value) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
        )
        .bind(CURSOR)
        .bind(to_i64(event_id))
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
