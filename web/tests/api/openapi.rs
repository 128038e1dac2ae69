//! The OpenAPI document: generated from the code, committed, served, and rendered offline.

use crate::support::*;

const COMMITTED: &str = include_str!("../../../openapi/bioshadock.json");

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = bioshadock_web::openapi::document_json();
    assert!(
        generated == COMMITTED,
        "openapi/bioshadock.json is stale: regenerate it with `cargo run -- openapi > openapi/bioshadock.json`"
    );
}

#[test]
fn every_read_endpoint_of_the_contract_is_documented() {
    let doc: serde_json::Value =
        serde_json::from_str(&bioshadock_web::openapi::document_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/container/all", "get"),
        ("/container/latest", "get"),
        ("/container/search", "get"),
        ("/container/search", "post"),
        ("/container/{namespace}/{name}", "get"),
        ("/container/tags/{namespace}/{name}", "get"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
}

#[tokio::test]
async fn the_document_and_swagger_ui_are_served() {
    let app = TestApp::new().await;
    let spec = app.get("/api/openapi.json").await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.json()["info"]["title"], "Bioshadock API");
    let ui = app.get("/api/docs/").await;
    assert_eq!(ui.status, 200, "{}", ui.body);
    assert!(ui.body.contains("swagger-ui"), "{}", ui.body);
}
