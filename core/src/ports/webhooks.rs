//! Outgoing webhooks: the hooks, their deliveries (a durable outbox: a delivery is written
//! before it is sent and kept with its tries), and the dispatcher's place in the event stream.
//! The web's dispatcher and sender use it; one process at a time holds their lease (the
//! coordination lock), so the store needs no claims of its own.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::PortResult;
use crate::webhooks::{Delivery, Webhook};

/// Deliveries read at once, at most.
pub const MAX_DELIVERIES_PER_READ: usize = 200;

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new hook (`Conflict` if its id exists).
    async fn create_hook(&self, hook: &Webhook) -> PortResult<()>;

    /// Every hook, oldest first (an installation has tens, not thousands).
    async fn hooks(&self) -> PortResult<Vec<Webhook>>;

    /// Deletes a hook and its deliveries (`NotFound` if absent).
    async fn delete_hook(&self, id: &str) -> PortResult<()>;

    /// Stores `delivery` unless one with its id exists; true if it was stored. Making the
    /// delivery of an event twice (after a crash) thus makes it once.
    async fn add_delivery(&self, delivery: &Delivery) -> PortResult<bool>;

    /// Replaces a stored delivery (after a try); `NotFound` if it is gone (its hook deleted).
    async fn update_delivery(&self, delivery: &Delivery) -> PortResult<()>;

    /// One delivery (`NotFound` if absent).
    async fn delivery(&self, id: &str) -> PortResult<Delivery>;

    /// A hook's deliveries, newest first, at most `limit` (≤ [`MAX_DELIVERIES_PER_READ`]).
    async fn deliveries(&self, hook: &str, limit: usize) -> PortResult<Vec<Delivery>>;

    /// Pending deliveries due at `now`, the longest waiting first, at most `limit`.
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> PortResult<Vec<Delivery>>;

    /// Deletes deliveries made before `cutoff` that are no longer pending; how many went.
    async fn prune_deliveries(&self, cutoff: DateTime<Utc>) -> PortResult<u64>;

    /// The id of the last event the dispatcher has turned into deliveries (0 at first).
    async fn cursor(&self) -> PortResult<u64>;

    /// Moves the dispatcher's place forward (never back: a smaller id is ignored).
    async fn set_cursor(&self, event_id: u64) -> PortResult<()>;
}
