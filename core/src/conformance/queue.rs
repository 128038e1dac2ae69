//! The behaviour every [`JobQueue`] must show. Each scenario gets a fresh, empty queue.

use std::collections::HashSet;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::model::now;
use crate::ports::queue::{Job, JobQueue, JobState, NewJob, Outcome};
use crate::{PortError, PortResult};

const MINUTE: Duration = Duration::from_secs(60);

/// Runs every scenario, each on a queue from `fresh`. Panics on the first deviation, naming
/// the scenario (printed to stderr before it starts) and what differed. Needs a multi-thread
/// tokio runtime to exercise concurrent leases for real.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn JobQueue>>,
{
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {
            $(
                eprintln!("queue conformance: {}", stringify!($name));
                $name(fresh().await).await;
            )*
        };
    }
    scenarios!(
        enqueue_stores_the_job,
        dedupe_returns_the_live_job,
        lease_takes_oldest_and_marks_it,
        fairness_prefers_fewest_leased,
        fairness_prefers_least_recently_leased,
        fairness_counts_leases_before_recency,
        concurrent_leases_never_share_a_job,
        concurrent_enqueues_dedupe_to_one_job,
        heartbeat_extends_only_for_the_holder,
        complete_ends_only_for_the_holder,
        reap_fails_expired_leases,
        cancel_queued_leased_and_finished,
        counts_pending_and_queued,
        reserved_ids_are_skipped,
    );
}

async fn reserved_ids_are_skipped(q: Arc<dyn JobQueue>) {
    ok(
        q.reserve_ids_through(1000).await,
        "reserve on an empty queue",
    );
    let first = ok(q.enqueue(job("ann", None)).await, "enqueue").job.id;
    assert!(
        first > 1000,
        "ids continue after the reserved ones: {first}"
    );
    // Never lowers the counter.
    ok(q.reserve_ids_through(10).await, "reserve below");
    let second = ok(q.enqueue(job("ann", None)).await, "enqueue").job.id;
    assert!(second > first, "{second} after {first}");
}

fn job(owner: &str, key: Option<&str>) -> NewJob {
    NewJob {
        kind: "build".into(),
        owner: owner.into(),
        dedupe_key: key.map(str::to_owned),
        payload: json!({ "container": format!("{owner}/tool"), "n": 1 }),
    }
}

fn ok<T>(result: PortResult<T>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: unexpected error {e:?}"))
}

fn expect_conflict<T: Debug>(result: PortResult<T>, what: &str) {
    assert!(
        matches!(result, Err(PortError::Conflict(_))),
        "{what}: expected Conflict, got {result:?}"
    );
}

async fn enqueue(queue: &dyn JobQueue, owner: &str, key: Option<&str>) -> Job {
    ok(queue.enqueue(job(owner, key)).await, "enqueue").job
}

async fn lease(queue: &dyn JobQueue, worker: &str) -> Job {
    ok(queue.lease(worker, MINUTE).await, "lease")
        .unwrap_or_else(|| panic!("{worker}: nothing to lease"))
}

async fn enqueue_stores_the_job(queue: Arc<dyn JobQueue>) {
    let before = now();
    let payload = json!({ "git": "https://x/y.git#main", "tags": ["a", "b"], "deep": { "n": 1.5, "z": null } });
    let new = NewJob {
        kind: "build".into(),
        owner: "alice".into(),
        dedupe_key: Some("k".into()),
        payload,
    };
    let enqueued = ok(queue.enqueue(new.clone()).await, "enqueue");
    assert!(
        !enqueued.deduplicated,
        "a first enqueue is not deduplicated"
    );
    let job = enqueued.job;
    assert_eq!((job.kind.as_str(), job.owner.as_str()), ("build", "alice"));
    assert_eq!(job.dedupe_key.as_deref(), Some("k"));
    assert_eq!(job.payload, new.payload, "payload round-trips");
    assert_eq!(
        (job.state, job.worker.clone(), job.lease_until, job.attempts),
        (JobState::Queued, None, None, 0)
    );
    assert!(
        job.enqueued_at >= before && job.enqueued_at <= now(),
        "enqueued_at is the enqueue time"
    );
    assert_eq!(
        ok(queue.get(job.id).await, "get"),
        job,
        "get returns what enqueue returned"
    );
    let missing = queue.get(job.id + 1000).await;
    assert!(
        matches!(missing, Err(PortError::NotFound)),
        "get of a missing job: {missing:?}"
    );
    assert!(ok(queue.lease("w", MINUTE).await, "lease").is_some());
    assert!(
        ok(queue.lease("w", MINUTE).await, "lease").is_none(),
        "lease of an empty queue is None"
    );
}

async fn dedupe_returns_the_live_job(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    let first = enqueue(q, "alice", Some("lab/tool")).await;
    let again = ok(
        q.enqueue(job("alice", Some("lab/tool"))).await,
        "enqueue same key",
    );
    assert!(again.deduplicated, "same key while queued is deduplicated");
    assert_eq!(again.job, first, "the live job is returned");
    let other = enqueue(q, "alice", Some("lab/other")).await;
    assert_ne!(other.id, first.id, "another key is another job");
    let a = enqueue(q, "alice", None).await;
    let b = enqueue(q, "alice", None).await;
    assert_ne!(a.id, b.id, "jobs without a key never dedupe");

    let leased = lease(q, "w1").await;
    assert_eq!(leased.id, first.id);
    let while_leased = ok(
        q.enqueue(job("alice", Some("lab/tool"))).await,
        "enqueue while leased",
    );
    assert!(
        while_leased.deduplicated && while_leased.job.id == first.id,
        "a leased job is live too"
    );
    ok(q.complete(first.id, "w1", Outcome::Done).await, "complete");
    let after = ok(
        q.enqueue(job("alice", Some("lab/tool"))).await,
        "enqueue after completion",
    );
    assert!(
        !after.deduplicated && after.job.id != first.id,
        "a finished job no longer dedupes"
    );
    ok(q.cancel(after.job.id).await, "cancel");
    let after_cancel = ok(
        q.enqueue(job("alice", Some("lab/tool"))).await,
        "enqueue after cancel",
    );
    assert!(
        !after_cancel.deduplicated,
        "a cancelled job no longer dedupes"
    );
}

async fn lease_takes_oldest_and_marks_it(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    let jobs = [
        enqueue(q, "alice", None).await,
        enqueue(q, "alice", None).await,
        enqueue(q, "alice", None).await,
    ];
    for expected in &jobs {
        let before = now();
        let got = lease(q, "worker-1").await;
        assert_eq!(
            got.id, expected.id,
            "one owner's jobs are leased oldest first"
        );
        assert_eq!(
            (got.state, got.worker.as_deref(), got.attempts),
            (JobState::Leased, Some("worker-1"), 1)
        );
        let until = got.lease_until.expect("a leased job has lease_until");
        assert!(
            until >= before + MINUTE && until <= now() + MINUTE,
            "lease_until is now + lease"
        );
        assert_eq!(ok(q.get(got.id).await, "get"), got, "get agrees with lease");
    }
    assert!(
        ok(q.lease("worker-1", MINUTE).await, "lease").is_none(),
        "nothing left to lease"
    );
}

async fn fairness_prefers_fewest_leased(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    let mut a = Vec::new();
    for _ in 0..5 {
        a.push(enqueue(q, "alice", None).await.id);
    }
    let b = enqueue(q, "bob", None).await.id;
    let order: Vec<i64> = [
        lease(q, "w").await.id,
        lease(q, "w").await.id,
        lease(q, "w").await.id,
    ]
    .into();
    assert_eq!(
        order,
        [a[0], b, a[1]],
        "bob's single job goes before alice's second"
    );
}

async fn fairness_prefers_least_recently_leased(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    let a1 = enqueue(q, "alice", None).await.id;
    let a2 = enqueue(q, "alice", None).await.id;
    let b1 = enqueue(q, "bob", None).await.id;
    let b2 = enqueue(q, "bob", None).await.id;
    let first = lease(q, "w").await;
    assert_eq!(first.id, a1, "no leases yet: the oldest job goes first");
    ok(q.complete(a1, "w", Outcome::Done).await, "complete");
    let second = lease(q, "w").await;
    assert_eq!(
        second.id, b1,
        "tie on leased count: bob, never leased, goes before alice"
    );
    ok(q.complete(b1, "w", Outcome::Failed).await, "complete");
    let third = lease(q, "w").await;
    assert_eq!(
        third.id, a2,
        "tie on leased count: alice was leased longer ago than bob"
    );
    assert_eq!(lease(q, "w").await.id, b2);
}

async fn fairness_counts_leases_before_recency(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..3 {
        a.push(enqueue(q, "alice", None).await.id);
    }
    for _ in 0..3 {
        b.push(enqueue(q, "bob", None).await.id);
    }
    let order = [
        lease(q, "w").await.id,
        lease(q, "w").await.id,
        lease(q, "w").await.id,
    ];
    assert_eq!(
        order,
        [a[0], b[0], a[1]],
        "alternating while leased counts tie"
    );
    assert_eq!(lease(q, "w").await.id, b[1]);
    ok(q.complete(b[0], "w", Outcome::Done).await, "complete");
    ok(q.complete(b[1], "w", Outcome::Done).await, "complete");
    // Alice holds 2 leases and was leased longer ago; bob holds none: fewest leases wins.
    assert_eq!(
        lease(q, "w").await.id,
        b[2],
        "the owner with fewer leased jobs goes first"
    );
    assert_eq!(lease(q, "w").await.id, a[2]);
}

async fn concurrent_leases_never_share_a_job(queue: Arc<dyn JobQueue>) {
    const JOBS: usize = 60;
    for i in 0..JOBS {
        enqueue(queue.as_ref(), &format!("owner{}", i % 5), None).await;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..12 {
        let queue = queue.clone();
        tasks.spawn(async move {
            let worker = format!("worker-{w}");
            let mut got = Vec::new();
            while let Some(job) = ok(queue.lease(&worker, MINUTE).await, "concurrent lease") {
                assert_eq!(job.worker.as_deref(), Some(worker.as_str()));
                got.push(job.id);
                tokio::task::yield_now().await;
            }
            got
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.unwrap_or_else(|e| panic!("leasing task failed: {e}")));
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a job was leased twice: {all:?}");
    assert_eq!(all.len(), JOBS, "every job is leased exactly once");
    assert_eq!(ok(queue.queued_count().await, "queued_count"), 0);
}

async fn concurrent_enqueues_dedupe_to_one_job(queue: Arc<dyn JobQueue>) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let queue = queue.clone();
        tasks.spawn(async move {
            ok(
                queue.enqueue(job("alice", Some("same"))).await,
                "concurrent enqueue",
            )
        });
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        results.push(done.unwrap_or_else(|e| panic!("enqueue task failed: {e}")));
    }
    let ids: HashSet<i64> = results.iter().map(|r| r.job.id).collect();
    assert_eq!(ids.len(), 1, "concurrent enqueues of one key make one job");
    assert_eq!(
        results.iter().filter(|r| !r.deduplicated).count(),
        1,
        "exactly one enqueue is not deduplicated"
    );
}

async fn heartbeat_extends_only_for_the_holder(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    enqueue(q, "alice", None).await;
    let leased = ok(q.lease("w1", Duration::from_secs(1)).await, "lease").expect("a job");
    ok(
        q.heartbeat(leased.id, "w1", Duration::from_secs(3600))
            .await,
        "heartbeat",
    );
    let after = ok(q.get(leased.id).await, "get");
    let until = after.lease_until.expect("still leased");
    assert!(
        until > leased.lease_until.expect("leased") + MINUTE,
        "heartbeat extends the lease"
    );
    assert_eq!(
        (after.state, after.worker.as_deref(), after.attempts),
        (JobState::Leased, Some("w1"), 1)
    );
    expect_conflict(
        q.heartbeat(leased.id, "w2", MINUTE).await,
        "heartbeat by another worker",
    );
    assert_eq!(
        ok(q.get(leased.id).await, "get").lease_until,
        Some(until),
        "a refused heartbeat changes nothing"
    );
    let queued = enqueue(q, "bob", None).await;
    expect_conflict(
        q.heartbeat(queued.id, "w1", MINUTE).await,
        "heartbeat on a queued job",
    );
}

async fn complete_ends_only_for_the_holder(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    let queued = enqueue(q, "alice", None).await;
    expect_conflict(
        q.complete(queued.id, "w1", Outcome::Done).await,
        "complete of a queued job",
    );
    let leased = lease(q, "w1").await;
    expect_conflict(
        q.complete(leased.id, "w2", Outcome::Done).await,
        "complete by another worker",
    );
    assert_eq!(
        ok(q.get(leased.id).await, "get").state,
        JobState::Leased,
        "a refused complete changes nothing"
    );
    ok(q.complete(leased.id, "w1", Outcome::Done).await, "complete");
    let done = ok(q.get(leased.id).await, "get");
    assert_eq!(
        (done.state, done.worker, done.lease_until),
        (JobState::Done, None, None),
        "done, no lease"
    );
    expect_conflict(
        q.complete(leased.id, "w1", Outcome::Done).await,
        "second complete",
    );
    expect_conflict(
        q.heartbeat(leased.id, "w1", MINUTE).await,
        "heartbeat after complete",
    );

    enqueue(q, "alice", None).await;
    let failing = lease(q, "w1").await;
    ok(
        q.complete(failing.id, "w1", Outcome::Failed).await,
        "complete failed",
    );
    assert_eq!(ok(q.get(failing.id).await, "get").state, JobState::Failed);
}

async fn reap_fails_expired_leases(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    let short = enqueue(q, "alice", None).await;
    let long = enqueue(q, "bob", None).await;
    let waiting = enqueue(q, "carol", None).await;
    let short = ok(q.lease("w1", MINUTE).await, "lease")
        .filter(|j| j.id == short.id)
        .expect("alice's job");
    let long = ok(q.lease("w2", Duration::from_secs(3600)).await, "lease")
        .filter(|j| j.id == long.id)
        .expect("bob's job");
    assert!(
        ok(q.reap_expired(now()).await, "reap").is_empty(),
        "nothing has expired yet"
    );

    let reaped = ok(
        q.reap_expired(now() + chrono::Duration::minutes(2)).await,
        "reap",
    );
    let ids: Vec<i64> = reaped.iter().map(|j| j.id).collect();
    assert_eq!(
        ids,
        [short.id],
        "only the lease that ended is reaped; queued jobs never are"
    );
    assert_eq!(reaped[0].state, JobState::Failed, "a reaped job is failed");
    assert_eq!(ok(q.get(short.id).await, "get").state, JobState::Failed);
    expect_conflict(
        q.heartbeat(short.id, "w1", MINUTE).await,
        "heartbeat after reaping",
    );
    expect_conflict(
        q.complete(short.id, "w1", Outcome::Done).await,
        "complete after reaping",
    );
    let again = ok(
        q.reap_expired(now() + chrono::Duration::minutes(2)).await,
        "reap again",
    );
    assert!(again.is_empty(), "a job is reaped once");
    assert_eq!(ok(q.get(long.id).await, "get").state, JobState::Leased);
    assert_eq!(ok(q.get(waiting.id).await, "get").state, JobState::Queued);
}

async fn cancel_queued_leased_and_finished(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    let queued = enqueue(q, "alice", None).await;
    let cancelled = ok(q.cancel(queued.id).await, "cancel queued");
    assert_eq!(
        (cancelled.id, cancelled.state),
        (queued.id, JobState::Cancelled)
    );
    assert!(
        ok(q.lease("w", MINUTE).await, "lease").is_none(),
        "a cancelled job is not leased"
    );

    enqueue(q, "alice", None).await;
    let leased = lease(q, "w").await;
    let cancelled = ok(q.cancel(leased.id).await, "cancel leased");
    assert_eq!(
        (cancelled.state, cancelled.worker),
        (JobState::Cancelled, None)
    );
    expect_conflict(
        q.heartbeat(leased.id, "w", MINUTE).await,
        "heartbeat after cancel",
    );
    expect_conflict(
        q.complete(leased.id, "w", Outcome::Done).await,
        "complete after cancel",
    );
    expect_conflict(q.cancel(leased.id).await, "second cancel");

    enqueue(q, "alice", None).await;
    let done = lease(q, "w").await;
    ok(q.complete(done.id, "w", Outcome::Done).await, "complete");
    expect_conflict(q.cancel(done.id).await, "cancel of a done job");
    assert_eq!(
        ok(q.get(done.id).await, "get").state,
        JobState::Done,
        "a refused cancel changes nothing"
    );
    let missing = q.cancel(done.id + 1000).await;
    assert!(
        matches!(missing, Err(PortError::NotFound)),
        "cancel of a missing job: {missing:?}"
    );
}

async fn counts_pending_and_queued(queue: Arc<dyn JobQueue>) {
    let q = queue.as_ref();
    assert_eq!(ok(q.queued_count().await, "queued_count"), 0);
    assert_eq!(ok(q.pending_for("alice").await, "pending_for"), 0);
    let a1 = enqueue(q, "alice", None).await;
    let a2 = enqueue(q, "alice", None).await;
    enqueue(q, "bob", None).await;
    assert_eq!(ok(q.queued_count().await, "queued_count"), 3);
    let leased = lease(q, "w").await;
    assert_eq!(leased.id, a1.id);
    assert_eq!(
        ok(q.pending_for("alice").await, "pending_for"),
        2,
        "queued and leased both count"
    );
    assert_eq!(
        ok(q.queued_count().await, "queued_count"),
        2,
        "a leased job is not queued"
    );
    ok(q.complete(a1.id, "w", Outcome::Done).await, "complete");
    assert_eq!(
        ok(q.pending_for("alice").await, "pending_for"),
        1,
        "finished jobs do not count"
    );
    ok(q.cancel(a2.id).await, "cancel");
    assert_eq!(ok(q.pending_for("alice").await, "pending_for"), 0);
    assert_eq!(ok(q.pending_for("bob").await, "pending_for"), 1);
    assert_eq!(ok(q.pending_for("nobody").await, "pending_for"), 0);
    assert_eq!(ok(q.queued_count().await, "queued_count"), 1);
}
