//! Retention against a real Distribution registry: the dry run lists tags, the run deletes
//! exactly those from the registry (and only those), the `org.bioshadock.expires-after` label
//! of a really pushed image makes its tag expire, and the periodic run deletes it unasked.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::registry::{
    BASE_IMAGE, Client, Registry, api_key, assert_ok, base_image, text, wait_for_container,
};
use crate::support::{Site, basic_get, http};

/// Builds `image` with a content of its own (so every tag has its own digest) and `labels`.
fn build(client: &Client, image: &str, content: &str, labels: &[(&str, &str)]) {
    base_image();
    let context = TempDir::new().unwrap();
    let labels: String = labels
        .iter()
        .map(|(k, v)| format!("LABEL {k}=\"{v}\"\n"))
        .collect();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {BASE_IMAGE}\n{labels}RUN echo {content} > /content\n"),
    )
    .unwrap();
    let out = client.run(&["build", "-q", "-t", image, context.path().to_str().unwrap()]);
    assert!(out.status.success(), "build {image}: {}", text(&out.stderr));
}

/// The tags the registry itself lists for `repository`.
async fn registry_tags(site: &Site, registry: &Registry, repository: &str) -> Vec<String> {
    let path = format!("/v2/token?service=bioshadock-registry&scope=repository:{repository}:pull");
    let token: Value = basic_get(site, &path, "alice", "alice password")
        .await
        .json()
        .await
        .unwrap();
    let list: Value = http()
        .get(format!(
            "http://{}/v2/{repository}/tags/list",
            registry.host
        ))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut tags: Vec<String> = list["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| t.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags
}

/// Waits until the catalogue lists `n` tags of `id`.
async fn wait_for_tags(site: &Site, id: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let container: Value =
            basic_get(site, &format!("/container/{id}"), "alice", "alice password")
                .await
                .json()
                .await
                .unwrap();
        if container["tags"].as_array().is_some_and(|t| t.len() == n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never had {n} tags: {container}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn call(
    site: &Site,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http().request(method, site.url(path)).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

fn listed(doomed: &Value) -> Vec<(String, String)> {
    doomed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["tag"].as_str().unwrap().to_owned(),
                d["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_run_deletes_from_the_registry_exactly_what_the_dry_run_listed() {
    let site = Site::with_registry().with_env("BIOSHADOCK__RETENTION__INTERVAL_SECS", "0");
    site.add_user("alice", "alice password");
    let key = api_key(&site, "alice", "read,push");
    let _server = site.serve().await;
    let registry = Registry::start(&site).await;
    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");

    // Pushed oldest first; pr-9 carries an expiry label of two seconds.
    for (tag, labels) in [
        ("1.0", vec![]),
        ("1.1", vec![]),
        ("2.0", vec![]),
        ("latest", vec![]),
        ("pr-9", vec![("org.bioshadock.expires-after", "2s")]),
    ] {
        let image = registry.image(&format!("alice/tool:{tag}"));
        build(&alice, &image, &format!("tool {tag}"), &labels);
        assert_ok(&alice.push(&image), &format!("push {tag}"));
        // Push times a second apart keep "newest" unambiguous.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    wait_for_container(&site, "alice/tool").await;
    wait_for_tags(&site, "alice/tool", 5).await;

    let policy = json!({"keep_newest": 2, "keep": [">=1.0 <2"]});
    call(
        &site,
        &key,
        reqwest::Method::PUT,
        "/container/retention/alice/tool",
        Some(policy),
    )
    .await;
    // The label was read from the image when it was pushed; it has passed by now.
    let expected = [
        ("2.0".to_owned(), "beyond_newest".to_owned()),
        ("pr-9".to_owned(), "expired".to_owned()),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    let preview = loop {
        let preview = call(
            &site,
            &key,
            reqwest::Method::GET,
            "/container/retention/alice/tool/preview",
            None,
        )
        .await;
        let mut got = listed(&preview);
        got.sort();
        if got == expected || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(preview, expected, "the dry run");
    // A dry run deletes nothing.
    let all = ["1.0", "1.1", "2.0", "latest", "pr-9"].map(str::to_owned);
    assert_eq!(registry_tags(&site, &registry, "alice/tool").await, all);

    let run = call(
        &site,
        &key,
        reqwest::Method::POST,
        "/container/retention/alice/tool/run",
        None,
    )
    .await;
    let mut deleted = listed(&run["deleted"]);
    deleted.sort();
    assert_eq!(deleted, expected, "{run}");
    assert_eq!(run["failed"], json!([]));
    // Gone from the registry, and only those.
    let left = ["1.0", "1.1", "latest"].map(str::to_owned);
    assert_eq!(registry_tags(&site, &registry, "alice/tool").await, left);
    let gone = alice.pull(&registry.image("alice/tool:2.0"));
    assert!(!gone.status.success(), "2.0 was deleted");
    assert_ok(
        &alice.pull(&registry.image("alice/tool:1.0")),
        "1.0 is kept",
    );
    wait_for_tags(&site, "alice/tool", 3).await;
}

#[tokio::test]
async fn an_expiry_label_makes_the_periodic_run_delete_its_tag() {
    let site = Site::with_registry().with_env("BIOSHADOCK__RETENTION__INTERVAL_SECS", "10");
    site.add_user("alice", "alice password");
    let _server = site.serve().await;
    let registry = Registry::start(&site).await;
    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");
    let kept = registry.image("alice/scratch:kept");
    build(&alice, &kept, "kept", &[]);
    assert_ok(&alice.push(&kept), "push kept");
    let expiring = registry.image("alice/scratch:preview");
    build(
        &alice,
        &expiring,
        "preview",
        &[("org.bioshadock.expires-after", "3s")],
    );
    assert_ok(&alice.push(&expiring), "push preview");
    wait_for_container(&site, "alice/scratch").await;

    // No policy at all: the label alone makes the tag go, within an interval or two.
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let tags = registry_tags(&site, &registry, "alice/scratch").await;
        if tags == ["kept"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the expired tag is still there: {tags:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wait_for_tags(&site, "alice/scratch", 1).await;
    // Recorded, by the portal's own retention.
    let out = site.run(&["audit", "export"]);
    assert_ok(&out, "audit export");
    let deletion: Value = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|e| e["kind"] == "retention.deleted")
        .expect("a retention.deleted event");
    assert_eq!(deletion["target"], "alice/scratch:preview");
    assert_eq!(deletion["actor"]["kind"], "system");
    assert_eq!(deletion["actor"]["name"], "retention");
    assert!(
        deletion["summary"]
            .as_str()
            .unwrap()
            .contains("expires after 3s"),
        "{deletion}"
    );
}
