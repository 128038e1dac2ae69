//! Push triggers and their decision log: every hook delivery's fate, newest first, per
//! container.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::PortResult;
use crate::triggers::{Decision, Trigger};

/// Decisions read at once, at most.
pub const MAX_DECISIONS_PER_READ: usize = 200;

#[async_trait]
pub trait TriggerStore: Send + Sync {
    /// Stores a new trigger (`Conflict` if its id exists).
    async fn create_trigger(&self, trigger: &Trigger) -> PortResult<()>;

    /// The triggers of a container, oldest first.
    async fn triggers_of(&self, container: &str) -> PortResult<Vec<Trigger>>;

    /// Deletes a trigger (`NotFound` if absent). Its decisions stay in the log.
    async fn delete_trigger(&self, id: &str) -> PortResult<()>;

    /// Deletes every trigger of a container (it was deleted).
    async fn delete_triggers_of(&self, container: &str) -> PortResult<()>;

    /// Appends a decision.
    async fn record_decision(&self, decision: &Decision) -> PortResult<()>;

    /// A container's decisions, newest first, at most `limit` (≤ [`MAX_DECISIONS_PER_READ`]).
    async fn decisions(&self, container: &str, limit: usize) -> PortResult<Vec<Decision>>;

    /// Deletes decisions made before `cutoff`; how many went.
    async fn prune_decisions(&self, cutoff: DateTime<Utc>) -> PortResult<u64>;
}
