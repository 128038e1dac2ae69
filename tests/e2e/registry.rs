//! `docker login`, `push` and `pull` for real: the docker CLI and Docker Engine talk to Debian's
//! Distribution registry, configured by `bioshadock registry-config`, which sends them to our
//! token service. Needs dockerd, docker-registry and busybox-static (scripts/test provides them).

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::*;

/// A small local base image (busybox), built once per test run: nothing can be pulled here.
pub(crate) const BASE_IMAGE: &str = "bioshadock-test/busybox:latest";

pub(crate) fn base_image() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let context = TempDir::new().unwrap();
        std::fs::copy("/bin/busybox", context.path().join("busybox"))
            .expect("/bin/busybox is missing: run scripts/test, which installs busybox-static");
        std::fs::write(
            context.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        )
        .unwrap();
        let out = docker(None, &["build", "-q", "-t", BASE_IMAGE])
            .arg(context.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "base image: {}", text(&out.stderr));
    });
}

/// `docker ARGS` with its own client configuration directory (credentials) when given.
fn docker(config: Option<&Path>, args: &[&str]) -> Command {
    let mut command = Command::new("docker");
    if let Some(dir) = config {
        command.arg("--config").arg(dir);
    }
    command.args(args);
    command
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A Distribution registry started from `bioshadock registry-config`; killed on drop.
pub(crate) struct Registry {
    child: Child,
    pub(crate) host: String,
    _dir: TempDir,
}

impl Registry {
    pub(crate) async fn start(site: &Site) -> Self {
        Self::start_with(site, |config| config).await
    }

    /// Starts a registry whose `registry-config` output is first passed through `edit`.
    async fn start_with(site: &Site, edit: impl FnOnce(String) -> String) -> Self {
        let port = site
            .registry_port
            .expect("a site made with Site::with_registry");
        let dir = TempDir::new().unwrap();
        let root = dir.path().join("storage");
        let out = site.run(&["registry-config", "--root", root.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "registry-config: {}",
            text(&out.stderr)
        );
        let config = dir.path().join("config.yml");
        std::fs::write(&config, edit(text(&out.stdout))).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("docker-registry is missing: run scripts/test, which installs it");
        let host = format!("127.0.0.1:{port}");
        let registry = Self {
            child,
            host,
            _dir: dir,
        };
        registry.wait_until_up().await;
        registry
    }

    async fn wait_until_up(&self) {
        let client = http();
        let deadline = Instant::now() + Duration::from_secs(20);
        let url = format!("http://{}/v2/", self.host);
        loop {
            // Token auth on: an anonymous /v2/ answers 401 once the registry is up.
            if let Ok(r) = client.get(&url).send().await
                && r.status().as_u16() == 401
            {
                return;
            }
            assert!(Instant::now() < deadline, "the registry did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A registry the portal started itself (`registry.spawn`), reached through its front at
    /// `port`; nothing to stop here (the portal stops it).
    pub(crate) fn at(port: u16) -> Self {
        Self {
            child: Command::new("true").spawn().unwrap(),
            host: format!("127.0.0.1:{port}"),
            _dir: TempDir::new().unwrap(),
        }
    }

    /// The same registry, reached by clients through the portal's front at `port` (the
    /// registry itself stays where it was started).
    pub(crate) fn fronted_at(mut self, port: u16) -> Self {
        self.host = format!("127.0.0.1:{port}");
        self
    }

    pub(crate) fn image(&self, repository: &str) -> String {
        format!("{}/{repository}", self.host)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One docker client identity: its own config dir, so logins of different users do not mix.
pub(crate) struct Client {
    config: TempDir,
}

impl Client {
    pub(crate) fn new() -> Self {
        Self {
            config: TempDir::new().unwrap(),
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        docker(Some(self.config.path()), args).output().unwrap()
    }

    pub(crate) fn login(&self, registry: &Registry, user: &str, secret: &str) -> Output {
        let mut child = docker(
            Some(self.config.path()),
            &["login", &registry.host, "-u", user, "--password-stdin"],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        writeln!(child.stdin.take().unwrap(), "{secret}").unwrap();
        child.wait_with_output().unwrap()
    }

    /// Builds a tiny image tagged `image`, with a label, from the local base image.
    /// Builds `image` with `description`, as an image of this test run: the run's own label
    /// makes its manifest new to the engine, which otherwise answers a later run's pull of the
    /// same (cached) image from its own manifest store, after a mere `HEAD` at the registry.
    pub(crate) fn build(&self, image: &str, description: &str) {
        static RUN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let run = RUN.get_or_init(|| format!("{:016x}", rand::random::<u64>()));
        base_image();
        let context = TempDir::new().unwrap();
        std::fs::write(
            context.path().join("Dockerfile"),
            format!(
                "FROM {BASE_IMAGE}\nLABEL org.opencontainers.image.description=\"{description}\" \
                 org.bioshadock.test-run=\"{run}\"\nRUN echo {description} > /hello\n"
            ),
        )
        .unwrap();
        let out = self.run(&["build", "-q", "-t", image, context.path().to_str().unwrap()]);
        assert!(out.status.success(), "build {image}: {}", text(&out.stderr));
    }

    pub(crate) fn push(&self, image: &str) -> Output {
        self.run(&["push", image])
    }

    /// Pulls after forgetting the local tag, so the registry has to answer.
    pub(crate) fn pull(&self, image: &str) -> Output {
        let _ = self.run(&["rmi", "-f", image]);
        self.run(&["pull", image])
    }
}

pub(crate) fn api_key(site: &Site, name: &str, scopes: &str) -> String {
    let out = site.run(&["user", "apikey", name, "--scopes", scopes]);
    assert!(out.status.success(), "user apikey: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

pub(crate) async fn create_container(site: &Site, key: &str, body: Value) -> Value {
    let response = http()
        .post(site.url("/container/new"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap()
}

async fn set_members(site: &Site, key: &str, id: &str, members: Value) {
    let response = http()
        .put(site.url(&format!("/container/members/{id}")))
        .bearer_auth(key)
        .json(&json!({ "members": members }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

/// The container as `/container/all` shows it once its push has been processed (labels are
/// read from the registry in the background), waiting up to 10 s.
pub(crate) async fn wait_for_container(site: &Site, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all: Value = http()
            .get(site.url("/container/all"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = all
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id && !c["labels"].as_object().unwrap().is_empty())
            .cloned();
        if let Some(container) = found {
            return container;
        }
        assert!(
            Instant::now() < deadline,
            "{id} did not appear with its labels: {all}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} should succeed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

pub(crate) fn assert_denied(out: &Output, what: &str) {
    assert!(
        !out.status.success(),
        "{what} should be refused: {}",
        text(&out.stdout)
    );
    let err = text(&out.stderr).to_lowercase();
    assert!(
        err.contains("denied")
            || err.contains("unauthorized")
            || err.contains("insufficient_scope")
            || err.contains("not found")
            || err.contains("authentication required"),
        "{what}: unexpected error: {err}"
    );
}

#[tokio::test]
async fn docker_login_push_and_pull_follow_the_portals_rules() {
    let site = Site::with_registry();
    for (name, password) in [
        ("alice", "alice password"),
        ("mallory", "mallory password"),
        ("pam", "pam password"),
    ] {
        site.add_user(name, password);
    }
    let server = site.serve().await;
    let registry = Registry::start(&site).await;

    // Log in with a password; push into one's own namespace.
    let alice = Client::new();
    assert_ok(
        &alice.login(&registry, "alice", "alice password"),
        "login with a password",
    );
    let tool = registry.image("alice/tool:1.0");
    alice.build(&tool, "a public tool");
    assert_ok(&alice.push(&tool), "push to one's own namespace");

    // Not into someone else's namespace, nor into the curated library/.
    let elsewhere = registry.image("mallory/tool:1.0");
    alice.build(&elsewhere, "not for alice");
    assert_denied(&alice.push(&elsewhere), "push to another user's namespace");
    let library = registry.image("library/tool:1.0");
    alice.build(&library, "curated");
    assert_denied(&alice.push(&library), "push to library/");

    // A wrong password is refused at login.
    let intruder = Client::new();
    assert_denied(
        &intruder.login(&registry, "alice", "wrong password"),
        "login with a wrong password",
    );

    // The push created the container (public by default), with the image's labels, and it is
    // searchable.
    let listed = wait_for_container(&site, "alice/tool").await;
    assert_eq!(listed["owner"], "alice");
    assert_eq!(listed["visible"], true);
    assert_eq!(listed["tags"][0]["name"], "1.0");
    assert!(
        listed["tags"][0]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(
        listed["labels"]["org.opencontainers.image.description"],
        "a public tool"
    );
    assert!(
        listed["tags"][0]["platforms"][0]
            .as_str()
            .unwrap()
            .starts_with("linux/")
    );
    let found: Value = http()
        .get(site.url("/container/search?q=alice%2Ftool"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["results"][0]["id"], "alice/tool", "{found}");

    // Anonymous pull of a public image.
    let key = api_key(&site, "alice", "read,push");
    let anonymous = Client::new();
    assert_ok(&anonymous.pull(&tool), "anonymous pull of a public image");

    // A private container: a non-member cannot pull it, a pull member can.
    create_container(
        &site,
        &key,
        json!({"name": "alice/secret", "visible": false}),
    )
    .await;
    set_members(
        &site,
        &key,
        "alice/secret",
        json!([{"user": "pam", "access": "pull"}]),
    )
    .await;
    let secret = registry.image("alice/secret:1.0");
    alice.build(&secret, "a private tool");
    assert_ok(&alice.push(&secret), "push to one's own private container");
    let mallory = Client::new();
    assert_ok(
        &mallory.login(&registry, "mallory", "mallory password"),
        "mallory logs in",
    );
    assert_denied(
        &mallory.pull(&secret),
        "pull of a private image by a non-member",
    );
    assert_denied(
        &anonymous.pull(&secret),
        "anonymous pull of a private image",
    );
    let pam = Client::new();
    assert_ok(&pam.login(&registry, "pam", "pam password"), "pam logs in");
    assert_ok(
        &pam.pull(&secret),
        "pull of a private image by a pull member",
    );
    let pam_push = registry.image("alice/secret:pam");
    pam.build(&pam_push, "an attempt by pam");
    assert_denied(&pam.push(&pam_push), "push by a pull member");

    // docker login with an API key; a key without the push scope cannot push.
    let with_key = Client::new();
    assert_ok(
        &with_key.login(&registry, "alice", &key),
        "login with an API key",
    );
    let keyed = registry.image("alice/keyed:1.0");
    with_key.build(&keyed, "pushed with a key");
    assert_ok(&with_key.push(&keyed), "push with a push-scoped key");
    let read_only = api_key(&site, "alice", "read");
    let reader = Client::new();
    assert_ok(
        &reader.login(&registry, "alice", &read_only),
        "login with a read-only key",
    );
    let refused = registry.image("alice/keyed:2.0");
    reader.build(&refused, "no push scope");
    assert_denied(
        &reader.push(&refused),
        "push with a key lacking the push scope",
    );
    assert_ok(&reader.pull(&keyed), "pull with a read-only key");

    drop(registry);
    server.stop();
}

#[tokio::test]
async fn registry_check_says_what_is_misconfigured() {
    let site = Site::with_registry();
    let server = site.serve().await;

    // Nothing listens on the registry port yet.
    let out = site.run(&["registry-check"]);
    assert!(!out.status.success());
    let report = text(&out.stdout);
    assert!(report.contains("cannot reach the registry"), "{report}");

    let registry = Registry::start(&site).await;
    let out = site.run(&["registry-check"]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    assert!(report.contains("accepts this portal's tokens"), "{report}");

    // A portal configured with another service and issuer than the registry's.
    let out = site
        .command(&["registry-check"])
        .env("BIOSHADOCK__REGISTRY__SERVICE", "another-registry")
        .env("BIOSHADOCK__REGISTRY__ISSUER", "someone-else")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let report = text(&out.stdout);
    assert!(
        report.contains("calls itself \"bioshadock-registry\""),
        "{report}"
    );
    assert!(report.contains("refuses this portal's tokens"), "{report}");
    assert!(report.contains("issuer \"someone-else\""), "{report}");

    drop(registry);
    server.stop();
}

/// The tags of `id` once it has `n` of them, waiting up to 10 s.
async fn wait_for_tags(site: &Site, id: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = http()
            .get(site.url(&format!("/container/tags/{id}")))
            .send()
            .await
            .unwrap();
        if response.status().is_success() {
            let tags: Value = response.json().await.unwrap();
            let names: Vec<String> = tags
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect();
            if names.len() == n {
                return names;
            }
        }
        assert!(Instant::now() < deadline, "{id} did not get {n} tags");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn api_delete(site: &Site, key: &str, path: &str) -> reqwest::Response {
    http()
        .delete(site.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn deleting_in_the_portal_deletes_in_the_registry() {
    let site = Site::with_registry();
    site.add_user("alice", "alice password");
    let server = site.serve().await;
    let registry = Registry::start(&site).await;
    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");
    let one = registry.image("alice/tool:1");
    let two = registry.image("alice/tool:2");
    alice.build(&one, "version one");
    alice.build(&two, "version two");
    assert_ok(&alice.push(&one), "push tag 1");
    assert_ok(&alice.push(&two), "push tag 2");
    wait_for_tags(&site, "alice/tool", 2).await;

    // Delete one tag through the API: gone from the registry, the other still pulls.
    let key = api_key(&site, "alice", "read,push");
    let response = api_delete(&site, &key, "/container/tags/alice/tool/1").await;
    assert_eq!(
        response.status().as_u16(),
        204,
        "{:?}",
        response.text().await
    );
    let anonymous = Client::new();
    let out = anonymous.pull(&one);
    assert!(
        !out.status.success(),
        "tag 1 should be gone from the registry"
    );
    assert_ok(&anonymous.pull(&two), "pull of the remaining tag");
    assert_eq!(wait_for_tags(&site, "alice/tool", 1).await, ["2"]);

    // Delete the container: its remaining image goes too. Re-creating the container (so that
    // alice may pull from it again) shows the registry no longer has it.
    let response = api_delete(&site, &key, "/container/alice/tool").await;
    assert_eq!(
        response.status().as_u16(),
        204,
        "{:?}",
        response.text().await
    );
    create_container(&site, &key, json!({"name": "alice/tool"})).await;
    let out = alice.pull(&two);
    assert!(
        !out.status.success(),
        "tag 2 should be gone from the registry"
    );
    let err = text(&out.stderr).to_lowercase();
    assert!(
        err.contains("not found") || err.contains("unknown"),
        "refused because it is absent, not because of rights: {err}"
    );

    drop(registry);
    server.stop();
}

#[tokio::test]
async fn reconciliation_repairs_what_notifications_missed() {
    // No periodic run during the test: only the explicit one.
    let site = Site::with_registry().with_env("BIOSHADOCK__REGISTRY__SYNC_INTERVAL_SECS", "0");
    site.add_user("alice", "alice password");
    let out = site.run(&["user", "add", "root", "--admin"]);
    assert!(
        out.status.success(),
        "user add --admin: {}",
        text(&out.stderr)
    );
    let admin_key = api_key(&site, "root", "read,push");
    let server = site.serve().await;
    // A registry that sends no notifications at all.
    let registry = Registry::start_with(&site, |config| {
        let (kept, _) = config
            .split_once("notifications:")
            .expect("a notifications section");
        kept.to_owned()
    })
    .await;

    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");
    let one = registry.image("alice/quiet:1");
    let two = registry.image("alice/quiet:2");
    alice.build(&one, "quiet one");
    alice.build(&two, "quiet two");
    assert_ok(&alice.push(&one), "push 1");
    assert_ok(&alice.push(&two), "push 2");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let absent = http()
        .get(site.url("/container/alice/quiet"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        absent.status().as_u16(),
        404,
        "no event should have arrived"
    );

    let sync = || async {
        let response = http()
            .post(site.url("/admin/registry/sync"))
            .bearer_auth(&admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json::<Value>().await.unwrap()
    };
    let summary = sync().await;
    assert_eq!(summary["repositories"], 1, "{summary}");
    assert_eq!(summary["created"], 1, "{summary}");
    assert_eq!(summary["tags_added"], 2, "{summary}");
    assert_eq!(summary["tags_removed"], 0, "{summary}");
    let listed = wait_for_container(&site, "alice/quiet").await;
    assert_eq!(listed["owner"], "alice");
    assert_eq!(listed["tags"].as_array().unwrap().len(), 2, "{listed}");
    let description = &listed["labels"]["org.opencontainers.image.description"];
    assert!(
        description.as_str().unwrap().starts_with("quiet"),
        "{listed}"
    );
    let digest = listed["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "1")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // An image deleted in the registry behind the portal's back: the next sync drops its tag.
    let token: Value = http()
        .get(site.url("/v2/token?service=bioshadock-registry&scope=repository:alice/quiet:delete"))
        .basic_auth("root", Some(&admin_key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deleted = http()
        .delete(format!(
            "http://{}/v2/alice/quiet/manifests/{digest}",
            registry.host
        ))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 202);
    let summary = sync().await;
    assert_eq!(summary["tags_removed"], 1, "{summary}");
    assert_eq!(summary["created"], 0, "{summary}");
    assert_eq!(wait_for_tags(&site, "alice/quiet", 1).await, ["2"]);

    // /metrics and the admin page know when that was.
    let metrics = http()
        .get(site.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("bioshadock_registry_last_sync_timestamp_seconds"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bioshadock_registry_sync_lag_seconds"),
        "{metrics}"
    );

    drop(registry);
    server.stop();
}

#[tokio::test]
async fn a_deleted_private_container_does_not_come_back_public() {
    // No periodic run and no notifications: the catalogue learns only what the test syncs.
    let site = Site::with_registry().with_env("BIOSHADOCK__REGISTRY__SYNC_INTERVAL_SECS", "0");
    site.add_user("alice", "alice password");
    let out = site.run(&["user", "add", "root", "--admin"]);
    assert!(
        out.status.success(),
        "user add --admin: {}",
        text(&out.stderr)
    );
    let admin_key = api_key(&site, "root", "read,push");
    let server = site.serve().await;
    let registry = Registry::start_with(&site, |config| {
        let (kept, _) = config
            .split_once("notifications:")
            .expect("a notifications section");
        kept.to_owned()
    })
    .await;
    let key = api_key(&site, "alice", "read,push");
    create_container(
        &site,
        &key,
        json!({"name": "alice/secret", "visible": false}),
    )
    .await;

    let alice = Client::new();
    assert_ok(&alice.login(&registry, "alice", "alice password"), "login");
    let one = registry.image("alice/secret:1");
    let two = registry.image("alice/secret:2");
    alice.build(&one, "secret one");
    alice.build(&two, "secret two");
    assert_ok(&alice.push(&one), "push 1");
    let sync = || async {
        let response = http()
            .post(site.url("/admin/registry/sync"))
            .bearer_auth(&admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json::<Value>().await.unwrap()
    };
    let summary = sync().await;
    assert_eq!(summary["tags_added"], 1, "{summary}");
    // Tag 2 is pushed after the last sync: the catalogue does not know it.
    assert_ok(&alice.push(&two), "push 2");

    let response = api_delete(&site, &key, "/container/alice/secret").await;
    assert_eq!(
        response.status().as_u16(),
        204,
        "{:?}",
        response.text().await
    );

    // The registry lists no tag for it any more.
    let token: Value = http()
        .get(site.url("/v2/token?service=bioshadock-registry&scope=repository:alice/secret:pull"))
        .basic_auth("root", Some(&admin_key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listing = http()
        .get(format!(
            "http://{}/v2/alice/secret/tags/list",
            registry.host
        ))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let status = listing.status().as_u16();
    let body = listing.text().await.unwrap();
    assert!(
        status == 404 || (status == 200 && !body.contains("\"2\"") && !body.contains("\"1\"")),
        "the registry still lists tags: {status} {body}"
    );

    // Reconciliation does not bring it back for anyone to see.
    let summary = sync().await;
    assert_eq!(summary["created"], 0, "{summary}");
    let anonymous = http()
        .get(site.url("/container/alice/secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 404);
    let all = http()
        .get(site.url("/container/all"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!all.contains("alice/secret"), "{all}");

    // Pushed again after the deletion (the default visibility is public): it comes back
    // private, as it was when it was deleted.
    assert_ok(&alice.push(&one), "push 1 again");
    let summary = sync().await;
    assert_eq!(summary["created"], 1, "{summary}");
    let anonymous = http()
        .get(site.url("/container/alice/secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 404, "not public");
    let owner: Value = http()
        .get(site.url("/container/alice/secret"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(owner["visible"], false, "{owner}");

    drop(registry);
    server.stop();
}
