//! The build API without a Docker Engine: hooks, their authentication and validation, the
//! per-user limit, deduplication, cancelling, visibility, and the live log's event stream over
//! records written straight into the build store. (Real builds run in tests/e2e/builds.rs.)

use axum::body::Body;
use axum::http::{Request, header};
use bioshadock_core::RepoName;
use bioshadock_core::accounts::Role;
use bioshadock_core::model::now;
use bioshadock_core::ports::builds::{BuildStatus, Finish};
use bioshadock_core::ports::store::ContainerSettings;
use serde_json::Value;

use crate::support::*;

const GIT: &str = "git://git.example.org/lab/tool.git#main:docker";

/// alice owns a public `alice/tool` (git source) and a private `alice/secret` (Dockerfile);
/// bob is another user. Returns alice's build key.
async fn app() -> (TestApp, String) {
    let mut tool = public("alice/tool", 1);
    tool.git = Some(GIT.into());
    let mut secret = private("alice/secret", 2);
    secret.dockerfile = Some("FROM busybox\n".into());
    let app = TestApp::with(vec![tool, secret, public("alice/empty", 3)]).await;
    app.user("alice", Role::User, "alice password").await;
    app.user("bob", Role::User, "bob password").await;
    let key = app.key("alice", "read,build").await;
    (app, key)
}

fn request(method: &str, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap()
}

async fn queued(app: &TestApp) -> u64 {
    app.backends.queue.queued_count().await.unwrap()
}

async fn build_ids(app: &TestApp, key: &str, container: &str) -> Vec<i64> {
    let response = app
        .with_key(key, request("GET", &format!("/builds/{container}")))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    response
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn hook_urls_queue_builds_and_answer_202_with_the_build_id() {
    let (app, key) = app().await;
    let response = app
        .get(&format!("/container/git/alice/tool?apikey={key}"))
        .await;
    assert_eq!(response.status, 202, "{}", response.body);
    let first = response.json();
    assert_eq!(first["status"], "queued");
    assert_eq!(first["deduplicated"], false);
    let id = first["id"].as_i64().unwrap();

    // The same build again (POST this time) is the same build, not a second one.
    let again = app
        .send(request(
            "POST",
            &format!("/container/git/alice/tool?apikey={key}"),
        ))
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.json()["id"], id);
    assert_eq!(again.json()["deduplicated"], true);
    assert_eq!(queued(&app).await, 1);

    let build = app
        .with_key(&key, request("GET", &format!("/build/{id}")))
        .await;
    assert_eq!(build.status, 200, "{}", build.body);
    let build = build.json();
    assert_eq!(build["container"], "alice/tool");
    assert_eq!(build["tag"], "latest");
    assert_eq!(build["status"], "queued");
    assert_eq!(build["git"], GIT);
    assert_eq!(build["log"], "");
    assert!(build["queued_at"].is_string() && build["started_at"].is_null());

    // The tag hook builds the git ref named like the tag, keeping the sub-directory.
    let tagged = app
        .get(&format!("/container/tag/alice/tool/v1.2?apikey={key}"))
        .await;
    assert_eq!(tagged.status, 202, "{}", tagged.body);
    let tagged_id = tagged.json()["id"].as_i64().unwrap();
    let tagged = app
        .with_key(&key, request("GET", &format!("/build/{tagged_id}")))
        .await
        .json();
    assert_eq!(tagged["tag"], "v1.2");
    assert_eq!(
        tagged["git"],
        "git://git.example.org/lab/tool.git#v1.2:docker"
    );
    assert_eq!(
        build_ids(&app, &key, "alice/tool").await,
        vec![tagged_id, id]
    );

    // A Dockerfile-only container builds its Dockerfile.
    let dockerfile = app
        .get(&format!("/container/git/alice/secret?apikey={key}"))
        .await;
    assert_eq!(dockerfile.status, 202, "{}", dockerfile.body);
    let dockerfile_id = dockerfile.json()["id"].as_i64().unwrap();
    let dockerfile = app
        .with_key(&key, request("GET", &format!("/build/{dockerfile_id}")))
        .await
        .json();
    assert_eq!(dockerfile["source_kind"], "dockerfile");
    assert!(dockerfile["git"].is_null());
}

#[tokio::test]
async fn bad_keys_missing_scopes_and_missing_rights_are_refused_and_queue_nothing() {
    let (app, _) = app().await;
    let hook = "/container/git/alice/tool";
    app.get(hook).await.assert_error(401, "unauthorized");
    app.get(&format!("{hook}?apikey=bsk_000000000000_notakeyatall"))
        .await
        .assert_error(401, "unauthorized");
    let no_build_scope = app.key("alice", "read,push").await;
    app.get(&format!("{hook}?apikey={no_build_scope}"))
        .await
        .assert_error(403, "insufficient_scope");
    // bob may see alice's public container but not push to it.
    let bob = app.key("bob", "read,build,push").await;
    app.get(&format!("{hook}?apikey={bob}"))
        .await
        .assert_error(403, "forbidden");
    // ... and alice's private one does not exist for him.
    app.get(&format!("/container/git/alice/secret?apikey={bob}"))
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/container/git/alice/nothing?apikey={bob}"))
        .await
        .assert_error(404, "not_found");
    assert_eq!(queued(&app).await, 0);
    let alice = app.key("alice", "read").await;
    assert!(build_ids(&app, &alice, "alice/tool").await.is_empty());
}

#[tokio::test]
async fn a_push_member_may_build_with_a_build_only_key() {
    let (app, _) = app().await;
    let id = RepoName::parse("alice/tool").unwrap();
    let mut settings = ContainerSettings::of(&app.backends.store.get(&id).await.unwrap());
    settings.members = vec![bioshadock_core::Member {
        user: bioshadock_core::MemberName::from(
            bioshadock_core::accounts::UserName::parse("bob").unwrap(),
        ),
        access: bioshadock_core::Access::Push,
    }];
    app.backends
        .store
        .update_settings(&id, &settings)
        .await
        .unwrap();
    let bob = app.key("bob", "build").await;
    let response = app
        .get(&format!("/container/git/alice/tool?apikey={bob}"))
        .await;
    assert_eq!(response.status, 202, "{}", response.body);
}

#[tokio::test]
async fn unsafe_git_sources_are_refused_with_400_and_nothing_is_queued() {
    let (app, key) = app().await;
    let push = app.key("alice", "read,push,build").await;
    for bad in [
        "file:///etc",
        "/srv/git/tool",
        "../tool",
        "ext::sh -c touch% /tmp/pwned",
        "git://git.example.org/lab/tool.git#main:../../x",
        "git@-oProxyCommand=touch%20/tmp/pwned:repo",
        "git@git.example.org:-x",
        "ssh://-oProxyCommand=x/lab/tool.git",
    ] {
        let body = serde_json::json!({ "name": "alice/bad", "git": bad }).to_string();
        let mut create = Request::post("/container/new")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        create.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {push}").parse().unwrap(),
        );
        app.send(create).await.assert_error(400, "bad_request");
        let body = serde_json::json!({ "git": bad }).to_string();
        let patch = Request::patch("/container/alice/tool")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        app.with_key(&push, patch)
            .await
            .assert_error(400, "bad_request");
    }
    let stored = app
        .backends
        .store
        .get(&RepoName::parse("alice/tool").unwrap())
        .await
        .unwrap();
    assert_eq!(stored.git.as_deref(), Some(GIT));

    // A bad source stored before validation existed (old data) is refused at build time.
    let id = RepoName::parse("alice/tool").unwrap();
    let mut settings = ContainerSettings::of(&stored);
    settings.git = Some("file:///etc".into());
    app.backends
        .store
        .update_settings(&id, &settings)
        .await
        .unwrap();
    app.get(&format!("/container/git/alice/tool?apikey={key}"))
        .await
        .assert_error(400, "bad_request");
    // Nothing to build at all is the container's state, not the request's fault: 409.
    app.get(&format!("/container/git/alice/empty?apikey={key}"))
        .await
        .assert_error(409, "no_source");
    // A bad tag is a 400.
    app.get(&format!("/container/tag/alice/secret/-bad?apikey={key}"))
        .await
        .assert_error(400, "bad_request");
    assert_eq!(queued(&app).await, 0);
}

#[tokio::test]
async fn a_user_past_the_pending_limit_gets_429() {
    let (app, key) = app().await;
    // The test app allows 3 pending builds per user.
    for tag in ["a", "b", "c"] {
        let response = app
            .get(&format!("/container/tag/alice/tool/{tag}?apikey={key}"))
            .await;
        assert_eq!(response.status, 202, "{}", response.body);
    }
    app.get(&format!("/container/tag/alice/tool/d?apikey={key}"))
        .await
        .assert_error(429, "too_many_builds");
    assert_eq!(queued(&app).await, 3);
    // Another user is not held back by alice's queue.
    let bob = app.key("bob", "read,build,push").await;
    app.send(
        Request::post("/container/new")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {bob}"))
            .body(Body::from(
                r#"{"name":"bob/x","dockerfile":"FROM scratch\n"}"#,
            ))
            .unwrap(),
    )
    .await;
    let response = app.get(&format!("/container/git/bob/x?apikey={bob}")).await;
    assert_eq!(response.status, 202, "{}", response.body);
}

#[tokio::test]
async fn cancelling_a_queued_build_takes_it_out_of_the_queue() {
    let (app, key) = app().await;
    let id = app
        .get(&format!("/container/git/alice/tool?apikey={key}"))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let bob = app.key("bob", "read,build,push").await;
    app.with_key(&bob, request("POST", &format!("/build/{id}/cancel")))
        .await
        .assert_error(403, "forbidden");
    let cancelled = app
        .with_key(&key, request("POST", &format!("/build/{id}/cancel")))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(cancelled.json()["reason"], "cancelled by alice");
    assert_eq!(queued(&app).await, 0);
    app.with_key(&key, request("POST", &format!("/build/{id}/cancel")))
        .await
        .assert_error(409, "conflict");
    // A new request queues a new build rather than returning the cancelled one.
    let next = app
        .get(&format!("/container/git/alice/tool?apikey={key}"))
        .await;
    assert_ne!(next.json()["id"].as_i64().unwrap(), id);
}

#[tokio::test]
async fn builds_of_private_containers_do_not_leak() {
    let (app, key) = app().await;
    let id = app
        .get(&format!("/container/git/alice/secret?apikey={key}"))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let bob = app.key("bob", "read,build,push").await;
    for uri in [
        format!("/build/{id}"),
        format!("/build/{id}/events"),
        format!("/build/{id}/log"),
        format!("/build/{id}/log.txt"),
        "/builds/alice/secret".to_owned(),
    ] {
        app.get(&uri).await.assert_error(404, "not_found");
        app.with_key(&bob, request("GET", &uri))
            .await
            .assert_error(404, "not_found");
    }
    app.with_key(&bob, request("POST", &format!("/build/{id}/cancel")))
        .await
        .assert_error(404, "not_found");
    let own = app
        .with_key(&key, request("GET", &format!("/build/{id}")))
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
}

#[tokio::test]
async fn the_live_log_sends_every_line_in_order_then_ends_and_resumes_after_an_id() {
    let (app, key) = app().await;
    let id = app
        .get(&format!("/container/git/alice/tool?apikey={key}"))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let builds = &app.backends.builds;
    builds.start(id, "test-worker", now()).await.unwrap();
    let lines: Vec<String> = (1..=30).map(|n| format!("line {n} <b>&</b>")).collect();
    builds.append_log(id, &lines[..10]).await.unwrap();
    builds.append_log(id, &lines[10..]).await.unwrap();
    builds
        .finish(
            id,
            Finish {
                status: BuildStatus::Failed,
                reason: Some("RUN exited with 7".into()),
                digest: None,
                at: now(),
            },
        )
        .await
        .unwrap();

    let response = app.get(&format!("/build/{id}/events")).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.content_type().starts_with("text/event-stream"));
    let (ids, data, end) = parse_events(&response.body);
    assert_eq!(ids, (1..=30).collect::<Vec<u64>>());
    assert_eq!(data, lines);
    let end = end.expect("an end event");
    assert_eq!(end["status"], "failed");
    assert_eq!(end["reason"], "RUN exited with 7");

    // A reconnecting EventSource sends Last-Event-ID and gets only what follows.
    let resumed = app
        .send(
            Request::get(format!("/build/{id}/events"))
                .header("last-event-id", "25")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let (ids, _, end) = parse_events(&resumed.body);
    assert_eq!(ids, (26..=30).collect::<Vec<u64>>());
    assert!(end.is_some());

    let full = app
        .with_key(&key, request("GET", &format!("/build/{id}")))
        .await
        .json();
    assert_eq!(full["log"].as_str().unwrap().lines().count(), 30);
    assert!(full["duration_secs"].as_f64().is_some());
}

#[tokio::test]
async fn deleting_a_container_deletes_its_builds() {
    let (app, key) = app().await;
    let id = app
        .get(&format!("/container/git/alice/tool?apikey={key}"))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let owner = app.key("alice", "read,push").await;
    // Nothing listens at the test registry: deletion there is skipped for a container that
    // never had tags.
    let deleted = app
        .with_key(&owner, request("DELETE", "/container/alice/tool"))
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    assert!(matches!(
        app.backends.builds.get(id).await,
        Err(bioshadock_core::PortError::NotFound)
    ));
}

/// A finished build of `alice/tool` whose log is `lines` lines of `width` bytes (`NNNNN xxx…`);
/// each gets its own tag, so none is deduplicated into another.
async fn build_with_log(
    app: &TestApp,
    key: &str,
    lines: usize,
    width: usize,
) -> (i64, Vec<String>) {
    let id = app
        .get(&format!("/container/tag/alice/tool/t{lines}?apikey={key}"))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let builds = &app.backends.builds;
    builds.start(id, "test-worker", now()).await.unwrap();
    let log: Vec<String> = (1..=lines)
        .map(|n| format!("{n:05} {}", "x".repeat(width - 6)))
        .collect();
    for chunk in log.chunks(100) {
        builds.append_log(id, chunk).await.unwrap();
    }
    let done = Finish {
        status: BuildStatus::Success,
        reason: None,
        digest: None,
        at: now(),
    };
    builds.finish(id, done).await.unwrap();
    (id, log)
}

#[tokio::test]
async fn a_build_carries_the_last_mebibyte_of_a_long_log_and_says_it_is_cut() {
    let (app, key) = app().await;
    // 300 lines of 8000 bytes: 2.4 MB, more than the 1 MiB the answer carries.
    let (id, log) = build_with_log(&app, &key, 300, 8000).await;
    let build = app.get(&format!("/build/{id}")).await.json();
    assert_eq!(build["log_truncated"], true);
    assert_eq!(build["log_lines"], 300);
    let text = build["log"].as_str().unwrap();
    assert!(text.len() <= 1024 * 1024, "{} bytes", text.len());
    // 1 MiB holds 131 lines of 8000 bytes and a newline: the last 131, whole.
    let shown: Vec<&str> = text.lines().collect();
    assert_eq!(shown.len(), 131);
    assert_eq!(
        shown,
        log[300 - 131..]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );

    let (short, _) = build_with_log(&app, &key, 3, 20).await;
    let build = app.get(&format!("/build/{short}")).await.json();
    assert_eq!(build["log_truncated"], false);
    assert_eq!(build["log"].as_str().unwrap().lines().count(), 3);
}

#[tokio::test]
async fn the_log_pages_in_order_and_refuses_bad_bounds() {
    let (app, key) = app().await;
    let (id, log) = build_with_log(&app, &key, 1200, 10).await;
    let mut after = Some(0);
    let mut seen = Vec::new();
    while let Some(from) = after {
        let page = app
            .get(&format!("/build/{id}/log?after={from}&limit=1000"))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        assert_eq!(page["total"], 1200);
        for line in page["lines"].as_array().unwrap() {
            assert_eq!(line["seq"], seen.len() + 1);
            seen.push(line["text"].as_str().unwrap().to_owned());
        }
        after = page["next_after"].as_u64();
    }
    assert_eq!(seen, log, "every line once, in order, in two pages");
    let default = app.get(&format!("/build/{id}/log?after=1190")).await.json();
    assert_eq!(default["lines"].as_array().unwrap().len(), 10);
    assert!(default["next_after"].is_null());
    let first = app.get(&format!("/build/{id}/log")).await.json();
    assert_eq!(
        first["lines"].as_array().unwrap().len(),
        500,
        "500 by default"
    );
    assert_eq!(first["next_after"], 500);

    let past = app
        .get(&format!("/build/{id}/log?after={}", u64::MAX))
        .await
        .json();
    assert!(past["lines"].as_array().unwrap().is_empty() && past["next_after"].is_null());
    for bad in [
        "after=18446744073709551616",
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=ten",
        "after=-1",
        "after=x",
    ] {
        app.get(&format!("/build/{id}/log?{bad}"))
            .await
            .assert_error(400, "bad_request");
    }
    app.get("/build/999999/log")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn the_whole_log_downloads_as_plain_text() {
    let (app, key) = app().await;
    // More lines than one chunk of the stream, so the body is several chunks joined.
    let (id, log) = build_with_log(&app, &key, 700, 50).await;
    let response = app.get(&format!("/build/{id}/log.txt")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type(), "text/plain; charset=utf-8");
    let disposition = response.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"build-{id}.log\"")
    );
    assert_eq!(response.body, format!("{}\n", log.join("\n")));
    app.get("/build/999999/log.txt")
        .await
        .assert_error(404, "not_found");
}

/// The ids and data of `message` events, and the JSON of the `end` event, from an SSE body.
fn parse_events(body: &str) -> (Vec<u64>, Vec<String>, Option<Value>) {
    let (mut ids, mut data, mut end) = (Vec::new(), Vec::new(), None);
    for block in body.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut event = "message";
        let mut id = None;
        let mut text = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = v.trim_start();
            } else if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().parse::<u64>().ok();
            } else if let Some(v) = line.strip_prefix("data:") {
                text.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        match event {
            "message" if id.is_some() => {
                ids.push(id.unwrap());
                data.push(text);
            }
            "end" => end = Some(serde_json::from_str(&text).unwrap()),
            _ => {}
        }
    }
    (ids, data, end)
}

#[tokio::test]
async fn while_a_build_runs_one_more_waits_behind_it_and_no_more() {
    let (app, key) = app().await;
    let hook = format!("/container/git/alice/tool?apikey={key}");
    let running = app.get(&hook).await.json()["id"].as_i64().unwrap();
    // A worker takes it: the job is leased and the build marked running.
    let job = app
        .backends
        .queue
        .lease("test-worker", std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.id, running);
    app.backends
        .builds
        .start(running, "test-worker", now())
        .await
        .unwrap();

    // A push arrives meanwhile: it must be built too, after the running one.
    let behind = app.get(&hook).await.json();
    assert_eq!(behind["deduplicated"], false, "{behind}");
    let behind = behind["id"].as_i64().unwrap();
    assert_ne!(behind, running);
    // More pushes while it waits are the same waiting build.
    let again = app.get(&hook).await.json();
    assert_eq!(again["id"], behind);
    assert_eq!(again["deduplicated"], true);
    assert_eq!(queued(&app).await, 1);
}

#[tokio::test]
async fn credentials_in_a_git_source_are_never_shown() {
    let (app, key) = app().await;
    let push = app.key("alice", "read,push,build").await;
    let patch = Request::patch("/container/alice/tool")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"git": "https://ci:s3cret-token@git.example.org/lab/tool.git?private_token=qz9tok3n#main"}"#,
        ))
        .unwrap();
    let saved = app.with_key(&push, patch).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let id = app
        .get(&format!("/container/git/alice/tool?apikey={key}"))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    for uri in [
        "/container/alice/tool".to_owned(),
        "/container/all".to_owned(),
        "/builds/alice/tool".to_owned(),
        format!("/build/{id}"),
        "/r/alice/tool".to_owned(),
        format!("/r/alice/tool/builds/{id}"),
    ] {
        let body = app.get(&uri).await.body;
        assert!(!body.contains("s3cret"), "{uri} shows the password: {body}");
        assert!(!body.contains("qz9tok3n"), "{uri} shows the token: {body}");
    }
    let shown = app.get("/container/alice/tool").await.json();
    assert_eq!(shown["git"], "https://git.example.org/lab/tool.git#main");
}

/// A push member may edit a container, but its git credentials are its owner's: the settings
/// page shows them to owners and admins only, and saving the form unchanged keeps them.
#[tokio::test]
async fn push_members_do_not_see_the_git_credentials_and_keep_them_by_saving() {
    let (app, _) = app().await;
    let alice = app.key("alice", "read,push,build").await;
    let with_secret = "https://ci:s3cret-token@git.example.org/lab/tool.git#main";
    let patch = Request::patch("/container/alice/tool")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(r#"{{"git": "{with_secret}"}}"#)))
        .unwrap();
    assert_eq!(app.with_key(&alice, patch).await.status, 200);
    let members = Request::put("/container/members/alice/tool")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"members":[{"user":"bob","access":"push"}]}"#,
        ))
        .unwrap();
    let set = app.with_key(&alice, members).await;
    assert_eq!(set.status, 200, "{}", set.body);

    let mut owner = app.login("alice", "alice password").await;
    assert!(
        owner
            .get("/r/alice/tool/settings")
            .await
            .body
            .contains("s3cret-token")
    );
    let mut bob = app.login("bob", "bob password").await;
    let page = bob.get("/r/alice/tool/settings").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("s3cret"), "{}", page.body);
    assert!(
        page.body
            .contains("https://git.example.org/lab/tool.git#main")
    );

    let form = format!(
        "csrf={}&description=edited+by+bob&git={}&dockerfile=&action=save",
        bob.csrf, "https%3A%2F%2Fgit.example.org%2Flab%2Ftool.git%23main"
    );
    let saved = bob.post_form("/r/alice/tool/settings", &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = app
        .backends
        .store
        .get(&RepoName::parse("alice/tool").unwrap())
        .await
        .unwrap();
    assert_eq!(stored.description, "edited by bob");
    assert_eq!(
        stored.git.as_deref(),
        Some(with_secret),
        "the credentials stay"
    );
}
