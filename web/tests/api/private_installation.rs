//! `access.anonymous = "none"`: a private installation. Anonymous visitors are sent to sign in,
//! anonymous API calls and `/container/all` are 401, and the token service grants anonymous
//! callers nothing; signed-in users and keys work as before, and the operational endpoints and
//! the sign-in page stay open.

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use bioshadock_core::accounts::Role;
use bioshadock_core::config::AnonymousAccess;
use serde_json::Value;

use crate::support::*;

async fn private_app() -> TestApp {
    let app = TestApp::with_settings(|s| s.anonymous = AnonymousAccess::None).await;
    app.add(&[public("lab/open", 1)]).await;
    app.user("alice", Role::User, "alice password").await;
    app
}

fn access_of(response: &TestResponse) -> Value {
    assert_eq!(response.status.as_u16(), 200, "{}", response.body);
    let jwt = response.json()["token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&jwt);
    claims["access"].clone()
}

#[tokio::test]
async fn anonymous_callers_get_nothing_but_the_way_in() {
    let app = private_app().await;
    for path in [
        "/container/all",
        "/container/lab/open",
        "/container/search?q=open",
        "/container/latest",
        "/container/tags/lab/open",
        "/orgs",
        "/builds/lab/open",
    ] {
        app.get(path).await.assert_error(401, "unauthorized");
    }
    for (path, back) in [
        ("/", "%2F"),
        ("/r/lab/open", "%2Fr%2Flab%2Fopen"),
        ("/search?q=open", "%2Fsearch%3Fq%3Dopen"),
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status.as_u16(), 303, "{path}");
        assert_eq!(
            page.headers.get(header::LOCATION).unwrap(),
            &format!("/login?next={back}"),
            "{path}"
        );
    }
    assert_eq!(app.get("/login").await.status.as_u16(), 200);
    assert_eq!(app.get("/healthz").await.status.as_u16(), 200);
    assert_eq!(app.get("/api/openapi.json").await.status.as_u16(), 200);
    // Anonymous pulls get a token that grants nothing, whatever they ask for.
    let anonymous = app
        .get("/v2/token?service=bioshadock-registry&scope=repository:lab/open:pull")
        .await;
    assert_eq!(access_of(&anonymous), Value::Array(vec![]));

    // Signed in, everything is as on an open installation.
    let key = app.key("alice", "read").await;
    let all = app
        .with_key(&key, json_request("GET", "/container/all", ""))
        .await;
    assert_eq!(ids(&all.json()), ["lab/open"]);
    let mut browser = app.login("alice", "alice password").await;
    assert_eq!(browser.get("/r/lab/open").await.status.as_u16(), 200);
    let basic =
        Request::get("/v2/token?service=bioshadock-registry&scope=repository:lab/open:pull")
            .header(
                header::AUTHORIZATION,
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("alice:alice password")
                ),
            )
            .body(Body::empty())
            .unwrap();
    let granted = access_of(&app.send(basic).await);
    assert_eq!(granted[0]["actions"], serde_json::json!(["pull"]));
}
