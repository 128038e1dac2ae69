//! Institutional sign-in through the binary: `[auth.ldap]` set in the environment points the
//! portal at a real OpenLDAP directory, and the directory password works for the real
//! `docker login` and push; no password reaches the log, even at `trace`.

use bioshadock_identity::testing::{self, Slapd, group_dn};

use crate::registry::{Client, Registry, assert_ok};
use crate::support::*;

#[tokio::test]
async fn a_directory_password_works_for_docker_login_and_never_reaches_the_log() {
    let slapd = Slapd::start();
    slapd.add_user("dana", "dana-directory-secret");
    slapd.add_group_of_names("portal-editors", &["dana"]);
    let site = Site::with_registry()
        .with_env("RUST_LOG", "trace")
        .with_env("BIOSHADOCK__AUTH__LDAP__URL", &slapd.url())
        .with_env("BIOSHADOCK__AUTH__LDAP__BIND_DN", testing::SEARCH_DN)
        .with_env(
            "BIOSHADOCK__AUTH__LDAP__BIND_PASSWORD",
            testing::SEARCH_PASSWORD,
        )
        .with_env("BIOSHADOCK__AUTH__LDAP__USER_BASE_DN", testing::PEOPLE)
        .with_env("BIOSHADOCK__AUTH__LDAP__GROUP_BASE_DN", testing::GROUPS)
        .with_env(
            "BIOSHADOCK__AUTH__LDAP__EDITOR_GROUP",
            &group_dn("portal-editors"),
        );
    let log = site.dir.path().join("serve.log");
    let server = site.serve_logging_to(&log).await;
    let registry = Registry::start(&site).await;

    let dana = Client::new();
    assert_ok(
        &dana.login(&registry, "dana", "dana-directory-secret"),
        "docker login with the directory password",
    );
    let image = registry.image("dana/aligner:1.0");
    dana.build(&image, "from the directory");
    assert_ok(&dana.push(&image), "push");
    let wrong = Client::new();
    assert!(
        !wrong
            .login(&registry, "dana", "not-dana-directory-secret")
            .status
            .success()
    );

    // The account exists, from the directory, as an editor (its group).
    let me: serde_json::Value = basic_get(&site, "/user", "dana", "dana-directory-secret")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&me["source"], &me["role"]),
        (&"ldap".into(), &"editor".into())
    );

    server.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("signed in") || text.contains("account created"),
        "the log is on"
    );
    for secret in [
        "dana-directory-secret",
        "not-dana-directory-secret",
        testing::SEARCH_PASSWORD,
    ] {
        assert!(!text.contains(secret), "`{secret}` reached the log");
    }
}
