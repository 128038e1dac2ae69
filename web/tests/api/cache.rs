//! The micro-cache of anonymous reads (`GET /` and `GET /container/latest`): a change made
//! through this server shows on the next anonymous request, and nobody signed in is ever
//! served the anonymous answer.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use bioshadock_core::accounts::Role;

use crate::support::*;

const PASSWORD: &str = "correct horse battery";

/// An API call made with `key`.
async fn api(app: &TestApp, key: &str, method: Method, uri: &str, body: &str) -> TestResponse {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.with_key(key, request).await
}

/// What an anonymous caller gets from `/container/latest`, asked twice so that the second
/// answer can come from the cache.
async fn anonymous_latest(app: &TestApp) -> Vec<String> {
    let first = app.get("/container/latest").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(first.content_type().starts_with("application/json"));
    let second = app.get("/container/latest").await;
    assert_eq!(first.body, second.body);
    ids(&second.json())
}

#[tokio::test]
async fn changes_through_the_api_show_at_once_to_anonymous_callers() {
    let app = TestApp::with(vec![public("lab/old", 1)]).await;
    app.user("alice", Role::User, PASSWORD).await;
    let key = app.key("alice", "read,push").await;
    assert_eq!(anonymous_latest(&app).await, ["lab/old"]);

    let created = api(
        &app,
        &key,
        Method::POST,
        "/container/new",
        r#"{"name": "new"}"#,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(anonymous_latest(&app).await, ["alice/new", "lab/old"]);

    let hide = r#"{"visible": false}"#;
    let hidden = api(&app, &key, Method::PATCH, "/container/alice/new", hide).await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.body);
    assert_eq!(anonymous_latest(&app).await, ["lab/old"]);

    let show = r#"{"visible": true}"#;
    let shown = api(&app, &key, Method::PATCH, "/container/alice/new", show).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert_eq!(anonymous_latest(&app).await, ["alice/new", "lab/old"]);

    let edit = r#"{"description": "Edited just now"}"#;
    let edited = api(&app, &key, Method::PATCH, "/container/alice/new", edit).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    let latest = app.get("/container/latest").await.json();
    assert_eq!(latest[0]["description"], "Edited just now", "{latest}");

    let deleted = api(&app, &key, Method::DELETE, "/container/alice/new", "").await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    assert_eq!(anonymous_latest(&app).await, ["lab/old"]);
}

#[tokio::test]
async fn signed_in_viewers_and_keys_never_get_the_anonymous_answer() {
    let app = TestApp::with(vec![public("lab/open", 1), private("alice/secret", 2)]).await;
    app.user("alice", Role::User, PASSWORD).await;
    let key = app.key("alice", "read").await;

    // Fill the cache for anonymous viewers first.
    for _ in 0..2 {
        let page = app.get("/").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("lab/open"), "{}", page.body);
        assert!(!page.body.contains("secret"), "{}", page.body);
    }
    assert_eq!(anonymous_latest(&app).await, ["lab/open"]);

    let mut alice = app.login("alice", PASSWORD).await;
    let page = alice.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("alice/secret"), "{}", page.body);
    assert!(page.body.contains("id=\"nav-user\""), "{}", page.body);
    let latest = alice.get("/container/latest").await;
    assert_eq!(ids(&latest.json()), ["alice/secret", "lab/open"]);
    let request = Request::get("/container/latest")
        .body(Body::empty())
        .unwrap();
    let latest = app.with_key(&key, request).await;
    assert_eq!(ids(&latest.json()), ["alice/secret", "lab/open"]);

    // ...and what they were shown is not cached for anonymous viewers either.
    let page = app.get("/").await;
    assert!(!page.body.contains("secret"), "{}", page.body);
    assert!(page.body.contains("id=\"nav-login\""), "{}", page.body);
    assert_eq!(anonymous_latest(&app).await, ["lab/open"]);
}
