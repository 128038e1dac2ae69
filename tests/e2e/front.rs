//! The registry front (`registry.front_listen`): the real docker CLI and skopeo push and pull
//! through the portal's own listener to a real Distribution registry behind it.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::registry::{Client, Registry, assert_ok, wait_for_container};
use crate::support::{Site, basic_get, free_port, get_json, http};

/// A site whose registry is reached through the portal's front on a port of its own.
fn fronted_site() -> (Site, u16) {
    let front = free_port();
    let site = Site::with_registry().with_env(
        "BIOSHADOCK__REGISTRY__FRONT_LISTEN",
        &format!("127.0.0.1:{front}"),
    );
    (site, front)
}

/// The stored pull count, read as alice (anonymous answers may come from the one-second
/// read cache).
async fn pulls(site: &Site, id: &str) -> u64 {
    let container: Value = basic_get(site, &format!("/container/{id}"), "alice", "alice password")
        .await
        .json()
        .await
        .unwrap();
    container["pulls"].as_u64().unwrap()
}

fn skopeo(args: &[&str]) -> std::process::Output {
    Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is missing: run scripts/test, which installs it")
}

#[tokio::test]
async fn docker_and_skopeo_push_and_pull_through_the_front_and_every_pull_counts_once() {
    let (site, front) = fronted_site();
    site.add_user("alice", "alice password");
    let _server = site.serve().await;
    let registry = Registry::start(&site).await.fronted_at(front);

    // The front answers as the registry does, pointing clients at the portal's token service.
    let base = http()
        .get(format!("http://127.0.0.1:{front}/v2/"))
        .send()
        .await
        .unwrap();
    assert_eq!(base.status().as_u16(), 401);
    let challenge = base.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(&format!("realm=\"{}\"", site.url("/v2/token"))),
        "{challenge}"
    );

    let alice = Client::new();
    assert_ok(
        &alice.login(&registry, "alice", "alice password"),
        "login at the front",
    );
    let tool = registry.image("alice/tool:1");
    alice.build(&tool, "pushed through the front");
    assert_ok(&alice.push(&tool), "push through the front");
    let listed = wait_for_container(&site, "alice/tool").await;
    assert_eq!(listed["tags"][0]["name"], "1");
    assert_eq!(
        listed["labels"]["org.opencontainers.image.description"],
        "pushed through the front"
    );
    assert_eq!(pulls(&site, "alice/tool").await, 0);

    // A pull is a GET of an image manifest, as Docker Hub counts them: counted as it
    // happens (right after the client returns) and exactly once (the registry's own pull
    // notifications are not counted on top).
    assert_ok(&alice.pull(&tool), "docker pull through the front");
    assert_eq!(pulls(&site, "alice/tool").await, 1);
    let dir = TempDir::new().unwrap();
    let out_dir = dir.path().join("image");
    let creds = "alice:alice password";
    for n in 2..=4 {
        let _ = std::fs::remove_dir_all(&out_dir);
        assert_ok(
            &skopeo(&[
                "copy",
                "--src-tls-verify=false",
                "--src-creds",
                creds,
                &format!("docker://{tool}"),
                &format!("dir:{}", out_dir.display()),
            ]),
            "skopeo copy out through the front",
        );
        assert_eq!(pulls(&site, "alice/tool").await, n, "after pull {n}");
    }
    // The engine keeps the manifest it pulled: pulling again only checks the tag (HEAD), which
    // is not a pull (Docker Hub does not count it either).
    assert_ok(&alice.pull(&tool), "docker pull of a known image");
    assert_eq!(pulls(&site, "alice/tool").await, 4);

    // skopeo copies a new tag in through the front.
    assert_ok(
        &skopeo(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            &format!("dir:{}", out_dir.display()),
            &format!("docker://{}", registry.image("alice/tool:2")),
        ]),
        "skopeo copy in through the front",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let container = get_json(&site.url("/container/alice/tool"), None).await;
        let tags: Vec<&str> = container["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        if tags.contains(&"2") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tag 2 never arrived: {container}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Paths that could mean two things, and paths that are not the registry's, stop here.
    for (path, status) in [
        ("/v2/alice/tool/manifests%2F1", 400),
        ("/v2/alice//tool/manifests/1", 400),
        ("/container/all", 404),
    ] {
        let response = http()
            .get(format!("http://127.0.0.1:{front}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["errors"][0]["code"].is_string(), "{path}: {body}");
    }
}
