//! The coordination port on Redis, for distributed mode: every `web` process sees the same
//! failure counts, seen event ids and locks.
//!
//! # Key layout
//!
//! Under the configured prefix `P`, each key expiring by itself (`PX`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P fail:{key}` | string | failures counted in the window (`INCR`), expiring when the window ends |
//! | `P seen:{id}` | string | `1` while the id is remembered (`SET NX PX`) |
//! | `P lock:{name}` | string | the holder while the lock is held (`SET NX PX`); released by a compare-and-delete script |
//!
//! Expiries are Redis's own clock, so the hosts' clocks do not matter here.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use bioshadock_core::PortResult;
use bioshadock_core::ports::coordination::Coordination;
use redis::Script;
use redis::aio::ConnectionManager;

use super::map_err;

/// Counts a failure; the first one of a window sets the window's expiry.
static ADD_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local n = redis.call('INCR', KEYS[1]) \
         if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then \
           redis.call('PEXPIRE', KEYS[1], ARGV[1]) \
         end \
         return n",
    )
});

/// Deletes the lock only if the caller holds it.
static UNLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           return redis.call('DEL', KEYS[1]) \
         end \
         return 0",
    )
});

#[derive(Clone)]
pub struct RedisCoordination {
    conn: ConnectionManager,
    prefix: Arc<str>,
}

impl RedisCoordination {
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into().into(),
        }
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.prefix)
    }

    /// `SET key value NX PX ttl`: true if set.
    async fn set_new(&self, key: String, value: &str, ttl: Duration) -> PortResult<bool> {
        let set: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        Ok(set.is_some())
    }

    async fn delete(&self, key: String) -> PortResult<()> {
        redis::cmd("DEL")
            .arg(key)
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(map_err)
    }
}

/// A duration in whole milliseconds, at least 1 (Redis refuses a zero expiry).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl Coordination for RedisCoordination {
    async fn add_failure(&self, key: &str, window: Duration) -> PortResult<u32> {
        let count: u64 = ADD_FAILURE
            .key(self.key("fail", key))
            .arg(millis(window))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn failures(&self, key: &str) -> PortResult<Option<(u32, Duration)>> {
        let key = self.key("fail", key);
        let (count, ttl): (Option<u64>, i64) = redis::pipe()
            .atomic()
            .get(&key)
            .pttl(&key)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        // PTTL is -2 for a missing key; -1 (no expiry) cannot happen, ADD_FAILURE sets one.
        Ok(match (count, u64::try_from(ttl)) {
            (Some(count), Ok(ms)) if count > 0 && ms > 0 => Some((
                u32::try_from(count).unwrap_or(u32::MAX),
                Duration::from_millis(ms),
            )),
            _ => None,
        })
    }

    async fn clear_failures(&self, key: &str) -> PortResult<()> {
        self.delete(self.key("fail", key)).await
    }

    async fn first_time(&self, id: &str, ttl: Duration) -> PortResult<bool> {
        self.set_new(self.key("seen", id), "1", ttl).await
    }

    async fn forget(&self, id: &str) -> PortResult<()> {
        self.delete(self.key("seen", id)).await
    }

    async fn try_lock(&self, name: &str, holder: &str, ttl: Duration) -> PortResult<bool> {
        self.set_new(self.key("lock", name), holder, ttl).await
    }

    async fn unlock(&self, name: &str, holder: &str) -> PortResult<()> {
        UNLOCK
            .key(self.key("lock", name))
            .arg(holder)
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
