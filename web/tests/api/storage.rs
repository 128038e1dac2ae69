//! The storage page: what each namespace holds (each image once), largest first, for
//! administrators only, and when garbage was last collected.

use bioshadock_core::Visibility;
use bioshadock_core::accounts::Role;

use crate::support::*;

#[tokio::test]
async fn administrators_see_each_namespaces_share_and_the_last_collection() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_path_buf();
    let app = TestApp::with_settings(move |s| s.data_dir = Some(data_dir)).await;
    let mut big = container("lab/big", Visibility::Private, 1, "big");
    // Two tags of one image count it once; a third image counts again.
    let mut alias = tag("1.0", 2);
    alias.digest = big.tags[0].digest.clone();
    big.tags.push(alias);
    big.tags.push(tag("2.0", 3));
    let small = container("ada/small", Visibility::Public, 1, "small");
    app.add(&[big, small]).await;
    app.user("root", Role::Admin, "root password").await;
    app.user("ada", Role::User, "ada password").await;

    let mut ada = app.login("ada", "ada password").await;
    assert_eq!(ada.get("/admin/storage").await.status, 403);
    let mut root = app.login("root", "root password").await;
    let page = root.get("/admin/storage").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = page.body;
    let lab = body.find("<td class=\"mono\">lab</td>").expect("lab's row");
    let ada_row = body.find("<td class=\"mono\">ada</td>").expect("ada's row");
    assert!(lab < ada_row, "largest first");
    // lab: 1 container, 3 tags, 2 images of 123,456,789 bytes each.
    assert!(
        body[lab..ada_row].contains("<td>1</td><td>3</td><td>2</td>"),
        "{}",
        &body[lab..ada_row]
    );
    assert!(body.contains("id=\"storage-total\""));
    assert!(body.contains("has not run here"));

    std::fs::create_dir_all(data.path().join("registry")).unwrap();
    std::fs::write(
        data.path().join("registry/last-gc.json"),
        r#"{"finished_at": "2026-12-01T03:00:00Z", "bytes_before": 3000000, "bytes_after": 1000000, "ok": true}"#,
    )
    .unwrap();
    let body = root.get("/admin/storage").await.body;
    assert!(body.contains("2026-12-01 03:00 UTC"), "{body}");
    assert!(body.contains("freed"), "{body}");
}
