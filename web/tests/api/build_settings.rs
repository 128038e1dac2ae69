//! A container's build settings through the API: build arguments (bounds, `{tag}` and `{sha}`,
//! a trigger's over the container's, shown in the build record), "without cache" builds, and
//! the schedule, driven here by a test clock. Real engine builds with arguments, the cache and
//! a scheduled rebuild are in tests/e2e/builds.rs.

use axum::body::Body;
use axum::http::Request;
use bioshadock_core::Visibility;
use bioshadock_core::accounts::Role;
use bioshadock_core::triggers::signatures::hmac_hex_of;
use bioshadock_web::services::build_schedules;
use chrono::{DateTime, Datelike, Utc};
use serde_json::{Value, json};

use crate::support::*;

const GITHUB_PUSH: &str = include_str!("../../../core/src/triggers/fixtures/github_push.json");
const PUSHED_COMMIT: &str = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

/// `lab/tool`, public, built from git, owned by `lab`; `bob` is a stranger to it.
async fn app() -> (TestApp, String, String) {
    let app = TestApp::with_settings(|s| s.max_pending_builds = 20).await;
    let mut tool = container("lab/tool", Visibility::Public, 1, "a tool");
    tool.git = Some("https://github.com/genomics-lab/tools.git#main:tool".into());
    app.add(&[tool]).await;
    app.user("lab", Role::User, "lab password").await;
    app.user("bob", Role::User, "bob password").await;
    let lab = app.key("lab", "read,push,build").await;
    let bob = app.key("bob", "read,push,build").await;
    (app, lab, bob)
}

async fn put_settings(app: &TestApp, key: &str, body: &Value) -> TestResponse {
    app.with_key(
        key,
        json_request(
            "PUT",
            "/container/build-settings/lab/tool",
            &body.to_string(),
        ),
    )
    .await
}

async fn queue(app: &TestApp, key: &str, uri: &str) -> TestResponse {
    app.with_key(key, Request::post(uri).body(Body::empty()).unwrap())
        .await
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn build_arguments_are_bounded_filled_in_and_recorded_with_the_build() {
    let (app, lab, bob) = app().await;
    let too_many: serde_json::Map<String, Value> =
        (0..33).map(|n| (format!("A{n}"), json!("x"))).collect();
    for bad in [
        json!({"args": {"9LIVES": "x"}}),
        json!({"args": {"A-B": "x"}}),
        json!({"args": {"A": "one\ntwo"}}),
        json!({"args": {"A": "x".repeat(4097)}}),
        json!({ "args": too_many }),
        json!({"schedule": "* * * * *"}),
        json!({"schedule": "*/10 * * * *"}),
        json!({"schedule": "next tuesday"}),
        json!({"schedule": "0 3 * * 1 2027"}),
        json!({"args": {}, "cache": false}),
    ] {
        let response = put_settings(&app, &lab, &bad).await;
        assert_eq!(response.status, 400, "{bad}: {}", response.body);
    }
    put_settings(&app, &bob, &json!({"args": {"A": "b"}}))
        .await
        .assert_error(403, "forbidden");
    let unchanged = app.get("/container/build-settings/lab/tool").await.json();
    assert_eq!(unchanged["args"], json!({}), "refusals changed nothing");

    let saved = put_settings(
        &app,
        &lab,
        &json!({"args": {"VERSION": "{tag}", "REV": "{sha}", "PLAIN": "a b {other}"},
                "schedule": "0 3 * * 1"}),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let shown = app.get("/container/build-settings/lab/tool").await.json();
    assert_eq!(shown["schedule"], "0 3 * * 1");
    assert_eq!(shown["args"]["VERSION"], "{tag}");
    let next: DateTime<Utc> = shown["next_scheduled_build"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        (next.weekday(), next.format("%H:%M").to_string()),
        (chrono::Weekday::Mon, "03:00".to_owned()),
        "the next build is on Monday at 03:00 (no spread in these tests)"
    );

    // A build records its arguments, `{tag}` filled in; `{sha}` waits for the clone.
    let queued = queue(&app, &lab, "/container/tag/lab/tool/1.0?no_cache=true").await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let first = queued.json()["id"].as_i64().unwrap();
    let build = app.get(&format!("/build/{first}")).await.json();
    assert_eq!(
        build["build_args"],
        json!({"VERSION": "1.0", "REV": "{sha}", "PLAIN": "a b {other}"})
    );
    assert_eq!(build["no_cache"], true);
    // The same build with the cache is another build; asking again for either is not.
    let cached = queue(&app, &lab, "/container/tag/lab/tool/1.0")
        .await
        .json();
    assert_ne!(cached["id"].as_i64().unwrap(), first);
    assert_eq!(cached["deduplicated"], false);
    let again = queue(&app, &lab, "/container/tag/lab/tool/1.0?no_cache=true")
        .await
        .json();
    assert_eq!(
        (again["id"].as_i64().unwrap(), &again["deduplicated"]),
        (first, &json!(true))
    );
    let no_cache = app.get(&format!("/build/{}", cached["id"])).await.json()["no_cache"].clone();
    assert_eq!(no_cache, false);
    queue(&app, &lab, "/container/git/lab/tool?no_cache=maybe")
        .await
        .assert_error(400, "bad_request");

    // The build page shows them, and offers the rebuild without cache.
    let mut browser = app.login("lab", "lab password").await;
    let page = browser.get(&format!("/r/lab/tool/builds/{first}")).await;
    assert!(page.body.contains("VERSION=1.0"), "{}", page.body);
    assert!(page.body.contains("none: every step ran"));

    // A trigger's arguments go over the container's, with the pushed commit filled in.
    let created = app
        .with_key(
            &lab,
            json_request(
                "POST",
                "/container/triggers/lab/tool",
                &json!({"provider": "github", "build_args": {"REV": "commit-{sha}"}}).to_string(),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.json()["secret"].as_str().unwrap().to_owned();
    let pushed = app
        .send(
            Request::post("/hooks/github/lab/tool")
                .header("content-type", "application/json")
                .header("x-github-event", "push")
                .header(
                    "x-hub-signature-256",
                    format!("sha256={}", hmac_hex_of(&secret, GITHUB_PUSH.as_bytes())),
                )
                .body(Body::from(GITHUB_PUSH))
                .unwrap(),
        )
        .await;
    assert_eq!(pushed.status, 202, "{}", pushed.body);
    let triggered = pushed.json()["builds"][0]["id"].as_i64().unwrap();
    let build = app.get(&format!("/build/{triggered}")).await.json();
    assert_eq!(
        build["build_args"],
        json!({"VERSION": "latest", "REV": format!("commit-{PUSHED_COMMIT}"), "PLAIN": "a b {other}"})
    );
}

#[tokio::test]
async fn a_schedule_queues_latest_once_per_occurrence_as_its_owner() {
    let (app, lab, _) = app().await;
    let saved = put_settings(&app, &lab, &json!({"schedule": "0 3 * * 1"})).await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    // 2026-12-07 is a Monday. The test clock looks in steps, as the scheduler does.
    let looks = [
        "2026-12-07T02:58:00Z",
        "2026-12-07T02:59:30Z",
        "2026-12-07T03:00:00Z",
        "2026-12-07T03:00:30Z",
        "2026-12-07T03:01:00Z",
    ];
    let mut decisions = Vec::new();
    for span in looks.windows(2) {
        let found = build_schedules::run_due(&app.state, utc(span[0]), utc(span[1]))
            .await
            .unwrap();
        decisions.push(found);
    }
    let counts: Vec<usize> = decisions.iter().map(Vec::len).collect();
    assert_eq!(
        counts,
        [0, 1, 0, 0],
        "due once, in the look that holds 03:00"
    );
    let decision = &decisions[1][0];
    assert_eq!(decision.outcome, bioshadock_core::triggers::Outcome::Queued);
    let (build_id, tag) = decision.builds[0].clone();
    assert_eq!(tag, "latest");
    let build = app.get(&format!("/build/{build_id}")).await.json();
    assert_eq!(
        (build["requested_by"].as_str(), build["status"].as_str()),
        (Some("lab"), Some("queued")),
        "built as its owner"
    );
    assert_eq!(build["no_cache"], true, "from scratch, to pick up updates");

    // A week later the same build is still queued: the schedule does not pile builds up.
    let next_week = build_schedules::run_due(
        &app.state,
        utc("2026-12-14T02:59:00Z"),
        utc("2026-12-14T03:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        next_week[0].outcome,
        bioshadock_core::triggers::Outcome::Deduplicated
    );

    // Both are in the decision log, with their cause.
    let log = app
        .with_key(
            &lab,
            Request::get("/container/triggers/lab/tool/decisions")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
    let causes: Vec<(&str, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["provider"].as_str().unwrap(),
                d["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        causes,
        [("schedule", "deduplicated"), ("schedule", "queued")],
        "newest first"
    );
    let page = app
        .login("lab", "lab password")
        .await
        .get("/r/lab/tool")
        .await;
    assert!(
        page.body
            .contains("scheduled build of 2026-12-07 03:00 UTC"),
        "{}",
        page.body
    );

    // Without a schedule nothing is due.
    put_settings(&app, &lab, &json!({"schedule": null})).await;
    let none = build_schedules::run_due(
        &app.state,
        utc("2026-12-21T02:59:00Z"),
        utc("2026-12-21T03:00:00Z"),
    )
    .await
    .unwrap();
    assert!(none.is_empty());
}

/// Records a successful build `id` of `container:tag` from commit `revision` of a git source,
/// with `dockerfile` as the Dockerfile it built.
async fn built(
    app: &TestApp,
    id: i64,
    container: &str,
    tag: &str,
    dockerfile: &str,
    revision: &str,
) {
    use bioshadock_core::ports::builds::{
        BuildSource, BuildStatus, BuiltDockerfile, Finish, NewBuild,
    };
    let builds = &app.backends.builds;
    builds
        .create(NewBuild {
            id,
            container: bioshadock_core::RepoName::parse(container).unwrap(),
            tag: bioshadock_core::TagName::parse(tag).unwrap(),
            requested_by: "lab".into(),
            source: BuildSource::Git(format!("https://git.example.org/{container}.git#main")),
            options: Default::default(),
            queued_at: at(1),
        })
        .await
        .unwrap();
    builds.start(id, "worker", at(2)).await.unwrap();
    builds.set_revision(id, revision).await.unwrap();
    let recorded = BuiltDockerfile {
        path: "Dockerfile".into(),
        text: dockerfile.into(),
    };
    builds.set_dockerfile(id, &recorded).await.unwrap();
    let finish = Finish {
        status: BuildStatus::Success,
        reason: None,
        digest: Some(format!("sha256:{}", "b".repeat(64))),
        at: at(3),
    };
    builds.finish(id, finish).await.unwrap();
}

/// A base, three containers built on it (one not following it), and two built on each other.
async fn built_on_a_base(
    configure: impl FnOnce(&mut bioshadock_web::WebSettings),
) -> (TestApp, String) {
    let app = TestApp::with_settings(|s| {
        s.max_pending_builds = 20;
        configure(s);
    })
    .await;
    let names = [
        "lab/base",
        "lab/app",
        "lab/pipeline",
        "lab/optout",
        "lab/loop-a",
        "lab/loop-b",
    ];
    let containers: Vec<_> = names
        .iter()
        .map(|name| {
            let mut c = container(name, Visibility::Public, 1, "built");
            c.git = Some(format!("https://git.example.org/{name}.git#main"));
            c
        })
        .collect();
    app.add(&containers).await;
    app.user("lab", Role::User, "lab password").await;
    let lab = app.key("lab", "read,push,build").await;
    let from = |image: &str| format!("FROM registry.example.org/{image}\nRUN make\n");
    built(
        &app,
        1001,
        "lab/app",
        "latest",
        &from("lab/base:1"),
        &"a".repeat(40),
    )
    .await;
    built(
        &app,
        1002,
        "lab/pipeline",
        "2.0",
        "ARG BASE=lab/other:9\nFROM registry.example.org/${BASE}\n",
        &"c".repeat(40),
    )
    .await;
    built(
        &app,
        1003,
        "lab/optout",
        "latest",
        &from("lab/base:1"),
        &"d".repeat(40),
    )
    .await;
    built(
        &app,
        1004,
        "lab/loop-a",
        "1",
        &from("lab/loop-b:1"),
        &"e".repeat(40),
    )
    .await;
    built(
        &app,
        1005,
        "lab/loop-b",
        "1",
        &from("lab/loop-a:1"),
        &"f".repeat(40),
    )
    .await;
    for name in ["app", "pipeline", "loop-a", "loop-b"] {
        let response = app
            .with_key(
                &lab,
                json_request(
                    "PUT",
                    &format!("/container/build-settings/lab/{name}"),
                    &json!({"rebuild_on_base": true, "args": {"BASE": "lab/base:1"}}).to_string(),
                ),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.body);
    }
    (app, lab)
}

/// `(container, outcome as the API writes it)` of each decision.
fn outcomes(decisions: &[bioshadock_core::triggers::Decision]) -> Vec<(String, String)> {
    decisions
        .iter()
        .map(|d| {
            let outcome = serde_json::to_value(d.outcome).unwrap();
            (d.container.clone(), outcome.as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_new_base_image_rebuilds_the_same_commits_built_on_it_within_the_fan_out() {
    let (app, _) = built_on_a_base(|_| {}).await;
    let base = bioshadock_core::RepoName::parse("lab/base").unwrap();
    let decisions = bioshadock_web::services::base_rebuilds::base_changed(&app.state, &base, "1")
        .await
        .unwrap();
    // lab/pipeline's recorded build named its base through an argument with another default:
    // it was built on lab/other:9, and only lab/optout did not opt in.
    assert_eq!(
        outcomes(&decisions),
        [("lab/app".to_owned(), "queued".to_owned())]
    );
    let decision = &decisions[0];
    assert_eq!(
        decision.reference.as_deref(),
        Some("base image lab/base:1 changed")
    );
    let (id, tag) = decision.builds[0].clone();
    assert_eq!(tag, "latest");
    let build = app.get(&format!("/build/{id}")).await.json();
    assert_eq!(build["requested_by"], "lab");
    assert_eq!(
        build["git"],
        format!("https://git.example.org/lab/app.git#{}", "a".repeat(40)),
        "the commit its last build built, not the branch's head"
    );
    // Another base of another tag changes nothing; a base pinned by digest never changes.
    let other = bioshadock_web::services::base_rebuilds::base_changed(&app.state, &base, "2")
        .await
        .unwrap();
    assert!(other.is_empty());
    let pipeline = bioshadock_core::RepoName::parse("lab/other").unwrap();
    let decisions =
        bioshadock_web::services::base_rebuilds::base_changed(&app.state, &pipeline, "9")
            .await
            .unwrap();
    assert_eq!(
        outcomes(&decisions),
        [("lab/pipeline".to_owned(), "queued".to_owned())]
    );
    assert_eq!(
        decisions[0].builds[0].1, "2.0",
        "the tag its last build made"
    );

    // Two images built on each other: neither rebuilds the other, and the log says why.
    let loop_b = bioshadock_core::RepoName::parse("lab/loop-b").unwrap();
    let decisions = bioshadock_web::services::base_rebuilds::base_changed(&app.state, &loop_b, "1")
        .await
        .unwrap();
    assert_eq!(
        outcomes(&decisions),
        [("lab/loop-a".to_owned(), "ignored".to_owned())]
    );
    assert!(
        decisions[0].reason.contains("lab/loop-b:1 → lab/loop-a:1"),
        "{}",
        decisions[0].reason
    );
}

#[tokio::test]
async fn the_fan_out_limit_holds_and_a_pushed_base_rebuilds_through_the_notification() {
    let (app, lab) = built_on_a_base(|s| s.base_rebuild_fanout = 1).await;
    built(
        &app,
        1006,
        "lab/pipeline",
        "3.0",
        "FROM registry.example.org/lab/base:1\n",
        &"9".repeat(40),
    )
    .await;
    // The portal's follower of the stream starts at its end: earlier pushes rebuild nothing.
    let follow = || bioshadock_web::services::base_rebuilds::follow_the_stream(&app.state);
    follow().await.unwrap();
    // The registry says lab/base:1 has a new image.
    let body = json!({"events": [{
        "id": "push-base",
        "timestamp": "2026-12-04T10:20:30Z",
        "action": "push",
        "target": {
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "size": 1570,
            "digest": format!("sha256:{}", "7".repeat(64)),
            "repository": "lab/base",
            "tag": "1",
        },
        "request": {"method": "PUT"},
        "actor": {"name": "lab"},
    }]});
    let notified = app
        .send(
            Request::post("/registry/events")
                .header(
                    "content-type",
                    "application/vnd.docker.distribution.events.v2+json",
                )
                .header("authorization", "Bearer test-notification-secret")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert!(notified.status.is_success(), "{}", notified.body);
    let decisions_of = async |name: &str| -> Vec<Value> {
        app.with_key(
            &lab,
            Request::get(format!("/container/triggers/lab/{name}/decisions"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json()
        .as_array()
        .unwrap()
        .clone()
    };
    // Acknowledged, recorded in the stream, not yet acted on: a portal dying now loses nothing,
    // since the next look (of this portal or another) finds the event.
    assert!(decisions_of("app").await.is_empty());
    follow().await.unwrap();
    let mut logged = Vec::new();
    for name in ["app", "pipeline"] {
        for d in decisions_of(name).await {
            logged.push((
                format!("lab/{name}"),
                d["outcome"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(
        logged,
        [
            ("lab/app".to_owned(), "queued".to_owned()),
            ("lab/pipeline".to_owned(), "over_limit".to_owned())
        ],
        "one rebuild (builder.base_rebuild_fanout = 1), in name order; the other is recorded"
    );
    // Looked at again (two portals, a restart): the cursor moved past the event.
    follow().await.unwrap();
    assert_eq!(decisions_of("app").await.len(), 1);
}

#[tokio::test]
async fn build_secrets_are_write_only_sealed_at_rest_and_managed_by_owners_only() {
    let app = TestApp::new().await;
    let mut tool = container("lab/tool", Visibility::Public, 1, "a tool");
    tool.git = Some("https://github.com/genomics-lab/tools.git#main:tool".into());
    app.add(&[tool]).await;
    app.user("root", Role::Admin, "root password").await;
    app.user("ada", Role::User, "ada password").await;
    app.user("max", Role::User, "max password").await;
    let root = app.key("root", "read,push").await;
    let ada = app.key("ada", "read,push").await;
    let max = app.key("max", "read,push").await;
    // lab becomes an organisation (its container exists already: an admin does it), ada owns it.
    assert_eq!(
        app.with_key(&root, json_request("POST", "/orgs", r#"{"name": "lab"}"#))
            .await
            .status,
        201
    );
    for (user, role) in [("ada", "owner"), ("max", "member")] {
        let body = json!({ "role": role }).to_string();
        let uri = format!("/orgs/lab/members/{user}");
        assert_eq!(
            app.with_key(&root, json_request("PUT", &uri, &body))
                .await
                .status,
            200
        );
    }
    let value = "ghp_the-very-secret-token-Zq81";
    let put = |key: String, uri: &'static str, body: String| {
        let app = &app;
        async move { app.with_key(&key, json_request("PUT", uri, &body)).await }
    };
    let body = json!({ "value": value }).to_string();

    // Bounds and rights; nothing is changed by a refusal.
    for (uri, bad) in [
        ("/container/build-secrets/lab/tool/9TOKEN", body.clone()),
        ("/container/build-secrets/lab/tool/a.b", body.clone()),
        (
            "/container/build-secrets/lab/tool/TOKEN",
            json!({"value": ""}).to_string(),
        ),
        (
            "/container/build-secrets/lab/tool/TOKEN",
            json!({ "value": "x".repeat(16 * 1024 + 1) }).to_string(),
        ),
        (
            "/container/build-secrets/lab/tool/TOKEN",
            json!({"value": "a\u{0}b"}).to_string(),
        ),
        (
            "/container/build-secrets/lab/tool/TOKEN",
            json!({"secret": "x"}).to_string(),
        ),
    ] {
        let response = put(ada.clone(), uri, bad.clone()).await;
        assert_eq!(response.status, 400, "{uri} {bad}: {}", response.body);
    }
    put(
        max.clone(),
        "/container/build-secrets/lab/tool/TOKEN",
        body.clone(),
    )
    .await
    .assert_error(403, "forbidden");
    put(max.clone(), "/orgs/lab/build-secrets/TOKEN", body.clone())
        .await
        .assert_error(403, "forbidden");
    let anonymous = app
        .send(json_request(
            "PUT",
            "/container/build-secrets/lab/tool/TOKEN",
            &body,
        ))
        .await;
    assert_eq!(anonymous.status, 401);

    // Set, listed by name only.
    for uri in [
        "/container/build-secrets/lab/tool/TOKEN",
        "/orgs/lab/build-secrets/ORG_TOKEN",
    ] {
        let response = put(ada.clone(), uri, body.clone()).await;
        assert_eq!(response.status, 204, "{uri}: {}", response.body);
    }
    let listed = app
        .with_key(
            &ada,
            Request::get("/container/build-secrets/lab/tool")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(listed.json(), json!({"names": ["TOKEN"]}));
    let listed = app
        .with_key(
            &ada,
            Request::get("/orgs/lab/build-secrets")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(listed.json(), json!({"names": ["ORG_TOKEN"]}));
    // Build settings edits keep them.
    let settings = app
        .with_key(
            &ada,
            json_request(
                "PUT",
                "/container/build-settings/lab/tool",
                r#"{"args": {"A": "b"}}"#,
            ),
        )
        .await;
    assert_eq!(settings.status, 200);
    assert!(!settings.body.contains("TOKEN"), "{}", settings.body);
    let container = app.get("/container/lab/tool").await;
    assert!(!container.body.contains("TOKEN"), "{}", container.body);

    // The value is nowhere: not in an answer, not in the audit log, not in the database files.
    let audit = app
        .with_key(
            &root,
            Request::get("/admin/audit").body(Body::empty()).unwrap(),
        )
        .await;
    assert!(
        audit.body.contains("build secret TOKEN set"),
        "{}",
        audit.body
    );
    assert!(
        audit.body.contains("build secret ORG_TOKEN set"),
        "{}",
        audit.body
    );
    assert!(!audit.body.contains(value));
    assert!(!stored_anywhere(app.data_dir(), value.as_bytes()));
    let stored = app
        .backends
        .store
        .get(&bioshadock_core::RepoName::parse("lab/tool").unwrap())
        .await
        .unwrap();
    let sealed = &stored.policy.build.secrets["TOKEN"].0;
    assert_eq!(
        app.state.sealing_key().open(sealed).unwrap(),
        value,
        "sealed under the installation's key"
    );

    // Removed; removing again is 404.
    for uri in [
        "/container/build-secrets/lab/tool/TOKEN",
        "/orgs/lab/build-secrets/ORG_TOKEN",
    ] {
        let delete = || Request::delete(uri).body(Body::empty()).unwrap();
        assert_eq!(app.with_key(&ada, delete()).await.status, 204);
        app.with_key(&ada, delete())
            .await
            .assert_error(404, "not_found");
    }
}
