//! Tag policies through the API: immutable tags (a container's own, an organisation's
//! default) and the deletions they refuse, and deprecations of containers and tags. The
//! registry side (pushes over immutable tags, blocked pulls) is tested through the real front
//! in tests/e2e/front.rs.

use axum::body::Body;
use axum::http::Request;
use bioshadock_core::Visibility;
use bioshadock_core::accounts::Role;
use serde_json::Value;

use crate::support::*;

fn delete(uri: &str) -> Request<Body> {
    Request::delete(uri).body(Body::empty()).unwrap()
}

fn olivias_tool() -> bioshadock_core::Container {
    let mut c = container("olivia/tool", Visibility::Public, 1, "a tool");
    c.tags = vec![tag("latest", 3), tag("2.0", 2), tag("1.0", 1)];
    c
}

/// `tag name -> immutable` as a single-container answer shows them.
fn immutable_flags(container: &Value) -> Vec<(String, Value)> {
    container["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["immutable"].clone(),
            )
        })
        .collect()
}

fn flag(name: &str, immutable: bool) -> (String, Value) {
    (name.to_owned(), Value::Bool(immutable))
}

#[tokio::test]
async fn owners_make_tags_immutable_and_immutable_tags_are_not_deleted() {
    let app = TestApp::with(vec![olivias_tool()]).await;
    app.user("olivia", Role::User, "olivia password").await;
    app.user("mallory", Role::User, "mallory password").await;
    let olivia = app.key("olivia", "read,push").await;
    let mallory = app.key("mallory", "read,push").await;
    let patch = |body: &str| json_request("PATCH", "/container/olivia/tool", body);

    app.with_key(&mallory, patch(r#"{"immutable": "all"}"#))
        .await
        .assert_error(403, "forbidden");
    for bad in [
        r#"{"immutable": "sometimes"}"#,
        r#"{"immutable": ["/(/"]}"#,
        r#"{"immutable": ["!"]}"#,
        r#"{"immutable": 3}"#,
    ] {
        app.with_key(&olivia, patch(bad))
            .await
            .assert_error(400, "bad_request");
    }

    // Everything but latest, in one line.
    let response = app
        .with_key(&olivia, patch(r#"{"immutable": ["!latest"]}"#))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let view = response.json();
    assert_eq!(view["immutable"], serde_json::json!(["!latest"]));
    assert_eq!(
        immutable_flags(&view),
        [flag("latest", false), flag("2.0", true), flag("1.0", true)]
    );
    let one = app.get("/container/olivia/tool").await.json();
    assert_eq!(immutable_flags(&one), immutable_flags(&view));
    // The page marks them.
    let page = app.get("/r/olivia/tool").await.body;
    assert_eq!(
        page.matches(r#"class="chip immutable""#).count(),
        2,
        "{page}"
    );

    let refused = app
        .with_key(&olivia, delete("/container/tags/olivia/tool/1.0"))
        .await;
    refused.assert_error(409, "immutable_tag");
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("tag 1.0 of olivia/tool is immutable"),
        "{}",
        refused.body
    );
    app.with_key(&olivia, delete("/container/olivia/tool"))
        .await
        .assert_error(409, "immutable_tag");
    let deleted = app
        .with_key(&olivia, delete("/container/tags/olivia/tool/latest"))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    // Lifting the policy (the owner may) lets the deletion through.
    let lifted = app
        .with_key(&olivia, patch(r#"{"immutable": "none"}"#))
        .await;
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    let deleted = app
        .with_key(&olivia, delete("/container/tags/olivia/tool/1.0"))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    // `null` returns to the namespace's default (none for a user here).
    let inherited = app.with_key(&olivia, patch(r#"{"immutable": null}"#)).await;
    assert_eq!(inherited.json()["immutable"], Value::Null);
}

#[tokio::test]
async fn an_organisations_default_holds_for_containers_without_a_policy_of_their_own() {
    let app = TestApp::new().await;
    app.user("olga", Role::User, "olga password").await;
    let olga = app.key("olga", "read,push").await;
    let created = app
        .with_key(
            &olga,
            json_request("POST", "/orgs", r#"{"name": "genomics-core"}"#),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let mut samtools = container("genomics-core/samtools", Visibility::Public, 1, "samtools");
    samtools.tags = vec![tag("latest", 2), tag("1.19", 1)];
    app.add(&[samtools]).await;

    let set = app
        .with_key(
            &olga,
            json_request("PATCH", "/orgs/genomics-core", r#"{"immutable": ["1.*"]}"#),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json()["immutable"], serde_json::json!(["1.*"]));
    let description_kept = app.get("/orgs/genomics-core").await.json();
    assert_eq!(description_kept["immutable"], serde_json::json!(["1.*"]));

    let one = app.get("/container/genomics-core/samtools").await.json();
    assert_eq!(one["immutable"], Value::Null, "no policy of its own");
    assert_eq!(
        immutable_flags(&one),
        [flag("latest", false), flag("1.19", true)]
    );
    app.with_key(&olga, delete("/container/tags/genomics-core/samtools/1.19"))
        .await
        .assert_error(409, "immutable_tag");

    // Its own policy wins over the organisation's.
    let own = app
        .with_key(
            &olga,
            json_request(
                "PATCH",
                "/container/genomics-core/samtools",
                r#"{"immutable": "all"}"#,
            ),
        )
        .await;
    assert_eq!(
        immutable_flags(&own.json()),
        [flag("latest", true), flag("1.19", true)]
    );
    // An organisation's policy is its admins' to set.
    app.user("max", Role::User, "max password").await;
    let max = app.key("max", "read,push").await;
    app.with_key(
        &max,
        json_request("PATCH", "/orgs/genomics-core", r#"{"immutable": "none"}"#),
    )
    .await
    .assert_error(403, "forbidden");
    app.with_key(
        &olga,
        json_request("PATCH", "/orgs/genomics-core", r#"{"immutable": "some"}"#),
    )
    .await
    .assert_error(400, "bad_request");
}

#[tokio::test]
async fn containers_and_tags_are_deprecated_with_a_reason_and_lifted() {
    let app = TestApp::with(vec![olivias_tool()]).await;
    app.user("olivia", Role::User, "olivia password").await;
    app.user("mallory", Role::User, "mallory password").await;
    let olivia = app.key("olivia", "read,push").await;
    let mallory = app.key("mallory", "read,push").await;

    let response = app
        .with_key(
            &olivia,
            json_request(
                "PATCH",
                "/container/olivia/tool",
                r#"{"deprecated": {"reason": "superseded by tool2", "replacement": "olivia/tool2:1"}}"#,
            ),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let view = response.json();
    assert_eq!(view["deprecated"]["reason"], "superseded by tool2");
    assert_eq!(view["deprecated"]["replacement"], "olivia/tool2:1");
    assert!(view["deprecated"]["since"].is_string());
    assert_eq!(view["deprecated"]["block_pulls_after"], Value::Null);

    let tag_uri = "/container/tags/olivia/tool/1.0";
    let body = r#"{"deprecated": {"reason": "CVE-2026-0001", "block_pulls_after": "2026-01-01T00:00:00Z"}}"#;
    app.with_key(&mallory, json_request("PATCH", tag_uri, body))
        .await
        .assert_error(403, "forbidden");
    let response = app
        .with_key(&olivia, json_request("PATCH", tag_uri, body))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let tags = response.json()["tags"].clone();
    let one_oh = tags
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "1.0")
        .unwrap();
    assert_eq!(one_oh["deprecated"]["reason"], "CVE-2026-0001");
    assert_eq!(
        one_oh["deprecated"]["block_pulls_after"],
        "2026-01-01T00:00:00Z"
    );
    let listed = app.get("/container/tags/olivia/tool").await.json();
    assert_eq!(listed[2]["deprecated"]["reason"], "CVE-2026-0001");
    // The page has the container's banner and strikes the tag through.
    let page = app.get("/r/olivia/tool").await.body;
    assert!(page.contains(r#"id="deprecation""#), "{page}");
    assert!(
        page.contains("superseded by tool2 Use olivia/tool2:1 instead."),
        "{page}"
    );
    assert!(page.contains(r#"<s class="chip deprecated-tag" title="Deprecated: CVE-2026-0001 Pulls are refused from 2026-01-01 00:00 UTC.">1.0</s>"#), "{page}");
    assert_eq!(listed[1]["deprecated"], Value::Null);

    for bad in [
        r#"{"deprecated": {"reason": " "}}"#,
        r#"{"deprecated": {"reason": "x", "extra": 1}}"#,
        r#"{"deprecated": {"reason": "x", "block_pulls_after": "tomorrow"}}"#,
        r#"{"deprecated": {"reason": "x", "replacement": "a\nb"}}"#,
    ] {
        app.with_key(&olivia, json_request("PATCH", tag_uri, bad))
            .await
            .assert_error(400, "bad_request");
    }
    app.with_key(
        &olivia,
        json_request("PATCH", "/container/tags/olivia/tool/9.9", body),
    )
    .await
    .assert_error(404, "not_found");

    // null lifts each.
    let lifted = app
        .with_key(
            &olivia,
            json_request("PATCH", tag_uri, r#"{"deprecated": null}"#),
        )
        .await
        .json();
    assert!(
        lifted["tags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["deprecated"].is_null())
    );
    let lifted = app
        .with_key(
            &olivia,
            json_request("PATCH", "/container/olivia/tool", r#"{"deprecated": null}"#),
        )
        .await
        .json();
    assert_eq!(lifted["deprecated"], Value::Null);
}

#[tokio::test]
async fn a_user_sets_the_default_of_their_own_namespace() {
    let app = TestApp::with(vec![olivias_tool()]).await;
    app.user("olivia", Role::User, "olivia password").await;
    let olivia = app.key("olivia", "read,push").await;
    let reader = app.key("olivia", "read").await;
    let set = |body: &str| json_request("PATCH", "/user", body);

    app.with_key(&reader, set(r#"{"immutable": "all"}"#))
        .await
        .assert_error(403, "insufficient_scope");
    app.send(set(r#"{"immutable": "all"}"#))
        .await
        .assert_error(401, "unauthorized");
    app.with_key(&olivia, set(r#"{"immutable": "most"}"#))
        .await
        .assert_error(400, "bad_request");
    let response = app
        .with_key(&olivia, set(r#"{"immutable": ["1.*"]}"#))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.json(),
        serde_json::json!({"name": "olivia", "immutable": ["1.*"]})
    );
    let one = app.get("/container/olivia/tool").await.json();
    assert_eq!(
        immutable_flags(&one),
        [flag("latest", false), flag("2.0", false), flag("1.0", true)]
    );
    app.with_key(&olivia, delete("/container/tags/olivia/tool/1.0"))
        .await
        .assert_error(409, "immutable_tag");
    // Reading back, and clearing.
    let same = app.with_key(&olivia, set("{}")).await.json();
    assert_eq!(same["immutable"], serde_json::json!(["1.*"]));
    let cleared = app
        .with_key(&olivia, set(r#"{"immutable": null}"#))
        .await
        .json();
    assert_eq!(cleared["immutable"], Value::Null);
    let one = app.get("/container/olivia/tool").await.json();
    assert!(
        immutable_flags(&one)
            .iter()
            .all(|(_, f)| f == &Value::Bool(false))
    );
}

#[tokio::test]
async fn the_settings_page_sets_the_tag_policy() {
    let app = TestApp::with(vec![olivias_tool()]).await;
    app.user("olivia", Role::User, "olivia password").await;
    let mut olivia = app.login("olivia", "olivia password").await;
    let page = olivia.get("/r/olivia/tool/settings").await;
    assert!(page.body.contains(r#"id="policy-form""#), "{}", page.body);
    let csrf = olivia.csrf.clone();
    let form = format!(
        "csrf={csrf}&action=save&immutable=patterns&patterns=%21latest&reason=superseded&\
         replacement=olivia%2Ftool2%3A1&block_pulls_after=2027-01-01"
    );
    let saved = olivia.post_form("/r/olivia/tool/policy", &form).await;
    assert_eq!(saved.status.as_u16(), 303, "{}", saved.body);
    let view = app.get("/container/olivia/tool").await.json();
    assert_eq!(view["immutable"], serde_json::json!(["!latest"]));
    assert_eq!(view["deprecated"]["reason"], "superseded");
    assert_eq!(
        view["deprecated"]["block_pulls_after"],
        "2027-01-01T00:00:00Z"
    );
    let since = view["deprecated"]["since"].clone();
    // The form shows what is set, and saving it again keeps the deprecation's date.
    let page = olivia.get("/r/olivia/tool/settings").await.body;
    assert!(page.contains(r#"value="superseded""#), "{page}");
    assert!(page.contains(r#"value="2027-01-01""#), "{page}");
    let csrf = olivia.csrf.clone();
    olivia
        .post_form(
            "/r/olivia/tool/policy",
            &form.replace(&csrf_of(&form), &csrf),
        )
        .await;
    let again = app.get("/container/olivia/tool").await.json();
    assert_eq!(again["deprecated"]["since"], since);
    // A bad pattern is shown on the page and changes nothing.
    let csrf = olivia.csrf.clone();
    let refused = olivia
        .post_form(
            "/r/olivia/tool/policy",
            &format!("csrf={csrf}&action=save&immutable=patterns&patterns=%2F%28%2F&reason="),
        )
        .await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(
        refused.body.contains("regular expression"),
        "{}",
        refused.body
    );
    assert_eq!(
        app.get("/container/olivia/tool").await.json()["immutable"],
        serde_json::json!(["!latest"])
    );
    // Lifting the deprecation; a form without the token is refused.
    let csrf = olivia.csrf.clone();
    let lifted = olivia
        .post_form(
            "/r/olivia/tool/policy",
            &format!("csrf={csrf}&action=lift&immutable=default&reason=superseded"),
        )
        .await;
    assert_eq!(lifted.status.as_u16(), 303, "{}", lifted.body);
    let view = app.get("/container/olivia/tool").await.json();
    assert_eq!(view["deprecated"], Value::Null);
    assert_eq!(view["immutable"], Value::Null);
    let forged = olivia
        .post_form("/r/olivia/tool/policy", "action=save&immutable=all")
        .await;
    assert_eq!(forged.status.as_u16(), 403);
}

/// The `csrf=` value of an urlencoded form.
fn csrf_of(form: &str) -> String {
    form.split('&')
        .find_map(|pair| pair.strip_prefix("csrf="))
        .unwrap_or_default()
        .to_owned()
}
