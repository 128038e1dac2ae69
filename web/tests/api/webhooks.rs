//! Webhooks through the API: who may create them where, every bound of a new hook, the secret
//! shown once, the delivery log, test events and resends, and hooks of one scope unreachable
//! through another. Real deliveries to a real receiver are tested in tests/e2e/webhooks.rs.

use axum::body::Body;
use axum::http::Request;
use bioshadock_core::Visibility;
use bioshadock_core::accounts::Role;
use serde_json::{Value, json};

use crate::support::*;

fn delete(uri: &str) -> Request<Body> {
    Request::delete(uri).body(Body::empty()).unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn hook(url: &str) -> String {
    json!({"url": url, "events": ["push"]}).to_string()
}

const RECEIVER: &str = "http://127.0.0.1:9/hook";

#[tokio::test]
async fn owners_create_hooks_whose_secret_is_shown_once_and_bad_ones_change_nothing() {
    let app = TestApp::with(vec![container(
        "olivia/tool",
        Visibility::Public,
        1,
        "a tool",
    )])
    .await;
    app.user("olivia", Role::User, "olivia password").await;
    app.user("mallory", Role::User, "mallory password").await;
    let olivia = app.key("olivia", "read,push").await;
    let reader = app.key("olivia", "read").await;
    let mallory = app.key("mallory", "read,push").await;
    let uri = "/container/webhooks/olivia/tool";

    app.send(json_request("POST", uri, &hook(RECEIVER)))
        .await
        .assert_error(401, "unauthorized");
    app.with_key(&mallory, json_request("POST", uri, &hook(RECEIVER)))
        .await
        .assert_error(403, "forbidden");
    app.with_key(&reader, json_request("POST", uri, &hook(RECEIVER)))
        .await
        .assert_error(403, "insufficient_scope");
    app.with_key(&mallory, get(uri))
        .await
        .assert_error(403, "forbidden");
    app.with_key(
        &olivia,
        json_request("POST", "/container/webhooks/olivia/none", &hook(RECEIVER)),
    )
    .await
    .assert_error(404, "not_found");

    let long_url = format!("https://example.org/{}", "a".repeat(2048));
    for bad in [
        json!({"url": RECEIVER, "events": []}),
        json!({"url": RECEIVER, "events": ["pushed"]}),
        json!({"url": "ftp://example.org/", "events": ["push"]}),
        json!({"url": "http://user:pw@127.0.0.1:9/", "events": ["push"]}),
        json!({"url": "http://127.0.0.1:9/a b", "events": ["push"]}),
        json!({"url": long_url, "events": ["push"]}),
        json!({"url": "http://no-such-host.invalid/", "events": ["push"]}),
        json!({"url": RECEIVER, "events": ["push"], "tags": ["/(/"]}),
        json!({"url": RECEIVER, "events": ["push"], "tags": vec!["x"; 21]}),
        json!({"url": RECEIVER, "events": ["push"], "secret": "short"}),
        json!({"url": RECEIVER, "events": ["push"], "format": "xml"}),
        json!({"url": RECEIVER, "events": ["push"], "colour": "red"}),
    ] {
        let response = app
            .with_key(&olivia, json_request("POST", uri, &bad.to_string()))
            .await;
        assert_eq!(response.status, 400, "{bad}: {}", response.body);
    }
    let listed = app.with_key(&olivia, get(uri)).await;
    assert_eq!(listed.json(), json!([]), "nothing was created");

    let body = json!({"url": RECEIVER, "events": ["push", "build_failed", "push"],
        "tags": ["1.*"], "secret": "a-secret-of-my-own-choosing"});
    let created = app
        .with_key(&olivia, json_request("POST", uri, &body.to_string()))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    assert_eq!(created["secret"], "a-secret-of-my-own-choosing");
    assert_eq!(created["events"], json!(["push", "build_failed"]));
    assert_eq!(created["scope"], "container:olivia/tool");
    assert_eq!(created["format"], "json");
    let id = created["id"].as_str().unwrap().to_owned();
    let listed = app.with_key(&olivia, get(uri)).await;
    assert_eq!(listed.json()[0]["id"], id.as_str());
    assert!(!listed.body.contains("my-own-choosing"), "shown once");
    let generated = app
        .with_key(&olivia, json_request("POST", uri, &hook(RECEIVER)))
        .await
        .json();
    assert_eq!(
        generated["secret"].as_str().unwrap().len(),
        "whsec_".len() + 64
    );

    // A test event is queued at once and shows in the log (nothing sends it in this test).
    let test = app
        .with_key(
            &olivia,
            json_request("POST", &format!("{uri}/{id}/test"), ""),
        )
        .await;
    assert_eq!(test.status, 202, "{}", test.body);
    let log = app
        .with_key(&olivia, get(&format!("{uri}/{id}/deliveries")))
        .await
        .json();
    assert_eq!(log[0]["event"], "test");
    assert_eq!(log[0]["state"], "pending");
    assert_eq!(log[0]["attempts"], 0);
    let delivery = log[0]["id"].as_str().unwrap().to_owned();
    let resend = app
        .with_key(
            &olivia,
            json_request(
                "POST",
                &format!("{uri}/{id}/deliveries/{delivery}/resend"),
                "",
            ),
        )
        .await;
    assert_eq!(resend.status, 202, "{}", resend.body);
    assert_ne!(resend.json()["id"], delivery.as_str());
    for bad in ["?limit=0", "?limit=201", "?limit=x", "?colour=red"] {
        let response = app
            .with_key(&olivia, get(&format!("{uri}/{id}/deliveries{bad}")))
            .await;
        assert_eq!(response.status, 400, "{bad}");
    }
    app.with_key(
        &olivia,
        get(&format!("{uri}/wh_0000000000000000/deliveries")),
    )
    .await
    .assert_error(404, "not_found");
    app.with_key(&olivia, get(&format!("{uri}/not-an-id/deliveries")))
        .await
        .assert_error(400, "bad_request");

    // Twenty per container.
    for _ in 2..20 {
        let response = app
            .with_key(&olivia, json_request("POST", uri, &hook(RECEIVER)))
            .await;
        assert_eq!(response.status, 201);
    }
    app.with_key(&olivia, json_request("POST", uri, &hook(RECEIVER)))
        .await
        .assert_error(409, "conflict");

    // Deleting: strangers cannot, the owner can, and then it is gone with its log.
    app.with_key(&mallory, delete(&format!("{uri}/{id}")))
        .await
        .assert_error(403, "forbidden");
    assert_eq!(
        app.with_key(&olivia, delete(&format!("{uri}/{id}")))
            .await
            .status,
        204
    );
    app.with_key(&olivia, get(&format!("{uri}/{id}/deliveries")))
        .await
        .assert_error(404, "not_found");

    // Both changes are in the audit log, without the secret.
    app.user("root", Role::Admin, "root password").await;
    let root = app.key("root", "read").await;
    let audit = app
        .with_key(&root, get("/admin/audit?target=olivia/tool"))
        .await;
    assert!(audit.body.contains("webhook.created"), "{}", audit.body);
    assert!(audit.body.contains("webhook.deleted"));
    assert!(!audit.body.contains("my-own-choosing"));
}

#[tokio::test]
async fn organisation_and_global_hooks_belong_to_their_admins_and_stay_in_their_scope() {
    let app = TestApp::with(vec![container(
        "olivia/tool",
        Visibility::Public,
        1,
        "a tool",
    )])
    .await;
    app.user("root", Role::Admin, "root password").await;
    app.user("ada", Role::User, "ada password").await;
    app.user("max", Role::User, "max password").await;
    app.user("olivia", Role::User, "olivia password").await;
    let root = app.key("root", "read,push").await;
    let ada = app.key("ada", "read,push").await;
    let max = app.key("max", "read,push").await;
    let olivia = app.key("olivia", "read,push").await;
    assert_eq!(
        app.with_key(&ada, json_request("POST", "/orgs", r#"{"name": "lab"}"#))
            .await
            .status,
        201
    );
    let member = json_request("PUT", "/orgs/lab/members/max", r#"{"role": "member"}"#);
    assert_eq!(app.with_key(&ada, member).await.status, 200);

    app.with_key(
        &max,
        json_request("POST", "/orgs/lab/webhooks", &hook(RECEIVER)),
    )
    .await
    .assert_error(403, "forbidden");
    let org_hook = app
        .with_key(
            &ada,
            json_request("POST", "/orgs/lab/webhooks", &hook(RECEIVER)),
        )
        .await;
    assert_eq!(org_hook.status, 201, "{}", org_hook.body);
    let org_hook: Value = org_hook.json();
    assert_eq!(org_hook["scope"], "org:lab");
    app.with_key(
        &ada,
        json_request("POST", "/orgs/nope/webhooks", &hook(RECEIVER)),
    )
    .await
    .assert_error(404, "not_found");

    app.with_key(
        &ada,
        json_request("POST", "/admin/webhooks", &hook(RECEIVER)),
    )
    .await
    .assert_error(403, "forbidden");
    let global = app
        .with_key(
            &root,
            json_request("POST", "/admin/webhooks", &hook(RECEIVER)),
        )
        .await;
    assert_eq!(global.status, 201, "{}", global.body);
    assert_eq!(global.json()["scope"], "global");

    // A hook is reached only under its own scope.
    let olivias = app
        .with_key(
            &olivia,
            json_request("POST", "/container/webhooks/olivia/tool", &hook(RECEIVER)),
        )
        .await
        .json();
    let olivias_id = olivias["id"].as_str().unwrap();
    app.with_key(
        &ada,
        get(&format!("/orgs/lab/webhooks/{olivias_id}/deliveries")),
    )
    .await
    .assert_error(404, "not_found");
    app.with_key(&root, delete(&format!("/admin/webhooks/{olivias_id}")))
        .await
        .assert_error(404, "not_found");
    let lists = [
        app.with_key(&ada, get("/orgs/lab/webhooks")).await.json(),
        app.with_key(&root, get("/admin/webhooks")).await.json(),
        app.with_key(&olivia, get("/container/webhooks/olivia/tool"))
            .await
            .json(),
    ];
    for list in lists {
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    }
    // An administrator manages any container's hooks.
    let by_admin = app
        .with_key(&root, get("/container/webhooks/olivia/tool"))
        .await;
    assert_eq!(by_admin.status, 200);
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let app = TestApp::with_settings(|s| s.webhooks_allow_private = false).await;
    app.add(&[container("olivia/tool", Visibility::Public, 1, "a tool")])
        .await;
    app.user("olivia", Role::User, "olivia password").await;
    let olivia = app.key("olivia", "read,push").await;
    for url in [
        "http://127.0.0.1:9/",
        "http://localhost/",
        "http://169.254.169.254/",
        "http://192.168.1.1/",
        "http://[fd00::1]/",
        "http://[::ffff:10.0.0.1]/",
    ] {
        let response = app
            .with_key(
                &olivia,
                json_request("POST", "/container/webhooks/olivia/tool", &hook(url)),
            )
            .await;
        assert_eq!(response.status, 400, "{url}: {}", response.body);
        assert!(
            response.body.contains("webhooks.allow_private"),
            "{}",
            response.body
        );
    }
}

#[tokio::test]
async fn the_page_creates_a_hook_shows_its_secret_once_and_queues_tests() {
    let app = TestApp::with(vec![container(
        "olivia/tool",
        Visibility::Public,
        1,
        "a tool",
    )])
    .await;
    app.user("olivia", Role::User, "olivia password").await;
    app.user("mallory", Role::User, "mallory password").await;
    let mut browser = app.login("olivia", "olivia password").await;
    let page = browser.get("/r/olivia/tool/webhooks").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = csrf_in(&page.body).unwrap();
    let form = |extra: &str| format!("csrf={csrf}&{extra}");

    // Without the token nothing happens; a bad URL is refused with the reason.
    let forged = browser
        .post_form(
            "/r/olivia/tool/webhooks",
            "action=create&url=http%3A%2F%2F127.0.0.1%3A9%2F&events=push",
        )
        .await;
    assert_eq!(forged.status, 403);
    let bad = browser
        .post_form(
            "/r/olivia/tool/webhooks",
            &form("action=create&url=ftp%3A%2F%2Fx&events=push"),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("http:// or https://"), "{}", bad.body);

    let created = browser
        .post_form(
            "/r/olivia/tool/webhooks",
            &form("action=create&url=http%3A%2F%2F127.0.0.1%3A9%2Fhook&events=push&events=tag_deleted&tags=1.*&format=slack"),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("id=\"new-secret\""));
    let secret_at = created.body.find("whsec_").expect("the secret");
    let secret = &created.body[secret_at..secret_at + "whsec_".len() + 64];
    let page = browser.get("/r/olivia/tool/webhooks").await.body;
    assert!(!page.contains(secret), "shown once");
    assert!(page.contains("push, tag_deleted"), "{page}");
    assert!(page.contains("tags 1.*"));
    let hook_at = page.find("name=\"hook\" value=\"").unwrap() + "name=\"hook\" value=\"".len();
    let hook = &page[hook_at..hook_at + 19];
    let tested = browser
        .post_form(
            "/r/olivia/tool/webhooks",
            &form(&format!("action=test&hook={hook}")),
        )
        .await;
    assert_eq!(tested.status, 303);
    let page = browser.get("/r/olivia/tool/webhooks").await.body;
    assert!(
        page.contains(">test<") && page.contains("pending"),
        "{page}"
    );

    let mut other = app.login("mallory", "mallory password").await;
    assert_eq!(other.get("/r/olivia/tool/webhooks").await.status, 403);
}
