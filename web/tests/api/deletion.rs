//! Deleting tags and containers: who may, and that nothing is deleted when the registry
//! cannot be reached. The registry side itself is tested for real in tests/e2e/registry.rs.

use axum::body::Body;
use axum::http::Request;
use bioshadock_core::accounts::Role;
use bioshadock_core::{RepoName, Visibility};

use crate::support::*;

fn delete(uri: &str) -> Request<Body> {
    Request::delete(uri).body(Body::empty()).unwrap()
}

fn lab_tool() -> bioshadock_core::Container {
    let mut c = container("olivia/tool", Visibility::Public, 1, "a tool");
    c.tags = vec![tag("2.0", 2), tag("1.0", 1)];
    c
}

#[tokio::test]
async fn a_tag_is_deleted_by_those_who_may_push() {
    let app = TestApp::with(vec![lab_tool()]).await;
    app.user("olivia", Role::User, "olivia password").await;
    app.user("mallory", Role::User, "mallory password").await;
    let olivia = app.key("olivia", "read,push").await;
    let olivia_read = app.key("olivia", "read").await;
    let mallory = app.key("mallory", "read,push").await;

    app.with_key(&mallory, delete("/container/tags/olivia/tool/1.0"))
        .await
        .assert_error(403, "forbidden");
    app.with_key(&olivia_read, delete("/container/tags/olivia/tool/1.0"))
        .await
        .assert_error(403, "insufficient_scope");
    app.send(delete("/container/tags/olivia/tool/1.0"))
        .await
        .assert_error(401, "unauthorized");
    app.with_key(&olivia, delete("/container/tags/olivia/tool/9.9"))
        .await
        .assert_error(404, "not_found");

    let response = app
        .with_key(&olivia, delete("/container/tags/olivia/tool/1.0"))
        .await;
    assert_eq!(response.status, 204, "{}", response.body);
    let tags = app.get("/container/tags/olivia/tool").await.json();
    let names: Vec<&str> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["2.0"]);
}

#[tokio::test]
async fn nothing_is_deleted_when_the_registry_cannot_be_reached() {
    let mut registry = registry_auth();
    registry.registry_url = "http://127.0.0.1:9".into();
    let app = TestApp::with_registry(registry).await;
    app.add(&[lab_tool()]).await;
    app.user("olivia", Role::User, "olivia password").await;
    let olivia = app.key("olivia", "read,push").await;

    app.with_key(&olivia, delete("/container/tags/olivia/tool/1.0"))
        .await
        .assert_error(503, "registry_unavailable");
    app.with_key(&olivia, delete("/container/olivia/tool"))
        .await
        .assert_error(503, "registry_unavailable");
    let stored = app
        .backends
        .store
        .get(&RepoName::parse("olivia/tool").unwrap())
        .await
        .unwrap();
    assert_eq!(stored.tags.len(), 2, "nothing deleted");
}
