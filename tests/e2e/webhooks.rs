//! Webhooks for real: `docker push` to a real Distribution registry, and a real HTTP server in
//! this test receiving the signed requests. The signature is checked with the README's own
//! Python and shell snippets; a receiver answering 500 gets the delivery again; resend, test
//! events, the Slack format and tag filters reach it; the delivery log shows it all.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::registry::{Client, Registry, api_key, assert_ok, text};
use crate::support::{Site, http};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    signature: String,
    pub(crate) delivery: String,
    event: String,
    pub(crate) body: Vec<u8>,
}

/// A receiver on a port of its own: it records every request and answers 500 to the first
/// request on `/flaky`, 200 to everything else.
pub(crate) struct Receiver {
    address: SocketAddr,
    pub(crate) got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        let handler = move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let mut all = seen.lock().unwrap();
                let first_on_flaky =
                    uri.path() == "/flaky" && !all.iter().any(|r| r.path == "/flaky");
                all.push(Received {
                    path: uri.path().to_owned(),
                    signature: header("bioshadock-signature"),
                    delivery: header("bioshadock-delivery"),
                    event: header("bioshadock-event"),
                    body: body.to_vec(),
                });
                if first_on_flaky {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "receiver down for a moment",
                    )
                } else {
                    (StatusCode::OK, "thanks")
                }
            }
        };
        let app = axum::Router::new().fallback(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { address, got }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The requests on `path` once there are `n` of them (waiting up to `within`).
    pub(crate) async fn wait_for(&self, path: &str, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let on_path: Vec<Received> = self
                .got
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.path == path)
                .cloned()
                .collect();
            if on_path.len() >= n {
                return on_path;
            }
            assert!(
                Instant::now() < deadline,
                "{path} got {} request(s), not {n}: {on_path:?}",
                on_path.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A fenced block of the README that contains `marker`.
fn readme_block(language: &str, marker: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    readme
        .split(&format!("```{language}\n"))
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .find(|block| block.contains(marker))
        .unwrap_or_else(|| panic!("the README has no {language} block with {marker}"))
        .to_owned()
}

/// Whether the README's Python snippet accepts the request.
pub(crate) fn python_verifies(secret: &str, request: &Received) -> bool {
    let dir = tempfile::TempDir::new().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, &request.body).unwrap();
    let script = format!(
        "{}\nimport os, sys\nsys.exit(0 if verify(os.environ['SECRET'], os.environ['SIG'], open(sys.argv[1], 'rb').read()) else 1)\n",
        readme_block("python", "def verify")
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&body)
        .env("SECRET", secret)
        .env("SIG", &request.signature)
        .output()
        .unwrap();
    out.status.success()
}

/// Whether the README's shell snippet accepts the request.
fn shell_verifies(secret: &str, request: &Received) -> bool {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("body.json"), &request.body).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(readme_block("sh", "openssl dgst"))
        .current_dir(dir.path())
        .env("SECRET", secret)
        .env("SIG", &request.signature)
        .output()
        .unwrap();
    text(&out.stdout).contains("signature ok")
}

async fn post(site: &Site, key: &str, path: &str, body: Value) -> (u16, Value) {
    let response = http()
        .post(site.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(site: &Site, key: &str, path: &str) -> Value {
    let response = http()
        .get(site.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_push_reaches_a_real_receiver_signed_and_a_failed_delivery_is_retried() {
    let receiver = Receiver::start().await;
    let site = Site::with_registry().with_env("BIOSHADOCK__WEBHOOKS__ALLOW_PRIVATE", "true");
    site.add_user("alice", "alice password");
    site.add_user("mallory", "mallory password");
    let key = api_key(&site, "alice", "read,push");
    let mallory = api_key(&site, "mallory", "read,push");
    let _server = site.serve().await;
    let registry = Registry::start(&site).await;
    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");
    // The container exists before its hooks do.
    let first = registry.image("alice/tool:0.1");
    alice.build(&first, "the first");
    assert_ok(&alice.push(&first), "push 0.1");
    crate::registry::wait_for_container(&site, "alice/tool").await;

    let hooks = "/container/webhooks/alice/tool";
    let (status, _) = post(
        &site,
        &mallory,
        hooks,
        json!({"url": receiver.url("/x"), "events": ["push"]}),
    )
    .await;
    assert_eq!(
        status, 403,
        "only its owner and admins manage a container's hooks"
    );
    let (status, created) = post(
        &site,
        &key,
        hooks,
        json!({"url": receiver.url("/flaky"), "events": ["push", "tag_deleted"]}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (status, slack) = post(
        &site,
        &key,
        hooks,
        json!({"url": receiver.url("/slack"), "events": ["push"], "tags": ["2.*"], "format": "slack"}),
    )
    .await;
    assert_eq!(status, 201, "{slack}");
    let listed = get(&site, &key, hooks).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );

    // A push: the first try gets a 500, the retry (five seconds on) a 200.
    let image = registry.image("alice/tool:1.0");
    alice.build(&image, "one point oh");
    assert_ok(&alice.push(&image), "push 1.0");
    let tries = receiver
        .wait_for("/flaky", 2, Duration::from_secs(30))
        .await;
    assert_eq!(
        tries[0].delivery, tries[1].delivery,
        "a retry is the same delivery"
    );
    assert_eq!(tries[0].body, tries[1].body);
    assert_eq!(tries[0].event, "push");
    let payload: Value = serde_json::from_slice(&tries[1].body).unwrap();
    assert_eq!(payload["event"], "push");
    assert_eq!(payload["repository"], "alice/tool");
    assert_eq!(payload["tag"], "1.0");
    assert_eq!(payload["actor"], "alice");
    assert!(
        payload["links"]["pull"]
            .as_str()
            .unwrap()
            .ends_with("/alice/tool:1.0")
    );
    for request in &tries {
        assert!(python_verifies(&secret, request), "python: {request:?}");
        assert!(shell_verifies(&secret, request), "shell: {request:?}");
        assert!(!python_verifies("whsec_wrong", request));
        assert!(!shell_verifies("whsec_wrong", request));
    }
    // A tampered body does not verify.
    let mut tampered = tries[1].clone();
    tampered.body = String::from_utf8(tampered.body)
        .unwrap()
        .replace("1.0", "6.6")
        .into_bytes();
    assert!(!python_verifies(&secret, &tampered) && !shell_verifies(&secret, &tampered));
    // 0.1 was pushed before the hook existed: it never reached it.
    assert!(
        !receiver
            .got
            .lock()
            .unwrap()
            .iter()
            .any(|r| text(&r.body).contains("\"0.1\""))
    );

    // The log shows the delivery, delivered on its second try, the 500 kept.
    let log = get(&site, &key, &format!("{hooks}/{id}/deliveries")).await;
    let delivery = &log[0];
    assert_eq!(delivery["state"], "delivered", "{log}");
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["tries"][0]["status"], 500);
    assert_eq!(
        delivery["tries"][0]["response"],
        "receiver down for a moment"
    );
    assert_eq!(delivery["tries"][1]["status"], 200);

    // The Slack hook heard nothing of 1.0 (its tag filter), but hears 2.0.
    let two = registry.image("alice/tool:2.0");
    alice.build(&two, "two");
    assert_ok(&alice.push(&two), "push 2.0");
    let slack_got = receiver
        .wait_for("/slack", 1, Duration::from_secs(20))
        .await;
    assert_eq!(slack_got.len(), 1, "{slack_got:?}");
    let message: Value = serde_json::from_slice(&slack_got[0].body).unwrap();
    assert!(
        message["text"].as_str().unwrap().contains("alice/tool:2.0"),
        "{message}"
    );

    // Resend: a new delivery of the same payload; test: a test event.
    let delivery_id = delivery["id"].as_str().unwrap();
    let (status, again) = post(
        &site,
        &key,
        &format!("{hooks}/{id}/deliveries/{delivery_id}/resend"),
        json!({}),
    )
    .await;
    assert_eq!(status, 202, "{again}");
    let (status, _) = post(&site, &key, &format!("{hooks}/{id}/test"), json!({})).await;
    assert_eq!(status, 202);
    let all = receiver
        .wait_for("/flaky", 5, Duration::from_secs(20))
        .await;
    let resent = all
        .iter()
        .find(|r| r.delivery == again["id"])
        .expect("the resend");
    assert_eq!(resent.body, tries[1].body);
    assert!(python_verifies(&secret, resent));
    let test = all
        .iter()
        .find(|r| r.event == "test")
        .expect("the test event");
    assert!(shell_verifies(&secret, test));
    assert_eq!(
        serde_json::from_slice::<Value>(&test.body).unwrap()["event"],
        "test"
    );

    // Builds: started and succeeded, read from the build's record.
    let builder = api_key(&site, "alice", "read,push,build");
    let (status, _) = post(
        &site,
        &key,
        hooks,
        json!({"url": receiver.url("/builds"), "events": ["build_started", "build_succeeded", "build_failed"]}),
    )
    .await;
    assert_eq!(status, 201);
    let dockerfile = format!("FROM {}\nRUN echo built\n", crate::registry::BASE_IMAGE);
    let patch = http()
        .patch(site.url("/container/alice/tool"))
        .bearer_auth(&key)
        .json(&json!({"dockerfile": dockerfile}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status().as_u16(), 200);
    let queued = http()
        .post(site.url(&format!("/container/tag/alice/tool/built?apikey={builder}")))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status().as_u16(), 202);
    let build_id = queued.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let builds = receiver
        .wait_for("/builds", 2, Duration::from_secs(120))
        .await;
    let events: Vec<Value> = builds
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    // Sent concurrently when both are due at once: found by name, not by order.
    let named = |name: &str| {
        events
            .iter()
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no {name} in {events:?}"))
    };
    assert_eq!(named("build_started")["build"]["id"], build_id);
    let succeeded = named("build_succeeded");
    assert_eq!(succeeded["build"]["id"], build_id);
    assert_eq!(succeeded["build"]["status"], "success");
    assert_eq!(succeeded["tag"], "built");

    // Deleting the hook stops it; it is in the audit log.
    let deleted = http()
        .delete(site.url(&format!("{hooks}/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    let out = site.run(&["audit", "export"]);
    let audit = text(&out.stdout);
    assert!(audit.contains("\"webhook.created\"") && audit.contains("\"webhook.deleted\""));
    assert!(!audit.contains(&secret), "no secret in the audit log");
    // Nor in the database file in clear.
    let database = std::fs::read(site.data_dir().join("bioshadock.db")).unwrap_or_default();
    assert!(
        !database
            .windows(secret.len())
            .any(|w| w == secret.as_bytes()),
        "the secret is sealed at rest"
    );
}

#[tokio::test]
async fn hooks_to_private_addresses_are_refused_by_default() {
    let receiver = Receiver::start().await;
    let site = Site::new();
    site.add_user("alice", "alice password");
    let key = api_key(&site, "alice", "read,push");
    let _server = site.serve().await;
    let created =
        crate::registry::create_container(&site, &key, json!({"name": "alice/tool"})).await;
    assert_eq!(created["id"], "alice/tool");
    for url in [
        receiver.url("/x"),
        "http://localhost:9/".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::1]:9/".to_owned(),
        "http://10.0.0.1/".to_owned(),
    ] {
        let (status, answer) = post(
            &site,
            &key,
            "/container/webhooks/alice/tool",
            json!({"url": url, "events": ["push"]}),
        )
        .await;
        assert_eq!(status, 400, "{url}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("allow_private"),
            "{answer}"
        );
    }
    assert!(receiver.got.lock().unwrap().is_empty());
}
