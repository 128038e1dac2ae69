//! Outgoing webhooks on MongoDB.
//!
//! - `webhooks`: `{_id, created_at: millis, doc: JSON of the hook}`;
//! - `webhook_deliveries`: `{_id, hook, created_at, pending: bool, next_at: millis, doc}`,
//!   indexed on `hook` and `next_at` (single fields, as the stand-in of docs/testing.md needs);
//! - `counters`: `{_id: "webhook_cursor", value}`, the dispatcher's place in the event stream.

use async_trait::async_trait;
use bioshadock_core::ports::webhooks::{MAX_DELIVERIES_PER_READ, WebhookStore};
use bioshadock_core::webhooks::{Delivery, DeliveryState, Webhook};
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::{Collection, Database, IndexModel};

use super::{from_doc_field, json, map_err};

const CURSOR: &str = "webhook_cursor";

pub struct MongoWebhooks {
    hooks: Collection<Document>,
    deliveries: Collection<Document>,
    counters: Collection<Document>,
}

fn from_doc<T: serde::de::DeserializeOwned>(d: &Document) -> PortResult<T> {
    from_doc_field(d, "webhook record")
}

fn limited(limit: usize) -> i64 {
    i64::try_from(limit.min(MAX_DELIVERIES_PER_READ)).unwrap_or(1)
}

fn delivery_doc(delivery: &Delivery) -> PortResult<Document> {
    Ok(doc! {
        "_id": &delivery.id,
        "hook": &delivery.hook,
        "created_at": delivery.created_at.timestamp_millis(),
        "pending": delivery.state == DeliveryState::Pending,
        "next_at": delivery.next_attempt_at.timestamp_millis(),
        "doc": json(delivery)?,
    })
}

impl MongoWebhooks {
    pub fn new(db: Database) -> Self {
        Self {
            hooks: db.collection("webhooks"),
            deliveries: db.collection("webhook_deliveries"),
            counters: db.collection("counters"),
        }
    }

    /// The indexes the delivery log and the sender use.
    pub async fn ensure_indexes(&self) -> PortResult<()> {
        let indexes = ["hook", "next_at", "created_at"]
            .into_iter()
            .map(|field| IndexModel::builder().keys(doc! { field: 1 }).build());
        self.deliveries
            .create_indexes(indexes)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn find_deliveries(
        &self,
        filter: Document,
        sort: Document,
        limit: usize,
    ) -> PortResult<Vec<Delivery>> {
        let found: Vec<Document> = self
            .deliveries
            .find(filter)
            .sort(sort)
            .limit(limited(limit))
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(from_doc).collect()
    }
}

#[async_trait]
impl WebhookStore for MongoWebhooks {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create_hook(&self, hook: &Webhook) -> PortResult<()> {
        let document = doc! {
            "_id": &hook.id,
            "created_at": hook.created_at.timestamp_millis(),
            "doc": json(hook)?,
        };
        self.hooks.insert_one(document).await.map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn hooks(&self) -> PortResult<Vec<Webhook>> {
        let found: Vec<Document> = self
            .hooks
            .find(doc! {})
            .sort(doc! { "created_at": 1, "_id": 1 })
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(from_doc).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete_hook(&self, id: &str) -> PortResult<()> {
        super::delete_by_id(&self.hooks, id).await?;
        self.deliveries
            .delete_many(doc! { "hook": id })
            .await
            .map_err(map_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn add_delivery(&self, delivery: &Delivery) -> PortResult<bool> {
        // No foreign keys here: a delivery for a deleted hook is refused by looking first.
        let hook = self
            .hooks
            .find_one(doc! { "_id": &delivery.hook })
            .await
            .map_err(map_err)?;
        if hook.is_none() {
            return Err(PortError::NotFound);
        }
        match self.deliveries.insert_one(delivery_doc(delivery)?).await {
            Ok(_) => Ok(true),
            Err(e) => match map_err(e) {
                PortError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn update_delivery(&self, delivery: &Delivery) -> PortResult<()> {
        let done = self
            .deliveries
            .replace_one(doc! { "_id": &delivery.id }, delivery_doc(delivery)?)
            .await
            .map_err(map_err)?;
        if done.matched_count == 0 {
            return Err(PortError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delivery(&self, id: &str) -> PortResult<Delivery> {
        let found = self
            .deliveries
            .find_one(doc! { "_id": id })
            .await
            .map_err(map_err)?
            .ok_or(PortError::NotFound)?;
        from_doc(&found)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn deliveries(&self, hook: &str, limit: usize) -> PortResult<Vec<Delivery>> {
        self.find_deliveries(
            doc! { "hook": hook },
            doc! { "created_at": -1, "_id": -1 },
            limit,
        )
        .await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> PortResult<Vec<Delivery>> {
        self.find_deliveries(
            doc! { "pending": true, "next_at": { "$lte": now.timestamp_millis() } },
            doc! { "next_at": 1, "created_at": 1, "_id": 1 },
            limit,
        )
        .await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn prune_deliveries(&self, cutoff: DateTime<Utc>) -> PortResult<u64> {
        let done = self
            .deliveries
            .delete_many(doc! {
                "pending": false,
                "created_at": { "$lt": cutoff.timestamp_millis() },
            })
            .await
            .map_err(map_err)?;
        Ok(done.deleted_count)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn cursor(&self) -> PortResult<u64> {
        Ok(super::cursor_value(&self.counters, CURSOR)
            .await?
            .unwrap_or(0))
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn set_cursor(&self, event_id: u64) -> PortResult<()> {
        super::raise_cursor(&self.counters, CURSOR, event_id).await
    }
}
