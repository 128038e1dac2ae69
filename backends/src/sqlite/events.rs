//! The event stream on SQLite: one append-only table (`events`), the event as JSON beside the
//! columns the audit filters use.

use async_trait::async_trait;
use bioshadock_core::events::{Event, EventFilter, Recorded};
use bioshadock_core::ports::events::{EventStore, MAX_EVENTS_PER_READ};
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};

use super::{SqliteStore, corrupt, from_millis, map_err, to_i64};

/// Targets under `t` are `t:…`: between `t:` and `t;` (`;` follows `:` in every collation
/// SQLite uses for TEXT), compared exactly, so no character of a target acts as a wildcard.
const QUERY: &str = "SELECT id, at, doc FROM events \
     WHERE (?1 IS NULL OR actor = ?1) \
       AND (?2 IS NULL OR target = ?2 OR (target >= ?2 || ':' AND target < ?2 || ';')) \
       AND (?3 IS NULL OR kind = ?3) \
       AND (?4 IS NULL OR org = ?4) \
       AND (?5 IS NULL OR at >= ?5) \
       AND (?6 IS NULL OR at < ?6) \
       AND (?7 IS NULL OR id < ?7) \
     ORDER BY id DESC LIMIT ?8";

type Row = (i64, i64, String);

fn recorded((id, at, doc): Row) -> PortResult<Recorded> {
    let event: Event =
        serde_json::from_str(&doc).map_err(|e| corrupt(format!("event {id}: {e}")))?;
    Ok(Recorded {
        id: u64::try_from(id).map_err(|_| corrupt(format!("event id {id}")))?,
        at: from_millis(at)?,
        event,
    })
}

fn limited(limit: usize) -> i64 {
    to_i64(limit.min(MAX_EVENTS_PER_READ) as u64)
}

#[async_trait]
impl EventStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(kind = event.kind.as_str()), err(level = "debug"))]
    async fn append(&self, event: &Event, at: DateTime<Utc>) -> PortResult<u64> {
        let doc = serde_json::to_string(event).map_err(PortError::backend)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (at, kind, target, org, actor, doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )
        .bind(at.timestamp_millis())
        .bind(event.kind.as_str())
        .bind(&event.target)
        .bind(event.org.as_deref())
        .bind(&event.actor.name)
        .bind(doc)
        .fetch_one(self.pool())
        .await
        .map_err(map_err)?;
        u64::try_from(id).map_err(|_| corrupt(format!("event id {id}")))
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn read_after(&self, after: u64, limit: usize) -> PortResult<Vec<Recorded>> {
        let rows: Vec<Row> =
            sqlx::query_as("SELECT id, at, doc FROM events WHERE id > ?1 ORDER BY id LIMIT ?2")
                .bind(to_i64(after))
                .bind(limited(limit))
                .fetch_all(self.pool())
                .await
                .map_err(map_err)?;
        rows.into_iter().map(recorded).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn query(
        &self,
        filter: &EventFilter,
        before: Option<u64>,
        limit: usize,
    ) -> PortResult<Vec<Recorded>> {
        let rows: Vec<Row> = sqlx::query_as(QUERY)
            .bind(filter.actor.as_deref())
            .bind(filter.target.as_deref())
            .bind(filter.kind.map(|k| k.as_str()))
            .bind(filter.org.as_deref())
            .bind(filter.since.map(|s| s.timestamp_millis()))
            .bind(filter.until.map(|u| u.timestamp_millis()))
            .bind(before.map(to_i64))
            .bind(limited(limit))
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.into_iter().map(recorded).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn prune(&self, cutoff: DateTime<Utc>) -> PortResult<u64> {
        let done = sqlx::query("DELETE FROM events WHERE at < ?1")
            .bind(cutoff.timestamp_millis())
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn cursor(&self, consumer: &str) -> PortResult<Option<u64>> {
        let value: Option<i64> =
            sqlx::query_scalar("SELECT value FROM event_cursors WHERE consumer = ?1")
                .bind(consumer)
                .fetch_optional(self.pool())
                .await
                .map_err(map_err)?;
        value
            .map(|v| u64::try_from(v).map_err(|_| corrupt(format!("cursor {v}"))))
            .transpose()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn set_cursor(&self, consumer: &str, event_id: u64) -> PortResult<()> {
        sqlx::query(
            "INSERT INTO event_cursors (consumer, value) VALUES (?1, ?2) \
             ON CONFLICT (consumer) DO UPDATE SET value = max(value, excluded.value)",
        )
        .bind(consumer)
        .bind(to_i64(event_id))
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
