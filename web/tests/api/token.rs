//! The registry token service through the router: who gets which grants, refresh tokens, and
//! the errors Docker clients see.

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bioshadock_core::accounts::Role;
use serde_json::{Value, json};

use crate::support::*;

fn basic(user: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{secret}")))
}

async fn token(app: &TestApp, query: &str, auth: Option<String>) -> TestResponse {
    let mut request = Request::get(format!("/v2/token?{query}"));
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

fn access(response: &TestResponse) -> Value {
    assert_eq!(response.status.as_u16(), 200, "{}", response.body);
    let body = response.json();
    assert_eq!(body["token"], body["access_token"]);
    assert!(body["expires_in"].as_u64().unwrap() >= 60);
    jwt_claims(body["token"].as_str().unwrap())["access"].clone()
}

async fn app() -> TestApp {
    let app = TestApp::with(vec![public("olivia/open", 1), private("olivia/closed", 2)]).await;
    app.user("olivia", Role::User, "olivia password").await;
    app.user("mallory", Role::User, "mallory password").await;
    app.user("root", Role::Admin, "root password").await;
    app
}

const SERVICE: &str = "service=bioshadock-registry";

#[tokio::test]
async fn a_plain_login_gets_a_token_with_empty_access() {
    let app = app().await;
    let response = token(&app, SERVICE, Some(basic("olivia", "olivia password"))).await;
    assert_eq!(access(&response), json!([]));
    let claims = jwt_claims(response.json()["token"].as_str().unwrap());
    assert_eq!(claims["sub"], "olivia");
    assert_eq!(
        claims["aud"], "bioshadock-registry",
        "aud is a plain string"
    );
    assert_eq!(claims["iss"], "bioshadock");
    assert!(response.json().get("refresh_token").is_none());
}

#[tokio::test]
async fn grants_are_what_was_asked_intersected_with_what_is_allowed() {
    let app = app().await;
    let ask = |scope: &str| format!("{SERVICE}&scope={}", scope.replace(':', "%3A"));
    // Anonymous: pull of public only.
    let r = token(&app, &ask("repository:olivia/open:pull,push"), None).await;
    assert_eq!(
        access(&r),
        json!([{"type": "repository", "name": "olivia/open", "actions": ["pull"]}])
    );
    assert_eq!(jwt_claims(r.json()["token"].as_str().unwrap())["sub"], "");
    let r = token(&app, &ask("repository:olivia/closed:pull"), None).await;
    assert_eq!(access(&r), json!([]));
    // The owner gets what she asks for, including delete.
    let owner = Some(basic("olivia", "olivia password"));
    let r = token(
        &app,
        &ask("repository:olivia/closed:pull,push,delete"),
        owner.clone(),
    )
    .await;
    assert_eq!(
        access(&r),
        json!([{"type": "repository", "name": "olivia/closed", "actions": ["pull", "push", "delete"]}])
    );
    // Another user: nothing of a private container, pull of a public one, no push.
    let other = Some(basic("mallory", "mallory password"));
    let r = token(&app, &ask("repository:olivia/closed:pull"), other.clone()).await;
    assert_eq!(access(&r), json!([]));
    let r = token(
        &app,
        &ask("repository:olivia/open:pull,push"),
        other.clone(),
    )
    .await;
    assert_eq!(
        access(&r),
        json!([{"type": "repository", "name": "olivia/open", "actions": ["pull"]}])
    );
    // Push creates: into one's own namespace yes, elsewhere and library/ no.
    let r = token(
        &app,
        &ask("repository:mallory/new:pull,push"),
        other.clone(),
    )
    .await;
    assert_eq!(
        access(&r),
        json!([{"type": "repository", "name": "mallory/new", "actions": ["pull", "push"]}])
    );
    let r = token(
        &app,
        &ask("repository:library/new:pull,push"),
        other.clone(),
    )
    .await;
    assert_eq!(access(&r), json!([]));
    // The catalog is for admins.
    let r = token(&app, &ask("registry:catalog:*"), other).await;
    assert_eq!(access(&r), json!([]));
    let r = token(
        &app,
        &ask("registry:catalog:*"),
        Some(basic("root", "root password")),
    )
    .await;
    assert_eq!(
        access(&r),
        json!([{"type": "registry", "name": "catalog", "actions": ["*"]}])
    );
    // Several scopes in one request, and a name with the registry's host:port.
    let query = format!(
        "{SERVICE}&scope=repository%3Aolivia%2Fopen%3Apull&scope=repository%3Aolivia%2Fclosed%3Apull"
    );
    let r = token(&app, &query, owner.clone()).await;
    assert_eq!(access(&r).as_array().unwrap().len(), 2);
    let r = token(
        &app,
        &ask("repository:127.0.0.1:5000/olivia/open:pull"),
        owner,
    )
    .await;
    assert_eq!(access(&r), json!([]), "a foreign name is granted nothing");
}

#[tokio::test]
async fn api_keys_work_and_hold_only_their_scopes() {
    let app = app().await;
    let read = app.key("olivia", "read").await;
    let ask = format!("{SERVICE}&scope=repository%3Aolivia%2Fclosed%3Apull%2Cpush");
    let r = token(&app, &ask, Some(basic("olivia", &read))).await;
    assert_eq!(
        access(&r),
        json!([{"type": "repository", "name": "olivia/closed", "actions": ["pull"]}])
    );
    // A key presented under another user's name is refused.
    let r = token(&app, &ask, Some(basic("mallory", &read))).await;
    r.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn bad_requests_are_refused_clearly() {
    let app = app().await;
    let r = token(&app, SERVICE, Some(basic("olivia", "wrong password"))).await;
    r.assert_error(401, "unauthorized");
    let challenge = r.headers.get(header::WWW_AUTHENTICATE).unwrap();
    assert!(
        challenge.to_str().unwrap().starts_with("Basic"),
        "{challenge:?}"
    );
    let r = token(&app, SERVICE, Some(basic("nobody", "some password"))).await;
    r.assert_error(401, "unauthorized");
    let r = token(&app, "service=another", None).await;
    r.assert_error(400, "bad_request");
    let r = token(
        &app,
        &format!("{SERVICE}&scope=repository%3Aolivia%2Fopen%3Afly"),
        None,
    )
    .await;
    r.assert_error(400, "bad_request");
    let r = token(&app, &format!("{SERVICE}&scope=nonsense"), None).await;
    r.assert_error(400, "bad_request");
    let r = token(
        &app,
        &format!("{SERVICE}&account=mallory"),
        Some(basic("olivia", "olivia password")),
    )
    .await;
    r.assert_error(401, "unauthorized");
    // The trailing-slash form Docker sometimes uses.
    let r = app
        .send(
            Request::get(format!("/v2/token/?{SERVICE}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200);
}

#[tokio::test]
async fn refresh_tokens_are_api_keys_returned_unchanged_and_revocable() {
    let app = app().await;
    let r = token(
        &app,
        &format!("{SERVICE}&offline_token=true&client_id=docker"),
        Some(basic("olivia", "olivia password")),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert!(refresh.starts_with("bsk_"));

    // The OAuth2 refresh grant returns the same refresh token.
    let form = format!(
        "grant_type=refresh_token&refresh_token={refresh}&service=bioshadock-registry&client_id=docker&scope=repository%3Aolivia%2Fclosed%3Apull"
    );
    let post = |form: String| {
        Request::post("/v2/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap()
    };
    let r = app.send(post(form.clone())).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.json()["refresh_token"], refresh.as_str());
    assert_eq!(
        jwt_claims(r.json()["access_token"].as_str().unwrap())["access"],
        json!([{"type": "repository", "name": "olivia/closed", "actions": ["pull"]}])
    );

    // The password grant works too; an unknown grant type does not.
    let r = app
        .send(post(
            "grant_type=password&username=olivia&password=olivia+password&service=bioshadock-registry&access_type=offline".into(),
        ))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert!(
        r.json()["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("bsk_")
    );
    let r = app.send(post("grant_type=client_credentials".into())).await;
    r.assert_error(400, "bad_request");

    // It is listed among the user's keys and revoking it ends it.
    // Revoking it with a key needs its scopes (read and push): a read-only key may not.
    let key = app.key("olivia", "read,push").await;
    let keys = app
        .with_key(
            &key,
            Request::get("/user/keys").body(Body::empty()).unwrap(),
        )
        .await
        .json();
    let id = &refresh[4..16];
    let listed = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap();
    assert!(
        listed["label"]
            .as_str()
            .unwrap()
            .starts_with("registry login")
    );
    let r = app
        .with_key(
            &key,
            Request::delete(format!("/user/keys/{id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    let r = app.send(post(form)).await;
    r.assert_error(401, "unauthorized");
}
