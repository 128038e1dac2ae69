//! The Redis queue and session store, against a real `redis-server`.
//!
//! Each test starts its own server on a free port (`redis-server --port P --save "" --appendonly
//! no`, killed when the test ends), or uses `BIOSHADOCK_TEST_REDIS_URL` when it is set. Every
//! queue and store gets a key prefix of its own, so tests and scenarios never see each other's
//! keys even on a shared server.

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration as StdDuration, Instant};

use bioshadock_backends::redis_backend::{RedisQueue, RedisSessionStore, connect};
use bioshadock_core::PortError;
use bioshadock_core::conformance;
use bioshadock_core::ports::queue::{JobQueue, JobState, NewJob, Outcome};
use redis::aio::ConnectionManager;
use serde_json::json;
use tower_sessions::SessionStore;
use tower_sessions::cookie::time::{Duration, OffsetDateTime};

use crate::sessions::{creates_never_overwrite, record, saves_loads_and_deletes};

/// A Redis for one test: a child `redis-server`, or the one `BIOSHADOCK_TEST_REDIS_URL` names.
pub(crate) struct TestRedis {
    url: String,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl TestRedis {
    pub(crate) async fn start() -> Self {
        if let Ok(url) = std::env::var("BIOSHADOCK_TEST_REDIS_URL") {
            return Self {
                url,
                child: None,
                _dir: None,
            };
        }
        // A free port can be taken by someone else between our probe and the server's bind:
        // try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            match Self::spawn().await {
                Ok(redis) => return redis,
                Err(e) => last_error = e,
            }
        }
        panic!("cannot start redis-server: {last_error}");
    }

    async fn spawn() -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let child = spawn_redis(port, dir.path());
        let mut redis = Self {
            url: format!("redis://127.0.0.1:{port}/"),
            child: Some(child),
            _dir: Some(dir),
        };
        let deadline = Instant::now() + StdDuration::from_secs(10);
        loop {
            if let Some(status) = redis
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                redis.child = None;
                return Err(format!("redis-server on port {port} exited: {status}"));
            }
            if ping(&redis.url).await {
                return Ok(redis);
            }
            if Instant::now() > deadline {
                return Err(format!("redis-server on port {port} does not answer"));
            }
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }

    fn port(&self) -> u16 {
        let after_host = self.url.rsplit_once(':').map(|(_, rest)| rest);
        after_host
            .and_then(|rest| rest.trim_end_matches('/').parse().ok())
            .expect("a redis://127.0.0.1:PORT/ url")
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) async fn conn(&self) -> ConnectionManager {
        connect(&self.url).await.expect("connect to the test Redis")
    }
}

/// A `redis-server` on `port`, keeping nothing on disk, in the foreground (a child we kill).
fn spawn_redis(port: u16, dir: &std::path::Path) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("redis-server (is it installed?): {e}"))
}

async fn ping(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .is_ok()
}

/// A key prefix no other queue, store, test or test run uses.
pub(crate) fn fresh_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "bioshadock-test:{}:{started}:{}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------------------------
// Queue

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_queue_conforms() {
    let redis = TestRedis::start().await;
    let conn = redis.conn().await;
    conformance::queue::run_all(|| {
        let conn = conn.clone();
        async move { Arc::new(RedisQueue::new(conn, fresh_prefix())) as Arc<dyn JobQueue> }
    })
    .await;
}

/// Two "processes" (two queues on two connections, one prefix) leasing at once never get the
/// same job, and between them lease every job exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_queue_two_processes_never_share_a_job() {
    const JOBS: usize = 200;
    let redis = TestRedis::start().await;
    let prefix = fresh_prefix();
    let queues = [
        Arc::new(RedisQueue::new(redis.conn().await, prefix.clone())),
        Arc::new(RedisQueue::new(redis.conn().await, prefix.clone())),
    ];
    for i in 0..JOBS {
        let new = NewJob {
            kind: "build".into(),
            owner: format!("owner{}", i % 7),
            dedupe_key: None,
            payload: json!({ "n": i }),
        };
        queues[i % 2].enqueue(new).await.expect("enqueue");
    }
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let queue = queues[w % 2].clone();
        tasks.spawn(async move {
            let worker = format!("process{}-worker{w}", w % 2);
            let mut got = Vec::new();
            while let Some(job) = queue
                .lease(&worker, StdDuration::from_secs(60))
                .await
                .expect("lease")
            {
                assert_eq!(job.worker.as_deref(), Some(worker.as_str()));
                got.push(job.id);
                tokio::task::yield_now().await;
            }
            got
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("leasing task"));
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a job was leased twice");
    assert_eq!(all.len(), JOBS, "every job is leased exactly once");
    assert_eq!(queues[0].queued_count().await.expect("queued_count"), 0);
    let mut pending = 0;
    for owner in 0..7 {
        pending += queues[1]
            .pending_for(&format!("owner{owner}"))
            .await
            .expect("pending_for");
    }
    assert_eq!(pending, JOBS as u64, "every leased job is still pending");
}

/// Finished jobs stay readable for the history TTL, then Redis forgets them; live jobs never
/// expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_queue_finished_jobs_expire_after_the_history_ttl() {
    let redis = TestRedis::start().await;
    let prefix = fresh_prefix();
    let mut raw = redis.conn().await;
    let queue = RedisQueue::new(redis.conn().await, prefix.clone())
        .with_finished_ttl(StdDuration::from_secs(3600));
    let job = |key: &str| NewJob {
        kind: "build".into(),
        owner: "alice".into(),
        dedupe_key: Some(key.into()),
        payload: json!({}),
    };
    let done = queue.enqueue(job("a")).await.expect("enqueue").job;
    let waiting = queue.enqueue(job("b")).await.expect("enqueue").job;
    let leased = queue
        .lease("w", StdDuration::from_secs(60))
        .await
        .expect("lease")
        .expect("a job");
    assert_eq!(leased.id, done.id);
    queue
        .complete(done.id, "w", Outcome::Done)
        .await
        .expect("complete");

    let pttl = |id: i64| {
        let mut cmd = redis::cmd("PTTL");
        cmd.arg(format!("{prefix}job:{id}"));
        cmd
    };
    let finished_ttl: i64 = pttl(done.id).query_async(&mut raw).await.expect("PTTL");
    assert!(
        finished_ttl > 3_500_000 && finished_ttl <= 3_600_000,
        "a finished job expires after the history TTL: {finished_ttl} ms"
    );
    let live_ttl: i64 = pttl(waiting.id).query_async(&mut raw).await.expect("PTTL");
    assert_eq!(live_ttl, -1, "a queued job never expires");
    assert_eq!(
        queue.get(done.id).await.expect("get").state,
        JobState::Done,
        "history is readable"
    );
    let dedupe: Option<String> = redis::cmd("GET")
        .arg(format!("{prefix}dedupe:a"))
        .query_async(&mut raw)
        .await
        .expect("GET");
    assert_eq!(dedupe, None, "a finished job frees its dedupe key");

    // Once Redis has expired the history, the job is simply unknown.
    redis::cmd("PEXPIRE")
        .arg(format!("{prefix}job:{}", done.id))
        .arg(1)
        .query_async::<()>(&mut raw)
        .await
        .expect("PEXPIRE");
    tokio::time::sleep(StdDuration::from_millis(20)).await;
    assert!(matches!(queue.get(done.id).await, Err(PortError::NotFound)));
    assert!(matches!(
        queue.cancel(done.id).await,
        Err(PortError::NotFound)
    ));
}

/// While Redis is down, calls fail with `Unavailable` (not a hang, not a panic); once it is
/// back, the same queue works again without being rebuilt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_queue_survives_a_redis_restart() {
    if std::env::var_os("BIOSHADOCK_TEST_REDIS_URL").is_some() {
        return; // needs a server of its own to stop
    }
    let mut redis = TestRedis::start().await;
    let queue = RedisQueue::new(redis.conn().await, fresh_prefix());
    let job = || NewJob {
        kind: "build".into(),
        owner: "alice".into(),
        dedupe_key: None,
        payload: json!({}),
    };
    queue.enqueue(job()).await.expect("enqueue");

    let port = redis.port();
    if let Some(mut child) = redis.child.take() {
        child.kill().expect("stop redis-server");
        child.wait().expect("wait for redis-server");
    }
    let down = queue.queued_count().await;
    assert!(
        matches!(down, Err(PortError::Unavailable(_))),
        "Redis down: {down:?}"
    );

    redis.child = Some(spawn_redis(
        port,
        redis._dir.as_ref().expect("own server").path(),
    ));
    let deadline = Instant::now() + StdDuration::from_secs(20);
    loop {
        match queue.enqueue(job()).await {
            Ok(_) => break,
            Err(PortError::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(StdDuration::from_millis(100)).await;
            }
            Err(e) => panic!("Redis is back, the queue is not: {e:?}"),
        }
    }
    // The restarted server kept nothing (no persistence in tests): one job, the new one.
    assert_eq!(queue.queued_count().await.expect("queued_count"), 1);
    assert!(
        queue
            .lease("w", StdDuration::from_secs(60))
            .await
            .expect("lease")
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_connect_failure_names_the_setting_not_the_url() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port(); // nothing listens on it once the listener is dropped
    let url = format!("redis://:hunter2secret@127.0.0.1:{port}/");
    let err = connect(&url).await.expect_err("nothing listens there");
    let message = err.to_string();
    assert!(
        matches!(err, PortError::Unavailable(_)),
        "connection failure is Unavailable: {err:?}"
    );
    assert!(message.contains("queue.redis_url"), "{message}");
    assert!(!message.contains("hunter2secret"), "{message}");
    assert!(!message.contains(&url), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Sessions: the scenarios of `sessions.rs` (the SQLite store), on Redis. Redis expires keys by
// itself, so there is no sweep; instead the key's expiry is checked against the record's.

async fn fresh_store(redis: &TestRedis) -> RedisSessionStore {
    RedisSessionStore::new(redis.conn().await, fresh_prefix())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sessions_save_load_delete() {
    let redis = TestRedis::start().await;
    saves_loads_and_deletes(&fresh_store(&redis).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sessions_expire_with_their_record() {
    let redis = TestRedis::start().await;
    let prefix = fresh_prefix();
    let store = RedisSessionStore::new(redis.conn().await, prefix.clone());
    let mut raw = redis.conn().await;
    let live = record("alice", 3600);
    let expired = record("bob", -10);
    let also_expired = record("carol", -3600);
    for r in [&live, &expired, &also_expired] {
        store.save(r).await.expect("save");
    }
    assert_eq!(
        store.load(&expired.id).await.expect("load"),
        None,
        "expired"
    );
    assert_eq!(store.load(&also_expired.id).await.expect("load"), None);
    assert_eq!(
        store.load(&live.id).await.expect("load"),
        Some(live.clone())
    );

    // The key expires when the record does.
    let expire_at: i64 = redis::cmd("PEXPIRETIME")
        .arg(format!("{prefix}session:{}", live.id))
        .query_async(&mut raw)
        .await
        .expect("PEXPIRETIME");
    let expected = (live.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64;
    assert_eq!(expire_at, expected, "the key's expiry is the record's");
    let remaining: i64 = redis::cmd("EXISTS")
        .arg(format!("{prefix}session:{}", expired.id))
        .query_async(&mut raw)
        .await
        .expect("EXISTS");
    assert_eq!(remaining, 0, "an expired record is not kept");

    // Saving an expired record over a live one ends that session.
    let mut ended = live.clone();
    ended.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
    store.save(&ended).await.expect("save");
    assert_eq!(store.load(&live.id).await.expect("load"), None);

    // An expired id saved again with a future expiry is live again.
    let mut revived = expired.clone();
    revived.expiry_date = OffsetDateTime::now_utc() + Duration::hours(1);
    store.save(&revived).await.expect("save");
    assert_eq!(store.load(&revived.id).await.expect("load"), Some(revived));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sessions_create_never_overwrites_an_existing_id() {
    let redis = TestRedis::start().await;
    creates_never_overwrite(&fresh_store(&redis).await).await;
}
