//! Signing in and out, sessions and their cookies, CSRF, login throttling, disabled users and
//! the admin endpoints.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bioshadock_core::RepoName;
use bioshadock_core::accounts::Role;

use crate::support::*;

const PASSWORD: &str = "correct horse battery";

async fn app() -> TestApp {
    let app = TestApp::with(vec![public("olivia/open", 1)]).await;
    app.user("olivia", Role::User, PASSWORD).await;
    app.user("root", Role::Admin, PASSWORD).await;
    app
}

fn location(response: &TestResponse) -> &str {
    response
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn set_cookie(response: &TestResponse) -> String {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn signed_in(browser: &mut Browser<'_>) -> bool {
    let account = browser.get("/account").await;
    match account.status {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER | StatusCode::FOUND => {
            assert!(
                location(&account).starts_with("/login"),
                "{}",
                location(&account)
            );
            false
        }
        other => panic!("unexpected /account status {other}"),
    }
}

async fn description(app: &TestApp, id: &str) -> String {
    app.backends
        .store
        .get(&RepoName::parse(id).unwrap())
        .await
        .unwrap()
        .description
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn a_login_post_without_or_with_a_wrong_csrf_token_is_refused() {
    let app = app().await;
    let mut browser = app.browser();
    browser.get("/login").await;
    assert!(!browser.csrf.is_empty());
    let missing = browser
        .post_form(
            "/login",
            &format!("name=olivia&password={PASSWORD}&next=%2F"),
        )
        .await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert!(!signed_in(&mut browser).await);
    browser.get("/login").await;
    let wrong = browser
        .post_form(
            "/login",
            &format!("csrf=not-the-token&name=olivia&password={PASSWORD}&next=%2F"),
        )
        .await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    let empty = browser
        .post_form(
            "/login",
            &format!("csrf=&name=olivia&password={PASSWORD}&next=%2F"),
        )
        .await;
    assert_eq!(empty.status, 403, "{}", empty.body);
    assert!(!signed_in(&mut browser).await);
    // Another session's token does not fit this one.
    let mut other = app.browser();
    other.get("/login").await;
    let foreign = browser
        .post_form(
            "/login",
            &format!(
                "csrf={}&name=olivia&password={PASSWORD}&next=%2F",
                other.csrf
            ),
        )
        .await;
    assert_eq!(foreign.status, 403, "{}", foreign.body);
}

#[tokio::test]
async fn settings_and_delete_posts_without_a_valid_csrf_token_change_nothing() {
    let app = app().await;
    let mut browser = app.login("olivia", PASSWORD).await;
    browser.get("/r/olivia/open/settings").await;
    let token = browser.csrf.clone();
    assert!(!token.is_empty());
    let before = description(&app, "olivia/open").await;
    for form in [
        "action=save&description=forged".to_owned(),
        "csrf=wrong&action=save&description=forged".to_owned(),
        format!("csrf={token}x&action=save&description=forged"),
    ] {
        let response = browser.post_form("/r/olivia/open/settings", &form).await;
        assert_eq!(response.status, 403, "{form}");
        assert_eq!(description(&app, "olivia/open").await, before, "{form}");
    }
    let members = browser
        .post_form("/r/olivia/open/members", "action=add&user=root&access=push")
        .await;
    assert_eq!(members.status, 403);
    let delete = browser
        .post_form("/r/olivia/open/delete", "csrf=wrong")
        .await;
    assert_eq!(delete.status, 403);
    let still = app.get("/container/olivia/open").await;
    assert_eq!(still.status, 200, "not deleted");
    let stored = app
        .backends
        .store
        .get(&RepoName::parse("olivia/open").unwrap())
        .await
        .unwrap();
    assert!(stored.members.is_empty(), "no member added");
    // With the token, the same post works.
    let saved = browser
        .post_form(
            "/r/olivia/open/settings",
            &format!("csrf={token}&action=save&description=genuine"),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(description(&app, "olivia/open").await, "genuine");
}

#[tokio::test]
async fn a_wrong_password_is_a_401_page_and_the_right_one_a_new_session() {
    let app = app().await;
    let mut browser = app.browser();
    browser.get("/login").await;
    assert_eq!(browser.cookie, None, "the login page starts no session");
    // An attacker's planted session id (session fixation) ...
    let planted_id = "bioshadock_session=AAAAAAAAAAAAAAAAAAAAAA".to_owned();
    browser.cookie = Some(planted_id.clone());
    let wrong = browser.login("olivia", "not the password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.content_type().starts_with("text/html"));
    assert!(!wrong.body.contains("not the password"), "password echoed");
    let unknown = browser.login("nobody", PASSWORD).await;
    assert_eq!(unknown.status, 401, "same answer for unknown users");
    assert!(!signed_in(&mut browser).await);
    browser.cookie = Some(planted_id.clone());
    let right = browser.login("olivia", PASSWORD).await;
    assert_eq!(right.status, 303, "{}", right.body);
    assert_eq!(location(&right), "/");
    let after = browser.cookie.clone().unwrap();
    assert_ne!(
        after, planted_id,
        "the session id is the portal's, not the planted one"
    );
    assert_eq!(
        browser.login_cookie, None,
        "the form's nonce is cleared at sign-in"
    );
    assert!(signed_in(&mut browser).await);
    // ... is worthless afterwards.
    let mut planted = app.browser();
    planted.cookie = Some(planted_id);
    assert!(!signed_in(&mut planted).await);
}

#[tokio::test]
async fn session_cookies_are_http_only_same_site_lax_and_secure_behind_https() {
    let app = app().await;
    let mut browser = app.browser();
    let page = browser.get("/login").await;
    let cookie = set_cookie(&page);
    // The login form's nonce: no session yet.
    assert!(cookie.starts_with("bioshadock_login="), "{cookie}");
    assert!(!cookie.contains("bioshadock_session="), "{cookie}");
    assert!(cookie.contains("Path=/login"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let login = browser.login("olivia", PASSWORD).await;
    let cookie = set_cookie(&login);
    let session = cookie
        .lines()
        .find(|c| c.starts_with("bioshadock_session="))
        .unwrap_or_else(|| panic!("no session cookie: {cookie}"));
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    let mut proxied = app.browser();
    let page = proxied
        .send(
            Request::get("/login")
                .header("x-forwarded-proto", "https")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let cookie = set_cookie(&page);
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = app().await;
    let mut browser = app.login("olivia", PASSWORD).await;
    assert!(signed_in(&mut browser).await);
    let session = browser.cookie.clone().unwrap();
    let csrf = browser.csrf.clone();
    let refused = browser.post_form("/logout", "").await;
    assert_eq!(refused.status, 403, "logout needs the token");
    assert!(signed_in(&mut browser).await);
    let out = browser.post_form("/logout", &format!("csrf={csrf}")).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(!signed_in(&mut browser).await);
    // Replaying the old cookie does not bring the session back.
    let mut replay = app.browser();
    replay.cookie = Some(session);
    assert!(!signed_in(&mut replay).await);
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_user_out_even_with_the_right_one() {
    let app = app().await;
    let mut browser = app.browser();
    for attempt in 1..=5 {
        let response = browser.login("olivia", "wrong password!").await;
        assert_eq!(response.status, 401, "attempt {attempt}");
    }
    let locked = browser.login("olivia", PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(!signed_in(&mut browser).await);
    // A fresh session does not reset the count.
    let mut fresh = app.browser();
    assert_eq!(fresh.login("olivia", PASSWORD).await.status, 429);
    // Other users are not locked.
    assert_eq!(fresh.login("root", PASSWORD).await.status, 303);
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_their_keys_and_sessions_stop_working() {
    let app = app().await;
    let admin = app.key("root", "read,build,push").await;
    let key = app.key("olivia", "read,build,push").await;
    assert_eq!(app.with_key(&key, get("/user")).await.status, 200);
    let mut session = app.login("olivia", PASSWORD).await;
    assert!(signed_in(&mut session).await);
    let disabled = app
        .with_key(
            &admin,
            json_request("PATCH", "/admin/users/olivia", r#"{"disabled":true}"#),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(disabled.json()["disabled"], true);
    app.with_key(&key, get("/user"))
        .await
        .assert_error(401, "unauthorized");
    assert!(!signed_in(&mut session).await, "the live session ends");
    let mut browser = app.browser();
    assert_eq!(browser.login("olivia", PASSWORD).await.status, 401);
    // Re-enabled, both work again.
    let enabled = app
        .with_key(
            &admin,
            json_request("PATCH", "/admin/users/olivia", r#"{"disabled":false}"#),
        )
        .await;
    assert_eq!(enabled.status, 200);
    assert_eq!(app.with_key(&key, get("/user")).await.status, 200);
    assert_eq!(browser.login("olivia", PASSWORD).await.status, 303);
}

#[tokio::test]
async fn only_admins_reach_the_admin_endpoints() {
    let app = app().await;
    let user = app.key("olivia", "read,build,push").await;
    let admin = app.key("root", "read,build,push").await;
    app.get("/admin/users")
        .await
        .assert_error(401, "unauthorized");
    app.with_key(&user, get("/admin/users"))
        .await
        .assert_error(403, "forbidden");
    app.with_key(
        &user,
        json_request(
            "POST",
            "/admin/users",
            r#"{"name":"sneaky","password":"long enough pw","role":"admin"}"#,
        ),
    )
    .await
    .assert_error(403, "forbidden");
    app.with_key(
        &user,
        json_request("PATCH", "/admin/users/olivia", r#"{"role":"admin"}"#),
    )
    .await
    .assert_error(403, "forbidden");
    let listed = app.with_key(&admin, get("/admin/users")).await;
    assert_eq!(listed.status, 200);
    let names: Vec<_> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"olivia".to_owned()) && names.contains(&"root".to_owned()));
    assert!(!names.contains(&"sneaky".to_owned()));
    // The pages too.
    let mut olivia = app.login("olivia", PASSWORD).await;
    assert_eq!(olivia.get("/admin").await.status, 403);
}

#[tokio::test]
async fn admins_create_users_but_not_duplicates_or_weak_passwords() {
    let app = app().await;
    let admin = app.key("root", "read,build,push").await;
    let created = app
        .with_key(
            &admin,
            json_request(
                "POST",
                "/admin/users",
                r#"{"name":"newbie","password":"long enough pw"}"#,
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["name"], "newbie");
    assert_eq!(created.json()["role"], "user");
    assert!(!created.body.contains("long enough pw"));
    assert!(!created.body.contains("argon2"));
    app.with_key(
        &admin,
        json_request(
            "POST",
            "/admin/users",
            r#"{"name":"newbie","password":"another long one"}"#,
        ),
    )
    .await
    .assert_error(409, "conflict");
    app.with_key(
        &admin,
        json_request(
            "POST",
            "/admin/users",
            r#"{"name":"shorty","password":"short"}"#,
        ),
    )
    .await
    .assert_error(400, "bad_request");
    let mut browser = app.browser();
    assert_eq!(browser.login("newbie", "long enough pw").await.status, 303);
    assert_eq!(app.browser().login("shorty", "short").await.status, 401);
}

#[tokio::test]
async fn an_admin_cannot_disable_or_demote_themselves() {
    let app = app().await;
    let admin = app.key("root", "read,build,push").await;
    app.with_key(
        &admin,
        json_request("PATCH", "/admin/users/root", r#"{"disabled":true}"#),
    )
    .await
    .assert_error(403, "forbidden");
    app.with_key(
        &admin,
        json_request("PATCH", "/admin/users/root", r#"{"role":"user"}"#),
    )
    .await
    .assert_error(403, "forbidden");
    let me = app.with_key(&admin, get("/user")).await.json();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["disabled"], false);
    app.with_key(
        &admin,
        json_request("PATCH", "/admin/users/nobody", r#"{"disabled":true}"#),
    )
    .await
    .assert_error(404, "not_found");
}

#[tokio::test]
async fn two_portals_sharing_coordination_share_login_throttling() {
    use bioshadock_backends::MemoryCoordination;

    let shared: std::sync::Arc<dyn bioshadock_core::ports::coordination::Coordination> =
        std::sync::Arc::new(MemoryCoordination::new());
    let one = TestApp::with_coordination(shared.clone()).await;
    let two = TestApp::with_coordination(shared).await;
    let alone = TestApp::new().await;
    for app in [&one, &two, &alone] {
        app.user("olivia", Role::User, PASSWORD).await;
    }
    let mut browser = one.browser();
    for attempt in 1..=5 {
        let response = browser.login("olivia", "wrong password!").await;
        assert_eq!(response.status, 401, "attempt {attempt}");
    }
    assert_eq!(
        two.browser().login("olivia", PASSWORD).await.status,
        429,
        "the other portal counts the same failures"
    );
    assert_eq!(
        alone.browser().login("olivia", PASSWORD).await.status,
        303,
        "a portal with its own state does not"
    );
}

/// `next` after sign-in stays on this site, whatever a crafted link puts in it.
#[tokio::test]
async fn next_after_sign_in_never_leaves_the_site() {
    let app = app().await;
    for (encoded, expected) in [
        ("%2Faccount", "/account"),
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%0A%2Fevil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%2F%5C%2Fevil.example", "/"),
        ("%20%2F%2Fevil.example", "/"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("javascript%3Aalert(1)", "/"),
        ("%2F%252F%252Fevil.example", "/"),
    ] {
        let mut browser = app.browser();
        browser.get("/login").await;
        let form = format!(
            "csrf={}&name=olivia&password={PASSWORD}&next={encoded}",
            browser.csrf
        );
        let response = browser.post_form("/login", &form).await;
        assert_eq!(response.status, 303, "{encoded}: {}", response.body);
        assert_eq!(location(&response), expected, "{encoded}");
        // Signed in, the login page redirects at once: the same rule applies.
        let again = browser.get(&format!("/login?next={encoded}")).await;
        assert_eq!(location(&again), expected, "{encoded} (signed in)");
    }
}

/// The sessions table holds a hash of each session id, never the id a cookie carries.
#[tokio::test]
async fn session_ids_are_stored_only_as_hashes() {
    let app = app().await;
    let mut browser = app.login("olivia", PASSWORD).await;
    let cookie = browser.cookie.clone().expect("a session cookie");
    let id = cookie.split_once('=').unwrap().1.to_owned();
    assert!(id.len() >= 16, "{cookie}");
    assert!(signed_in(&mut browser).await, "the session works");
    assert!(
        !stored_anywhere(app.data_dir(), id.as_bytes()),
        "the session id is stored in clear"
    );
}

/// A user imported from an htpasswd file (bcrypt, `htpasswd -B`) signs in with their old
/// password; the sign-in stores an argon2id hash instead, and the session it opened lasts.
#[tokio::test]
async fn an_imported_bcrypt_password_signs_in_and_is_replaced() {
    let app = TestApp::new().await;
    let name = bioshadock_core::accounts::UserName::parse("alice").unwrap();
    let imported = "$2y$05$SgEjIeIG7YcaBUXjdnF7ieBiL1XR8pg86K9rqIAFt0qfGzKbscyA2";
    let user = bioshadock_core::accounts::User::new(name.clone(), Role::User);
    app.backends
        .users
        .create_user(&user, imported)
        .await
        .unwrap();
    let mut browser = app.browser();
    let wrong = browser.login("alice", "alice passwore").await;
    assert_ne!(wrong.status.as_u16(), 303, "a wrong password is refused");
    let mut browser = app.login("alice", "alice password").await;
    let (_, stored) = app.backends.users.get_credentials(&name).await.unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert_eq!(
        browser.get("/account").await.status.as_u16(),
        200,
        "the session lasts"
    );
    // The new hash verifies the same password, for the token service too.
    let request = Request::get("/v2/token?service=bioshadock-registry")
        .header(
            header::AUTHORIZATION,
            format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    "alice:alice password"
                )
            ),
        )
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.status.as_u16(), 200);
}
