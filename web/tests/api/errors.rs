//! Errors: always the contract's JSON shape for API paths, a page for people.

use axum::body::Body;
use axum::http::Request;

use crate::support::*;

#[tokio::test]
async fn unknown_api_paths_are_json_404s() {
    let app = TestApp::new().await;
    app.get("/container/lab/a/b/c")
        .await
        .assert_error(404, "not_found");
    app.get("/api/nothing").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn unknown_pages_are_html_404s() {
    let app = TestApp::new().await;
    let response = app.get_accepting("/no/such/page", "text/html").await;
    assert_eq!(response.status, 404);
    assert!(response.content_type().starts_with("text/html"));
    assert!(response.body.contains("Not found"));
    assert!(response.body.contains("Back to the catalogue"));
}

#[tokio::test]
async fn a_wrong_method_is_refused_and_changes_nothing() {
    let app = TestApp::with(vec![public("lab/a", 1)]).await;
    let response = app
        .send(Request::put("/container/all").body(Body::empty()).unwrap())
        .await;
    assert_eq!(response.status, 405);
    assert_eq!(app.count_all().await, 1);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::new().await;
    let huge = format!(r#"{{"search": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    app.post_json("/container/search", &huge)
        .await
        .assert_error(413, "bad_request");
}

#[tokio::test]
async fn wrong_content_type_is_refused_with_json() {
    let app = TestApp::new().await;
    let request = Request::post("/container/search")
        .body(Body::from(r#"{"search":"x"}"#))
        .unwrap();
    let response = app.send(request).await;
    response.assert_error(415, "bad_request");
}
