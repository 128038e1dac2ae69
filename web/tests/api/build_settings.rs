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
