//! Signing in through a real OpenLDAP directory (slapd started per test): the sign-in form,
//! API Basic credentials and the registry token service; groups that become roles and teams;
//! injection attempts; a directory that goes down; a user removed from it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use bioshadock_core::accounts::Role;
use bioshadock_core::config::{LdapConfig, TeamMappingConfig};
use bioshadock_core::ports::directory::PasswordDirectory;
use bioshadock_core::secret::Secret;
use bioshadock_identity::ldap::LdapDirectory;
use bioshadock_identity::testing::{self, Slapd, group_dn};
use serde_json::Value;

use crate::support::{TestApp, TestResponse};

/// A directory with alice (in `portal-admins`, a `groupOfNames`), bob (in `genomics`, a
/// `posixGroup`) and carol (in no group).
fn directory() -> Slapd {
    let slapd = Slapd::start();
    for (uid, password) in [
        ("alice", "alice-directory-pw"),
        ("bob", "bob-directory-pw"),
        ("carol", "carol-directory-pw"),
    ] {
        slapd.add_user(uid, password);
    }
    slapd.add_group_of_names("portal-admins", &["alice"]);
    slapd.add_group_of_names("portal-editors", &["carol"]);
    slapd.add_posix_group("genomics", &["bob"]);
    slapd
}

fn config(slapd: &Slapd) -> LdapConfig {
    LdapConfig {
        url: slapd.url(),
        start_tls: false,
        ca_file: None,
        bind_dn: testing::SEARCH_DN.into(),
        bind_password: Secret::new(testing::SEARCH_PASSWORD.into()),
        user_base_dn: testing::PEOPLE.into(),
        user_filter: "(uid={username})".into(),
        username_attribute: "uid".into(),
        email_attribute: "mail".into(),
        group_base_dn: testing::GROUPS.into(),
        group_filter: "(|(member={dn})(memberUid={username}))".into(),
        admin_group: Some(group_dn("portal-admins")),
        editor_group: Some(group_dn("portal-editors")),
        team: vec![TeamMappingConfig {
            group: group_dn("genomics"),
            team: "lab/genomics".into(),
        }],
        recheck_secs: 300,
        timeout_secs: 3,
    }
}

/// An app signing in through `slapd`, re-checking directory users after `recheck`, with a
/// local administrator `root` (password `root password`).
async fn app(slapd: &Slapd, recheck: Duration, local_sign_in: bool) -> TestApp {
    let config = config(slapd);
    let sign_in = bioshadock_web::DirectorySignIn {
        directory: Arc::new(LdapDirectory::new(&config).unwrap()),
        mapping: config.mapping().unwrap(),
        recheck,
    };
    let app = TestApp::with_directory(sign_in, |s| s.local_sign_in = local_sign_in).await;
    app.user("root", Role::Admin, "root password").await;
    app
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

async fn get_basic(app: &TestApp, uri: &str, user: &str, password: &str) -> TestResponse {
    app.send(
        Request::get(uri)
            .header(header::AUTHORIZATION, basic(user, password))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn json(response: &TestResponse) -> Value {
    serde_json::from_str(&response.body).unwrap_or_else(|_| panic!("not JSON: {}", response.body))
}

#[tokio::test]
async fn a_directory_user_signs_in_everywhere_with_one_password_and_gets_an_account() {
    let slapd = directory();
    let app = app(&slapd, Duration::from_secs(300), true).await;

    // The sign-in form, with the name typed in capitals: the account is `alice`.
    let mut browser = app.browser();
    let response = browser.login("Alice", "alice-directory-pw").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("alice"), "{}", account.body);

    // API Basic credentials, same password.
    let me = get_basic(&app, "/user", "alice", "alice-directory-pw").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let me = json(&me);
    assert_eq!(me["source"], "ldap");
    assert_eq!(me["role"], "admin", "a member of the admin group: {me}");

    // The registry token service (what `docker login` calls).
    let token = get_basic(
        &app,
        "/v2/token?service=bioshadock-registry&scope=repository:alice/tool:pull,push",
        "alice",
        "alice-directory-pw",
    )
    .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    assert!(json(&token)["token"].as_str().is_some());

    // The admin list shows where each account comes from.
    let users = get_basic(&app, "/admin/users", "root", "root password").await;
    let users = json(&users);
    let sources: Vec<(&str, &str)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].as_str().unwrap(), u["source"].as_str().unwrap()))
        .collect();
    assert_eq!(sources, [("alice", "ldap"), ("root", "local")]);

    // And so does the admin page, which can disable a directory account like any other.
    let mut admin = app.login("root", "root password").await;
    let page = admin.get("/admin").await;
    assert!(
        page.body.contains(r#"<td class="source">ldap</td>"#),
        "{}",
        page.body
    );
    let form = format!("csrf={}&disabled=true", admin.csrf);
    let disabled = admin.post_form("/admin/user/alice", &form).await;
    assert!(disabled.status.is_redirection(), "{}", disabled.body);
    let refused = get_basic(&app, "/user", "alice", "alice-directory-pw").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
}

#[tokio::test]
async fn wrong_empty_and_injected_credentials_find_nobody() {
    let slapd = directory();
    let app = app(&slapd, Duration::from_secs(300), true).await;
    let refused = |response: &TestResponse| response.status == StatusCode::UNAUTHORIZED;

    let wrong = get_basic(&app, "/user", "alice", "not-her-password").await;
    assert!(refused(&wrong), "{} {}", wrong.status, wrong.body);

    // This slapd allows unauthenticated binds: a DN with an empty password succeeds there.
    // The portal never sends one.
    assert!(
        slapd.binds(&testing::user_dn("alice"), ""),
        "the trap is set"
    );
    assert!(!slapd.binds(&testing::user_dn("alice"), "not-her-password"));
    let adapter = LdapDirectory::new(&config(&slapd)).unwrap();
    assert_eq!(adapter.authenticate("alice", "").await.unwrap(), None);
    let mut browser = app.browser();
    let empty = browser.login("alice", "").await;
    assert_eq!(empty.status, StatusCode::UNAUTHORIZED, "{}", empty.body);

    // Filter injection: each of these, with alice's real password, would match alice (or
    // everyone) if the name reached the filter unescaped.
    for injected in [
        "*",
        "*)(uid=*",
        "alice)(uid=*",
        "al*",
        "*)(|(uid=*",
        "alice\\2a",
    ] {
        let response = get_basic(&app, "/user", injected, "alice-directory-pw").await;
        assert!(
            refused(&response),
            "{injected}: {} {}",
            response.status,
            response.body
        );
        assert_eq!(
            adapter.lookup(injected).await.unwrap(),
            None,
            "{injected} finds nobody"
        );
    }
    let users = get_basic(&app, "/admin/users", "root", "root password").await;
    assert_eq!(
        json(&users).as_array().unwrap().len(),
        1,
        "no account was created"
    );
}

#[tokio::test]
async fn groups_decide_roles_and_teams_and_follow_the_directory_between_sign_ins() {
    let slapd = directory();
    let app = app(&slapd, Duration::from_secs(300), true).await;

    // bob's posixGroup maps to lab/genomics: the organisation and team are created.
    let me = get_basic(&app, "/user", "bob", "bob-directory-pw").await;
    assert_eq!(json(&me)["role"], "user");
    let org = get_basic(&app, "/orgs/lab", "root", "root password").await;
    assert_eq!(org.status, StatusCode::OK, "{}", org.body);
    let org = json(&org);
    let genomics = org["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "genomics")
        .unwrap_or_else(|| panic!("{org}"));
    assert_eq!(genomics["members"], serde_json::json!(["bob"]));
    assert!(
        org["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user"] == "bob" && m["role"] == "member"),
        "{org}"
    );

    // carol is an editor; then the directory moves her to the admin group: her next sign-in
    // on the form makes her an admin, and taking her out makes her a user again.
    let me = get_basic(&app, "/user", "carol", "carol-directory-pw").await;
    assert_eq!(json(&me)["role"], "editor");
    slapd.set_group_member("portal-admins", "carol", true);
    let mut browser = app.browser();
    let signed_in = browser.login("carol", "carol-directory-pw").await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let me = get_basic(&app, "/user", "carol", "carol-directory-pw").await;
    assert_eq!(json(&me)["role"], "admin");
    slapd.set_group_member("portal-admins", "carol", false);
    slapd.modify(&format!(
        "dn: {}\nchangetype: modify\ndelete: member\nmember: {}\n",
        group_dn("portal-editors"),
        testing::user_dn("carol")
    ));
    let mut browser = app.browser();
    browser.login("carol", "carol-directory-pw").await;
    let me = get_basic(&app, "/user", "carol", "carol-directory-pw").await;
    assert_eq!(json(&me)["role"], "user", "{}", me.body);

    // bob leaves the genomics group: out of the team, and out of the organisation he joined
    // through it.
    slapd.modify(&format!(
        "dn: {}\nchangetype: modify\ndelete: memberUid\nmemberUid: bob\n",
        group_dn("genomics")
    ));
    let mut browser = app.browser();
    browser.login("bob", "bob-directory-pw").await;
    let org = json(&get_basic(&app, "/orgs/lab", "root", "root password").await);
    assert!(
        !org["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user"] == "bob"),
        "{org}"
    );
}

#[tokio::test]
async fn a_user_removed_from_the_directory_loses_sign_in_keys_and_session_at_the_next_check() {
    let slapd = directory();
    // Checks every time, so the test need not wait out the interval.
    let app = app(&slapd, Duration::ZERO, true).await;
    let mut browser = app.browser();
    let signed_in = browser.login("bob", "bob-directory-pw").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let key = app.key("bob", "read").await;
    let with_key = |key: String| {
        let app = &app;
        async move {
            app.with_key(&key, Request::get("/user").body(Body::empty()).unwrap())
                .await
        }
    };
    assert_eq!(with_key(key.clone()).await.status, StatusCode::OK);

    slapd.delete(&testing::user_dn("bob"));
    let refused = with_key(key.clone()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(
        refused.body.contains("no longer in the directory"),
        "{}",
        refused.body
    );
    let password = get_basic(&app, "/user", "bob", "bob-directory-pw").await;
    assert_eq!(password.status, StatusCode::UNAUTHORIZED);
    let account = browser.get("/account").await;
    assert_ne!(account.status, StatusCode::OK, "the session ended");
}

#[tokio::test]
async fn a_directory_that_is_down_is_a_clear_error_and_local_admins_still_sign_in() {
    let mut slapd = directory();
    let app = app(&slapd, Duration::from_secs(300), true).await;
    slapd.stop();

    let mut browser = app.browser();
    let down = browser.login("alice", "alice-directory-pw").await;
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.body
    );
    assert!(
        down.body.contains("directory cannot be reached"),
        "{}",
        down.body
    );
    let api = get_basic(&app, "/user", "alice", "alice-directory-pw").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(&api)["code"], "directory_unavailable");

    let mut admin = app.browser();
    let local = admin.login("root", "root password").await;
    assert_eq!(local.status, StatusCode::SEE_OTHER, "{}", local.body);

    slapd.restart();
    let back = get_basic(&app, "/user", "alice", "alice-directory-pw").await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
}

#[tokio::test]
async fn names_held_locally_are_never_merged_and_local_sign_in_can_be_closed() {
    let slapd = directory();
    let app = app(&slapd, Duration::from_secs(300), false).await;
    // A local account named like a directory user: its own password, never the directory's.
    app.user("carol", Role::User, "carol local password").await;
    let mut browser = app.browser();
    let response = browser.login("carol", "carol-directory-pw").await;
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        response.body
    );
    let capitals = browser.login("Carol", "carol-directory-pw").await;
    assert_eq!(capitals.status, StatusCode::FORBIDDEN, "{}", capitals.body);
    assert!(
        capitals.body.contains("does not come from this directory"),
        "{}",
        capitals.body
    );

    // local_sign_in = false: carol's right local password is refused, with a reason; the
    // break-glass admin still signs in, and so do directory users.
    let local = browser.login("carol", "carol local password").await;
    assert_eq!(local.status, StatusCode::FORBIDDEN, "{}", local.body);
    assert!(local.body.contains("turned off"), "{}", local.body);
    let mut admin = app.browser();
    assert_eq!(
        admin.login("root", "root password").await.status,
        StatusCode::SEE_OTHER
    );
    let mut bob = app.browser();
    assert_eq!(
        bob.login("bob", "bob-directory-pw").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn ldaps_and_start_tls_trust_only_the_configured_certificate_authority() {
    let slapd = Slapd::start_with_tls();
    slapd.add_user("alice", "alice-directory-pw");
    let with = |url: String, start_tls: bool, ca_file: std::path::PathBuf| {
        LdapDirectory::new(&LdapConfig {
            url,
            start_tls,
            ca_file: Some(ca_file),
            ..config(&slapd)
        })
        .unwrap()
    };
    for (url, start_tls) in [(slapd.ldaps_url(), false), (slapd.url(), true)] {
        let directory = with(url.clone(), start_tls, slapd.ca_file());
        let found = directory
            .authenticate("alice", "alice-directory-pw")
            .await
            .unwrap_or_else(|e| panic!("{url} (start_tls {start_tls}): {e}"));
        assert_eq!(found.map(|f| f.username), Some("alice".to_owned()));
    }

    // Another CA: the directory's certificate is refused, so nothing is sent to it.
    let other = tempfile::NamedTempFile::new().unwrap();
    testing::write_unrelated_ca(other.path());
    for (url, start_tls) in [(slapd.ldaps_url(), false), (slapd.url(), true)] {
        let directory = with(url.clone(), start_tls, other.path().to_path_buf());
        let refused = directory.authenticate("alice", "alice-directory-pw").await;
        assert!(
            matches!(refused, Err(bioshadock_core::PortError::Unavailable(_))),
            "{url} (start_tls {start_tls}): {refused:?}"
        );
    }
    // A CA file that holds no certificate stops start-up with its key named.
    let empty = tempfile::NamedTempFile::new().unwrap();
    let error = LdapDirectory::new(&LdapConfig {
        ca_file: Some(empty.path().to_path_buf()),
        ..config(&slapd)
    })
    .err()
    .unwrap();
    assert!(error.contains("auth.ldap.ca_file"), "{error}");
}
