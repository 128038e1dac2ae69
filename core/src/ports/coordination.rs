//! The coordination port: the little shared state the web processes need to act as one.
//!
//! Login failure counts (throttling), event ids seen lately (dropping redeliveries), and named
//! locks with an expiry (one reconciliation run at a time). In embedded mode it lives in the
//! process's memory; in distributed mode on Redis, shared by every `web` process. Everything
//! here expires by itself: losing it (a restart) only forgets recent history.

use std::time::Duration;

use async_trait::async_trait;

use crate::PortResult;

#[async_trait]
pub trait Coordination: Send + Sync {
    /// Counts one failure under `key` and returns the count in the current window. The window
    /// starts at the first failure and lasts `window`; after it the count starts again at 1.
    async fn add_failure(&self, key: &str, window: Duration) -> PortResult<u32>;

    /// The failures under `key` in the current window and the time left in it; `None` when
    /// there are none (never counted, cleared, or the window has passed).
    async fn failures(&self, key: &str) -> PortResult<Option<(u32, Duration)>>;

    /// Forgets the failures under `key`.
    async fn clear_failures(&self, key: &str) -> PortResult<()>;

    /// True the first time `id` is offered within `ttl` (then remembered for `ttl`), false
    /// while it is remembered. An implementation may forget early under memory pressure.
    async fn first_time(&self, id: &str, ttl: Duration) -> PortResult<bool>;

    /// Forgets `id`, so that the next [`Coordination::first_time`] of it is true again.
    async fn forget(&self, id: &str) -> PortResult<()>;

    /// Takes the lock `name` for `holder` for `ttl`, if nobody holds it; true if taken. A
    /// holder that takes its own lock again gets false (locks are not re-entrant).
    async fn try_lock(&self, name: &str, holder: &str, ttl: Duration) -> PortResult<bool>;

    /// Releases the lock `name` if `holder` holds it; does nothing otherwise.
    async fn unlock(&self, name: &str, holder: &str) -> PortResult<()>;
}
