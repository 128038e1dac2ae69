//! API keys: the three ways of presenting one, the ways one stops working, scopes, and what
//! is stored and shown of them.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bioshadock_core::accounts::{ApiKey, KeySecret, Role, Scopes, UserName};
use bioshadock_core::model::now;

use crate::support::*;

const PASSWORD: &str = "correct horse battery";

async fn app_with_olivia() -> (TestApp, String) {
    let app = TestApp::with(vec![public("olivia/open", 1), private("olivia/closed", 2)]).await;
    app.user("olivia", Role::User, PASSWORD).await;
    let key = app.key("olivia", "read,build,push").await;
    (app, key)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn with_header(uri: &str, authorization: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::AUTHORIZATION, authorization)
        .body(Body::empty())
        .unwrap()
}

fn basic(user: &str, key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{key}")))
}

/// The public id of a key (`bsk_<id>_<secret>`).
fn key_id(key: &str) -> String {
    key["bsk_".len().."bsk_".len() + 12].to_owned()
}

#[tokio::test]
async fn a_key_works_as_a_query_parameter_a_bearer_token_and_basic_credentials() {
    let (app, key) = app_with_olivia().await;
    let by_query = app.get(&format!("/user?apikey={key}")).await;
    assert_eq!(by_query.status, 200, "{}", by_query.body);
    assert_eq!(by_query.json()["name"], "olivia");
    let by_bearer = app
        .send(with_header("/user", &format!("Bearer {key}")))
        .await;
    assert_eq!(by_bearer.status, 200, "{}", by_bearer.body);
    assert_eq!(by_bearer.json()["name"], "olivia");
    let by_basic = app.send(with_header("/user", &basic("olivia", &key))).await;
    assert_eq!(by_basic.status, 200, "{}", by_basic.body);
    assert_eq!(by_basic.json()["name"], "olivia");
    // Each way also grants the key's rights: olivia's private container is visible.
    let private = app
        .get(&format!("/container/olivia/closed?apikey={key}"))
        .await;
    assert_eq!(private.status, 200);
}

#[tokio::test]
async fn basic_credentials_naming_another_user_are_refused() {
    let (app, key) = app_with_olivia().await;
    app.user("mallory", Role::User, PASSWORD).await;
    app.send(with_header("/user", &basic("mallory", &key)))
        .await
        .assert_error(401, "unauthorized");
    app.send(with_header("/user", &basic("", &key)))
        .await
        .assert_error(401, "unauthorized");
    app.send(with_header("/user", "Basic !!!not-base64"))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once() {
    let (app, key) = app_with_olivia().await;
    let other = app.key("olivia", "read,build,push").await;
    assert_eq!(app.with_key(&key, get("/user")).await.status, 200);
    let revoked = app
        .with_key(
            &other,
            Request::delete(format!("/user/keys/{}", key_id(&key)))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    app.with_key(&key, get("/user"))
        .await
        .assert_error(401, "unauthorized");
    app.get(&format!("/user?apikey={key}"))
        .await
        .assert_error(401, "unauthorized");
    // The other key is untouched, and lists the revoked one as revoked.
    let listed = app.with_key(&other, get("/user/keys")).await.json();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id(&key).as_str())
        .expect("revoked key still listed")
        .clone();
    assert_eq!(entry["revoked"], true);
    // A key can revoke itself.
    let own = app
        .with_key(
            &other,
            Request::delete(format!("/user/keys/{}", key_id(&other)))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(own.status, 204);
    app.with_key(&other, get("/user"))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let (app, _) = app_with_olivia().await;
    let secret = KeySecret::generate();
    let key = ApiKey {
        id: secret.id().to_owned(),
        user: UserName::parse("olivia").unwrap(),
        label: "old".into(),
        scopes: Scopes::all(),
        created_at: now() - chrono::Duration::days(30),
        expires_at: Some(now() - chrono::Duration::minutes(1)),
        last_used_at: None,
        revoked: false,
    };
    app.backends
        .keys
        .create_key(&key, &secret.hash())
        .await
        .unwrap();
    app.with_key(secret.expose(), get("/user"))
        .await
        .assert_error(401, "unauthorized");
    app.with_key(secret.expose(), get("/container/olivia/closed"))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn unknown_and_garbage_keys_are_refused_not_treated_as_anonymous() {
    let (app, key) = app_with_olivia().await;
    let unknown = KeySecret::generate();
    app.with_key(unknown.expose(), get("/user"))
        .await
        .assert_error(401, "unauthorized");
    // Even on a public read, a bad key is a 401, not a silent fall-back to anonymous.
    app.with_key(unknown.expose(), get("/container/all"))
        .await
        .assert_error(401, "unauthorized");
    // The right id with a wrong secret.
    let forged = format!("{}{}", &key[..key.len() - 4], "AAAA");
    assert_ne!(forged, key);
    app.with_key(&forged, get("/user"))
        .await
        .assert_error(401, "unauthorized");
    for garbage in ["nonsense", "bsk_", "bsk_zzzzzzzzzzzz_short", ""] {
        app.with_key(garbage, get("/user"))
            .await
            .assert_error(401, "unauthorized");
    }
    app.get("/user?apikey=nonsense")
        .await
        .assert_error(401, "unauthorized");
    app.send(with_header("/user", "Digest whatever"))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_read_only_key_cannot_create_or_change() {
    let (app, _) = app_with_olivia().await;
    let read = app.key("olivia", "read").await;
    app.with_key(
        &read,
        json_request("POST", "/container/new", r#"{"name":"fresh"}"#),
    )
    .await
    .assert_error(403, "insufficient_scope");
    app.with_key(
        &read,
        json_request(
            "PATCH",
            "/container/olivia/open",
            r#"{"description":"nope"}"#,
        ),
    )
    .await
    .assert_error(403, "insufficient_scope");
    let delete = Request::delete("/container/olivia/closed")
        .body(Body::empty())
        .unwrap();
    app.with_key(&read, delete)
        .await
        .assert_error(403, "insufficient_scope");
    // It still reads, private containers included.
    assert_eq!(
        app.with_key(&read, get("/container/olivia/closed"))
            .await
            .status,
        200
    );
    assert_eq!(app.count_all().await, 2, "nothing created or deleted");
}

#[tokio::test]
async fn a_build_only_key_does_not_see_its_owners_private_containers() {
    let (app, _) = app_with_olivia().await;
    let build = app.key("olivia", "build").await;
    app.with_key(&build, get("/container/olivia/closed"))
        .await
        .assert_error(404, "not_found");
    let all = app.with_key(&build, get("/container/all")).await;
    assert_eq!(all.status, 200);
    assert_eq!(ids(&all.json()), ["olivia/open"]);
    let search = app
        .with_key(&build, get("/container/search?q=olivia"))
        .await
        .json();
    assert!(
        !ids(&search["results"]).contains(&"olivia/closed".to_owned()),
        "{search}"
    );
}

#[tokio::test]
async fn a_key_cannot_mint_a_key_with_more_scopes_than_it_has() {
    let (app, _) = app_with_olivia().await;
    let read = app.key("olivia", "read").await;
    app.with_key(
        &read,
        json_request(
            "POST",
            "/user/keys",
            r#"{"label":"wider","scopes":["read","push"]}"#,
        ),
    )
    .await
    .assert_error(403, "insufficient_scope");
    // No scopes asked means all of them: also more than this key holds.
    app.with_key(
        &read,
        json_request("POST", "/user/keys", r#"{"label":"all"}"#),
    )
    .await
    .assert_error(403, "insufficient_scope");
    let narrower = app
        .with_key(
            &read,
            json_request(
                "POST",
                "/user/keys",
                r#"{"label":"same","scopes":["read"]}"#,
            ),
        )
        .await;
    assert_eq!(narrower.status, 201, "{}", narrower.body);
    let listed = app.with_key(&read, get("/user/keys")).await.json();
    // The setup's key, the read-only one, and the one just made: no wider key appeared.
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
}

#[tokio::test]
async fn a_new_key_is_shown_once_and_never_listed() {
    let (app, key) = app_with_olivia().await;
    let created = app
        .with_key(
            &key,
            json_request(
                "POST",
                "/user/keys",
                r#"{"label":"CI","scopes":["read"],"expires_in_days":30}"#,
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    let new_key = body["key"].as_str().unwrap().to_owned();
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(new_key.starts_with(&format!("bsk_{id}_")), "{body}");
    assert!(body["expires_at"].is_string());
    let secret_part = &new_key[format!("bsk_{id}_").len()..];
    assert_eq!(secret_part.len(), 43);
    let listed = app.with_key(&key, get("/user/keys")).await;
    assert_eq!(listed.status, 200);
    assert!(listed.body.contains(&id), "{}", listed.body);
    assert!(!listed.body.contains(secret_part), "{}", listed.body);
    assert!(!listed.body.contains(&key[key.len() - 43..]));
    assert!(
        listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("key").is_none()),
        "no `key` field in a listing"
    );
    // The new key works, with its own scopes.
    let me = app.with_key(&new_key, get("/user")).await;
    assert_eq!(me.json()["name"], "olivia");
    assert!(!me.body.contains(secret_part));
}

#[tokio::test]
async fn only_a_hash_of_a_key_is_stored() {
    let (app, key) = app_with_olivia().await;
    let created = app
        .with_key(
            &key,
            json_request("POST", "/user/keys", r#"{"label":"stored"}"#),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    let new_key = body["key"].as_str().unwrap().to_owned();
    let id = body["id"].as_str().unwrap().to_owned();
    // Use it once, so any cache or last-use write has happened too.
    assert_eq!(app.with_key(&new_key, get("/user")).await.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let secret_part = new_key[format!("bsk_{id}_").len()..].to_owned();
    let mut files = Vec::new();
    files_under(app.data_dir(), &mut files);
    assert!(!files.is_empty());
    let mut id_seen = false;
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        assert!(
            !contains(&bytes, new_key.as_bytes()),
            "the key is stored in {}",
            file.display()
        );
        assert!(
            !contains(&bytes, secret_part.as_bytes()),
            "the key's secret is stored in {}",
            file.display()
        );
        id_seen |= contains(&bytes, id.as_bytes());
    }
    assert!(id_seen, "the key id is stored somewhere under the data dir");
}

#[tokio::test]
async fn using_a_key_records_when_it_was_last_used() {
    let (app, key) = app_with_olivia().await;
    let created = app
        .with_key(
            &key,
            json_request("POST", "/user/keys", r#"{"label":"touch"}"#),
        )
        .await
        .json();
    let new_key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(created["last_used_at"].is_null(), "{created}");
    let before = now();
    assert_eq!(app.with_key(&new_key, get("/user")).await.status, 200);
    let mut last_used = None;
    for _ in 0..20 {
        let (stored, _) = app.backends.keys.find_key(&id).await.unwrap();
        if stored.last_used_at.is_some() {
            last_used = stored.last_used_at;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last_used = last_used.expect("last_used_at set within 2 s");
    assert!(last_used >= before - chrono::Duration::seconds(1));
    let listed = app.with_key(&key, get("/user/keys")).await.json();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(entry["last_used_at"].is_string(), "{entry}");
}

/// A key of `olivia`'s with these scopes, expiring in `days`, stored directly.
async fn expiring_key(app: &TestApp, scopes: &str, days: i64) -> String {
    let secret = KeySecret::generate();
    let key = ApiKey {
        id: secret.id().to_owned(),
        user: UserName::parse("olivia").unwrap(),
        label: "expiring".into(),
        scopes: Scopes::parse_list(scopes).unwrap(),
        created_at: now(),
        expires_at: Some(now() + chrono::Duration::days(days)),
        last_used_at: None,
        revoked: false,
    };
    app.backends
        .keys
        .create_key(&key, &secret.hash())
        .await
        .unwrap();
    secret.expose().to_owned()
}

#[tokio::test]
async fn a_key_cannot_mint_a_key_that_outlives_it() {
    let (app, forever) = app_with_olivia().await;
    let expiring = expiring_key(&app, "read,build,push", 10).await;
    let before = app.with_key(&forever, get("/user/keys")).await.json();
    for body in [
        r#"{"label":"forever","scopes":["read"]}"#,
        r#"{"label":"longer","scopes":["read"],"expires_in_days":30}"#,
        r#"{"label":"just longer","scopes":["read"],"expires_in_days":11}"#,
    ] {
        let response = app
            .with_key(&expiring, json_request("POST", "/user/keys", body))
            .await;
        response.assert_error(403, "insufficient_scope");
        assert!(response.body.contains("expire"), "{}", response.body);
    }
    let after = app.with_key(&forever, get("/user/keys")).await.json();
    assert_eq!(
        before.as_array().unwrap().len(),
        after.as_array().unwrap().len(),
        "no key was created: {after}"
    );
    let shorter = app
        .with_key(
            &expiring,
            json_request(
                "POST",
                "/user/keys",
                r#"{"label":"shorter","scopes":["read"],"expires_in_days":9}"#,
            ),
        )
        .await;
    assert_eq!(shorter.status, 201, "{}", shorter.body);
    // A key that never expires may mint one that never expires.
    let unbounded = app
        .with_key(
            &forever,
            json_request("POST", "/user/keys", r#"{"label":"also forever"}"#),
        )
        .await;
    assert_eq!(unbounded.status, 201, "{}", unbounded.body);
}

#[tokio::test]
async fn a_key_can_revoke_only_keys_whose_scopes_it_holds() {
    let (app, push) = app_with_olivia().await;
    let read = app.key("olivia", "read").await;
    let delete = |id: String| {
        Request::delete(format!("/user/keys/{id}"))
            .body(Body::empty())
            .unwrap()
    };
    app.with_key(&read, delete(key_id(&push)))
        .await
        .assert_error(403, "insufficient_scope");
    let still = app.with_key(&push, get("/user")).await;
    assert_eq!(still.status, 200, "the push key still works");
    let revoked = app.with_key(&push, delete(key_id(&read))).await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    app.with_key(&read, get("/user"))
        .await
        .assert_error(401, "unauthorized");
    // Signed in with the password, everything may be revoked.
    let mut browser = app.login("olivia", PASSWORD).await;
    let page = browser
        .send(
            Request::delete(format!("/user/keys/{}", key_id(&push)))
                .header("sec-fetch-site", "same-origin")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, 204, "{}", page.body);
}

/// Two credentials in one request (a header and `?apikey=`) are refused, not judged by the
/// header alone: a valid header must not vouch for a query key nobody checked.
#[tokio::test]
async fn a_request_presenting_two_keys_is_refused() {
    let (app, key) = app_with_olivia().await;
    for query_key in ["garbage", key.as_str()] {
        let response = app
            .with_key(&key, get(&format!("/user?apikey={query_key}")))
            .await;
        response.assert_error(400, "bad_request");
        assert!(response.body.contains("not both"), "{}", response.body);
    }
    let alone = app.send(get(&format!("/user?apikey={key}"))).await;
    assert_eq!(alone.status, 200, "{}", alone.body);
}
