//! Cross-site request forgery: a page elsewhere must not be able to act with a signed-in
//! visitor's session. The hook URLs take an API key only; every other state-changing request
//! that the session cookie authenticates needs a same-origin browser header or the session's
//! CSRF token in `X-CSRF-Token`.

use axum::body::Body;
use axum::http::Request;
use bioshadock_core::accounts::Role;

use crate::support::*;

const GIT: &str = "git://git.example.org/lab/tool.git#main";

async fn app() -> TestApp {
    let mut tool = public("alice/tool", 1);
    tool.git = Some(GIT.into());
    let app = TestApp::with(vec![tool]).await;
    app.user("alice", Role::Admin, "alice password").await;
    app
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

async fn queued(app: &TestApp) -> u64 {
    app.backends.queue.queued_count().await.unwrap()
}

#[tokio::test]
async fn hook_urls_ignore_the_session_cookie() {
    let app = app().await;
    let mut alice = app.login("alice", "alice password").await;
    for (method, uri) in [
        ("GET", "/container/git/alice/tool"),
        ("POST", "/container/git/alice/tool"),
        ("GET", "/container/tag/alice/tool/latest"),
        ("POST", "/container/tag/alice/tool/latest"),
    ] {
        // Even a same-origin request: hooks are for scripts, which hold a key.
        let response = alice
            .send(request(method, uri, &[("sec-fetch-site", "same-origin")]))
            .await;
        response.assert_error(401, "unauthorized");
        assert!(
            response.json()["error"]
                .as_str()
                .unwrap()
                .contains("API key")
        );
    }
    assert_eq!(queued(&app).await, 0, "nothing was queued");
    let key = app.key("alice", "build").await;
    let hooked = app
        .send(request(
            "GET",
            &format!("/container/git/alice/tool?apikey={key}"),
            &[],
        ))
        .await;
    assert_eq!(hooked.status, 202, "{}", hooked.body);
}

#[tokio::test]
async fn body_less_posts_with_the_cookie_need_proof_of_origin() {
    let app = app().await;
    let key = app.key("alice", "build").await;
    let queue = || request("POST", "/container/git/alice/tool", &[]);
    let id = app.with_key(&key, queue()).await.json()["id"]
        .as_i64()
        .unwrap();
    let cancel = format!("/build/{id}/cancel");
    let mut alice = app.login("alice", "alice password").await;

    for headers in [
        vec![],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("x-csrf-token", "forged")],
    ] {
        let response = alice.send(request("POST", &cancel, &headers)).await;
        response.assert_error(403, "csrf");
        let sync = alice
            .send(request("POST", "/admin/registry/sync", &headers))
            .await;
        sync.assert_error(403, "csrf");
    }
    let still = app
        .with_key(&key, request("GET", &format!("/build/{id}"), &[]))
        .await;
    assert_eq!(still.json()["status"], "queued", "nothing changed");

    let same_origin = alice
        .send(request(
            "POST",
            &cancel,
            &[("sec-fetch-site", "same-origin")],
        ))
        .await;
    assert_eq!(same_origin.status, 200, "{}", same_origin.body);
    assert_eq!(same_origin.json()["status"], "cancelled");

    // A client that sends no fetch metadata proves itself with the session's token.
    let id = app.with_key(&key, queue()).await.json()["id"]
        .as_i64()
        .unwrap();
    alice.get("/account").await;
    let token = alice.csrf.clone();
    assert!(!token.is_empty());
    let with_token = alice
        .send(request(
            "POST",
            &format!("/build/{id}/cancel"),
            &[("x-csrf-token", &token)],
        ))
        .await;
    assert_eq!(with_token.status, 200, "{}", with_token.body);
    let by_origin = alice
        .send(request(
            "POST",
            "/container/new",
            &[
                ("origin", "http://portal.example.org"),
                ("content-type", "application/json"),
            ],
        ))
        .await;
    assert_ne!(
        by_origin.status, 403,
        "our own origin passes: {}",
        by_origin.body
    );
}

#[tokio::test]
async fn safe_methods_and_api_keys_need_no_origin() {
    let app = app().await;
    let mut alice = app.login("alice", "alice password").await;
    let me = alice
        .send(request("GET", "/user", &[("sec-fetch-site", "cross-site")]))
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    let key = app.key("alice", "build").await;
    let queued = app
        .with_key(
            &key,
            request(
                "POST",
                "/container/git/alice/tool",
                &[("origin", "https://ci.example")],
            ),
        )
        .await;
    assert_eq!(queued.status, 202, "a key is not a cookie: {}", queued.body);
}
