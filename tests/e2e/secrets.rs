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
    let secret = key.rsplit('_').next().unwrap();
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
