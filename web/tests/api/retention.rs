//! Retention through the API and the page: a container's own policy and its organisation's
//! default, the dry run (each tag with its reason), a run deleting exactly what the dry run
//! listed and recording each deletion, immutable tags and expiry labels, and who may do what.
//! The same run against a real Distribution registry is in tests/e2e/retention.rs.

use axum::http::Request;
use bioshadock_core::Visibility;
use bioshadock_core::accounts::Role;
use serde_json::{Value, json};

use crate::support::*;

/// `olivia/tool` with five tags pushed at minutes 1..5 (`latest` newest), `pr-7` carrying an
/// expiry label long past.
fn olivias_tool() -> bioshadock_core::Container {
    let mut c = container("olivia/tool", Visibility::Public, 1, "a tool");
    c.tags = vec![
        tag("latest", 5),
        tag("2.0", 4),
        tag("1.1", 3),
        tag("1.0", 2),
        tag("pr-7", 1),
    ];
    c.policy.expiring.insert("pr-7".into(), "2w".into());
    c
}

fn tags_of(app_answer: &Value) -> Vec<String> {
    app_answer["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn doomed(answer: &Value) -> Vec<(String, String)> {
    answer
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["tag"].as_str().unwrap().to_owned(),
                d["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(tag: &str, rule: &str) -> (String, String) {
    (tag.to_owned(), rule.to_owned())
}

#[tokio::test]
async fn the_dry_run_lists_what_the_run_then_deletes_and_nothing_else() {
    let app = TestApp::with(vec![olivias_tool()]).await;
    app.user("olivia", Role::User, "olivia password").await;
    app.user("mallory", Role::User, "mallory password").await;
    let olivia = app.key("olivia", "read,push").await;
    let mallory = app.key("mallory", "read,push").await;
    let uri = "/container/retention/olivia/tool";

    // No policy: only the expired label goes.
    let view = app.get(uri).await.json();
    assert_eq!(view["own"], Value::Null);
    assert_eq!(view["in_force"], json!({}));
    let preview = app
        .with_key(
            &olivia,
            Request::get(format!("{uri}/preview"))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(doomed(&preview.json()), [pair("pr-7", "expired")]);

    // Bad policies change nothing.
    for bad in [
        r#"{"keep_newest": 0}"#,
        r#"{"keep": [">=one"]}"#,
        r#"{"keep": ["/(/"]}"#,
        r#"{"keep_last": 2}"#,
        r#"{"delete_older_than_days": -1}"#,
        r#"{"delete_older_than_days": 99999}"#,
    ] {
        app.with_key(&olivia, json_request("PUT", uri, bad))
            .await
            .assert_error(400, "bad_request");
    }
    let too_many = json!({"keep": vec!["x"; 51]}).to_string();
    app.with_key(&olivia, json_request("PUT", uri, &too_many))
        .await
        .assert_error(400, "bad_request");
    assert_eq!(app.get(uri).await.json()["own"], Value::Null);
    // Strangers neither set, preview nor run it.
    let policy = r#"{"keep_newest": 2, "keep": ["~1.0"]}"#;
    app.with_key(&mallory, json_request("PUT", uri, policy))
        .await
        .assert_error(403, "forbidden");
    app.with_key(&mallory, json_request("POST", &format!("{uri}/run"), ""))
        .await
        .assert_error(403, "forbidden");
    app.get(&format!("{uri}/preview"))
        .await
        .assert_error(401, "unauthorized");

    // Keep the newest two and 1.0.x; 1.0 is immutable besides.
    let set = app
        .with_key(&olivia, json_request("PUT", uri, policy))
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        set.json()["own"],
        json!({"keep_newest": 2, "keep": ["~1.0"]})
    );
    let patch = json_request(
        "PATCH",
        "/container/olivia/tool",
        r#"{"immutable": ["1.1"]}"#,
    );
    assert_eq!(app.with_key(&olivia, patch).await.status, 200);
    let preview = app
        .with_key(
            &olivia,
            Request::get(format!("{uri}/preview"))
                .body(Default::default())
                .unwrap(),
        )
        .await
        .json();
    assert_eq!(
        preview.as_array().unwrap()[0]["reason"],
        "its image expires after 2w, which has passed"
    );
    // 1.1 is immutable, 1.0 kept by ~1.0: only the expired pr-7 goes (2.0 is among the newest 2).
    assert_eq!(doomed(&preview), [pair("pr-7", "expired")]);
    let policy = r#"{"keep_newest": 1, "keep": ["~1.0"]}"#;
    assert_eq!(
        app.with_key(&olivia, json_request("PUT", uri, policy))
            .await
            .status,
        200
    );
    let preview = app
        .with_key(
            &olivia,
            Request::get(format!("{uri}/preview"))
                .body(Default::default())
                .unwrap(),
        )
        .await
        .json();
    assert_eq!(
        doomed(&preview),
        [pair("2.0", "beyond_newest"), pair("pr-7", "expired")]
    );

    // The run deletes those two, and nothing else.
    let run = app
        .with_key(&olivia, json_request("POST", &format!("{uri}/run"), ""))
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    assert_eq!(doomed(&run.json()["deleted"]), doomed(&preview));
    assert_eq!(run.json()["failed"], json!([]));
    let left = app.get("/container/olivia/tool").await.json();
    assert_eq!(tags_of(&left), ["latest", "1.1", "1.0"]);
    // A second run finds nothing.
    let again = app
        .with_key(&olivia, json_request("POST", &format!("{uri}/run"), ""))
        .await
        .json();
    assert_eq!(again["deleted"], json!([]));

    // Each deletion is in the audit log, by whom and why.
    app.user("root", Role::Admin, "root password").await;
    let root = app.key("root", "read").await;
    let log = app
        .with_key(
            &root,
            Request::get("/admin/audit?action=retention.deleted")
                .body(Default::default())
                .unwrap(),
        )
        .await
        .json();
    let entries = log["entries"].as_array().unwrap();
    let targets: Vec<&str> = entries
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["olivia/tool:pr-7", "olivia/tool:2.0"]);
    assert_eq!(entries[0]["actor"]["name"], "olivia");
    assert!(
        entries[1]["summary"]
            .as_str()
            .unwrap()
            .contains("not among the 1 most recently pushed"),
        "{}",
        entries[1]
    );
    // And the policy change itself.
    let edits = app
        .with_key(
            &root,
            Request::get("/admin/audit?action=container.edited")
                .body(Default::default())
                .unwrap(),
        )
        .await
        .json();
    assert!(
        edits
            .to_string()
            .contains("retention: inherited → keep the newest 2; keep ~1.0"),
        "{edits}"
    );

    // `{}` falls back to nothing (no organisation here).
    let cleared = app.with_key(&olivia, json_request("PUT", uri, "{}")).await;
    assert_eq!(cleared.json()["own"], Value::Null);
}

#[tokio::test]
async fn an_organisations_default_applies_to_containers_without_their_own() {
    let mut own = container("lab/own", Visibility::Private, 1, "its own policy");
    own.tags = vec![tag("b", 3), tag("a", 2)];
    own.policy.retention = Some(bioshadock_core::retention::RetentionPolicy {
        keep_newest: Some(5),
        ..Default::default()
    });
    let mut inherits = container("lab/inherits", Visibility::Public, 1, "the default");
    inherits.tags = vec![tag("3", 4), tag("2", 3), tag("1", 2)];
    let app = TestApp::with(vec![own, inherits]).await;
    app.user("ada", Role::User, "ada password").await;
    app.user("max", Role::User, "max password").await;
    let ada = app.key("ada", "read,push").await;
    let max = app.key("max", "read,push").await;
    let create = json_request("POST", "/orgs", r#"{"name": "lab"}"#);
    // The containers exist already: an admin makes the namespace an organisation.
    app.user("root", Role::Admin, "root password").await;
    let root = app.key("root", "read,push").await;
    assert_eq!(app.with_key(&root, create).await.status, 201);
    let ada_owner = json_request("PUT", "/orgs/lab/members/ada", r#"{"role": "owner"}"#);
    assert_eq!(app.with_key(&root, ada_owner).await.status, 200);
    let max_member = json_request("PUT", "/orgs/lab/members/max", r#"{"role": "member"}"#);
    assert_eq!(app.with_key(&root, max_member).await.status, 200);

    let uri = "/orgs/lab/retention";
    app.with_key(&max, json_request("PUT", uri, r#"{"keep_newest": 1}"#))
        .await
        .assert_error(403, "forbidden");
    app.with_key(&ada, json_request("PUT", uri, r#"{"keep": ["/(/"]}"#))
        .await
        .assert_error(400, "bad_request");
    let set = app
        .with_key(&ada, json_request("PUT", uri, r#"{"keep_newest": 1}"#))
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json()["policy"], json!({"keep_newest": 1}));
    let view = app.get("/container/retention/lab/inherits").await.json();
    assert_eq!(view["in_force"], json!({"keep_newest": 1}));
    assert_eq!(view["organisation"], json!({"keep_newest": 1}));

    let preview = app
        .with_key(
            &ada,
            Request::get(format!("{uri}/preview"))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let listed: Vec<String> = preview
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d["container"].as_str().unwrap(),
                d["tag"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        listed,
        ["lab/inherits:2", "lab/inherits:1"],
        "lab/own keeps 5"
    );
    app.with_key(
        &max,
        Request::get(format!("{uri}/preview"))
            .body(Default::default())
            .unwrap(),
    )
    .await
    .assert_error(403, "forbidden");

    let run = app
        .with_key(&ada, json_request("POST", &format!("{uri}/run"), ""))
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    assert_eq!(run.json()["deleted"].as_array().unwrap().len(), 2);
    let left = app.get("/container/lab/inherits").await.json();
    assert_eq!(tags_of(&left), ["3"]);
    // The organisation's log shows them.
    let log = app
        .with_key(
            &ada,
            Request::get("/orgs/lab/audit?action=retention.deleted")
                .body(Default::default())
                .unwrap(),
        )
        .await
        .json();
    assert_eq!(log["entries"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_page_shows_the_dry_run_and_runs_it_with_a_csrf_token() {
    let app = TestApp::with(vec![olivias_tool()]).await;
    app.user("olivia", Role::User, "olivia password").await;
    app.user("mallory", Role::User, "mallory password").await;
    let mut browser = app.login("olivia", "olivia password").await;
    let page = browser.get("/r/olivia/tool/retention").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"doomed\""), "{}", page.body);
    assert!(page.body.contains("pr-7"));
    assert!(!page.body.contains(">latest<"), "latest is not listed");
    let csrf = csrf_in(&page.body).unwrap();

    // A save with a typo is refused and keeps what was typed.
    let bad = browser
        .post_form(
            "/r/olivia/tool/retention",
            &format!("csrf={csrf}&action=save&keep_newest=two&keep=&delete_older_than_days="),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("whole number"));
    // Without the token nothing runs.
    let forged = browser
        .post_form("/r/olivia/tool/retention", "action=run")
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        tags_of(&app.get("/container/olivia/tool").await.json()).len(),
        5
    );

    let saved = browser
        .post_form(
            "/r/olivia/tool/retention",
            &format!("csrf={csrf}&action=save&keep_newest=2&keep=1.0&delete_older_than_days="),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = browser.get("/r/olivia/tool/retention").await.body;
    assert!(
        page.contains("not among the 2 most recently pushed"),
        "{page}"
    );
    let ran = browser
        .post_form(
            "/r/olivia/tool/retention",
            &format!("csrf={csrf}&action=run"),
        )
        .await;
    assert_eq!(ran.status, 303);
    let page = browser.get("/r/olivia/tool/retention?deleted=1").await.body;
    assert!(page.contains("nothing-to-delete"), "{page}");
    // 1.1 went (beyond the newest 2), 1.0 was kept by its pattern, pr-7 expired.
    assert_eq!(
        tags_of(&app.get("/container/olivia/tool").await.json()),
        ["latest", "2.0", "1.0"]
    );

    // Someone else is turned away.
    let mut other = app.login("mallory", "mallory password").await;
    assert_eq!(other.get("/r/olivia/tool/retention").await.status, 403);
}
