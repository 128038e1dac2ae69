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
