//! Request bodies and parameters are read as the OpenAPI document describes them, so that the
//! document can say exactly what the server accepts: a body is a JSON object, a whole number
//! may be written `2.0`, limits are refused rather than clamped, and what the service once
//! trimmed silently is refused (forms trim before calling it).

use bioshadock_core::accounts::Role;

use crate::support::*;

async fn app() -> (TestApp, String) {
    let app = TestApp::with(vec![public("alice/tool", 1)]).await;
    app.user("alice", Role::User, "alice password").await;
    app.user("bob", Role::User, "bob password").await;
    let key = app.key("alice", "read,build,push").await;
    (app, key)
}

#[tokio::test]
async fn a_body_must_be_a_json_object() {
    let (app, key) = app().await;
    for body in ["[null, null]", "[]", "\"x\"", "3", "null"] {
        app.with_key(&key, json_request("POST", "/user/keys", body))
            .await
            .assert_error(400, "bad_request");
    }
    let keys = app
        .with_key(&key, json_request("GET", "/user/keys", ""))
        .await;
    assert_eq!(keys.json().as_array().unwrap().len(), 1, "{}", keys.body);
}

#[tokio::test]
async fn whole_numbers_may_be_written_with_a_decimal_point() {
    let (app, key) = app().await;
    let created = app
        .with_key(
            &key,
            json_request(
                "POST",
                "/user/keys",
                r#"{"label": "ci", "scopes": ["read"], "expires_in_days": 2.0}"#,
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let search = app
        .post_json("/container/search", r#"{"search": "", "per_page": 5.0}"#)
        .await;
    assert_eq!(search.status, 200, "{}", search.body);
    // A fraction is still not an integer.
    app.with_key(
        &key,
        json_request(
            "POST",
            "/user/keys",
            r#"{"label": "ci", "expires_in_days": 2.5}"#,
        ),
    )
    .await
    .assert_error(400, "bad_request");
}

#[tokio::test]
async fn limits_are_refused_not_clamped() {
    let (app, _) = app().await;
    for uri in [
        "/builds/alice/tool?limit=0",
        "/builds/alice/tool?limit=201",
        "/container/latest?limit=101",
        "/container/search?per_page=101",
        // The API pages to 100 whatever the page size, which keeps every pair under 10000.
        "/container/search?page=101&per_page=1",
    ] {
        app.get(uri).await.assert_error(400, "bad_request");
    }
    assert_eq!(app.get("/builds/alice/tool?limit=200").await.status, 200);
    assert_eq!(
        app.get("/container/search?page=100&per_page=100")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn names_and_sources_are_taken_as_given() {
    let (app, key) = app().await;
    for body in [
        r#"{"name": " spaced"}"#,
        r#"{"name": "alice/tool2 "}"#,
        r#"{"name": "t", "git": " https://git.example.org/lab/t.git"}"#,
    ] {
        let refused = app
            .with_key(&key, json_request("POST", "/container/new", body))
            .await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
    }
    // 190 characters as typed is the bound: either form then makes a valid repository name.
    let longest = "n".repeat(190);
    let created = app
        .with_key(
            &key,
            json_request(
                "POST",
                "/container/new",
                &format!(r#"{{"name": "{longest}"}}"#),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    app.with_key(
        &key,
        json_request(
            "POST",
            "/container/new",
            &format!(r#"{{"name": "{longest}x"}}"#),
        ),
    )
    .await
    .assert_error(400, "bad_request");
    // A key label is bounded before its spaces are dropped.
    let label = format!(" {}", "l".repeat(100));
    app.with_key(
        &key,
        json_request("POST", "/user/keys", &format!(r#"{{"label": "{label}"}}"#)),
    )
    .await
    .assert_error(400, "bad_request");
}

#[tokio::test]
async fn members_listed_twice_get_the_wider_access_and_unknown_users_are_404() {
    let (app, key) = app().await;
    let set = app
        .with_key(
            &key,
            json_request(
                "PUT",
                "/container/members/alice/tool",
                r#"{"members": [{"user": "bob", "access": "pull"}, {"user": "bob", "access": "push"}]}"#,
            ),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        set.json(),
        serde_json::json!([{"user": "bob", "access": "push"}])
    );
    app.with_key(
        &key,
        json_request(
            "PUT",
            "/container/members/alice/tool",
            r#"{"members": [{"user": "nobody", "access": "pull"}]}"#,
        ),
    )
    .await
    .assert_error(404, "not_found");
    app.with_key(
        &key,
        json_request(
            "PUT",
            "/container/members/alice/tool",
            r#"{"members": [{"user": "alice", "access": "pull"}]}"#,
        ),
    )
    .await
    .assert_error(409, "conflict");
}

#[tokio::test]
async fn offline_token_is_true_or_false() {
    let (app, _) = app().await;
    assert_eq!(app.get("/v2/token?offline_token=false").await.status, 200);
    app.get("/v2/token?offline_token=yes")
        .await
        .assert_error(400, "bad_request");
}

#[tokio::test]
async fn the_served_document_names_this_portals_registry_service() {
    let (app, _) = app().await;
    let doc = app.get("/api/openapi.json").await.json();
    let service = doc["paths"]["/v2/token"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "service")
        .unwrap()["schema"]["enum"]
        .clone();
    assert_eq!(service, serde_json::json!(["bioshadock-registry"]));
    assert_eq!(
        doc["components"]["schemas"]["OAuthForm"]["properties"]["service"]["enum"],
        serde_json::json!(["bioshadock-registry"])
    );
}
