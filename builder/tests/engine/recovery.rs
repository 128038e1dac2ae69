//! Nothing is left `running` by a dead worker: the reaper interrupts builds whose lease was not
//! renewed, and a restarted single-process server interrupts its own leftovers at once. Runs on
//! the embedded backends (real SQLite), no engine needed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bioshadock_backends::{Backends, open_backends};
use bioshadock_builder::WorkerPorts;
use bioshadock_builder::recovery::{reap_periodically, recover_own_builds};
use bioshadock_core::config::Config;
use bioshadock_core::model::now;
use bioshadock_core::ports::builds::{BUILD_JOB, BuildSource, BuildStatus, NewBuild};
use bioshadock_core::ports::queue::{JobState, NewJob};
use bioshadock_core::tokens::{KidStyle, SigningMaterial, TokenIssuer};
use bioshadock_core::{RepoName, TagName};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

async fn ports() -> (WorkerPorts, Backends, TempDir) {
    let dir = TempDir::new().unwrap();
    let mut config = Config::load(None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    let backends = open_backends(&config).await.unwrap();
    let tokens = TokenIssuer::new(
        SigningMaterial::generate().unwrap(),
        "bioshadock".into(),
        "bioshadock-registry".into(),
        KidStyle::Libtrust,
        Duration::from_secs(300),
    );
    let ports = WorkerPorts {
        queue: backends.queue.clone(),
        builds: backends.builds.clone(),
        users: backends.users.clone(),
        orgs: backends.orgs.clone(),
        rules: backends.rules.clone(),
        containers: backends.store.clone(),
        events: backends.events.clone(),
        tokens: Arc::new(tokens),
        sealing: Arc::new(bioshadock_core::sealed::SealingKey::from_bytes(&[7; 32]).unwrap()),
        wake: Arc::default(),
        status: Arc::default(),
    };
    (ports, backends, dir)
}

/// A queued build (job and record), as the web queues one; returns its id.
async fn queue_build(ports: &WorkerPorts, tag: &str) -> i64 {
    let job = ports
        .queue
        .enqueue(NewJob {
            kind: BUILD_JOB.into(),
            owner: "alice".into(),
            dedupe_key: Some(format!("build:alice/tool:{tag}")),
            payload: serde_json::json!({}),
        })
        .await
        .unwrap()
        .job;
    ports
        .builds
        .create(NewBuild {
            id: job.id,
            container: RepoName::parse("alice/tool").unwrap(),
            tag: TagName::parse(tag).unwrap(),
            requested_by: "alice".into(),
            source: BuildSource::Dockerfile("FROM scratch\n".into()),
            options: Default::default(),
            queued_at: now(),
        })
        .await
        .unwrap();
    job.id
}

/// Leases the next job for `worker` and marks its build running, as a worker does.
async fn run_on(ports: &WorkerPorts, worker: &str, lease: Duration) -> i64 {
    let job = ports.queue.lease(worker, lease).await.unwrap().unwrap();
    ports.builds.start(job.id, worker, now()).await.unwrap();
    job.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_stops_renewing_its_lease_has_its_build_interrupted() {
    let (ports, _backends, _dir) = ports().await;
    queue_build(&ports, "v1").await;
    // The worker leases for one second and then dies: it never heartbeats.
    let id = run_on(&ports, "dead-worker", Duration::from_secs(1)).await;
    let stop = CancellationToken::new();
    let reaper = tokio::spawn(reap_periodically(
        ports.clone(),
        Duration::from_millis(200),
        stop.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    let build = loop {
        let build = ports.builds.get(id).await.unwrap();
        if build.status != BuildStatus::Running {
            break build;
        }
        assert!(Instant::now() < deadline, "still running: {build:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop.cancel();
    reaper.await.unwrap();
    assert_eq!(build.status, BuildStatus::Interrupted);
    assert!(
        build
            .reason
            .as_deref()
            .unwrap()
            .contains("stopped answering"),
        "{build:?}"
    );
    assert!(build.finished_at.is_some());
    assert_eq!(ports.queue.get(id).await.unwrap().state, JobState::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_interrupts_its_own_leftovers_at_once_and_keeps_the_queue() {
    let (ports, _backends, _dir) = ports().await;
    queue_build(&ports, "v1").await;
    queue_build(&ports, "v2").await;
    // The previous process leased for an hour, then was killed.
    let running = run_on(&ports, "previous-process", Duration::from_secs(3600)).await;
    assert_eq!(recover_own_builds(&ports).await.unwrap(), 1);
    let build = ports.builds.get(running).await.unwrap();
    assert_eq!(build.status, BuildStatus::Interrupted);
    assert!(build.reason.as_deref().unwrap().contains("server stopped"));
    // Recovering again finds nothing; the other build is still queued, and the worker gets it.
    assert_eq!(recover_own_builds(&ports).await.unwrap(), 0);
    let live = ports.builds.live().await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].status, BuildStatus::Queued);
    let next = ports
        .queue
        .lease("new-process", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.id, live[0].id);
}
