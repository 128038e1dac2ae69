//! The audit log read back through the API after a scripted story (an organisation, a
//! container, a member, a push, a deprecation, a deletion): each change recorded once, by the
//! one who made it, newest first, filtered and paged, and shown to whom it may be.

use axum::body::Body;
use axum::http::{Request, header};
use bioshadock_core::accounts::Role;
use serde_json::{Value, json};

use crate::support::*;

fn delete(uri: &str) -> Request<Body> {
    Request::delete(uri).body(Body::empty()).unwrap()
}

/// `docker push lab/tool:1.0` by olga, as the registry reports it.
fn push_notification() -> Request<Body> {
    let body = json!({"events": [{
        "id": "push-1",
        "timestamp": "2026-07-01T10:20:30Z",
        "action": "push",
        "target": {
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "size": 1570,
            "digest": format!("sha256:{}", "a".repeat(64)),
            "repository": "lab/tool",
            "tag": "1.0",
        },
        "request": {"method": "PUT"},
        "actor": {"name": "olga"},
    }]});
    Request::post("/registry/events")
        .header(
            header::CONTENT_TYPE,
            "application/vnd.docker.distribution.events.v2+json",
        )
        .header(header::AUTHORIZATION, "Bearer test-notification-secret")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn actions(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_scripted_story_is_read_back_newest_first_by_whom_it_concerns() {
    let app = TestApp::new().await;
    app.user("root", Role::Admin, "root password").await;
    app.user("olga", Role::User, "olga password").await;
    app.user("bob", Role::User, "bob password").await;
    app.user("mallory", Role::User, "mallory password").await;
    let root = app.key("root", "read,push").await;
    let olga = app.key("olga", "read,push").await;
    let bob = app.key("bob", "read,push").await;
    let mallory = app.key("mallory", "read,push").await;
    let app = &app;
    let call = |key: &str, method: &str, uri: &str, body: &str| {
        let request = json_request(method, uri, body);
        let key = key.to_owned();
        async move { app.with_key(&key, request).await }
    };

    // The story.
    assert_eq!(
        call(&olga, "POST", "/orgs", r#"{"name": "lab"}"#)
            .await
            .status,
        201
    );
    assert_eq!(
        call(
            &olga,
            "PUT",
            "/orgs/lab/members/bob",
            r#"{"role": "member"}"#
        )
        .await
        .status,
        200
    );
    let created = call(&olga, "POST", "/container/new", r#"{"name": "lab/tool"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let members = r#"{"members": [{"user": "bob", "access": "pull"}]}"#;
    assert_eq!(
        call(&olga, "PUT", "/container/members/lab/tool", members)
            .await
            .status,
        200
    );
    assert_eq!(app.send(push_notification()).await.status, 200);
    let deprecate = r#"{"deprecated": {"reason": "superseded"}, "visible": false}"#;
    assert_eq!(
        call(&olga, "PATCH", "/container/lab/tool", deprecate)
            .await
            .status,
        200
    );
    assert_eq!(
        app.with_key(&olga, delete("/container/tags/lab/tool/1.0"))
            .await
            .status,
        204
    );

    // Newest first, each change once, by whom and how.
    let all = call(&root, "GET", "/admin/audit?target=lab/tool", "").await;
    assert_eq!(all.status, 200, "{}", all.body);
    let all = all.json();
    assert_eq!(
        actions(&all),
        [
            "tag.deleted lab/tool:1.0",
            "container.deprecated lab/tool",
            "container.visibility lab/tool",
            "tag.pushed lab/tool:1.0",
            "container.members lab/tool",
            "container.created lab/tool",
        ]
    );
    let members_entry = &all["entries"][4];
    assert_eq!(members_entry["actor"]["name"], "olga");
    assert_eq!(members_entry["actor"]["kind"], "user");
    assert_eq!(members_entry["actor"]["credential"], "api_key");
    assert_eq!(members_entry["org"], "lab");
    assert_eq!(members_entry["summary"], "bob added (pull)");
    assert!(members_entry["actor"]["request_id"].is_string());
    let pushed = &all["entries"][3];
    assert_eq!(pushed["actor"]["credential"], "registry_token");
    assert_eq!(all["entries"][2]["summary"], "public → private");
    assert_eq!(all["entries"][1]["summary"], "deprecated: superseded");
    // No secret in any summary: the API key never appears.
    assert!(
        !all.to_string().contains(&olga),
        "a key leaked into the audit log"
    );

    // Filters and pages.
    let pushes = call(&root, "GET", "/admin/audit?action=tag.pushed", "")
        .await
        .json();
    assert_eq!(actions(&pushes), ["tag.pushed lab/tool:1.0"]);
    let by_olga = call(&root, "GET", "/admin/audit?actor=olga&limit=2", "")
        .await
        .json();
    assert_eq!(by_olga["entries"].as_array().unwrap().len(), 2);
    let next = by_olga["next_before"].as_u64().expect("a next page");
    let older = call(
        &root,
        "GET",
        &format!("/admin/audit?actor=olga&before={next}"),
        "",
    )
    .await
    .json();
    assert!(
        older["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"].as_u64().unwrap() < next)
    );
    let future = call(&root, "GET", "/admin/audit?since=2999-01-01T00:00:00Z", "")
        .await
        .json();
    assert_eq!(future["entries"], json!([]));
    call(&root, "GET", "/admin/audit?action=tag.moved", "")
        .await
        .assert_error(400, "bad_request");

    // Keys, organisation changes and robots are recorded too, never with a secret.
    let body = r#"{"label": "laptop", "scopes": ["read"]}"#;
    let key = call(&olga, "POST", "/user/keys", body).await;
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.json();
    let robot = call(
        &olga,
        "POST",
        "/orgs/lab/robots",
        r#"{"name": "ci", "permission": "read"}"#,
    )
    .await;
    assert_eq!(robot.status, 201, "{}", robot.body);
    let robot = robot.json();
    let recent = call(&root, "GET", "/admin/audit?limit=3", "").await.json();
    assert_eq!(
        actions(&recent),
        [
            "robot.created robot:lab+ci",
            format!("key.created key:{}", key["id"].as_str().unwrap()).as_str(),
            "tag.deleted lab/tool:1.0",
        ]
    );
    assert_eq!(recent["entries"][0]["org"], "lab");
    assert_eq!(recent["entries"][1]["summary"], "`laptop`, scopes read");
    for secret in [key["secret"].as_str(), robot["token"].as_str()]
        .into_iter()
        .flatten()
    {
        assert!(
            !recent.to_string().contains(secret),
            "a secret in the audit log"
        );
    }
    let joined = call(&root, "GET", "/admin/audit?action=org.changed", "")
        .await
        .json();
    assert_eq!(joined["entries"][0]["summary"], "bob is member");
    assert_eq!(joined["entries"][0]["target"], "org:lab");

    // Sign-ins with a password, right and wrong (never the password itself).
    let basic = |password: &str| {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("olga:{password}"));
        Request::get("/user")
            .header(header::AUTHORIZATION, format!("Basic {token}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(app.send(basic("not her password")).await.status, 401);
    assert_eq!(app.send(basic("olga password")).await.status, 200);
    let failed = call(&root, "GET", "/admin/audit?action=user.sign_in_failed", "")
        .await
        .json();
    assert_eq!(actions(&failed), ["user.sign_in_failed user:olga"]);
    assert_eq!(failed["entries"][0]["actor"]["kind"], "anonymous");
    let signed = call(&root, "GET", "/admin/audit?action=user.signed_in", "")
        .await
        .json();
    assert_eq!(signed["entries"][0]["actor"]["name"], "olga");
    assert_eq!(signed["entries"][0]["actor"]["credential"], "password");
    let everything = call(&root, "GET", "/admin/audit?limit=200", "").await.body;
    assert!(!everything.contains("not her password") && !everything.contains("olga password"));

    // An administrator's change to an account.
    let promoted = call(&root, "PATCH", "/admin/users/bob", r#"{"role": "editor"}"#).await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    let changed = call(&root, "GET", "/admin/audit?action=user.changed", "")
        .await
        .json();
    assert_eq!(actions(&changed), ["user.changed user:bob"]);
    assert_eq!(changed["entries"][0]["summary"], "editor");
    assert_eq!(changed["entries"][0]["actor"]["name"], "root");

    // Who reads what.
    call(&olga, "GET", "/admin/audit", "")
        .await
        .assert_error(403, "forbidden");
    let org_log = call(&olga, "GET", "/orgs/lab/audit?target=lab/tool", "").await;
    assert_eq!(org_log.status, 200, "{}", org_log.body);
    assert_eq!(actions(&org_log.json()), actions(&all));
    call(&bob, "GET", "/orgs/lab/audit", "")
        .await
        .assert_error(403, "forbidden");
    call(&mallory, "GET", "/orgs/lab/audit", "")
        .await
        .assert_error(404, "not_found");
    app.send(Request::get("/admin/audit").body(Body::empty()).unwrap())
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn administrators_read_the_log_on_a_page() {
    let app = TestApp::new().await;
    app.user("root", Role::Admin, "a long password").await;
    app.user("olga", Role::User, "olga password").await;
    let olga = app.key("olga", "read,push").await;
    for name in ["olga/one", "olga/two"] {
        let created = app
            .with_key(
                &olga,
                json_request(
                    "POST",
                    "/container/new",
                    &format!(r#"{{"name": "{name}"}}"#),
                ),
            )
            .await;
        assert_eq!(created.status, 201);
    }
    let mut root = app.login("root", "a long password").await;
    let page = root.get("/admin/audit-log").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    assert!(page.body.contains(r#"id="audit-entries""#), "{}", page.body);
    let two = page.body.find("olga/two").expect("olga/two listed");
    let one = page.body.find("olga/one").expect("olga/one listed");
    assert!(two < one, "newest first");
    let filtered = root
        .get("/admin/audit-log?target=olga%2Fone&action=container.created")
        .await;
    assert!(filtered.body.contains("olga/one") && !filtered.body.contains("olga/two"));
    let none = root.get("/admin/audit-log?since=2999-01-01").await;
    assert!(none.body.contains(r#"id="audit-empty""#));
    let bad = root.get("/admin/audit-log?action=tag.moved").await;
    assert_eq!(bad.status.as_u16(), 400);
    let mut olga_browser = app.login("olga", "olga password").await;
    assert_eq!(
        olga_browser.get("/admin/audit-log").await.status.as_u16(),
        403
    );
    let anonymous = app.get("/admin/audit-log").await;
    assert_eq!(anonymous.status, 303, "sent to sign in");
}
