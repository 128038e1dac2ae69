//! `bioshadock registry-gc`: Distribution's garbage collection on the registry `serve` spawned
//! (read-only while it runs, read-write again afterwards, also when it fails), and only the
//! steps for a registry `serve` does not run.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::registry::{
    BASE_IMAGE, Client, Registry, assert_ok, base_image, text, wait_for_container,
};
use crate::support::{Site, basic_get, free_port, http};

/// A site whose `serve` spawns its registry, fronted on a port of its own (tests run in
/// parallel, so not on the default 127.0.0.1:5000).
fn spawning_site() -> (Site, u16) {
    let front = free_port();
    let site = Site::new()
        .with_env("BIOSHADOCK__REGISTRY__SPAWN", "true")
        .with_env(
            "BIOSHADOCK__REGISTRY__FRONT_LISTEN",
            &format!("127.0.0.1:{front}"),
        );
    (site, front)
}

/// Waits until the registry behind the front answers (`/v2/` is 401 with token auth on).
async fn wait_for_registry(front: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("http://127.0.0.1:{front}/v2/");
    loop {
        if let Ok(r) = http().get(&url).send().await
            && r.status().as_u16() == 401
        {
            return;
        }
        assert!(Instant::now() < deadline, "the registry never came up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Builds `image`: the test base plus one layer of a random MiB, so that two builds share
/// nothing but the base and an overwritten one leaves a MiB of garbage.
fn build_random(client: &Client, image: &str) {
    base_image();
    let context = TempDir::new().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!(
            "FROM {BASE_IMAGE}\nLABEL org.opencontainers.image.description=\"random\"\n\
             RUN dd if=/dev/urandom of=/payload bs=1048576 count=1 2>/dev/null\n"
        ),
    )
    .unwrap();
    // Not from the build cache: a cached build would be the very same image.
    let out = client.run(&[
        "build",
        "-q",
        "--no-cache",
        "-t",
        image,
        context.path().to_str().unwrap(),
    ]);
    assert_ok(&out, "build an image with a random layer");
}

/// Bytes in the files under `root` (measured here, independently of the command's own count).
fn file_bytes(root: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                pending.push(entry.path());
            } else {
                total += metadata.len();
            }
        }
    }
    total
}

fn registry_pid(site: &Site) -> Option<i32> {
    std::fs::read_to_string(site.data_dir().join("registry/registry.pid"))
        .ok()
        .and_then(|pid| pid.trim().parse().ok())
}

/// Waits until the registry that replaced `before` refuses an upload as a read-only one does
/// (405), asked at its private address. (Asking the one before could start an upload.)
async fn wait_until_read_only(site: &Site, before: Option<i32>) {
    let answer: Value = basic_get(
        site,
        "/v2/token?service=bioshadock-registry&scope=repository:alice/collected:push,pull",
        "alice",
        "alice password",
    )
    .await
    .json()
    .await
    .unwrap();
    let token = answer["token"].as_str().unwrap().to_owned();
    let config = site.data_dir().join("registry/config.yml");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if registry_pid(site).is_none_or(|pid| Some(pid) == before) {
            assert!(Instant::now() < deadline, "the registry was not restarted");
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let yaml: Value = serde_yaml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        let addr = yaml["http"]["addr"].as_str().unwrap().to_owned();
        let upload = http()
            .post(format!("http://{addr}/v2/alice/collected/blobs/uploads/"))
            .bearer_auth(&token)
            .send()
            .await;
        if upload.is_ok_and(|r| r.status().as_u16() == 405) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the registry never refused an upload"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn stdout(out: &Output) -> String {
    text(&out.stdout)
}

/// The spawned registry's configuration is back to read-write and still private.
fn assert_read_write(site: &Site) {
    let config = site.data_dir().join("registry/config.yml");
    let yaml = std::fs::read_to_string(&config).unwrap();
    assert!(!yaml.contains("maintenance"), "still read-only: {yaml}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the registry configuration holds a secret");
}

#[tokio::test]
async fn registry_gc_frees_an_overwritten_image_and_the_registry_takes_pushes_again() {
    let (site, front) = spawning_site();
    site.add_user("alice", "alice password");
    let server = site.serve().await;
    wait_for_registry(front).await;
    let registry = Registry::at(front);
    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");

    // Two different images pushed to the same tag: the first one is now garbage.
    let image = registry.image("alice/collected:1");
    build_random(&alice, &image);
    assert_ok(&alice.push(&image), "first push");
    wait_for_container(&site, "alice/collected").await;
    build_random(&alice, &image);
    assert_ok(&alice.push(&image), "second push to the same tag");
    let storage = site.data_dir().join("registry/storage");

    // A collector that waits for the test, then fails: while it waits, the registry runs
    // read-only (uploads are refused, pulls work); after it failed, read-write again.
    let gate = site.dir.path().join("collector-may-fail");
    let failing = site.dir.path().join("failing-registry");
    std::fs::write(
        &failing,
        format!(
            "#!/bin/sh\nwhile [ ! -e '{}' ]; do sleep 0.1; done\n\
             echo 'simulated collector failure' >&2\nexit 3\n",
            gate.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before_gc = registry_pid(&site);
    let collecting = site
        .command(&["registry-gc"])
        .env("BIOSHADOCK__REGISTRY__BINARY", &failing)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_read_only(&site, before_gc).await;
    assert_ok(&alice.pull(&image), "pull while read-only");
    std::fs::write(&gate, "").unwrap();
    let out = collecting.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "a failed collection fails");
    assert!(err.contains("simulated collector failure"), "{err}");
    assert!(err.contains("read-write again"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert_read_write(&site);
    wait_for_registry(front).await;
    let last = bioshadock_core::registry_gc::read_last_gc(&site.data_dir()).unwrap();
    assert!(!last.ok, "{last:?}");

    // A dry run says what would go, and deletes nothing.
    let before = file_bytes(&storage);
    let out = site.run(&["registry-gc", "--dry-run"]);
    assert_ok(&out, "registry-gc --dry-run");
    assert!(
        stdout(&out).contains("eligible for deletion"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("Dry run: nothing was deleted"),
        "{}",
        stdout(&out)
    );
    assert_eq!(file_bytes(&storage), before, "a dry run deletes nothing");

    // The real thing, while serve runs.
    let out = site.run(&["registry-gc"]);
    assert_ok(&out, "registry-gc");
    let after = file_bytes(&storage);
    assert!(
        before - after >= 1024 * 1024,
        "the overwritten image's MiB is gone: {before} -> {after}"
    );
    let printed = stdout(&out);
    for expected in [
        "in read-only mode",
        "garbage-collect: ",
        "before ",
        "after ",
        "reclaimed ",
        "MiB",
        "The registry is read-write again.",
    ] {
        assert!(printed.contains(expected), "{expected:?} in: {printed}");
    }
    assert_read_write(&site);
    let last = bioshadock_core::registry_gc::read_last_gc(&site.data_dir()).unwrap();
    assert!(last.ok, "{last:?}");
    assert!(
        last.bytes_before - last.bytes_after >= 1024 * 1024,
        "{last:?}"
    );

    // What is tagged still pulls, and pushes are taken again (read-only was lifted).
    assert_ok(
        &alice.pull(&image),
        "pull the remaining tag after collection",
    );
    let next = registry.image("alice/collected:2");
    build_random(&alice, &next);
    assert_ok(&alice.push(&next), "push after collection");
    let _ = alice.run(&["rmi", "-f", &image, &next]);
    // A clean stop stops the registry too (a killed serve would leave it running).
    server.stop();
}

#[tokio::test]
async fn registry_gc_only_prints_the_steps_for_a_registry_serve_does_not_run() {
    let expected_steps = [
        "changes nothing",
        "maintenance:\n         readonly:\n           enabled: true",
        "registry garbage-collect --delete-untagged /etc/docker/registry/config.yml",
        "docker-registry garbage-collect --delete-untagged",
        "Remove the `maintenance` lines again and restart the registry",
    ];
    let external = Site::with_registry();
    let auto_external = Site::with_registry().with_env("BIOSHADOCK__REGISTRY__SPAWN", "auto");
    let never_served = Site::new().with_env("BIOSHADOCK__REGISTRY__SPAWN", "true");
    for (site, why) in [
        (&external, "registry.spawn is false"),
        (&auto_external, "registry.url is http://127.0.0.1:"),
        (&never_served, "never spawned a registry here"),
    ] {
        let out = site.run(&["registry-gc"]);
        assert_ok(&out, "registry-gc on a registry serve does not run");
        let printed = stdout(&out);
        assert!(printed.contains(why), "{why:?} in: {printed}");
        for step in expected_steps {
            assert!(printed.contains(step), "{step:?} in: {printed}");
        }
        assert!(
            !site.data_dir().exists(),
            "nothing was created: {:?}",
            std::fs::read_dir(site.dir.path())
                .unwrap()
                .collect::<Vec<_>>()
        );
    }
}
