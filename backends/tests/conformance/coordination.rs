//! The coordination conformance suite against the in-memory adapter and, with the `external`
//! feature, the Redis one (on a `redis-server` of its own, see `redis_backend`).

use std::sync::Arc;

use bioshadock_backends::memory_coordination::MemoryCoordination;
use bioshadock_core::conformance;
use bioshadock_core::ports::coordination::Coordination;

#[tokio::test]
async fn memory_coordination_conforms() {
    conformance::coordination::run_all(|| async {
        Arc::new(MemoryCoordination::new()) as Arc<dyn Coordination>
    })
    .await;
}

#[tokio::test]
async fn memory_coordination_forgets_the_oldest_ids_beyond_its_capacity() {
    use bioshadock_backends::memory_coordination::SEEN_CAPACITY;
    use std::time::Duration;

    let c = MemoryCoordination::new();
    let ttl = Duration::from_secs(60);
    for i in 0..=SEEN_CAPACITY {
        assert!(c.first_time(&format!("id{i}"), ttl).await.unwrap());
    }
    assert!(
        c.first_time("id0", ttl).await.unwrap(),
        "the oldest forgotten"
    );
    let last = format!("id{SEEN_CAPACITY}");
    assert!(!c.first_time(&last, ttl).await.unwrap(), "the newest kept");
}

#[cfg(feature = "external")]
#[tokio::test]
async fn redis_coordination_conforms() {
    use bioshadock_backends::redis_backend::RedisCoordination;

    use crate::redis_backend::{TestRedis, fresh_prefix};

    let redis = TestRedis::start().await;
    let conn = redis.conn().await;
    conformance::coordination::run_all(|| {
        let conn = conn.clone();
        async move { Arc::new(RedisCoordination::new(conn, fresh_prefix())) as Arc<dyn Coordination> }
    })
    .await;
}
