//! Live-log wake-ups on Redis pub/sub, for distributed mode: a builder process appends lines,
//! the web processes following that build wake.
//!
//! `notify` publishes the build id on `P log-wakeup:{id}` (prefix `P` as for every key). Each
//! process holds one pattern subscription to `P log-wakeup:*` — not one connection per
//! stream, however many streams it serves — and fans the ids out to its own subscribers
//! through [`MemoryWakeups`]. If that connection drops, a task reconnects with a pause; the
//! streams' slow poll covers the gap (pub/sub delivers nothing missed while disconnected).

use std::time::Duration;

use async_trait::async_trait;
use bioshadock_core::PortResult;
use bioshadock_core::ports::log_wakeups::{LogWakeups, Wakeups};
use futures::StreamExt;
use redis::aio::ConnectionManager;

use super::map_err;
use crate::memory_wakeups::MemoryWakeups;

/// The pause before subscribing again after the subscription connection failed.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct RedisWakeups {
    conn: ConnectionManager,
    channel_prefix: String,
    local: MemoryWakeups,
}

impl RedisWakeups {
    /// Publishes on `conn`; subscribes with a connection of its own to the Redis at `url`,
    /// held by a background task for the life of the process. The first subscription is made
    /// before this returns, so a notify right after is not missed.
    pub async fn start(url: &str, conn: ConnectionManager, prefix: &str) -> PortResult<Self> {
        let client = redis::Client::open(url).map_err(map_err)?;
        let channel_prefix = format!("{prefix}log-wakeup:");
        let pattern = format!("{channel_prefix}*");
        let local = MemoryWakeups::new();
        let first = subscribe(&client, &pattern).await.map_err(map_err)?;
        tokio::spawn(forward(
            client,
            pattern,
            channel_prefix.clone(),
            local.clone(),
            first,
        ));
        Ok(Self {
            conn,
            channel_prefix,
            local,
        })
    }
}

async fn subscribe(
    client: &redis::Client,
    pattern: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe(pattern).await?;
    Ok(pubsub)
}

/// Hands every published id to this process's subscribers, resubscribing whenever the
/// connection ends.
async fn forward(
    client: redis::Client,
    pattern: String,
    channel_prefix: String,
    local: MemoryWakeups,
    first: redis::aio::PubSub,
) {
    let mut pubsub = Some(first);
    loop {
        if let Some(connected) = pubsub.take() {
            let mut messages = connected.into_on_message();
            while let Some(message) = messages.next().await {
                let id = message
                    .get_channel_name()
                    .strip_prefix(&channel_prefix)
                    .and_then(|id| id.parse::<i64>().ok());
                if let Some(id) = id {
                    local.wake(id);
                }
            }
            tracing::warn!("the Redis subscription of live-log wake-ups ended; resubscribing");
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
        match subscribe(&client, &pattern).await {
            Ok(connected) => pubsub = Some(connected),
            Err(e) => tracing::warn!(error = %e, "cannot resubscribe to live-log wake-ups"),
        }
    }
}

#[async_trait]
impl LogWakeups for RedisWakeups {
    async fn notify(&self, build_id: i64) -> PortResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(format!("{}{build_id}", self.channel_prefix))
            .arg(1)
            .query_async::<i64>(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn subscribe(&self, build_id: i64) -> PortResult<Wakeups> {
        Ok(self.local.wakeups(build_id))
    }
}
