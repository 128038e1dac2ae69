//! What the running binary leaves where others can read it: its log at every level, and its
//! data directory on the server's disk.

use crate::registry::api_key;
use crate::support::*;

/// With `RUST_LOG=trace`, every request is logged with its URI: the API key of a hook URL and
/// the other credential parameters must not be in it.
#[tokio::test]
async fn credentials_in_query_strings_never_reach_the_log() {
    let site = Site::new().with_env("RUST_LOG", "trace");
    site.add_user("alice", "alice password");
    let key = api_key(&site, "alice", "read");
    let log = site.dir.path().join("serve.log");
    let server = site.serve_logging_to(&log).await;
    let client = http();
    let me = client
        .get(site.url(&format!("/user?apikey={key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    for query in [
        "password=hunter2-in-the-query",
        "token=a-token-in-the-query",
        "refresh_token=a-refresh-token-in-the-query",
    ] {
        client
            .get(site.url(&format!("/container/all?{query}")))
            .send()
            .await
            .unwrap();
    }
    server.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("apikey=REDACTED"),
        "the request is logged, redacted"
    );
    // `bsk_` + 12 hex digits + `_`, then the secret (whose base64 may itself hold `_`).
    let secret = &key["bsk_".len() + 12 + 1..];
    assert_eq!(secret.len(), 43, "{key}");
    for leaked in [
        secret,
        "hunter2-in-the-query",
        "a-token-in-the-query",
        "a-refresh-token-in-the-query",
    ] {
        assert!(!text.contains(leaked), "`{leaked}` is in the log");
    }
}

/// With `web.metrics_token`, `/metrics` wants it, and then counts private containers too.
#[tokio::test]
async fn a_metrics_token_protects_the_full_figures() {
    const TOKEN: &str = "metrics-token-for-the-e2e-test";
    let site = Site::new().with_env("BIOSHADOCK__WEB__METRICS_TOKEN", TOKEN);
    site.add_user("alice", "alice password");
    let key = api_key(&site, "alice", "read,push");
    let _server = site.serve().await;
    for (name, visible) in [("alice/open", true), ("alice/hidden", false)] {
        crate::registry::create_container(
            &site,
            &key,
            serde_json::json!({ "name": name, "visible": visible }),
        )
        .await;
    }
    let client = http();
    for authorization in [
        None,
        Some("Bearer wrong-token-of-some-length"),
        Some("Basic eDp5"),
    ] {
        let mut request = client.get(site.url("/metrics"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{authorization:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
    let response = client
        .get(site.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("bioshadock_containers 2\n"), "{text}");
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// `dir` and the directories in it must be 0700 and its files 0600. (Files deeper down, the
/// search index's segments, are out of other accounts' reach through these directories.)
fn assert_private(dir: &std::path::Path) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let wanted = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), wanted, "{}", path.display());
    }
}

/// `data_dir` holds sessions, key hashes and the token signing key: a fresh one is private,
/// and a world-readable one from an older version is tightened at start-up, with a word in
/// the log.
#[tokio::test]
async fn data_dir_is_private_to_the_portal_account() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    site.add_user("alice", "alice password");
    let server = site.serve().await;
    server.stop();
    let data = site.data_dir();
    for name in ["bioshadock.db", "token-signing-key.pem"] {
        assert!(data.join(name).exists(), "{name}");
    }
    assert_private(&data);

    // As an older version left it: 0755 and 0644.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("bioshadock.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let log = site.dir.path().join("serve.log");
    let server = site.serve_logging_to(&log).await;
    assert_private(&data);
    server.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("data_dir was readable by other accounts"),
        "{text}"
    );
}

fn session_rows(site: &Site) -> u64 {
    let db = site.data_dir().join("bioshadock.db");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from sessions').fetchone()[0])",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Anonymous visits of the login page store nothing; a password change (here with
/// `bioshadock user passwd`, beside the running server) ends the sessions signed in with
/// the old password.
#[tokio::test]
async fn sessions_exist_only_for_sign_ins_and_end_with_the_password() {
    use std::io::Write;
    let site = Site::new();
    site.add_user("alice", "alice's first password");
    let _server = site.serve().await;
    let client = crate::distributed::no_redirects();
    for _ in 0..50 {
        let page = client.get(site.url("/login")).send().await.unwrap();
        assert_eq!(page.status(), 200);
    }
    assert_eq!(
        session_rows(&site),
        0,
        "anonymous page views keep no session"
    );

    let portal = site.url("");
    let cookie = crate::distributed::sign_in(&portal, "alice", "alice's first password").await;
    let account = |cookie: String| {
        let client = client.clone();
        let url = site.url("/account");
        async move {
            client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(account(cookie.clone()).await, 200);
    assert_eq!(session_rows(&site), 1);

    let mut passwd = site
        .command(&["user", "passwd", "alice", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(passwd.stdin.take().unwrap(), "alice's second password").unwrap();
    let out = passwd.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(account(cookie).await, 303, "the old session has ended");
    let fresh = crate::distributed::sign_in(&portal, "alice", "alice's second password").await;
    assert_eq!(account(fresh).await, 200);
}
