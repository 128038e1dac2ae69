//! The event stream: an append-only log of [`Event`]s with increasing ids, shared by every
//! portal process (in the same database as the catalogue). The audit log queries it, newest
//! first; the webhooks and the base-image rebuilds follow it by id, each with its cursor. Only [`EventStore::prune`] removes anything, by age
//! (`audit.retention_days`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::PortResult;
use crate::events::{Event, EventFilter, Recorded};

/// Events read at once, at most.
pub const MAX_EVENTS_PER_READ: usize = 1000;

#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends `event` as happening `at`; returns its id, greater than every id before it.
    async fn append(&self, event: &Event, at: DateTime<Utc>) -> PortResult<u64>;

    /// The events after id `after`, oldest first, at most `limit` (≤ [`MAX_EVENTS_PER_READ`]):
    /// how a consumer follows the stream.
    async fn read_after(&self, after: u64, limit: usize) -> PortResult<Vec<Recorded>>;

    /// The events `filter` admits with an id below `before` (all when `None`), newest first,
    /// at most `limit` (≤ [`MAX_EVENTS_PER_READ`]): one page of the audit log.
    async fn query(
        &self,
        filter: &EventFilter,
        before: Option<u64>,
        limit: usize,
    ) -> PortResult<Vec<Recorded>>;

    /// Deletes the events recorded before `cutoff`; returns how many went.
    async fn prune(&self, cutoff: DateTime<Utc>) -> PortResult<u64>;

    /// Where `consumer` stands in the stream: the id of the last event it has handled, or
    /// `None` before it first says.
    async fn cursor(&self, consumer: &str) -> PortResult<Option<u64>>;

    /// Moves `consumer`'s cursor to `event_id`, forward only: a lower id leaves it where it is
    /// (two processes that both handled a batch cannot move it back).
    async fn set_cursor(&self, consumer: &str, event_id: u64) -> PortResult<()>;
}
