//! The behaviour every [`BuildStore`] must show. Each scenario gets a fresh, empty store.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use chrono::Duration;

use super::at;
use crate::ports::builds::{
    Build, BuildOptions, BuildSource, BuildStatus, BuildStore, BuiltDescriptor, BuiltDockerfile,
    ChangeFilter, Finish, LogLine, NewBuild,
};
use crate::{PortError, PortResult, RepoName, TagName};

/// Runs every scenario, each on a store from `fresh`. Panics on the first deviation, naming
/// the scenario (printed to stderr before it starts) and what differed. Needs a multi-thread
/// tokio runtime to exercise concurrent log appends for real.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn BuildStore>>,
{
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {
            $(
                eprintln!("builds conformance: {}", stringify!($name));
                $name(fresh().await).await;
            )*
        };
    }
    scenarios!(
        create_and_get_round_trip,
        create_with_a_taken_id_conflicts,
        get_of_an_absent_build_is_not_found,
        list_is_per_container_newest_first_and_limited,
        live_is_unfinished_builds_oldest_first,
        start_only_from_queued,
        set_revision_only_while_running,
        set_args_only_while_running,
        dockerfile_recorded_while_running_and_deleted_with_the_build,
        descriptor_recorded_while_running_and_deleted_with_the_build,
        finish_only_once_and_only_as_final,
        duration_runs_from_start_to_end,
        append_log_numbers_lines_and_pages,
        log_tail_is_the_end_of_the_log_within_a_byte_budget,
        concurrent_appends_never_interleave_or_reuse_a_seq,
        over_long_lines_are_truncated,
        delete_for_container_removes_its_builds_and_logs,
    );
}

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).expect("fixture name is valid")
}

/// A git build of `container:latest`, queued at `at(minute)`.
fn new_build(id: i64, container: &str, minute: i64) -> NewBuild {
    NewBuild {
        id,
        container: repo(container),
        tag: TagName::parse("latest").expect("fixture tag is valid"),
        requested_by: "alice".into(),
        source: BuildSource::Git(format!("https://github.com/{container}.git#main")),
        options: BuildOptions::default(),
        queued_at: at(minute),
    }
}

fn finish(status: BuildStatus, minute: i64) -> Finish {
    Finish {
        status,
        reason: None,
        digest: None,
        at: at(minute),
    }
}

fn lines(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| (*t).to_owned()).collect()
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

fn expect_not_found<T: Debug>(result: PortResult<T>, what: &str) {
    assert!(
        matches!(result, Err(PortError::NotFound)),
        "{what}: expected NotFound, got {result:?}"
    );
}

async fn create(store: &dyn BuildStore, id: i64, container: &str, minute: i64) -> Build {
    ok(
        store.create(new_build(id, container, minute)).await,
        "create",
    )
}

fn ids(builds: &[Build]) -> Vec<i64> {
    builds.iter().map(|b| b.id).collect()
}

async fn create_and_get_round_trip(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    let git = new_build(7, "lab/tool", 3);
    let created = ok(s.create(git.clone()).await, "create git build");
    let expected = Build {
        id: 7,
        container: git.container.clone(),
        tag: git.tag.clone(),
        requested_by: "alice".into(),
        source: git.source.clone(),
        options: BuildOptions::default(),
        status: BuildStatus::Queued,
        reason: None,
        revision: None,
        digest: None,
        worker: None,
        queued_at: at(3),
        started_at: None,
        finished_at: None,
        log_lines: 0,
    };
    assert_eq!(
        created, expected,
        "a new build is queued with nothing else set"
    );
    assert_eq!(
        ok(s.get(7).await, "get"),
        created,
        "get returns what create did"
    );

    let text = "# syntax=docker/dockerfile:1\nFROM alpine:3.20\n\
                RUN echo 'héllo — 世界 🧬' > /greeting \\\n    && printf '\\t\"quoted\"\\n'\n\
                LABEL maintainer=\"Zoë <zoe@example.org>\"\n";
    let dockerfile = NewBuild {
        id: 8,
        container: repo("lab/pasted"),
        tag: TagName::parse("1.0").expect("tag"),
        requested_by: "bob".into(),
        source: BuildSource::Dockerfile(text.into()),
        options: BuildOptions {
            args: [("VERSION".to_owned(), "1.0 — ü".to_owned())].into(),
            no_cache: true,
            only_if_changed: Some(ChangeFilter {
                since: "ab".repeat(20),
                paths: vec!["tools/a/**".to_owned(), "/\\.cwl$/".to_owned()],
            }),
        },
        queued_at: at(4),
    };
    let created = ok(
        s.create(dockerfile.clone()).await,
        "create dockerfile build",
    );
    assert_eq!(
        created.source,
        BuildSource::Dockerfile(text.into()),
        "the Dockerfile's text round-trips byte for byte"
    );
    assert_eq!(
        ok(s.get(8).await, "get").options,
        dockerfile.options,
        "the build options round-trip"
    );
    assert_eq!(
        (created.tag.as_str(), created.requested_by.as_str()),
        ("1.0", "bob")
    );
    assert_eq!(ok(s.get(8).await, "get"), created);
    assert_eq!(
        ok(s.get(7).await, "get").source,
        git.source,
        "kinds stay apart"
    );
}

async fn create_with_a_taken_id_conflicts(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    let first = create(s, 1, "lab/tool", 0).await;
    expect_conflict(
        s.create(new_build(1, "lab/other", 5)).await,
        "create with a taken id",
    );
    assert_eq!(
        ok(s.get(1).await, "get"),
        first,
        "a refused create changes nothing"
    );
    assert!(
        ok(s.list(&repo("lab/other"), 10).await, "list").is_empty(),
        "a refused create records nothing"
    );
}

async fn get_of_an_absent_build_is_not_found(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    expect_not_found(s.get(1).await, "get in an empty store");
    create(s, 1, "lab/tool", 0).await;
    expect_not_found(s.get(2).await, "get of another id");
}

async fn list_is_per_container_newest_first_and_limited(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    for (id, container) in [
        (10, "lab/tool"),
        (11, "lab/tool"),
        (12, "lab/other"),
        (13, "lab/tool"),
        (14, "lab/tool-extra"),
        (15, "lab/tool"),
    ] {
        create(s, id, container, id).await;
    }
    ok(
        s.finish(11, finish(BuildStatus::Success, 20)).await,
        "finish",
    );
    let tool = repo("lab/tool");
    assert_eq!(
        ids(&ok(s.list(&tool, 10).await, "list")),
        [15, 13, 11, 10],
        "a container's builds, newest first, finished or not"
    );
    assert_eq!(
        ids(&ok(s.list(&tool, 2).await, "list limited")),
        [15, 13],
        "the newest `limit`"
    );
    assert!(ok(s.list(&tool, 0).await, "list limit 0").is_empty());
    assert_eq!(ids(&ok(s.list(&repo("lab/other"), 10).await, "list")), [12]);
    assert!(ok(s.list(&repo("lab/none"), 10).await, "list").is_empty());
    let listed = ok(s.list(&tool, 10).await, "list");
    assert_eq!(
        listed[2],
        ok(s.get(11).await, "get"),
        "listed builds are whole"
    );
}

async fn live_is_unfinished_builds_oldest_first(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    assert!(ok(s.live().await, "live").is_empty());
    for id in 1..=6 {
        create(s, id, if id % 2 == 0 { "lab/a" } else { "lab/b" }, id).await;
    }
    ok(s.start(2, "w1", at(10)).await, "start");
    ok(
        s.finish(3, finish(BuildStatus::Cancelled, 10)).await,
        "cancel",
    );
    ok(s.start(4, "w2", at(10)).await, "start");
    ok(s.finish(4, finish(BuildStatus::Failed, 11)).await, "fail");
    ok(s.start(5, "w1", at(10)).await, "start");
    ok(
        s.finish(5, finish(BuildStatus::Interrupted, 11)).await,
        "interrupt",
    );
    ok(s.start(6, "w2", at(10)).await, "start");
    let live = ok(s.live().await, "live");
    assert_eq!(ids(&live), [1, 2, 6], "queued and running, oldest first");
    assert_eq!(
        live.iter().map(|b| b.status).collect::<Vec<_>>(),
        [
            BuildStatus::Queued,
            BuildStatus::Running,
            BuildStatus::Running
        ]
    );
    assert_eq!(live[1], ok(s.get(2).await, "get"), "live builds are whole");
}

async fn start_only_from_queued(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    let queued = create(s, 1, "lab/tool", 0).await;
    let started = ok(s.start(1, "worker-1", at(2)).await, "start");
    assert_eq!(
        started,
        Build {
            status: BuildStatus::Running,
            worker: Some("worker-1".into()),
            started_at: Some(at(2)),
            ..queued
        },
        "start sets the status, worker and start time only"
    );
    assert_eq!(ok(s.get(1).await, "get"), started, "get agrees with start");
    expect_conflict(s.start(1, "worker-2", at(3)).await, "second start");
    assert_eq!(
        ok(s.get(1).await, "get"),
        started,
        "a refused start changes nothing"
    );
    ok(s.finish(1, finish(BuildStatus::Success, 4)).await, "finish");
    expect_conflict(s.start(1, "worker-1", at(5)).await, "start after finish");

    create(s, 2, "lab/tool", 1).await;
    ok(
        s.finish(2, finish(BuildStatus::Cancelled, 2)).await,
        "cancel",
    );
    expect_conflict(
        s.start(2, "worker-1", at(3)).await,
        "start of a cancelled build",
    );
    assert_eq!(ok(s.get(2).await, "get").status, BuildStatus::Cancelled);
    expect_not_found(
        s.start(99, "worker-1", at(3)).await,
        "start of an absent build",
    );
}

async fn set_revision_only_while_running(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    create(s, 1, "lab/tool", 0).await;
    let sha = "0123456789abcdef0123456789abcdef01234567";
    expect_conflict(s.set_revision(1, sha).await, "set_revision while queued");
    assert_eq!(ok(s.get(1).await, "get").revision, None);
    ok(s.start(1, "w", at(1)).await, "start");
    ok(s.set_revision(1, sha).await, "set_revision while running");
    let running = ok(s.get(1).await, "get");
    assert_eq!(
        (running.revision.as_deref(), running.status),
        (Some(sha), BuildStatus::Running)
    );
    ok(s.finish(1, finish(BuildStatus::Success, 2)).await, "finish");
    expect_conflict(
        s.set_revision(1, "fedcba").await,
        "set_revision after finish",
    );
    let done = ok(s.get(1).await, "get");
    assert_eq!(
        done.revision.as_deref(),
        Some(sha),
        "the revision outlives the run, and a refused set changes nothing"
    );
    expect_not_found(
        s.set_revision(99, sha).await,
        "set_revision of an absent build",
    );
}

async fn set_args_only_while_running(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    let mut queued = new_build(1, "lab/tool", 0);
    queued.options.args = [("GIT_SHA".to_owned(), "{sha}".to_owned())].into();
    queued.options.no_cache = true;
    ok(s.create(queued).await, "create");
    let resolved: std::collections::BTreeMap<String, String> =
        [("GIT_SHA".to_owned(), "0123abc".to_owned())].into();
    expect_conflict(s.set_args(1, &resolved).await, "set_args while queued");
    ok(s.start(1, "w", at(1)).await, "start");
    ok(s.set_args(1, &resolved).await, "set_args while running");
    let running = ok(s.get(1).await, "get");
    assert_eq!(
        running.options.args, resolved,
        "the resolved args replace the queued ones"
    );
    assert!(
        running.options.no_cache,
        "set_args leaves the other options alone"
    );
    ok(s.finish(1, finish(BuildStatus::Success, 2)).await, "finish");
    expect_conflict(
        s.set_args(1, &Default::default()).await,
        "set_args after finish",
    );
    assert_eq!(ok(s.get(1).await, "get").options.args, resolved);
    expect_not_found(
        s.set_args(99, &resolved).await,
        "set_args of an absent build",
    );
}

async fn dockerfile_recorded_while_running_and_deleted_with_the_build(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    let recorded = |path: &str, text: &str| BuiltDockerfile {
        path: path.to_owned(),
        text: text.to_owned(),
    };
    create(s, 1, "lab/tool", 0).await;
    create(s, 2, "lab/tool", 1).await;
    expect_conflict(
        s.set_dockerfile(1, &recorded("Dockerfile", "FROM a\n"))
            .await,
        "set_dockerfile while queued",
    );
    assert_eq!(ok(s.dockerfile(1).await, "dockerfile"), None);
    ok(s.start(1, "w", at(1)).await, "start");
    ok(
        s.set_dockerfile(1, &recorded("Dockerfile", "FROM a\n"))
            .await,
        "set_dockerfile",
    );
    ok(
        s.set_dockerfile(1, &recorded("tools/x/Dockerfile", "FROM b\nRUN é\n"))
            .await,
        "set_dockerfile again replaces",
    );
    ok(s.finish(1, finish(BuildStatus::Success, 2)).await, "finish");
    assert_eq!(
        ok(s.dockerfile(1).await, "dockerfile"),
        Some(recorded("tools/x/Dockerfile", "FROM b\nRUN é\n")),
        "it outlives the run"
    );
    assert_eq!(
        ok(s.dockerfile(2).await, "dockerfile of another build"),
        None
    );
    expect_not_found(s.dockerfile(99).await, "dockerfile of an absent build");
    expect_not_found(
        s.set_dockerfile(99, &recorded("Dockerfile", "x")).await,
        "set_dockerfile of an absent build",
    );
    ok(s.delete_for_container(&repo("lab/tool")).await, "delete");
    expect_not_found(s.dockerfile(1).await, "dockerfile of a deleted build");
}

async fn descriptor_recorded_while_running_and_deleted_with_the_build(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    let recorded = |origin: &str, text: &str| BuiltDescriptor {
        kind: "CWL".to_owned(),
        origin: origin.to_owned(),
        text: text.to_owned(),
    };
    create(s, 1, "lab/tool", 0).await;
    create(s, 2, "lab/tool", 1).await;
    expect_conflict(
        s.set_descriptor(1, &recorded("tool.cwl", "cwlVersion: v1.2\n"))
            .await,
        "set_descriptor while queued",
    );
    assert_eq!(ok(s.descriptor(1).await, "descriptor"), None);
    ok(s.start(1, "w", at(1)).await, "start");
    ok(
        s.set_descriptor(1, &recorded("tool.cwl", "cwlVersion: v1.2\n"))
            .await,
        "set_descriptor",
    );
    let again = recorded(
        "https://example.org/cwl/tool.cwl",
        "cwlVersion: v1.2\nid: é\n",
    );
    ok(
        s.set_descriptor(1, &again).await,
        "set_descriptor again replaces",
    );
    ok(s.finish(1, finish(BuildStatus::Success, 2)).await, "finish");
    assert_eq!(
        ok(s.descriptor(1).await, "descriptor"),
        Some(again),
        "it outlives the run"
    );
    assert_eq!(ok(s.dockerfile(1).await, "no Dockerfile recorded"), None);
    assert_eq!(
        ok(s.descriptor(2).await, "descriptor of another build"),
        None
    );
    expect_not_found(s.descriptor(99).await, "descriptor of an absent build");
    expect_not_found(
        s.set_descriptor(99, &recorded("tool.cwl", "x")).await,
        "set_descriptor of an absent build",
    );
    ok(s.delete_for_container(&repo("lab/tool")).await, "delete");
    expect_not_found(s.descriptor(1).await, "descriptor of a deleted build");
}

async fn finish_only_once_and_only_as_final(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();

    // From queued: a cancel before any worker took it.
    let queued = create(s, 1, "lab/tool", 0).await;
    let cancelled = ok(
        s.finish(
            1,
            Finish {
                status: BuildStatus::Cancelled,
                reason: Some("cancelled by alice".into()),
                digest: None,
                at: at(1),
            },
        )
        .await,
        "finish from queued",
    );
    assert_eq!(
        cancelled,
        Build {
            status: BuildStatus::Cancelled,
            reason: Some("cancelled by alice".into()),
            finished_at: Some(at(1)),
            ..queued
        }
    );
    assert_eq!(ok(s.get(1).await, "get"), cancelled);

    // From running: success with a digest.
    create(s, 2, "lab/tool", 1).await;
    let started = ok(s.start(2, "w", at(2)).await, "start");
    let digest = format!("sha256:{}", "ab".repeat(32));
    let succeeded = ok(
        s.finish(
            2,
            Finish {
                status: BuildStatus::Success,
                reason: None,
                digest: Some(digest.clone()),
                at: at(5),
            },
        )
        .await,
        "finish from running",
    );
    assert_eq!(
        succeeded,
        Build {
            status: BuildStatus::Success,
            digest: Some(digest),
            finished_at: Some(at(5)),
            ..started
        },
        "finish keeps the worker and start time"
    );

    // Once only: the loser of a cancel/finish race gets Conflict and changes nothing.
    for status in [
        BuildStatus::Failed,
        BuildStatus::Success,
        BuildStatus::Cancelled,
    ] {
        expect_conflict(s.finish(2, finish(status, 6)).await, "second finish");
    }
    assert_eq!(ok(s.get(2).await, "get"), succeeded);
    expect_conflict(
        s.finish(1, finish(BuildStatus::Failed, 6)).await,
        "finish of a cancelled build",
    );

    // Only as final.
    create(s, 3, "lab/tool", 2).await;
    ok(s.start(3, "w", at(3)).await, "start");
    let before = ok(s.get(3).await, "get");
    for status in [BuildStatus::Queued, BuildStatus::Running] {
        let result = s.finish(3, finish(status, 4)).await;
        assert!(
            matches!(result, Err(ref e) if !matches!(e, PortError::NotFound)),
            "finish as {status:?} must fail (and not as NotFound), got {result:?}"
        );
    }
    assert_eq!(
        ok(s.get(3).await, "get"),
        before,
        "a refused finish changes nothing"
    );

    expect_not_found(
        s.finish(99, finish(BuildStatus::Failed, 4)).await,
        "finish of an absent build",
    );

    // Skipped, with its reason: a final status like the others.
    create(s, 4, "lab/tool", 3).await;
    ok(s.start(4, "w", at(4)).await, "start");
    let why = "no file changed since abcdef1 matches the trigger's paths";
    let skipped = ok(
        s.finish(
            4,
            Finish {
                status: BuildStatus::Skipped,
                reason: Some(why.into()),
                digest: None,
                at: at(5),
            },
        )
        .await,
        "finish as skipped",
    );
    assert_eq!(
        (skipped.status, skipped.reason.as_deref()),
        (BuildStatus::Skipped, Some(why))
    );
    assert_eq!(ok(s.get(4).await, "get"), skipped);
    assert!(
        !ids(&ok(s.live().await, "live")).contains(&4),
        "a skipped build is not live"
    );
    expect_conflict(
        s.finish(4, finish(BuildStatus::Failed, 6)).await,
        "finish of a skipped build",
    );
}

async fn duration_runs_from_start_to_end(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    let queued = create(s, 1, "lab/tool", 0).await;
    assert_eq!(
        queued.duration_secs(at(60)),
        None,
        "a queued build has no duration"
    );
    let running = ok(s.start(1, "w", at(1)).await, "start");
    assert_eq!(
        running.duration_secs(at(3)),
        Some(120.0),
        "a running build's duration runs to now"
    );
    let done = ok(
        s.finish(
            1,
            Finish {
                status: BuildStatus::Success,
                reason: None,
                digest: None,
                at: at(2) + Duration::milliseconds(30_500),
            },
        )
        .await,
        "finish",
    );
    assert_eq!(
        done.duration_secs(at(600)),
        Some(90.5),
        "a finished build's duration is fixed, to the millisecond"
    );
    assert_eq!(ok(s.get(1).await, "get").duration_secs(at(600)), Some(90.5));

    create(s, 2, "lab/tool", 0).await;
    let cancelled = ok(
        s.finish(2, finish(BuildStatus::Cancelled, 1)).await,
        "cancel",
    );
    assert_eq!(
        cancelled.duration_secs(at(60)),
        None,
        "a build that never started has no duration"
    );
}

async fn append_log_numbers_lines_and_pages(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    create(s, 1, "lab/tool", 0).await;
    create(s, 2, "lab/tool", 1).await;
    assert!(
        ok(s.log(1, 0, 100).await, "log").is_empty(),
        "a new build has no log"
    );
    let first = lines(&["Step 1/3 : FROM alpine", "", "  → indented ünïcode 🧬"]);
    assert_eq!(ok(s.append_log(1, &first).await, "append"), 3);
    assert_eq!(
        ok(s.append_log(2, &lines(&["other build"])).await, "append"),
        1,
        "each build counts its own lines"
    );
    assert_eq!(
        ok(
            s.append_log(1, &lines(&["Step 2/3", "Step 3/3"])).await,
            "append"
        ),
        5,
        "append returns the new count"
    );
    assert_eq!(
        ok(s.append_log(1, &[]).await, "append nothing"),
        5,
        "appending nothing changes nothing"
    );
    assert_eq!(ok(s.get(1).await, "get").log_lines, 5, "log_lines counts");

    let all = ok(s.log(1, 0, 100).await, "log");
    let seqs: Vec<u64> = all.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "seqs count from 1 across appends");
    let texts: Vec<&str> = all.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Step 1/3 : FROM alpine",
            "",
            "  → indented ünïcode 🧬",
            "Step 2/3",
            "Step 3/3"
        ],
        "lines come back as appended"
    );
    let page = ok(s.log(1, 2, 2).await, "log page");
    assert_eq!(
        page.iter().map(|l| l.seq).collect::<Vec<_>>(),
        [3, 4],
        "a page starts after `after` and holds at most `limit`"
    );
    assert_eq!(page[0], all[2]);
    assert_eq!(ok(s.log(1, 4, 100).await, "log tail").len(), 1);
    assert!(ok(s.log(1, 5, 100).await, "log past the end").is_empty());
    assert!(ok(s.log(1, 0, 0).await, "log limit 0").is_empty());
    let other = ok(s.log(2, 0, 100).await, "log of the other build");
    assert_eq!(
        (other.len(), other[0].seq, other[0].text.as_str()),
        (1, 1, "other build"),
        "logs stay apart"
    );

    expect_not_found(
        s.append_log(99, &lines(&["lost"])).await,
        "append to an absent build",
    );
    expect_not_found(
        s.append_log(99, &[]).await,
        "append nothing to an absent build",
    );
}

async fn log_tail_is_the_end_of_the_log_within_a_byte_budget(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    create(s, 1, "lab/tool", 0).await;
    create(s, 2, "lab/tool", 1).await;
    assert!(ok(s.log_tail(1, 0, 1000).await, "tail of nothing").is_empty());
    // 300 lines of 10 bytes ("line 0001" + newline): more than one step of the walk back.
    let texts: Vec<String> = (1..=300).map(|n| format!("line {n:04}")).collect();
    ok(s.append_log(1, &texts).await, "append");
    ok(s.append_log(2, &lines(&["other build"])).await, "append");
    let seqs = |tail: &[LogLine]| tail.iter().map(|l| l.seq).collect::<Vec<_>>();

    let whole = ok(
        s.log_tail(1, 300, 1 << 20).await,
        "tail within a large budget",
    );
    assert_eq!(
        seqs(&whole),
        (1..=300).collect::<Vec<_>>(),
        "all of it, in order"
    );
    assert_eq!(whole[299].text, "line 0300");

    let tail = ok(s.log_tail(1, 300, 2000).await, "tail of 2000 bytes");
    assert_eq!(
        seqs(&tail),
        (101..=300).collect::<Vec<_>>(),
        "exactly as many lines as fit, the newest ones, oldest first"
    );
    let almost = ok(s.log_tail(1, 300, 1999).await, "tail of 1999 bytes");
    assert_eq!(
        almost.first().map(|l| l.seq),
        Some(102),
        "a line that does not fit is left out"
    );
    assert!(ok(s.log_tail(1, 300, 9).await, "tail smaller than a line").is_empty());

    let earlier = ok(s.log_tail(1, 150, 100).await, "tail up to line 150");
    assert_eq!(
        seqs(&earlier),
        (141..=150).collect::<Vec<_>>(),
        "`upto` bounds it"
    );
    let other = ok(s.log_tail(2, 1, 1000).await, "tail of the other build");
    assert_eq!(seqs(&other), [1], "logs stay apart");
    assert!(
        ok(s.log_tail(99, 10, 1000).await, "tail of an absent build").is_empty(),
        "an absent build has an empty tail"
    );
}

async fn concurrent_appends_never_interleave_or_reuse_a_seq(store: Arc<dyn BuildStore>) {
    const TASKS: usize = 8;
    const LINES: usize = 50;
    create(store.as_ref(), 1, "lab/tool", 0).await;
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let store = store.clone();
        tasks.spawn(async move {
            let mut counts = Vec::new();
            let mut next = 0;
            // Batches of 1 to 4 lines, so appends of different sizes race.
            while next < LINES {
                let size = (1 + (t + next) % 4).min(LINES - next);
                let batch: Vec<String> = (next..next + size)
                    .map(|i| format!("task {t} line {i}"))
                    .collect();
                counts.push(ok(store.append_log(1, &batch).await, "concurrent append"));
                next += size;
                tokio::task::yield_now().await;
            }
            counts
        });
    }
    let mut counts = Vec::new();
    while let Some(done) = tasks.join_next().await {
        counts.extend(done.unwrap_or_else(|e| panic!("appending task failed: {e}")));
    }
    let total = (TASKS * LINES) as u64;
    counts.sort_unstable();
    let before = counts.len();
    counts.dedup();
    assert_eq!(counts.len(), before, "two appends returned the same count");
    assert_eq!(
        counts.last(),
        Some(&total),
        "the last append sees every line"
    );

    assert_eq!(ok(store.get(1).await, "get").log_lines, total);
    let log = ok(store.log(1, 0, 10_000).await, "log");
    let seqs: Vec<u64> = log.iter().map(|l| l.seq).collect();
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<_>>(),
        "seqs are 1..=total, no gap, no duplicate"
    );
    for t in 0..TASKS {
        let prefix = format!("task {t} line ");
        let mine: Vec<usize> = log
            .iter()
            .filter_map(|l| l.text.strip_prefix(&prefix))
            .map(|i| i.parse().expect("line number"))
            .collect();
        assert_eq!(
            mine,
            (0..LINES).collect::<Vec<_>>(),
            "task {t}'s lines are all there, in its order"
        );
    }
}

async fn over_long_lines_are_truncated(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    create(s, 1, "lab/tool", 0).await;
    // Multi-byte characters throughout, so a cut at a byte count would split one.
    let huge = "é🧬x".repeat(150_000); // ≈ 1 MiB
    let fits = "ü".repeat(2_000); // 4,000 bytes: well within any sensible cap
    let count = ok(
        s.append_log(1, &[huge.clone(), fits.clone(), "after".into()])
            .await,
        "append",
    );
    assert_eq!(count, 3, "a truncated line still counts as one");
    let log = ok(s.log(1, 0, 10).await, "log");
    assert_eq!(log.len(), 3);
    let stored = &log[0].text;
    assert!(
        stored.len() < huge.len() / 10,
        "a 1 MiB line is cut (stored {} bytes)",
        stored.len()
    );
    let kept = stored
        .strip_suffix('…')
        .unwrap_or_else(|| panic!("a cut line ends with an ellipsis"));
    assert!(
        huge.starts_with(kept) && !kept.is_empty(),
        "a cut line keeps the start of the original"
    );
    assert_eq!(log[1].text, fits, "a line under the cap is kept whole");
    assert_eq!(
        (log[2].seq, log[2].text.as_str()),
        (3, "after"),
        "the lines after a cut one are unaffected"
    );
}

async fn delete_for_container_removes_its_builds_and_logs(store: Arc<dyn BuildStore>) {
    let s = store.as_ref();
    for (id, container) in [
        (1, "lab/tool"),
        (2, "lab/other"),
        (3, "lab/tool"),
        (4, "lab/tool"),
    ] {
        create(s, id, container, id).await;
        ok(s.append_log(id, &lines(&["one", "two"])).await, "append");
    }
    ok(s.start(3, "w", at(5)).await, "start");
    ok(s.finish(4, finish(BuildStatus::Failed, 6)).await, "finish");

    let tool = repo("lab/tool");
    assert_eq!(
        ok(s.delete_for_container(&tool).await, "delete_for_container"),
        3,
        "every build of the container goes, live or finished"
    );
    for id in [1, 3, 4] {
        expect_not_found(s.get(id).await, "get of a deleted build");
        assert!(
            ok(s.log(id, 0, 100).await, "log of a deleted build").is_empty(),
            "a deleted build's log goes with it"
        );
    }
    assert!(ok(s.list(&tool, 10).await, "list").is_empty());
    assert_eq!(
        ids(&ok(s.live().await, "live")),
        [2],
        "deleted builds are not live"
    );
    let other = ok(s.get(2).await, "the other container's build");
    assert_eq!(other.log_lines, 2);
    assert_eq!(
        ok(s.log(2, 0, 100).await, "the other container's log").len(),
        2,
        "another container's builds and logs stay"
    );
    assert_eq!(
        ok(s.delete_for_container(&tool).await, "delete again"),
        0,
        "nothing left to delete"
    );

    // A later container of the same name, and even a build under a reused id, starts clean.
    create(s, 3, "lab/tool", 10).await;
    assert_eq!(ok(s.append_log(3, &lines(&["fresh"])).await, "append"), 1);
    let log = ok(s.log(3, 0, 100).await, "log");
    assert_eq!(
        log.iter()
            .map(|l| (l.seq, l.text.as_str()))
            .collect::<Vec<_>>(),
        [(1, "fresh")],
        "no line is inherited"
    );
}
