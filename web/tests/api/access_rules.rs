//! Access rules (docker_auth ACL): set by administrators through `/admin/access-rules`, and
//! deciding reads, lists, search totals and registry tokens before the built-in rules.

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bioshadock_core::accounts::Role;

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
    let claims = jwt_claims(&jwt);
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
    let root = {
        app.user("root", Role::Admin, "a long password").await;
        app.key("root", "read,push").await
    };
    let body = serde_json::json!({"source": RULES, "version": 0}).to_string();
    let set = app
        .with_key(&root, json_request("PUT", "/admin/access-rules", &body))
        .await;
    assert_eq!(set.status.as_u16(), 200, "{}", set.body);
    assert_eq!(set.json()["version"], 1);
    assert_eq!(set.json()["rules"], 3);
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

#[tokio::test]
async fn only_admins_change_the_rules_and_a_mistake_changes_nothing() {
    let app = TestApp::new().await;
    app.user("root", Role::Admin, "a long password").await;
    app.user("mallory", Role::User, "a long password").await;
    let root = app.key("root", "read,push").await;
    let reader = app.key("root", "read").await;
    let mallory = app.key("mallory", "read,push").await;
    let put = |source: &str, version: u64| {
        json_request(
            "PUT",
            "/admin/access-rules",
            &serde_json::json!({"source": source, "version": version}).to_string(),
        )
    };
    let rules = "- match: {account: mallory}\n  actions: [\"*\"]\n";
    assert_eq!(
        app.with_key(&mallory, put(rules, 0)).await.status.as_u16(),
        403
    );
    assert_eq!(
        app.with_key(&reader, put(rules, 0)).await.status.as_u16(),
        403
    );
    assert_eq!(
        app.send(json_request("GET", "/admin/access-rules", ""))
            .await
            .status
            .as_u16(),
        401
    );
    let bad = app
        .with_key(&root, put("- match: {account: a}\n  actions: [pull]\n- match: {acount: b}\n  actions: [pull]\n", 0))
        .await;
    bad.assert_error(400, "bad_request");
    assert!(
        bad.json()["error"].as_str().unwrap().contains("line 3"),
        "{}",
        bad.body
    );
    let shown = app
        .with_key(&root, json_request("GET", "/admin/access-rules", ""))
        .await;
    assert_eq!(shown.json()["version"], 0, "the mistake changed nothing");
    assert_eq!(
        app.with_key(&root, put(rules, 0)).await.status.as_u16(),
        200
    );
    app.with_key(&root, put("", 0))
        .await
        .assert_error(409, "conflict");
    let shown = app
        .with_key(&root, json_request("GET", "/admin/access-rules", ""))
        .await;
    assert_eq!(shown.json()["source"], rules);
    assert_eq!(shown.json()["version"], 1);
    let huge = "#".repeat(bioshadock_core::rules::MAX_SOURCE_BYTES + 1);
    app.with_key(&root, put(&huge, 1))
        .await
        .assert_error(400, "bad_request");
}

/// The admin page: the editor shows a mistake with its line and keeps the text, a save takes
/// effect, and the test form names the rule that decides.
#[tokio::test]
async fn admins_edit_and_test_the_rules_on_their_page() {
    let app = TestApp::new().await;
    app.user("root", Role::Admin, "a long password").await;
    app.user("mallory", Role::User, "a long password").await;
    let mut mallory = app.login("mallory", "a long password").await;
    assert_eq!(mallory.get("/admin/rules").await.status.as_u16(), 403);
    let mut root = app.login("root", "a long password").await;
    let page = root.get("/admin/rules").await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.body.contains("version 0"));
    let csrf = root.csrf.clone();
    let encode = |s: &str| serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_owned();
    let bad =
        "- match: {account: readonly}\n  actions: [pull]\n- match: {acount: x}\n  actions: []\n";
    let refused = root
        .post_form(
            "/admin/rules",
            &format!("csrf={csrf}&version=0&source={}", encode(bad)),
        )
        .await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(refused.body.contains("line 3"), "{}", refused.body);
    assert!(refused.body.contains("acount"), "the text is kept");
    let good =
        "- match: {account: readonly}\n  actions: [pull]\n  comment: the old read-only account\n";
    let saved = root
        .post_form(
            "/admin/rules",
            &format!("csrf={csrf}&version=0&source={}", encode(good)),
        )
        .await;
    assert_eq!(saved.status.as_u16(), 303, "{}", saved.body);
    let page = root.get("/admin/rules?saved=1").await;
    assert!(page.body.contains(r#"id="rules-saved""#));
    assert!(page.body.contains("version 1"));
    let tested = root
        .get("/admin/rules?account=readonly&repository=lab%2Ftool&ip=")
        .await;
    assert!(
        tested
            .body
            .contains("Rule 1 decides for readonly on lab/tool: pull (the old read-only account)"),
        "{}",
        tested.body
    );
    let tested = root
        .get("/admin/rules?account=&repository=lab%2Ftool")
        .await;
    assert!(
        tested
            .body
            .contains("No rule matches an anonymous caller on lab/tool"),
        "{}",
        tested.body
    );
    // A stale version is refused on the page too.
    let stale = root
        .post_form("/admin/rules", &format!("csrf={csrf}&version=0&source="))
        .await;
    assert_eq!(stale.status.as_u16(), 409);
}
