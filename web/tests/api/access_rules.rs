//! Access rules (docker_auth ACL) deciding reads, changes and registry tokens. Lists and search
//! do not follow them yet, and no API sets them yet: the rules are put in the store directly.

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bioshadock_core::accounts::Role;
use serde_json::Value;

use crate::support::*;

const RULES: &str = "\
- match: {account: admin}
  actions: [\"*\"]
  comment: as in docker_auth's sample
- match: {account: readonly}
  actions: [pull]
- match: {account: olivia, name: olivia/closed}
  actions: []
";

async fn token_actions(app: &TestApp, user: &str, password: &str, repo: &str) -> Vec<String> {
    let request = Request::get(format!(
        "/v2/token?service=bioshadock-registry&scope=repository:{repo}:pull,push,delete"
    ))
    .header(
        header::AUTHORIZATION,
        format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))),
    )
    .body(Body::empty())
    .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.body);
    let jwt = response.json()["token"].as_str().unwrap().to_owned();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    claims["access"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["actions"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rules_decide_reads_and_registry_tokens_before_the_built_in_rules() {
    let app = TestApp::with(vec![public("olivia/open", 1), private("olivia/closed", 2)]).await;
    for name in ["admin", "readonly", "olivia", "mallory"] {
        app.user(name, Role::User, "a long password").await;
    }
    app.backends.rules.put_rules(RULES, 0).await.unwrap();
    let all = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    // docker_auth's sample: admin everything, readonly pull, even of a private container.
    assert_eq!(
        token_actions(&app, "admin", "a long password", "olivia/closed").await,
        all(&["pull", "push", "delete"])
    );
    assert_eq!(
        token_actions(&app, "readonly", "a long password", "olivia/closed").await,
        all(&["pull"])
    );
    // A denying rule takes the owner's own container away; no rule: the built-in rules.
    assert!(
        token_actions(&app, "olivia", "a long password", "olivia/closed")
            .await
            .is_empty()
    );
    assert_eq!(
        token_actions(&app, "olivia", "a long password", "olivia/open").await,
        all(&["pull", "push", "delete"])
    );
    assert_eq!(
        token_actions(&app, "mallory", "a long password", "olivia/open").await,
        all(&["pull"])
    );
    // The API reads agree.
    let key = app.key("readonly", "read").await;
    let read = app
        .with_key(&key, json_request("GET", "/container/olivia/closed", ""))
        .await;
    assert_eq!(read.status.as_u16(), 200);
    let key = app.key("olivia", "read,push").await;
    let read = app
        .with_key(&key, json_request("GET", "/container/olivia/closed", ""))
        .await;
    assert_eq!(
        read.status.as_u16(),
        404,
        "hidden from its owner by the rule"
    );
    // Lists and search, totals included, say the same.
    let found = app
        .with_key(&key, json_request("GET", "/container/search?q=olivia", ""))
        .await;
    assert_eq!(ids(&found.json()["results"]), ["olivia/open"]);
    assert_eq!(found.json()["total"], 1);
    let all = app
        .with_key(&key, json_request("GET", "/container/all", ""))
        .await;
    assert_eq!(ids(&all.json()), ["olivia/open"]);
    let key = app.key("readonly", "read").await;
    let all = app
        .with_key(&key, json_request("GET", "/container/all", ""))
        .await;
    assert_eq!(ids(&all.json()), ["olivia/closed", "olivia/open"]);
    let found = app
        .with_key(&key, json_request("GET", "/container/search?q=olivia", ""))
        .await;
    assert_eq!(found.json()["total"], 2);
}
