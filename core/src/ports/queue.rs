//! The queue port: durable jobs with dedupe, per-owner fairness, and leases.
//!
//! A worker leases a job for a while and heartbeats to keep it; a lease that stops
//! heartbeating (the worker died) is found by [`JobQueue::reap_expired`] and handed back to
//! the caller, which decides what the job becomes (the builder marks the build interrupted).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::PortResult;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What kind of work it is, e.g. `build`.
    pub kind: String,
    /// Whose job it is; leasing is fair across owners.
    pub owner: String,
    /// While a queued or leased job has this key, enqueueing the same key returns that job.
    pub dedupe_key: Option<String>,
    pub payload: Value,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Leased,
    Done,
    Failed,
    Cancelled,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub owner: String,
    pub dedupe_key: Option<String>,
    pub payload: Value,
    pub state: JobState,
    /// The worker holding the lease, while leased.
    pub worker: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub enqueued_at: DateTime<Utc>,
    /// How many times a worker has leased this job.
    pub attempts: u32,
}

/// The answer to an enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub job: Job,
    /// True when an existing queued or leased job with the same dedupe key was returned.
    pub deduplicated: bool,
}

/// How a leased job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed,
}

/// A durable job queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Adds a job, or returns the live job with the same dedupe key.
    async fn enqueue(&self, job: NewJob) -> PortResult<Enqueued>;

    /// Leases the next job for `worker` until now + `lease`. Fair: the queued job of the owner
    /// with the fewest leased jobs goes first, ties broken by whose job was leased longest ago,
    /// then by age. `None` when nothing is queued.
    async fn lease(&self, worker: &str, lease: Duration) -> PortResult<Option<Job>>;

    /// Extends a lease. `Conflict` if `worker` no longer holds it (reaped or cancelled).
    async fn heartbeat(&self, job_id: i64, worker: &str, lease: Duration) -> PortResult<()>;

    /// Ends a leased job. `Conflict` if `worker` no longer holds it.
    async fn complete(&self, job_id: i64, worker: &str, outcome: Outcome) -> PortResult<()>;

    /// Cancels a queued or leased job. `NotFound` if absent, `Conflict` if already finished.
    async fn cancel(&self, job_id: i64) -> PortResult<Job>;

    /// Leased jobs whose lease ended before `now`: they are marked failed and returned, so the
    /// caller can record why (their worker died).
    async fn reap_expired(&self, now: DateTime<Utc>) -> PortResult<Vec<Job>>;

    /// One job. `NotFound` if absent.
    async fn get(&self, job_id: i64) -> PortResult<Job>;

    /// How many jobs of `owner` are queued or leased (for the per-user pending limit).
    async fn pending_for(&self, owner: &str) -> PortResult<u64>;

    /// How many jobs are queued, across owners (for `/metrics`).
    async fn queued_count(&self) -> PortResult<u64>;

    /// Makes every job enqueued from now on get an id above `last_id` (never lowers the
    /// counter): a migration copies build records, whose ids are job ids, before new builds.
    async fn reserve_ids_through(&self, last_id: i64) -> PortResult<()>;
}
