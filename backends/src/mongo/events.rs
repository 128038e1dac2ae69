//! The event stream on MongoDB.
//!
//! - `events`: `{_id: id (Int64), at: millis, kind, target, org, actor, doc: JSON of the
//!   event}`, indexed on `at`, `target`, `actor` and `org` (single fields: the stand-in of
//!   docs/testing.md cannot insert into a collection with a compound index over `_id`);
//! - `counters`: `{_id: "events", seq}`, the last id handed out, taken with one `$inc` (the
//!   server applies them one at a time, so concurrent appenders get distinct, growing ids, and
//!   an id is never handed out again after a prune); and `{_id: "events_cursor:CONSUMER",
//!   value}`, where each consumer of the stream stands.

use async_trait::async_trait;
use bioshadock_core::events::{Event, EventFilter, Recorded};
use bioshadock_core::ports::events::{EventStore, MAX_EVENTS_PER_READ};
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database, IndexModel};

use super::map_err;

const EVENTS: &str = "events";
const COUNTERS: &str = "counters";

pub struct MongoEvents {
    events: Collection<Document>,
    counters: Collection<Document>,
}

impl MongoEvents {
    pub fn new(db: Database) -> Self {
        Self {
            events: db.collection(EVENTS),
            counters: db.collection(COUNTERS),
        }
    }

    /// The indexes the audit filters and pruning use.
    pub async fn ensure_indexes(&self) -> PortResult<()> {
        let indexes = ["at", "target", "actor", "org"]
            .into_iter()
            .map(|field| IndexModel::builder().keys(doc! { field: 1 }).build());
        self.events.create_indexes(indexes).await.map_err(map_err)?;
        Ok(())
    }

    async fn next_id(&self) -> PortResult<i64> {
        let counter = self
            .counters
            .find_one_and_update(doc! { "_id": EVENTS }, doc! { "$inc": { "seq": 1_i64 } })
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_err)?
            .ok_or_else(|| PortError::Backend("the events counter was not returned".into()))?;
        match counter.get("seq") {
            Some(Bson::Int64(n)) => Ok(*n),
            Some(Bson::Int32(n)) => Ok(i64::from(*n)),
            other => Err(PortError::Backend(
                format!("corrupt events counter: {other:?}").into(),
            )),
        }
    }

    async fn find(
        &self,
        filter: Document,
        newest_first: bool,
        limit: usize,
    ) -> PortResult<Vec<Recorded>> {
        let order = if newest_first { -1 } else { 1 };
        let limit = i64::try_from(limit.min(MAX_EVENTS_PER_READ)).unwrap_or(1);
        let found: Vec<Document> = self
            .events
            .find(filter)
            .sort(doc! { "_id": order })
            .limit(limit)
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(recorded).collect()
    }
}

fn recorded(d: &Document) -> PortResult<Recorded> {
    let corrupt = |what: &str| PortError::Backend(format!("corrupt event: {what}").into());
    // Small numbers may come back as Int32 (the stand-in of docs/testing.md stores JSON).
    let integer = |field: &str| match d.get(field) {
        Some(Bson::Int64(n)) => Some(*n),
        Some(Bson::Int32(n)) => Some(i64::from(*n)),
        _ => None,
    };
    let id = integer("_id")
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| corrupt("id"))?;
    let at = integer("at")
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| corrupt("at"))?;
    let event: Event = serde_json::from_str(d.get_str("doc").map_err(|_| corrupt("doc"))?)
        .map_err(|e| corrupt(&e.to_string()))?;
    Ok(Recorded { id, at, event })
}

#[async_trait]
impl EventStore for MongoEvents {
    #[tracing::instrument(skip_all, fields(kind = event.kind.as_str()), err(level = "debug"))]
    async fn append(&self, event: &Event, at: DateTime<Utc>) -> PortResult<u64> {
        let id = self.next_id().await?;
        let json = serde_json::to_string(event).map_err(PortError::backend)?;
        let document = doc! {
            "_id": id,
            "at": at.timestamp_millis(),
            "kind": event.kind.as_str(),
            "target": &event.target,
            "org": event.org.as_deref(),
            "actor": &event.actor.name,
            "doc": json,
        };
        self.events.insert_one(document).await.map_err(map_err)?;
        u64::try_from(id).map_err(|_| PortError::Backend("negative event id".into()))
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn read_after(&self, after: u64, limit: usize) -> PortResult<Vec<Recorded>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        self.find(doc! { "_id": { "$gt": after } }, false, limit)
            .await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn query(
        &self,
        filter: &EventFilter,
        before: Option<u64>,
        limit: usize,
    ) -> PortResult<Vec<Recorded>> {
        let mut conditions = Vec::new();
        if let Some(actor) = &filter.actor {
            conditions.push(doc! { "actor": actor });
        }
        if let Some(target) = &filter.target {
            // Targets under `t` are `t:…`, between `t:` and `t;`: compared, never matched as a
            // pattern.
            conditions.push(doc! { "$or": [
                { "target": target },
                { "target": { "$gte": format!("{target}:"), "$lt": format!("{target};") } },
            ] });
        }
        if let Some(kind) = filter.kind {
            conditions.push(doc! { "kind": kind.as_str() });
        }
        if let Some(org) = &filter.org {
            conditions.push(doc! { "org": org });
        }
        if let Some(since) = filter.since {
            conditions.push(doc! { "at": { "$gte": since.timestamp_millis() } });
        }
        if let Some(until) = filter.until {
            conditions.push(doc! { "at": { "$lt": until.timestamp_millis() } });
        }
        if let Some(before) = before {
            let before = i64::try_from(before).unwrap_or(i64::MAX);
            conditions.push(doc! { "_id": { "$lt": before } });
        }
        let filter = if conditions.is_empty() {
            doc! {}
        } else {
            doc! { "$and": conditions }
        };
        self.find(filter, true, limit).await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn prune(&self, cutoff: DateTime<Utc>) -> PortResult<u64> {
        let done = self
            .events
            .delete_many(doc! { "at": { "$lt": cutoff.timestamp_millis() } })
            .await
            .map_err(map_err)?;
        Ok(done.deleted_count)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn cursor(&self, consumer: &str) -> PortResult<Option<u64>> {
        super::cursor_value(&self.counters, &cursor_id(consumer)).await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn set_cursor(&self, consumer: &str, event_id: u64) -> PortResult<()> {
        super::raise_cursor(&self.counters, &cursor_id(consumer), event_id).await
    }
}

/// A consumer's cursor in `counters` (beside the events' own `events` counter).
fn cursor_id(consumer: &str) -> String {
    format!("events_cursor:{consumer}")
}
