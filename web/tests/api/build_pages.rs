//! The build pages as a person sees them: a container's build history and chart, one build's
//! page with its log, and the forms that queue, cancel and "save and build". Builds are
//! recorded straight into the build store (no Docker Engine here).

use axum::http::header;
use bioshadock_core::accounts::Role;
use bioshadock_core::ports::builds::{BuildSource, BuildStatus, Finish, NewBuild};
use bioshadock_core::{RepoName, TagName};
use chrono::Duration;

use crate::support::*;

/// alice owns a public `alice/tool` (Dockerfile), a private `alice/secret` (Dockerfile) and a
/// public `alice/empty` with nothing to build; bob is another user; root is an admin.
async fn app() -> TestApp {
    let mut tool = public("alice/tool", 1);
    tool.dockerfile = Some("FROM busybox\n".into());
    let mut secret = private("alice/secret", 2);
    secret.dockerfile = Some("FROM busybox\n".into());
    let app = TestApp::with(vec![tool, secret, public("alice/empty", 3)]).await;
    app.user("alice", Role::User, "alice password").await;
    app.user("bob", Role::User, "bob password").await;
    app.user("root", Role::Admin, "root password").await;
    app
}

/// Records build `id` of `container`, queued at `at(minute)`; ids from 1000 stay clear of
/// the queue's own.
async fn record(app: &TestApp, id: i64, container: &str, minute: i64, source: BuildSource) {
    app.backends
        .builds
        .create(NewBuild {
            id,
            container: RepoName::parse(container).unwrap(),
            tag: TagName::parse("latest").unwrap(),
            requested_by: "alice".into(),
            source,
            options: Default::default(),
            queued_at: at(minute),
        })
        .await
        .unwrap();
}

/// Records a build that ran `secs` seconds and ended with `status`.
async fn ended(
    app: &TestApp,
    id: i64,
    container: &str,
    minute: i64,
    secs: i64,
    status: BuildStatus,
    reason: Option<&str>,
) {
    record(app, id, container, minute, dockerfile()).await;
    let builds = &app.backends.builds;
    let started = at(minute) + Duration::seconds(5);
    builds.start(id, "test-worker", started).await.unwrap();
    let revision = format!("abcdef{id:034}");
    builds.set_revision(id, &revision).await.unwrap();
    builds
        .finish(
            id,
            Finish {
                status,
                reason: reason.map(str::to_owned),
                digest: (status == BuildStatus::Success).then(|| format!("sha256:{id:064x}")),
                at: started + Duration::seconds(secs),
            },
        )
        .await
        .unwrap();
}

fn dockerfile() -> BuildSource {
    BuildSource::Dockerfile("FROM busybox\n".into())
}

fn location(response: &TestResponse) -> String {
    response
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The build id at the end of a build page's path.
fn build_id(path: &str) -> i64 {
    path.rsplit('/').next().unwrap().parse().unwrap()
}

/// The text of the element with this id (up to its first closing tag).
fn text_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).expect(id);
    let open = html[start..].find('>').unwrap() + start + 1;
    let close = html[open..].find('<').unwrap() + open;
    &html[open..close]
}

#[tokio::test]
async fn the_container_page_lists_builds_newest_first_with_durations_and_a_chart() {
    let app = app().await;
    ended(
        &app,
        1001,
        "alice/tool",
        10,
        180,
        BuildStatus::Success,
        None,
    )
    .await;
    let why = "step 2/3: `apt-get install` exited with 100";
    ended(
        &app,
        1002,
        "alice/tool",
        20,
        45,
        BuildStatus::Failed,
        Some(why),
    )
    .await;
    record(&app, 1003, "alice/tool", 30, dockerfile()).await;

    let page = app.get("/r/alice/tool").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let table = &page.body[page.body.find(r#"id="builds""#).expect("the history table")..];
    let positions: Vec<usize> = ["#1003", "#1002", "#1001"]
        .iter()
        .map(|n| table.find(n).unwrap_or_else(|| panic!("{n} listed")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "newest first");
    assert!(table.contains(r#"href="/r/alice/tool/builds/1002""#));
    assert!(table.contains("3m 00s") && table.contains("45s"), "{table}");
    assert!(table.contains("apt-get install"), "the reason of a failure");
    assert!(table.contains(r#"class="badge status-failed">failed<"#));
    assert!(table.contains(r#"class="badge status-queued">queued<"#));
    assert!(table.contains(">abcdef0<"), "the short revision");

    let chart = &page.body[page.body.find(r#"id="build-chart""#).expect("the chart")..];
    let chart = &chart[..chart.find("</svg>").unwrap()];
    assert_eq!(chart.matches("<rect").count(), 3, "one bar per build");
    assert!(chart.contains(r#"class="bar status-success""#));
    assert!(chart.contains(r#"class="bar status-failed""#));
    assert!(
        chart.contains("<title>#1002 latest: failed, 45s"),
        "{chart}"
    );
    assert!(chart.contains("longest 3m 00s"));
    assert!(
        !page.body.contains(r#"id="build-form""#),
        "anonymous visitors get no Build form"
    );
}

#[tokio::test]
async fn a_container_without_builds_has_no_chart() {
    let app = app().await;
    let page = app.get("/r/alice/tool").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No builds yet"));
    assert!(!page.body.contains(r#"id="build-chart""#) && !page.body.contains(r#"id="builds""#));
}

#[tokio::test]
async fn the_build_page_says_why_it_failed_at_the_top_and_escapes_the_log() {
    let app = app().await;
    let why = "the Dockerfile's RUN step exited with 1";
    ended(
        &app,
        1001,
        "alice/tool",
        10,
        75,
        BuildStatus::Failed,
        Some(why),
    )
    .await;
    let lines = vec![
        "Step 1/2 : FROM busybox".to_owned(),
        "<script>alert(1)</script>".to_owned(),
        "a & b \"quoted\"".to_owned(),
    ];
    app.backends.builds.append_log(1001, &lines).await.unwrap();

    let page = app.get("/r/alice/tool/builds/1001").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert_eq!(text_of(body, "build-status"), "failed");
    assert!(text_of(body, "build-reason").contains("RUN step exited with 1"));
    let reason_at = body.find(r#"id="build-reason""#).unwrap();
    assert!(!body[reason_at..reason_at + 80].contains("hidden"), "shown");
    let log_at = body.find(r#"id="build-log""#).expect("the log");
    assert!(reason_at < log_at, "the reason comes before the log");
    assert!(
        reason_at < body.find("Requested by").unwrap(),
        "and the metadata"
    );

    assert!(!body.contains("<script>alert(1)"), "log lines are escaped");
    let log = &body[body.find(r#"id="build-log""#).unwrap()..];
    let escaped = [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
    ];
    assert!(escaped.iter().any(|e| log.contains(e)), "{log}");
    assert!(body.contains(r#"id="L2""#) && body.contains(r##"href="#L3""##));
    assert!(
        body.contains(r#"data-after="3""#),
        "the live log resumes after line 3"
    );
    assert!(body.contains(r#"data-live="false""#));
    assert!(body.contains("1m 15s"), "the duration");
    assert!(body.contains("Dockerfile from the portal"));
    assert!(body.contains(r#"<script src="/static/build.js""#));
    assert!(
        !body.contains(r#"id="cancel-build""#),
        "an ended build cannot be cancelled"
    );

    let script = app.get("/static/build.js").await;
    assert_eq!(script.status, 200);
    assert!(script.content_type().starts_with("text/javascript"));
    assert!(script.body.contains("EventSource") && !script.body.contains("innerHTML"));
}

#[tokio::test]
async fn the_build_page_shows_git_sources_without_credentials() {
    let app = app().await;
    let source = BuildSource::Git("https://ci:s3cret@git.example.org/lab/tool.git#main".into());
    record(&app, 1001, "alice/tool", 10, source).await;
    let page = app.get("/r/alice/tool/builds/1001").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("s3cret") && !page.body.contains("ci:"));
    assert!(page.body.contains("git.example.org/lab/tool.git#main"));
    assert_eq!(text_of(&page.body, "build-status"), "queued");
    assert!(page.body.contains(r#"data-live="true""#));
    assert!(page.body.contains(r#"data-after="0""#));
}

#[tokio::test]
async fn the_build_form_queues_a_build_and_opens_its_page() {
    let app = app().await;
    let mut alice = app.login("alice", "alice password").await;
    let page = alice.get("/r/alice/tool").await;
    assert!(page.body.contains(r#"id="build-form""#), "{}", page.body);
    assert!(page.body.contains(r#"name="tag" value="latest""#));

    let form = format!("csrf={}&tag=v1.2", alice.csrf);
    let queued = alice.post_form("/r/alice/tool/build", &form).await;
    assert_eq!(queued.status, 303, "{}", queued.body);
    let path = location(&queued);
    assert!(path.starts_with("/r/alice/tool/builds/"), "{path}");
    let id = build_id(&path);

    let list = app.get("/builds/alice/tool").await.json();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["tag"], "v1.2");
    assert_eq!(list[0]["status"], "queued");

    let build = alice.get(&path).await;
    assert_eq!(build.status, 200);
    assert_eq!(text_of(&build.body, "build-status"), "queued");
    assert!(build.body.contains(r#"id="cancel-build""#));

    // No token, no build.
    let forged = alice.post_form("/r/alice/tool/build", "tag=v2").await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        app.get("/builds/alice/tool")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let bad = format!("csrf={}&tag=not+a+tag!", alice.csrf);
    let refused = alice.post_form("/r/alice/tool/build", &bad).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains(r#"id="build-error""#) && refused.body.contains("invalid tag"));
    assert!(
        refused.body.contains(r#"value="not a tag!""#),
        "the form keeps the tag"
    );
}

#[tokio::test]
async fn too_many_builds_and_missing_sources_are_explained_on_the_page() {
    let app = app().await;
    let mut alice = app.login("alice", "alice password").await;
    alice.get("/r/alice/tool").await;
    for tag in ["a", "b", "c"] {
        let form = format!("csrf={}&tag={tag}", alice.csrf);
        let queued = alice.post_form("/r/alice/tool/build", &form).await;
        assert_eq!(queued.status, 303, "{}", queued.body);
    }
    let form = format!("csrf={}&tag=d", alice.csrf);
    let refused = alice.post_form("/r/alice/tool/build", &form).await;
    assert_eq!(refused.status, 429);
    assert!(
        refused.body.contains("builds queued or running"),
        "{}",
        refused.body
    );

    let empty = alice.get("/r/alice/empty").await;
    assert!(!empty.body.contains(r#"id="build-form""#));
    assert!(empty.body.contains(r#"id="no-source""#));
    assert!(empty.body.contains(r#"href="/r/alice/empty/settings""#));
    let form = format!("csrf={}&tag=latest", alice.csrf);
    let nothing = alice.post_form("/r/alice/empty/build", &form).await;
    assert_eq!(nothing.status, 409);
    assert!(
        nothing
            .body
            .contains("neither a git source nor a Dockerfile")
    );
}

#[tokio::test]
async fn no_build_form_or_cancel_button_without_push_rights() {
    let app = app().await;
    record(&app, 1001, "alice/tool", 10, dockerfile()).await;
    let mut bob = app.login("bob", "bob password").await;
    for body in [
        bob.get("/r/alice/tool").await.body,
        app.get("/r/alice/tool").await.body,
    ] {
        assert!(body.contains(r#"id="builds""#));
        assert!(!body.contains(r#"id="build-form""#));
    }
    for body in [
        bob.get("/r/alice/tool/builds/1001").await.body,
        app.get("/r/alice/tool/builds/1001").await.body,
    ] {
        assert_eq!(text_of(&body, "build-status"), "queued");
        assert!(!body.contains(r#"id="cancel-build""#));
    }

    let form = format!("csrf={}", bob.csrf);
    let build = bob.post_form("/r/alice/tool/build", &form).await;
    assert_eq!(build.status, 403);
    let cancel = bob
        .post_form("/r/alice/tool/builds/1001/cancel", &form)
        .await;
    assert_eq!(cancel.status, 403);
    let still = app.backends.builds.get(1001).await.unwrap();
    assert_eq!(still.status, BuildStatus::Queued);
    assert!(
        app.get("/builds/alice/tool")
            .await
            .json()
            .as_array()
            .unwrap()
            .len()
            == 1
    );
}

#[tokio::test]
async fn a_private_containers_build_page_is_404_to_anonymous_and_non_members() {
    let app = app().await;
    record(&app, 1001, "alice/secret", 10, dockerfile()).await;
    record(&app, 1002, "alice/tool", 11, dockerfile()).await;
    assert_eq!(app.get("/r/alice/secret/builds/1001").await.status, 404);
    let mut bob = app.login("bob", "bob password").await;
    assert_eq!(bob.get("/r/alice/secret/builds/1001").await.status, 404);
    let mut alice = app.login("alice", "alice password").await;
    assert_eq!(alice.get("/r/alice/secret/builds/1001").await.status, 200);
    // A build is only found under its own container, and ids are numbers.
    assert_eq!(alice.get("/r/alice/tool/builds/1001").await.status, 404);
    assert_eq!(alice.get("/r/alice/secret/builds/1002").await.status, 404);
    assert_eq!(alice.get("/r/alice/tool/builds/abc").await.status, 404);
    assert_eq!(alice.get("/r/alice/tool/builds/9999").await.status, 404);
}

#[tokio::test]
async fn cancelling_from_the_page_marks_the_build_cancelled() {
    let app = app().await;
    let mut alice = app.login("alice", "alice password").await;
    alice.get("/r/alice/tool").await;
    let form = format!("csrf={}", alice.csrf);
    let path = location(&alice.post_form("/r/alice/tool/build", &form).await);
    let id = build_id(&path);

    let cancelled = alice.post_form(&format!("{path}/cancel"), &form).await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.body);
    assert_eq!(location(&cancelled), path);
    let json = app.get(&format!("/build/{id}")).await.json();
    assert_eq!(json["status"], "cancelled");

    let page = alice.get(&path).await;
    assert_eq!(text_of(&page.body, "build-status"), "cancelled");
    assert!(text_of(&page.body, "build-reason").contains("cancelled by alice"));
    assert!(!page.body.contains(r#"id="cancel-build""#));

    let again = alice.post_form(&format!("{path}/cancel"), &form).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already ended"), "{}", again.body);

    let forged = alice.post_form(&format!("{path}/cancel"), "").await;
    assert_eq!(forged.status, 403);
}

#[tokio::test]
async fn save_and_build_saves_the_dockerfile_and_queues_a_build() {
    let app = app().await;
    let mut alice = app.login("alice", "alice password").await;
    let settings = alice.get("/r/alice/empty/settings").await;
    assert!(settings.body.contains(r#"name="and_build" value="1""#));
    let form = format!(
        "csrf={}&git=&dockerfile=FROM+alpine%3A3.20%0ARUN+true%0A&and_build=1",
        alice.csrf
    );
    let saved = alice.post_form("/r/alice/empty/settings", &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let path = location(&saved);
    assert!(path.starts_with("/r/alice/empty/builds/"), "{path}");

    let container = app
        .backends
        .store
        .get(&RepoName::parse("alice/empty").unwrap())
        .await
        .unwrap();
    assert_eq!(
        container.dockerfile.as_deref(),
        Some("FROM alpine:3.20\nRUN true\n")
    );
    let build = app.backends.builds.get(build_id(&path)).await.unwrap();
    assert_eq!(build.status, BuildStatus::Queued);
    assert_eq!(build.tag.as_str(), "latest");
    assert_eq!(
        build.source,
        BuildSource::Dockerfile("FROM alpine:3.20\nRUN true\n".into())
    );

    // A plain Save still only saves.
    let form = format!("csrf={}&dockerfile=FROM+alpine%0A&action=save", alice.csrf);
    let plain = alice.post_form("/r/alice/empty/settings", &form).await;
    assert_eq!(location(&plain), "/r/alice/empty/settings?saved=1");
    assert_eq!(
        app.get("/builds/alice/empty")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_admin_page_shows_the_builder_and_the_live_builds() {
    let app = app().await;
    record(&app, 1001, "alice/secret", 10, dockerfile()).await;
    ended(&app, 1002, "alice/tool", 11, 30, BuildStatus::Success, None).await;
    let mut root = app.login("root", "root password").await;
    let page = root.get("/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"id="builder""#));
    assert!(
        page.body.contains(r#"id="builder-absent""#),
        "no builder in tests"
    );
    let live = &page.body[page.body.find(r#"id="live-builds""#).expect("live builds")..];
    assert!(live.contains(r#"href="/r/alice/secret/builds/1001""#));
    assert!(!live.contains("/builds/1002"), "ended builds are not live");
    assert!(page.body.contains("<title>Users · Bioshadock</title>"));
}

#[tokio::test]
async fn a_long_log_shows_its_last_mebibyte_and_links_to_the_whole_log() {
    let app = app().await;
    ended(&app, 1001, "alice/tool", 10, 5, BuildStatus::Success, None).await;
    // 300 lines of 8000 bytes: 1 MiB holds the last 131.
    let lines: Vec<String> = (1..=300)
        .map(|n| format!("{n:05} {}", "y".repeat(7994)))
        .collect();
    for chunk in lines.chunks(100) {
        app.backends.builds.append_log(1001, chunk).await.unwrap();
    }
    let page = app.get("/r/alice/tool/builds/1001").await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    assert!(body.len() < 1024 * 1024 + 64 * 1024, "{} bytes", body.len());
    assert_eq!(
        text_of(body, "build-log-skipped"),
        "169 earlier lines are not shown here."
    );
    assert!(!body.contains(r#"id="L169""#) && body.contains(r#"id="L170""#));
    assert!(body.contains(r#"id="L300""#) && body.contains(r#"data-after="300""#));
    assert!(body.contains(r#"href="/build/1001/log.txt""#));
    assert!(body.contains(r#"href="/build/1001/log""#));
}
