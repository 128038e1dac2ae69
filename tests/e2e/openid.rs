//! Signing in through a real OpenID Connect provider (the npm package `oidc-provider` on
//! Node), in headless Chromium through the provider's own login and consent pages; then the
//! refusals: a wrong `state`, a replayed callback, a tampered ID token, an expired access
//! token, a provider that is down.

use std::time::Duration;

use bioshadock_identity::testing::{OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OidcTestProvider, Tamper};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{Driver, click, type_into};
use crate::distributed::no_redirects;
use crate::registry::{Registry, api_key, assert_ok};
use crate::support::*;

/// The people the provider knows (account id → claims).
fn accounts() -> Value {
    json!({
        "anna": {
            "preferred_username": "Anna.Schmidt",
            "email": "anna@uni.example",
            "email_verified": true,
            "groups": ["lab-genomics", "bioshadock-admins"]
        },
        "carol-at-uni": {
            "preferred_username": "carol",
            "email": "carol@uni.example",
            "email_verified": true,
            "groups": []
        },
        "eve": {
            "preferred_username": "eve",
            "email": "eve@elsewhere.example",
            "email_verified": true,
            "groups": []
        }
    })
}

/// A site whose `[[auth.oidc]] id = "test"` is `provider`.
fn site_with(provider_issuer: &str, site: Site) -> Site {
    let config = site.dir.path().join("oidc.toml");
    std::fs::write(
        &config,
        format!(
            "[[auth.oidc]]\nid = \"test\"\ndisplay_name = \"Uni Login\"\nissuer = \"{provider_issuer}\"\n\
             client_id = \"{OIDC_CLIENT_ID}\"\nclient_secret = \"{OIDC_CLIENT_SECRET}\"\n\
             scopes = [\"openid\", \"profile\", \"email\", \"groups\"]\ngroups_claim = \"groups\"\n\
             admin_group = \"bioshadock-admins\"\nallowed_domains = [\"uni.example\"]\n\
             [[auth.oidc.team]]\ngroup = \"lab-genomics\"\nteam = \"lab/genomics\"\n"
        ),
    )
    .unwrap();
    let path = config.to_str().unwrap().to_owned();
    site.with_env("BIOSHADOCK_CONFIG", &path)
}

fn callback(site: &Site) -> String {
    site.url("/auth/oidc/test/callback")
}

/// Goes from the portal's sign-in page through the provider's login and consent pages as
/// `account`; returns the page the browser ends on.
async fn sign_in_through_provider(browser: &Client, site: &Site, account: &str) -> String {
    browser.goto(&site.url("/login")).await.unwrap();
    click(browser, "#provider-test").await;
    provider_login(browser, account).await;
    let portal = site.url("");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let url = browser.current_url().await.unwrap().to_string();
        if url.starts_with(&portal) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "stuck at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.source().await.unwrap()
}

/// Fills the provider's login page as `account` (any password) and confirms its consent page.
async fn provider_login(browser: &Client, account: &str) {
    let login = browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("input[name=login]"))
        .await
        .expect("the provider's login page");
    login.send_keys(account).await.unwrap();
    type_into(browser, "input[name=password]", "any password").await;
    click(browser, "button.login-submit").await;
    consent(browser).await;
}

/// Clicks the consent page's button once the login page has gone (the two share the button's
/// class, so waiting for the button alone would find the old page's).
async fn consent(browser: &Client) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let page = browser.source().await.unwrap_or_default();
        if !page.contains("name=\"login\"")
            && page.contains("login-submit")
            && let Ok(button) = browser.find(Locator::Css("button.login-submit")).await
            && button.click().await.is_ok()
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no consent page: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn admin_json(site: &Site, key: &str, path: &str) -> Value {
    get_json(&site.url(path), Some(key)).await
}

#[tokio::test]
async fn people_sign_in_through_the_provider_and_its_groups_become_roles_and_teams() {
    let port = free_port();
    let provisional = Site::with_registry();
    let site = Site {
        port,
        ..provisional
    };
    let provider = OidcTestProvider::start(&[callback(&site)], &accounts(), 3600, Tamper::None);
    let site = site_with(&provider.issuer(), site).with_env("RUST_LOG", "trace");
    site.add_user("root", "root password");
    assert_ok(
        &site.run(&["user", "role", "root", "admin"]),
        "root is an admin",
    );
    site.add_user("carol", "carol local password");
    let root_key = api_key(&site, "root", "read,push,build");
    let log = site.dir.path().join("serve.log");
    let server = site.serve_logging_to(&log).await;
    let driver = Driver::start().await;
    let profile = tempfile::TempDir::new().unwrap();
    let browser = driver.client(profile.path()).await;

    // anna: created at her first sign-in, as `anna-schmidt`, an admin (her group), in the
    // lab/genomics team (created with its organisation).
    let page = sign_in_through_provider(&browser, &site, "anna").await;
    assert!(page.contains("anna-schmidt"), "signed in: {page}");
    let users = admin_json(&site, &root_key, "/admin/users").await;
    let anna = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "anna-schmidt")
        .unwrap_or_else(|| panic!("{users}"));
    assert_eq!(
        (&anna["source"], &anna["role"]),
        (&json!("oidc:test"), &json!("admin"))
    );
    let org = admin_json(&site, &root_key, "/orgs/lab").await;
    assert!(org.to_string().contains("anna-schmidt"), "{org}");

    // carol: the provider's `carol` never becomes the local carol; she gets `carol-2`.
    browser.delete_all_cookies().await.unwrap();
    let page = sign_in_through_provider(&browser, &site, "carol-at-uni").await;
    assert!(page.contains("carol-2"), "{page}");
    let users = admin_json(&site, &root_key, "/admin/users").await;
    let sources: Vec<(String, String)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].to_string(), u["source"].to_string()))
        .collect();
    assert!(
        sources.contains(&("\"carol\"".into(), "\"local\"".into())),
        "{sources:?}"
    );
    assert!(
        sources.contains(&("\"carol-2\"".into(), "\"oidc:test\"".into())),
        "{sources:?}"
    );

    // eve's address is not in allowed_domains: no account.
    browser.delete_all_cookies().await.unwrap();
    let page = sign_in_through_provider(&browser, &site, "eve").await;
    assert!(
        page.contains("verified e-mail addresses at uni.example"),
        "{page}"
    );
    let users = admin_json(&site, &root_key, "/admin/users").await;
    assert!(!users.to_string().contains("\"eve\""), "{users}");

    // A forged callback (a state nobody issued) and a replayed one are refused.
    let client = no_redirects();
    let forged = client
        .get(format!("{}?code=abc&state=forged", callback(&site)))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 400);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("expired or was not started here")
    );

    browser.close().await.unwrap();
    server.stop();

    // The callbacks' codes and states are logged redacted, and the client's secret never.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("/auth/oidc/test/callback?code=REDACTED"),
        "the callbacks are logged, redacted"
    );
    for (at, _) in text.match_indices("code=") {
        assert!(
            text[at..].starts_with("code=REDACTED"),
            "{}",
            &text[at..(at + 60).min(text.len())]
        );
    }
    assert!(
        !text.contains(OIDC_CLIENT_SECRET),
        "the client secret reached the log"
    );
}

#[tokio::test]
async fn a_tampered_id_token_a_replayed_code_and_a_provider_that_is_down_sign_nobody_in() {
    let site = Site::new();
    let mut tampering = OidcTestProvider::start(
        &[callback(&site)],
        &accounts(),
        3600,
        Tamper::IdTokenSignature,
    );
    // An LDAP directory beside the provider: its users keep signing in when the provider fails.
    let slapd = bioshadock_identity::testing::Slapd::start();
    slapd.add_user("dana", "dana-directory-pw");
    let site = site_with(&tampering.issuer(), site)
        .with_env("BIOSHADOCK__AUTH__LDAP__URL", &slapd.url())
        .with_env(
            "BIOSHADOCK__AUTH__LDAP__USER_BASE_DN",
            bioshadock_identity::testing::PEOPLE,
        );
    site.add_user("root", "root password");
    let server = site.serve().await;
    let driver = Driver::start().await;
    let profile = tempfile::TempDir::new().unwrap();
    let browser = driver.client(profile.path()).await;

    let page = sign_in_through_provider(&browser, &site, "anna").await;
    assert!(page.contains("did not confirm this sign-in"), "{page}");
    assert!(page.to_lowercase().contains("signature"), "{page}");
    let users = basic_get(&site, "/admin/users", "root", "root password")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !users.contains("anna"),
        "no account from a tampered token: {users}"
    );

    // The refusal was shown at the callback URL, code and state in it: loading it again (a
    // replay from the history, say) is refused, since the flow was used up.
    let used = browser.current_url().await.unwrap();
    assert_eq!(used.path(), "/auth/oidc/test/callback");
    assert!(used.query().unwrap_or_default().contains("code="), "{used}");
    browser.goto(used.as_str()).await.unwrap();
    let again = browser.source().await.unwrap();
    assert!(again.contains("expired or was not started here"), "{again}");

    // The provider goes down: its button says so, and local sign-in still works.
    tampering.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    browser.delete_all_cookies().await.unwrap();
    browser.goto(&site.url("/login")).await.unwrap();
    click(&browser, "#provider-test").await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("Uni Login cannot be reached right now"),
        "{page}"
    );
    assert_eq!(
        basic_get_status(&site, "/user", "dana", "dana-directory-pw").await,
        200,
        "LDAP sign-in goes on"
    );
    browser.goto(&site.url("/login")).await.unwrap();
    type_into(&browser, "input[name=name]", "root").await;
    type_into(&browser, "input[name=password]", "root password").await;
    click(&browser, "form[action='/login'] button").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while browser.current_url().await.unwrap().path() == "/login" {
        assert!(
            std::time::Instant::now() < deadline,
            "local sign-in did not go through"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.goto(&site.url("/account")).await.unwrap();
    assert!(browser.source().await.unwrap().contains("root"));

    browser.close().await.unwrap();
    drop(server);
}

#[tokio::test]
async fn an_id_token_that_has_expired_on_arrival_signs_nobody_in() {
    let site = Site::new();
    let provider = OidcTestProvider::start(
        &[callback(&site)],
        &accounts(),
        3600,
        Tamper::ExpiredIdToken,
    );
    let site = site_with(&provider.issuer(), site);
    let server = site.serve().await;
    let driver = Driver::start().await;
    let profile = tempfile::TempDir::new().unwrap();
    let browser = driver.client(profile.path()).await;
    let page = sign_in_through_provider(&browser, &site, "anna").await;
    assert!(page.contains("did not confirm this sign-in"), "{page}");
    assert!(page.to_lowercase().contains("expired"), "{page}");
    browser.goto(&site.url("/account")).await.unwrap();
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/login",
        "not signed in"
    );
    browser.close().await.unwrap();
    drop(server);
}

/// `docker login -u oauth2 -p ACCESS_TOKEN`, as Pier One had it: the provider's userinfo
/// endpoint vouches for the token; an expired token is refused.
#[tokio::test]
async fn docker_login_takes_a_providers_access_token_until_it_expires() {
    let port = free_port();
    let site = Site {
        port,
        ..Site::with_registry()
    };
    let provider = OidcTestProvider::start(&[callback(&site)], &accounts(), 8, Tamper::None);
    let site = site_with(&provider.issuer(), site).with_env("RUST_LOG", "trace");
    let log = site.dir.path().join("serve.log");
    let server = site.serve_logging_to(&log).await;
    let registry = Registry::start(&site).await;

    let token = access_token(&provider, &site, "anna").await;
    let first_token = token.clone();
    let docker = crate::registry::Client::new();
    assert_ok(
        &docker.login(&registry, "oauth2", &token),
        "docker login -u oauth2 with the provider's access token",
    );
    let image = registry.image("anna-schmidt/tool:1.0");
    docker.build(&image, "pushed with an access token");
    assert_ok(&docker.push(&image), "push as the token's person");

    let refused = crate::registry::Client::new();
    assert!(
        !refused
            .login(&registry, "oauth2", "not-a-token")
            .status
            .success()
    );

    // Tokens live 8 s at this provider: one used after that is refused.
    let token = access_token(&provider, &site, "anna").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let expired = basic_get(&site, "/user", "oauth2", &token).await;
    assert_eq!(
        expired.status().as_u16(),
        401,
        "{}",
        expired.text().await.unwrap()
    );
    let late = crate::registry::Client::new();
    assert!(!late.login(&registry, "oauth2", &token).status.success());
    server.stop();

    // Neither the tokens nor the client's secret reach the log, even at `trace`.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("oauth2") || text.contains("token"),
        "the log is on"
    );
    for secret in [first_token.as_str(), token.as_str(), OIDC_CLIENT_SECRET] {
        assert!(!text.contains(secret), "`{secret}` reached the log");
    }
}

/// An access token for `account`, through the provider's pages driven by Chromium, read
/// from the provider's token endpoint by exchanging the code ourselves (the portal's flow
/// keeps its tokens to itself).
async fn access_token(provider: &OidcTestProvider, site: &Site, account: &str) -> String {
    let driver = Driver::start().await;
    let profile = tempfile::TempDir::new().unwrap();
    let browser = driver.client(profile.path()).await;
    let verifier = "a-test-pkce-verifier-that-is-long-enough-for-rfc-7636";
    let challenge = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let authorize = format!(
        "{}/auth?client_id={OIDC_CLIENT_ID}&response_type=code&scope=openid%20profile%20email%20groups\
         &redirect_uri={}&state=test-state&nonce=test-nonce&code_challenge={challenge}\
         &code_challenge_method=S256",
        provider.issuer(),
        urlencode(&callback(site))
    );
    browser.goto(&authorize).await.unwrap();
    provider_login(&browser, account).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let code = loop {
        let url = browser.current_url().await.unwrap();
        if let Some((_, code)) = url.query_pairs().find(|(k, _)| k == "code") {
            break code.into_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no code at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    browser.close().await.unwrap();
    let tokens: Value = http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(OIDC_CLIENT_ID, Some(OIDC_CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", &code)
                .append_pair("redirect_uri", &callback(site))
                .append_pair("code_verifier", verifier)
                .finish(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tokens}"))
        .to_owned()
}

fn urlencode(raw: &str) -> String {
    form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}
