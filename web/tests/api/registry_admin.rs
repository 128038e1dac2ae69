//! The registry panel of administration: reconciliation on demand, its metrics, and the
//! registry self-check on the admin page (for real against a registry: tests/e2e/registry.rs).

use axum::body::Body;
use axum::http::Request;
use bioshadock_core::accounts::Role;

use crate::support::*;

#[tokio::test]
async fn only_admins_run_a_registry_sync() {
    let app = TestApp::new().await;
    app.user("olivia", Role::User, "olivia password").await;
    app.user("root", Role::Admin, "root password").await;
    let olivia = app.key("olivia", "read,push").await;
    let root = app.key("root", "read,push").await;
    let sync = || {
        Request::post("/admin/registry/sync")
            .body(Body::empty())
            .unwrap()
    };
    app.with_key(&olivia, sync())
        .await
        .assert_error(403, "forbidden");
    // No registry configured in these tests: it says so rather than pretending.
    app.with_key(&root, sync())
        .await
        .assert_error(503, "registry_unavailable");
    let metrics = app.get("/metrics").await.body;
    assert!(
        metrics.contains("bioshadock_registry_last_sync_timestamp_seconds 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_admin_page_checks_the_registry() {
    let app = TestApp::new().await;
    app.user("root", Role::Admin, "root password").await;
    app.user("olivia", Role::User, "olivia password").await;
    let mut root = app.login("root", "root password").await;
    let page = root.get("/admin").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Not synchronised with the registry yet"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Check the registry"), "{}", page.body);
    let csrf = root.csrf.clone();
    let checked = root
        .post_form("/admin/registry/check", &format!("csrf={csrf}"))
        .await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    assert!(
        checked.body.contains("id=\"registry-check\""),
        "{}",
        checked.body
    );
    assert!(
        checked.body.contains("cannot reach the registry"),
        "{}",
        checked.body
    );

    // Without the CSRF token, or as a non-admin: refused.
    assert_eq!(
        root.post_form("/admin/registry/check", "").await.status,
        403
    );
    let mut olivia = app.login("olivia", "olivia password").await;
    olivia.get("/account").await;
    let csrf = olivia.csrf.clone();
    let refused = olivia
        .post_form("/admin/registry/check", &format!("csrf={csrf}"))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}
