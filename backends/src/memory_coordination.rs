//! The coordination port in the process's memory, for embedded mode (one process serves
//! everything, so its memory is the shared state). Bounded: failure counts are swept of
//! expired windows when [`FAILURE_CAPACITY`] is reached, and at most [`SEEN_CAPACITY`] ids are
//! remembered, the oldest forgotten first. A restart forgets everything.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bioshadock_core::PortResult;
use bioshadock_core::ports::coordination::Coordination;

/// Failure counters kept before expired ones are swept (bounds memory under a spray of names).
pub const FAILURE_CAPACITY: usize = 50_000;
/// Ids remembered by `first_time`; beyond this the oldest are forgotten.
pub const SEEN_CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct MemoryCoordination {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// key → (count, end of window)
    failures: HashMap<String, (u32, Instant)>,
    /// id → when it is forgotten
    seen: HashMap<String, Instant>,
    /// ids in the order first seen (may hold ids already forgotten)
    seen_order: VecDeque<String>,
    /// name → (holder, expiry)
    locks: HashMap<String, (String, Instant)>,
}

impl MemoryCoordination {
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every operation is one step under the lock: the state stays consistent after a panic.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Coordination for MemoryCoordination {
    async fn add_failure(&self, key: &str, window: Duration) -> PortResult<u32> {
        let now = Instant::now();
        let mut inner = self.inner();
        if inner.failures.len() >= FAILURE_CAPACITY {
            inner.failures.retain(|_, (_, until)| *until > now);
        }
        let entry = inner
            .failures
            .entry(key.to_owned())
            .or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 = entry.0.saturating_add(1);
        Ok(entry.0)
    }

    async fn failures(&self, key: &str) -> PortResult<Option<(u32, Duration)>> {
        let now = Instant::now();
        Ok(self
            .inner()
            .failures
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(count, until)| (*count, *until - now)))
    }

    async fn clear_failures(&self, key: &str) -> PortResult<()> {
        self.inner().failures.remove(key);
        Ok(())
    }

    async fn first_time(&self, id: &str, ttl: Duration) -> PortResult<bool> {
        let now = Instant::now();
        let mut inner = self.inner();
        if let Some(until) = inner.seen.get_mut(id) {
            if *until > now {
                return Ok(false);
            }
            *until = now + ttl;
            return Ok(true);
        }
        while inner.seen.len() >= SEEN_CAPACITY {
            let Some(oldest) = inner.seen_order.pop_front() else {
                break;
            };
            inner.seen.remove(&oldest);
        }
        inner.seen.insert(id.to_owned(), now + ttl);
        inner.seen_order.push_back(id.to_owned());
        Ok(true)
    }

    async fn forget(&self, id: &str) -> PortResult<()> {
        let mut inner = self.inner();
        if inner.seen.remove(id).is_some() {
            inner.seen_order.retain(|seen| seen != id);
        }
        Ok(())
    }

    async fn try_lock(&self, name: &str, holder: &str, ttl: Duration) -> PortResult<bool> {
        let now = Instant::now();
        let mut inner = self.inner();
        if inner.locks.get(name).is_some_and(|(_, until)| *until > now) {
            return Ok(false);
        }
        inner
            .locks
            .insert(name.to_owned(), (holder.to_owned(), now + ttl));
        Ok(true)
    }

    async fn unlock(&self, name: &str, holder: &str) -> PortResult<()> {
        let mut inner = self.inner();
        if inner.locks.get(name).is_some_and(|(h, _)| h == holder) {
            inner.locks.remove(name);
        }
        Ok(())
    }
}
