//! Push triggers and their decision log on MongoDB.
//!
//! - `triggers`: `{_id, container, created_at: millis, doc: JSON of the trigger}`;
//! - `trigger_decisions`: `{_id: ObjectId (growing), container, at: millis, doc}`, indexed on
//!   `container` and `at` (single fields, as the stand-in of docs/testing.md needs).

use async_trait::async_trait;
use bioshadock_core::PortResult;
use bioshadock_core::ports::triggers::{MAX_DECISIONS_PER_READ, TriggerStore};
use bioshadock_core::triggers::{Decision, Trigger};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::{Collection, Database, IndexModel};

use super::{from_doc_field, json, map_err};

pub struct MongoTriggers {
    triggers: Collection<Document>,
    decisions: Collection<Document>,
}

fn from_doc<T: serde::de::DeserializeOwned>(d: &Document) -> PortResult<T> {
    from_doc_field(d, "trigger record")
}

impl MongoTriggers {
    pub fn new(db: Database) -> Self {
        Self {
            triggers: db.collection("triggers"),
            decisions: db.collection("trigger_decisions"),
        }
    }

    /// The indexes the trigger lookups and the decision log use.
    pub async fn ensure_indexes(&self) -> PortResult<()> {
        self.triggers
            .create_index(IndexModel::builder().keys(doc! { "container": 1 }).build())
            .await
            .map_err(map_err)?;
        let indexes = ["container", "at"]
            .into_iter()
            .map(|field| IndexModel::builder().keys(doc! { field: 1 }).build());
        self.decisions
            .create_indexes(indexes)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl TriggerStore for MongoTriggers {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create_trigger(&self, trigger: &Trigger) -> PortResult<()> {
        let document = doc! {
            "_id": &trigger.id,
            "container": &trigger.container,
            "created_at": trigger.created_at.timestamp_millis(),
            "doc": json(trigger)?,
        };
        self.triggers.insert_one(document).await.map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn triggers_of(&self, container: &str) -> PortResult<Vec<Trigger>> {
        let found: Vec<Document> = self
            .triggers
            .find(doc! { "container": container })
            .sort(doc! { "created_at": 1, "_id": 1 })
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(from_doc).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete_trigger(&self, id: &str) -> PortResult<()> {
        super::delete_by_id(&self.triggers, id).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete_triggers_of(&self, container: &str) -> PortResult<()> {
        self.triggers
            .delete_many(doc! { "container": container })
            .await
            .map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn record_decision(&self, decision: &Decision) -> PortResult<()> {
        let document = doc! {
            "container": &decision.container,
            "at": decision.at.timestamp_millis(),
            "doc": json(decision)?,
        };
        self.decisions.insert_one(document).await.map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn decisions(&self, container: &str, limit: usize) -> PortResult<Vec<Decision>> {
        let limit = i64::try_from(limit.min(MAX_DECISIONS_PER_READ)).unwrap_or(1);
        // ObjectIds grow with insertion (per process; decisions of one container made a
        // moment apart by two processes may swap, which the log can bear).
        let found: Vec<Document> = self
            .decisions
            .find(doc! { "container": container })
            .sort(doc! { "at": -1, "_id": -1 })
            .limit(limit)
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(from_doc).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn prune_decisions(&self, cutoff: DateTime<Utc>) -> PortResult<u64> {
        let done = self
            .decisions
            .delete_many(doc! { "at": { "$lt": cutoff.timestamp_millis() } })
            .await
            .map_err(map_err)?;
        Ok(done.deleted_count)
    }
}
