//! The original Bioshadock's holes, replayed: another user's password hash or keys must never
//! leak, and a non-member must not be able to change someone else's public container.

use axum::body::Body;
use axum::http::{Request, header};
use bioshadock_core::accounts::Role;

use crate::support::*;

const PASSWORD: &str = "correct horse battery";

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// olivia (with a key made through the API), mallory (with a key), and olivia's containers.
async fn app() -> (TestApp, String, String, String) {
    let mut open = public("olivia/open", 1);
    open.git = Some("https://github.com/olivia/open.git".into());
    open.dockerfile = Some("FROM alpine:3.20\n".into());
    let app = TestApp::with(vec![open, private("olivia/closed", 2)]).await;
    app.user("olivia", Role::User, PASSWORD).await;
    app.user("mallory", Role::User, PASSWORD).await;
    let first = app.key("olivia", "read,build,push").await;
    let created = app
        .with_key(
            &first,
            json_request("POST", "/user/keys", r#"{"label":"CI"}"#),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let olivia_key = created.json()["key"].as_str().unwrap().to_owned();
    let mallory_key = app.key("mallory", "read,build,push").await;
    (app, first, olivia_key, mallory_key)
}

fn key_id(key: &str) -> &str {
    &key["bsk_".len().."bsk_".len() + 12]
}

fn secret(key: &str) -> &str {
    &key["bsk_".len() + 13..]
}

fn assert_clean(what: &str, body: &str, olivia_keys: &[&str]) {
    for key in olivia_keys {
        assert!(!body.contains(key_id(key)), "{what} shows olivia's key id");
        assert!(!body.contains(secret(key)), "{what} shows olivia's key");
    }
    assert!(!body.contains("$argon2"), "{what} shows a password hash");
    assert!(!body.contains("argon2"), "{what} mentions argon2");
}

#[tokio::test]
async fn no_endpoint_shows_mallory_olivias_password_hash_or_keys() {
    let (app, first, olivia_key, mallory_key) = app().await;
    let olivia_keys = [first.as_str(), olivia_key.as_str()];
    let endpoints = [
        ("/user", 200),
        ("/user/keys", 200),
        ("/admin/users", 403),
        ("/admin/users/olivia", 404),
        ("/container/all", 200),
        ("/container/latest", 200),
        ("/container/search?q=olivia", 200),
        ("/container/olivia/open", 200),
        ("/container/olivia/closed", 404),
        ("/container/members/olivia/open", 403),
        ("/container/tags/olivia/open", 200),
        ("/api/openapi.json", 200),
    ];
    for (uri, expected) in endpoints {
        let response = app.with_key(&mallory_key, get(uri)).await;
        if uri != "/api/openapi.json" && uri != "/admin/users/olivia" {
            assert_eq!(response.status, expected, "{uri}: {}", response.body);
        }
        assert_clean(uri, &response.body, &olivia_keys);
        let anonymous = app.get(uri).await;
        assert_clean(uri, &anonymous.body, &olivia_keys);
    }
    let me = app.with_key(&mallory_key, get("/user")).await.json();
    assert_eq!(me["name"], "mallory");
    let keys = app.with_key(&mallory_key, get("/user/keys")).await.json();
    assert_eq!(keys.as_array().unwrap().len(), 1, "only mallory's own key");
    // The pages, signed in as mallory.
    let mut browser = app.login("mallory", PASSWORD).await;
    for uri in [
        "/",
        "/account",
        "/admin",
        "/r/olivia/open",
        "/r/olivia/closed",
        "/search?q=olivia",
    ] {
        let page = browser.get(uri).await;
        assert_clean(uri, &page.body, &olivia_keys);
    }
}

#[tokio::test]
async fn no_one_sees_a_password_hash_of_their_own_either() {
    let (app, first, olivia_key, _) = app().await;
    for key in [&first, &olivia_key] {
        let me = app.with_key(key, get("/user")).await;
        assert_eq!(me.status, 200);
        assert!(!me.body.contains("argon2"), "{}", me.body);
        assert!(!me.body.to_lowercase().contains("password"), "{}", me.body);
        let keys = app.with_key(key, get("/user/keys")).await;
        assert!(!keys.body.contains(secret(&first)), "{}", keys.body);
        assert!(!keys.body.contains(secret(&olivia_key)), "{}", keys.body);
    }
    app.user("root", Role::Admin, PASSWORD).await;
    let admin = app.key("root", "read,build,push").await;
    let users = app.with_key(&admin, get("/admin/users")).await;
    assert_eq!(users.status, 200);
    assert!(!users.body.contains("argon2"), "{}", users.body);
    let mut browser = app.login("olivia", PASSWORD).await;
    let account = browser.get("/account").await;
    assert!(!account.body.contains("argon2"));
    assert!(!account.body.contains(secret(&olivia_key)));
}

#[tokio::test]
async fn mallory_cannot_touch_olivias_keys() {
    let (app, first, olivia_key, mallory_key) = app().await;
    let revoke = Request::delete(format!("/user/keys/{}", key_id(&olivia_key)))
        .body(Body::empty())
        .unwrap();
    app.with_key(&mallory_key, revoke)
        .await
        .assert_error(404, "not_found");
    assert_eq!(app.with_key(&olivia_key, get("/user")).await.status, 200);
    // Basic credentials naming olivia with mallory's key are not olivia.
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("olivia:{mallory_key}")
        )
    );
    let request = Request::get("/user")
        .header(header::AUTHORIZATION, basic)
        .body(Body::empty())
        .unwrap();
    app.send(request).await.assert_error(401, "unauthorized");
    let listed = app.with_key(&first, get("/user/keys")).await.json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["revoked"] == false)
    );
}

#[tokio::test]
async fn a_non_member_cannot_change_anything_of_a_public_container() {
    let (app, _, _, mallory_key) = app().await;
    let before = app.get("/container/olivia/open").await;
    assert_eq!(before.status, 200);
    let uri = "/container/olivia/open";
    let attempts = [
        json_request("PATCH", uri, r#"{"description":"pwned"}"#),
        json_request("PATCH", uri, r#"{"dockerfile":"FROM evil"}"#),
        json_request("PATCH", uri, r#"{"dockerfile":""}"#),
        json_request("PATCH", uri, r#"{"git":"https://evil.example.org/x.git"}"#),
        json_request("PATCH", uri, r#"{"git":""}"#),
        json_request("PATCH", uri, r#"{"visible":false}"#),
        json_request("PATCH", uri, r#"{"visible":true}"#),
        json_request(
            "PUT",
            "/container/members/olivia/open",
            r#"{"members":[{"user":"mallory","access":"push"}]}"#,
        ),
        json_request("PUT", "/container/members/olivia/open", r#"{"members":[]}"#),
        Request::delete(uri).body(Body::empty()).unwrap(),
    ];
    for request in attempts {
        let what = format!("{} {}", request.method(), request.uri());
        let response = app.with_key(&mallory_key, request).await;
        assert_eq!(response.status, 403, "{what}: {}", response.body);
        response.assert_error(403, "forbidden");
    }
    app.with_key(
        &mallory_key,
        json_request("POST", "/container/new", r#"{"name":"olivia/planted"}"#),
    )
    .await
    .assert_error(403, "forbidden");
    let after = app.get("/container/olivia/open").await;
    assert_eq!(after.json(), before.json(), "unchanged");
    assert_eq!(app.count_all().await, 2);
    // Through the pages as well.
    let mut browser = app.login("mallory", PASSWORD).await;
    browser.get("/account").await;
    let csrf = browser.csrf.clone();
    for (path, form) in [
        (
            "/r/olivia/open/settings",
            format!("csrf={csrf}&action=save&description=pwned&visibility=private"),
        ),
        (
            "/r/olivia/open/members",
            format!("csrf={csrf}&action=add&user=mallory&access=push"),
        ),
        ("/r/olivia/open/delete", format!("csrf={csrf}")),
    ] {
        let response = browser.post_form(path, &form).await;
        assert_eq!(response.status, 403, "{path}");
    }
    assert_eq!(app.get(uri).await.json(), before.json(), "unchanged");
}
