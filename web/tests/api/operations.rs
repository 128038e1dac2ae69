//! `/healthz`, `/metrics`, security headers.

use crate::support::*;

#[tokio::test]
async fn healthz_reports_each_backend() {
    let app = TestApp::new().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(body["status"], "ok");
    for backend in ["store", "search", "queue"] {
        assert_eq!(body[backend], "ok", "{body}");
    }
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_catalogue_figures() {
    // An open `/metrics` (no `web.metrics_token`) counts public containers only: the private
    // one must not show in any figure an anonymous caller reads.
    let app = TestApp::with(vec![
        public("lab/a", 1),
        private("lab/b", 2),
        private("lab/c", 3),
    ])
    .await;
    app.get("/container/all").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status, 200);
    assert!(response.content_type().starts_with("text/plain"));
    assert!(
        response.body.contains("bioshadock_containers 1\n"),
        "{}",
        response.body
    );
    assert!(
        response.body.contains("bioshadock_search_documents 1\n"),
        "{}",
        response.body
    );
    assert!(
        response.body.contains(
            r#"bioshadock_http_requests_total{method="GET",route="/container/all",status="200"} 1"#
        ),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = TestApp::new().await;
    let response = app.get("/").await;
    assert_eq!(response.headers["x-content-type-options"], "nosniff");
    assert_eq!(response.headers["x-frame-options"], "DENY");
    assert!(
        response.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(response.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn readyz_reports_each_backend_with_its_latency_and_the_builder() {
    let app = TestApp::new().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status, 200, "{}", response.body);
    let body = response.json();
    assert_eq!(body["ready"], true);
    for backend in ["store", "search", "queue", "coordination"] {
        assert_eq!(body["backends"][backend]["status"], "ok", "{body}");
        assert!(body["backends"][backend]["latency_ms"].is_u64(), "{body}");
    }
    // No builder runs in the test portal; that does not make it unready.
    assert_eq!(body["builder"]["present"], false);
}
