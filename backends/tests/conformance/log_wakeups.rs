//! The live-log wake-up suite, in memory and on a real `redis-server`.

use std::sync::Arc;

use bioshadock_backends::MemoryWakeups;
use bioshadock_core::conformance;
use bioshadock_core::ports::log_wakeups::LogWakeups;

#[tokio::test]
async fn memory_wakeups_conform() {
    conformance::log_wakeups::run_all(|| async {
        Arc::new(MemoryWakeups::new()) as Arc<dyn LogWakeups>
    })
    .await;
}

#[cfg(feature = "external")]
#[tokio::test]
async fn redis_wakeups_conform() {
    use bioshadock_backends::redis_backend::wakeups::RedisWakeups;

    use crate::redis_backend::{TestRedis, fresh_prefix};

    let redis = TestRedis::start().await;
    let conn = redis.conn().await;
    let url = redis.url().to_owned();
    conformance::log_wakeups::run_all(|| {
        let (conn, url) = (conn.clone(), url.clone());
        async move {
            let wakeups = RedisWakeups::start(&url, conn, &fresh_prefix()).await;
            Arc::new(wakeups.expect("subscribe")) as Arc<dyn LogWakeups>
        }
    })
    .await;
}

/// Two processes on one Redis: a notify in one wakes the other's subscribers.
#[cfg(feature = "external")]
#[tokio::test]
async fn redis_wakeups_cross_processes() {
    use std::time::Duration;

    use bioshadock_backends::redis_backend::wakeups::RedisWakeups;
    use futures::StreamExt;

    use crate::redis_backend::{TestRedis, fresh_prefix};

    let redis = TestRedis::start().await;
    let prefix = fresh_prefix();
    let builder = RedisWakeups::start(redis.url(), redis.conn().await, &prefix)
        .await
        .unwrap();
    let web = RedisWakeups::start(redis.url(), redis.conn().await, &prefix)
        .await
        .unwrap();
    let mut following = web.subscribe(42).await.unwrap();
    builder.notify(42).await.unwrap();
    let woken = tokio::time::timeout(Duration::from_secs(2), following.next()).await;
    assert!(
        matches!(woken, Ok(Some(()))),
        "the other process's subscriber wakes"
    );
}
