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

/// A registry token for alice with `actions` on `repository`, from the portal's token service.
async fn alice_token(site: &Site, repository: &str, actions: &str) -> String {
    let path =
        format!("/v2/token?service=bioshadock-registry&scope=repository:{repository}:{actions}");
    let answer: Value = basic_get(site, &path, "alice", "alice password")
        .await
        .json()
        .await
        .unwrap();
    answer["token"].as_str().unwrap().to_owned()
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
    // `docker search HOST/TERM` asks the registry host: the front hands it to the portal. The
    // search index follows the catalogue a moment later (the notification worker reindexes
    // after it has read the image), so it is asked until it knows the new container.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = Command::new("docker")
            .args(["search", "--no-trunc", &format!("127.0.0.1:{front}/tool")])
            .output()
            .unwrap();
        assert_ok(&found, "docker search at the front");
        let listed = String::from_utf8_lossy(&found.stdout).into_owned();
        if listed.contains("alice/tool") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{listed}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

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
    // A HEAD only looks (an up-to-date `docker pull` checks its tag so): not a pull.
    let token = alice_token(&site, "alice/tool", "pull").await;
    let manifest = format!("http://127.0.0.1:{front}/v2/alice/tool/manifests/1");
    let accept = "application/vnd.docker.distribution.manifest.v2+json";
    let head = http()
        .head(&manifest)
        .bearer_auth(&token)
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert!(head.headers().contains_key("docker-content-digest"));
    assert_eq!(pulls(&site, "alice/tool").await, 4);
    let get = http()
        .get(&manifest)
        .bearer_auth(&token)
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 200);
    assert_eq!(pulls(&site, "alice/tool").await, 5);

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

/// Waits until the registry behind the front answers (`/v2/` is 401 with token auth on).
async fn wait_for_registry(front: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("http://127.0.0.1:{front}/v2/");
    loop {
        if let Ok(response) = http().get(&url).send().await
            && response.status().as_u16() == 401
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the registry never came up behind the front"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn registry_pid(site: &Site) -> Option<i32> {
    std::fs::read_to_string(site.data_dir().join("registry/registry.pid"))
        .ok()
        .and_then(|pid| pid.trim().parse().ok())
}

fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn serve_alone_starts_a_supervised_registry_that_docker_pushes_to() {
    use std::os::unix::fs::PermissionsExt;
    let front = free_port();
    // From a clean data_dir: nothing but `serve`, told where its front listens (tests run in
    // parallel, so not on the default 127.0.0.1:5000).
    let site = Site::new()
        .with_env("BIOSHADOCK__REGISTRY__SPAWN", "true")
        .with_env(
            "BIOSHADOCK__REGISTRY__FRONT_LISTEN",
            &format!("127.0.0.1:{front}"),
        );
    site.add_user("alice", "alice password");
    let server = site.serve().await;
    wait_for_registry(front).await;
    let config = site.data_dir().join("registry/config.yml");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the registry configuration holds a secret");

    let registry = Registry::at(front);
    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");
    let tool = registry.image("alice/spawned:1");
    alice.build(&tool, "pushed to a spawned registry");
    assert_ok(&alice.push(&tool), "push to the spawned registry");
    assert_ok(&alice.pull(&tool), "pull from the spawned registry");
    // The spawned registry notifies the portal: the push is catalogued with its labels.
    let listed = wait_for_container(&site, "alice/spawned").await;
    assert_eq!(listed["tags"][0]["name"], "1");
    assert!(site.data_dir().join("registry/storage/docker").is_dir());

    // Killed outright, the registry is started again, and a push afterwards succeeds.
    let first = registry_pid(&site).expect("the registry's pid file");
    let status = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while registry_pid(&site).is_none_or(|pid| pid == first) {
        assert!(Instant::now() < deadline, "the registry was not restarted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_registry(front).await;
    let again = registry.image("alice/spawned:2");
    alice.build(&again, "pushed after a restart");
    assert_ok(&alice.push(&again), "push after the registry was restarted");

    // Stopping the portal stops its registry.
    let second = registry_pid(&site).unwrap();
    server.stop();
    assert!(!alive(second), "the registry outlived the portal");
}

#[tokio::test]
async fn without_a_registry_binary_serve_says_how_to_get_one_and_runs_as_before() {
    let dir = TempDir::new().unwrap();
    let log = dir.path().join("serve.log");
    let site = Site::new()
        .with_env("BIOSHADOCK__REGISTRY__SPAWN", "auto")
        .with_env("PATH", "/nonexistent")
        .with_env("RUST_LOG", "info");
    let server = site.serve_logging_to(&log).await;
    let catalogue = http().get(site.url("/container/all")).send().await.unwrap();
    assert_eq!(catalogue.status().as_u16(), 200);
    server.stop();
    let log = std::fs::read_to_string(&log).unwrap();
    let hints: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("apt-get install docker-registry"))
        .collect();
    assert_eq!(hints.len(), 1, "one line says how to get a registry: {log}");
    assert!(!site.data_dir().join("registry/config.yml").exists());
}

/// PATCHes `path` with `body` as alice (Basic), asserting success.
async fn patch_as_alice(site: &Site, path: &str, body: Value) {
    let response = http()
        .patch(site.url(path))
        .basic_auth("alice", Some("alice password"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(status, 200, "{path}: {}", response.text().await.unwrap());
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn immutable_tags_and_blocked_pulls_are_refused_at_the_front() {
    let (site, front) = fronted_site();
    site.add_user("alice", "alice password");
    let _server = site.serve().await;
    let registry = Registry::start(&site).await.fronted_at(front);
    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");
    let release = registry.image("alice/pinned:1.0");
    let kept = registry.image("alice/pinned:kept");
    alice.build(&release, "the published image");
    assert_ok(&alice.push(&release), "first push of 1.0");
    assert_ok(
        &alice.run(&["tag", &release, &kept]),
        "keep the first image",
    );
    wait_for_container(&site, "alice/pinned").await;
    // Everything but latest is immutable.
    patch_as_alice(
        &site,
        "/container/alice/pinned",
        serde_json::json!({"immutable": ["!latest"]}),
    )
    .await;

    // Another image under 1.0 is refused, with a message the CLI prints.
    alice.build(&release, "an image that would replace it");
    let refused = alice.push(&release);
    assert!(!refused.status.success(), "overwriting 1.0 must fail");
    assert!(
        stderr(&refused).contains("denied: tag 1.0 of alice/pinned is immutable"),
        "{}",
        stderr(&refused)
    );
    // The very same image again is fine.
    assert_ok(
        &alice.run(&["tag", &kept, &release]),
        "retag the first image",
    );
    assert_ok(&alice.push(&release), "pushing the same digest again");
    // latest is the exception: it moves freely.
    let latest = registry.image("alice/pinned:latest");
    alice.build(&latest, "latest one");
    assert_ok(&alice.push(&latest), "push latest");
    alice.build(&latest, "latest two");
    assert_ok(&alice.push(&latest), "move latest");
    let container = get_json(&site.url("/container/alice/pinned"), None).await;
    let one_oh = container["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "1.0")
        .unwrap()
        .clone();
    assert_eq!(one_oh["immutable"], true);

    // Deleting the image 1.0 points to is refused too, through the registry API.
    let token = alice_token(&site, "alice/pinned", "delete").await;
    let digest = one_oh["digest"].as_str().unwrap();
    let deletion = http()
        .delete(format!(
            "http://127.0.0.1:{front}/v2/alice/pinned/manifests/{digest}"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deletion.status().as_u16(), 403);
    let body: Value = deletion.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");

    // A deprecated tag is still pulled until its date; after it, the pull says why.
    patch_as_alice(
        &site,
        "/container/tags/alice/pinned/1.0",
        serde_json::json!({"deprecated": {"reason": "rebuilt for CVE-2026-0001",
            "replacement": "alice/pinned:1.1"}}),
    )
    .await;
    assert_ok(
        &alice.pull(&release),
        "pulling a deprecated tag before its date",
    );
    patch_as_alice(
        &site,
        "/container/tags/alice/pinned/1.0",
        serde_json::json!({"deprecated": {"reason": "rebuilt for CVE-2026-0001",
            "replacement": "alice/pinned:1.1", "block_pulls_after": "2026-01-01T00:00:00Z"}}),
    )
    .await;
    let blocked = alice.pull(&release);
    assert!(!blocked.status.success(), "the pull must be refused");
    assert!(
        stderr(&blocked).contains("rebuilt for CVE-2026-0001 (use alice/pinned:1.1)"),
        "{}",
        stderr(&blocked)
    );
    assert_ok(&alice.pull(&latest), "other tags still pull");
}

#[tokio::test]
async fn without_a_front_a_moved_immutable_tag_is_put_back() {
    // The weaker mode: the registry is reached directly, so the push cannot be refused; the
    // portal hears of it and restores the tag from the image it held.
    let site = Site::with_registry();
    site.add_user("alice", "alice password");
    let _server = site.serve().await;
    let registry = Registry::start(&site).await;
    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");
    let release = registry.image("alice/kept:1.0");
    alice.build(&release, "the published image");
    assert_ok(&alice.push(&release), "push 1.0");
    let first = wait_for_container(&site, "alice/kept").await["tags"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    patch_as_alice(
        &site,
        "/container/alice/kept",
        serde_json::json!({"immutable": "all"}),
    )
    .await;

    alice.build(&release, "a replacement");
    assert_ok(&alice.push(&release), "the registry itself takes the push");
    let token = alice_token(&site, "alice/kept", "pull").await;
    let url = format!("http://{}/v2/alice/kept/manifests/1.0", registry.host);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let head = http()
            .head(&url)
            .bearer_auth(&token)
            .header(
                "accept",
                "application/vnd.docker.distribution.manifest.v2+json, \
                 application/vnd.oci.image.manifest.v1+json",
            )
            .send()
            .await
            .unwrap();
        let now = head.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_owned();
        if now == first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "1.0 was not restored (still {now})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let container = get_json(&site.url("/container/alice/kept"), None).await;
    assert_eq!(container["tags"][0]["digest"], first.as_str());
    let metrics = http()
        .get(site.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("immutable_restored") && l.trim_end().ends_with(" 1")),
        "{metrics}"
    );
}

/// Builds `image`: the test base plus one layer of `megabytes` random MiB.
fn build_big(client: &Client, image: &str, megabytes: u32) {
    crate::registry::base_image();
    let context = TempDir::new().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!(
            "FROM {}\nRUN dd if=/dev/urandom of=/payload bs=1048576 count={megabytes} 2>/dev/null\n",
            crate::registry::BASE_IMAGE
        ),
    )
    .unwrap();
    let out = client.run(&["build", "-q", "-t", image, context.path().to_str().unwrap()]);
    assert_ok(&out, "build a large image");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_200_mb_image_and_100_concurrent_pulls_stream_through_the_front() {
    use sha2::{Digest as _, Sha256};
    let (site, front) = fronted_site();
    site.add_user("alice", "alice password");
    let server = site.serve().await;
    let registry = Registry::start(&site).await.fronted_at(front);
    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");
    let big = registry.image("alice/big:1");
    build_big(&alice, &big, 200);
    let before = server.peak_rss_kib();
    assert_ok(&alice.push(&big), "push 200 MB through the front");
    assert_ok(&alice.pull(&big), "pull 200 MB through the front");
    // skopeo too, out to a directory and in to another repository.
    let dir = TempDir::new().unwrap();
    let copy = dir.path().join("big");
    let creds = "alice:alice password";
    assert_ok(
        &skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            creds,
            &format!("docker://{big}"),
            &format!("dir:{}", copy.display()),
        ]),
        "skopeo copies 200 MB out through the front",
    );
    assert_ok(
        &skopeo(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            &format!("dir:{}", copy.display()),
            &format!("docker://{}", registry.image("alice/big-copy:1")),
        ]),
        "skopeo copies 200 MB in through the front",
    );
    let growth_mib = (server.peak_rss_kib().saturating_sub(before)) / 1024;
    // Streamed, not held: the portal's peak memory hardly moves while 800 MB pass through it.
    assert!(
        growth_mib < 64,
        "the portal's peak memory grew by {growth_mib} MiB"
    );
    assert_eq!(
        pulls(&site, "alice/big").await,
        2,
        "docker's pull and skopeo's"
    );

    // 100 clients at once read the manifest and the image's config through the front, each
    // checked against its digest, and each manifest read is one pull.
    let token = alice_token(&site, "alice/big", "pull").await;
    let base = format!("http://127.0.0.1:{front}/v2/alice/big");
    let mut clients = Vec::new();
    for _ in 0..100 {
        let (token, base) = (token.clone(), base.clone());
        clients.push(tokio::spawn(async move {
            let client = http();
            let manifest = client
                .get(format!("{base}/manifests/1"))
                .bearer_auth(&token)
                .header(
                    "accept",
                    "application/vnd.docker.distribution.manifest.v2+json",
                )
                .send()
                .await
                .unwrap();
            assert_eq!(manifest.status().as_u16(), 200);
            let digest = manifest.headers()["docker-content-digest"]
                .to_str()
                .unwrap()
                .to_owned();
            let body = manifest.bytes().await.unwrap();
            assert_eq!(digest, format!("sha256:{:x}", Sha256::digest(&body)));
            let parsed: Value = serde_json::from_slice(&body).unwrap();
            let config = parsed["config"]["digest"].as_str().unwrap().to_owned();
            let blob = client
                .get(format!("{base}/blobs/{config}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(blob.status().as_u16(), 200);
            let bytes = blob.bytes().await.unwrap();
            assert_eq!(config, format!("sha256:{:x}", Sha256::digest(&bytes)));
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(pulls(&site, "alice/big").await, 102);
    let _ = alice.run(&["rmi", "-f", &big]);
}
