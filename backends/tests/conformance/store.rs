//! The store suite on SQLite, plus what only a file-backed store can show: a restart keeps
//! everything.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bioshadock_backends::sqlite::{self, SqliteQueue, SqliteStore};
use bioshadock_core::conformance::{self, at, container, labels, member, tag};
use bioshadock_core::ports::queue::{JobQueue, JobState, NewJob};
use bioshadock_core::ports::store::ContainerStore;
use bioshadock_core::{Access, Audience, Container, Visibility};
use sqlx::SqlitePool;
use tempfile::TempDir;

/// Temp dirs of the databases a test opened, deleted when the test drops them.
pub type Dirs = Arc<Mutex<Vec<TempDir>>>;

/// A fresh database in its own temp dir, which `dirs` keeps alive.
pub async fn fresh_pool(dirs: &Dirs) -> SqlitePool {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = sqlite::open(&dir.path().join("data/bioshadock.sqlite"))
        .await
        .expect("open sqlite");
    dirs.lock().expect("dirs lock").push(dir);
    pool
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_conforms() {
    let dirs = Dirs::default();
    conformance::store::run_all(|| {
        let dirs = dirs.clone();
        async move { Arc::new(SqliteStore::new(fresh_pool(&dirs).await)) as Arc<dyn ContainerStore> }
    })
    .await;
}

#[tokio::test]
async fn restart_keeps_catalogue_and_queue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bioshadock.sqlite");

    let pool = sqlite::open(&path).await.expect("open");
    let store = SqliteStore::new(pool.clone());
    let queue = SqliteQueue::new(pool.clone());
    let mut tool = container("lab/tool", Visibility::Public, 10);
    tool.git = Some("https://github.com/lab/tool.git#main".into());
    tool.labels = labels(&[("org.opencontainers.image.title", "Tool")]);
    tool.tags = vec![tag("1.0", 9)];
    let secret = container("lab/secret", Visibility::Private, 5);
    store
        .put_many(&[tool.clone(), secret.clone()])
        .await
        .expect("put_many");
    store
        .put_tag(&tool.id, &tag("2.0", 20))
        .await
        .expect("put_tag");
    store.add_pulls(&tool.id, 42).await.expect("add_pulls");
    let before = store.get(&tool.id).await.expect("get");
    let new_job = |key: &str| NewJob {
        kind: "build".into(),
        owner: "lab".into(),
        dedupe_key: Some(key.into()),
        payload: serde_json::json!({ "container": key }),
    };
    let queued = queue
        .enqueue(new_job("lab/tool"))
        .await
        .expect("enqueue")
        .job;
    queue.enqueue(new_job("lab/secret")).await.expect("enqueue");
    let leased = queue
        .lease("w1", Duration::from_secs(600))
        .await
        .expect("lease")
        .expect("a job");
    assert_eq!(leased.id, queued.id);
    pool.close().await;

    let pool = sqlite::open(&path).await.expect("reopen");
    let store = SqliteStore::new(pool.clone());
    let queue = SqliteQueue::new(pool.clone());
    assert_eq!(
        store.get(&tool.id).await.expect("get"),
        before,
        "container, tags and pulls survive"
    );
    assert_eq!(before.updated_at, at(20));
    assert_eq!(before.pulls, 42);
    assert_eq!(store.get(&secret.id).await.expect("get"), secret);
    assert_eq!(store.count(&Audience::Public).await.expect("count"), 1);
    assert_eq!(store.count(&Audience::Everyone).await.expect("count"), 2);
    assert_eq!(
        queue.get(leased.id).await.expect("get"),
        leased,
        "the lease survives"
    );
    assert_eq!(queue.queued_count().await.expect("queued_count"), 1);
    let again = queue.enqueue(new_job("lab/tool")).await.expect("enqueue");
    assert!(
        again.deduplicated && again.job.id == leased.id,
        "dedupe survives a restart"
    );
    let next = queue
        .lease("w2", Duration::from_secs(60))
        .await
        .expect("lease")
        .expect("a job");
    assert_eq!(
        (next.state, next.dedupe_key.as_deref()),
        (JobState::Leased, Some("lab/secret"))
    );
    pool.close().await;
}

/// The catalogue's hot paths with 100,000 containers. Timing-based, so not run by default:
/// `cargo test -p bioshadock-backends --release --test conformance -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing; run by hand"]
async fn hundred_thousand_containers_stay_fast() {
    let dirs = Dirs::default();
    let store = SqliteStore::new(fresh_pool(&dirs).await);
    let all: Vec<Container> = (0..100_000)
        .map(|i| {
            let vis = if i % 10 == 0 {
                Visibility::Private
            } else {
                Visibility::Public
            };
            let mut c = container(&format!("user{}/tool{i}", i % 500), vis, i % 50_000);
            c.tags = vec![tag("latest", i % 50_000), tag("1.0", i % 50_000)];
            // Every private container shares with the next user: user7 reads 20 more.
            if vis == Visibility::Private {
                c.members = vec![member(&format!("user{}", (i + 1) % 500), Access::Pull)];
            }
            c
        })
        .collect();
    let started = Instant::now();
    store.put_many(&all).await.expect("put_many");
    let seeded = started.elapsed();
    println!("seeded 100,000 containers in {seeded:?}");

    let time = |label: &str, took: Duration| println!("{label}: {took:?}");
    for (label, audience) in [
        ("public", Audience::Public),
        ("user", Audience::User("user7".into())),
    ] {
        let started = Instant::now();
        for _ in 0..100 {
            assert_eq!(store.list(&audience, 0, 24).await.expect("list").len(), 24);
        }
        time(
            &format!("first page ({label}), mean of 100"),
            started.elapsed() / 100,
        );
        let started = Instant::now();
        for _ in 0..100 {
            store.count(&audience).await.expect("count");
        }
        time(
            &format!("count ({label}), mean of 100"),
            started.elapsed() / 100,
        );
    }
    let ids: Vec<_> = all.iter().step_by(5000).map(|c| c.id.clone()).collect();
    let started = Instant::now();
    assert_eq!(store.get_many(&ids).await.expect("get_many").len(), 20);
    time("get_many of 20", started.elapsed());
    assert!(seeded < Duration::from_secs(60), "seeding took {seeded:?}");
}
