//! `POST /registry/events`: the registry's notifications. No registry runs here, so reading
//! images back fails in the background and is only logged; these tests check what is recorded
//! before the 200.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use bioshadock_core::RepoName;
use serde_json::{Value, json};

use crate::support::*;

const SECRET: &str = "test-notification-secret";
const EVENTS_TYPE: &str = "application/vnd.docker.distribution.events.v2+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DIGEST_A: &str = "sha256:6d4f2a9b0c1e3f5a7b9c2d4e6f8a0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e1f30";
const DIGEST_B: &str = "sha256:0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e1f306d4f2a9b0c1e3f5a7b9c2d4e6f8a";

/// One event as Distribution 2.8 writes it.
struct Event<'a> {
    id: &'a str,
    action: &'a str,
    media_type: &'a str,
    repository: &'a str,
    tag: Option<&'a str>,
    digest: &'a str,
    method: &'a str,
    actor: &'a str,
}

impl<'a> Event<'a> {
    /// `docker push repository:tag` by `actor` (the manifest PUT).
    fn push(id: &'a str, repository: &'a str, tag: &'a str, actor: &'a str) -> Self {
        Self {
            id,
            action: "push",
            media_type: DOCKER_MANIFEST,
            repository,
            tag: Some(tag),
            digest: DIGEST_A,
            method: "PUT",
            actor,
        }
    }

    /// A manifest GET by digest, as a pull resolves it.
    fn pull(id: &'a str, repository: &'a str) -> Self {
        Self {
            action: "pull",
            tag: None,
            method: "GET",
            ..Self::push(id, repository, "", "alice")
        }
    }

    fn json(&self) -> Value {
        let reference = self.tag.unwrap_or(self.digest);
        let mut target = json!({
            "mediaType": self.media_type,
            "size": 1570,
            "digest": self.digest,
            "length": 1570,
            "repository": self.repository,
            "url": format!(
                "http://registry.example.org:5000/v2/{}/manifests/{reference}",
                self.repository
            ),
        });
        if let Some(tag) = self.tag {
            target["tag"] = json!(tag);
        }
        json!({
            "id": self.id,
            "timestamp": "2025-07-01T10:20:30.123456789Z",
            "action": self.action,
            "target": target,
            "request": {
                "id": "a1b2c3d4-0000-4000-8000-000000000001",
                "addr": "10.0.0.5:51234",
                "host": "registry.example.org:5000",
                "method": self.method,
                "useragent": "docker/20.10.24+dfsg1 go/go1.19.8 git-commit/5d6db84 \
                              kernel/6.1.0-18-amd64 os/linux arch/amd64"
            },
            "actor": {"name": self.actor},
            "source": {
                "addr": "registry:5000",
                "instanceID": "f3a7e2c1-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
            }
        })
    }
}

fn envelope(events: &[Event<'_>]) -> String {
    json!({"events": events.iter().map(Event::json).collect::<Vec<_>>()}).to_string()
}

impl TestApp {
    async fn notify_with(&self, authorization: Option<&str>, body: String) -> TestResponse {
        let mut request =
            Request::post("/registry/events").header(header::CONTENT_TYPE, EVENTS_TYPE);
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Delivers events as the registry does; asserts the 200 and returns the receipt.
    async fn notify(&self, events: &[Event<'_>]) -> Value {
        let response = self
            .notify_with(Some(&format!("Bearer {SECRET}")), envelope(events))
            .await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.json()
    }

    async fn container_json(&self, id: &str) -> Value {
        let response = self.get(&format!("/container/{id}")).await;
        assert_eq!(response.status, 200, "{id}: {}", response.body);
        response.json()
    }

    async fn pulls(&self, id: &str) -> u64 {
        self.container_json(id).await["pulls"].as_u64().unwrap()
    }

    async fn tag_names(&self, id: &str) -> Vec<String> {
        let response = self.get(&format!("/container/tags/{id}")).await;
        assert_eq!(response.status, 200, "{}", response.body);
        response
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn a_missing_or_wrong_secret_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let body = envelope(&[Event::push("e1", "alice/tool", "1.0", "alice")]);
    for authorization in [
        None,
        Some("Bearer wrong-secret"),
        Some("Bearer "),
        Some("test-notification-secret"),
        Some("Basic dGVzdC1ub3RpZmljYXRpb24tc2VjcmV0"),
        Some("Bearer test-notification-secret-and-more"),
    ] {
        let response = app.notify_with(authorization, body.clone()).await;
        response.assert_error(401, "unauthorized");
    }
    assert_eq!(app.count_all().await, 0);

    // The refused deliveries did not mark the event as seen: the registry's retry applies.
    let receipt = app
        .notify(&[Event::push("e1", "alice/tool", "1.0", "alice")])
        .await;
    assert_eq!(receipt["applied"], 1, "{receipt}");
    assert_eq!(app.count_all().await, 1);
}

#[tokio::test]
async fn a_tagged_push_creates_the_container_and_its_tag() {
    let app = TestApp::new().await;
    let receipt = app
        .notify(&[Event::push("e1", "alice/tool", "1.0", "alice")])
        .await;
    assert_eq!(
        receipt,
        json!({"received": 1, "applied": 1, "duplicates": 0, "ignored": 0})
    );

    let container = app.container_json("alice/tool").await;
    assert_eq!(container["owner"], "alice");
    assert_eq!(
        container["visibility"], "public",
        "the configured default visibility"
    );
    assert_eq!(container["description"], "");
    let tags = app.get("/container/tags/alice/tool").await.json();
    assert_eq!(tags, container["tags"]);
    let tag = &tags[0];
    assert_eq!(tag["name"], "1.0");
    assert_eq!(tag["digest"], DIGEST_A);
    assert_eq!(
        tag["size"], 1570,
        "the manifest's size until the image is read back"
    );
    assert_eq!(tag["platforms"], json!([]));
    assert!(
        tag["pushed_at"]
            .as_str()
            .unwrap()
            .starts_with("2025-07-01T10:20:30.123"),
        "{tag}"
    );
}

#[tokio::test]
async fn a_push_owner_follows_the_namespace_rules() {
    let app = TestApp::new().await;
    app.notify(&[
        Event::push("e1", "library/blast", "2.15", "alice"),
        Event::push("e2", "lab/aligner", "1", "bob"),
        Event::push("e3", "carol/tool", "1", "Not A User Name"),
    ])
    .await;
    assert_eq!(
        app.container_json("library/blast").await["owner"],
        "alice",
        "library: the pusher"
    );
    assert_eq!(
        app.container_json("lab/aligner").await["owner"],
        "lab",
        "the namespace"
    );
    assert_eq!(
        app.container_json("carol/tool").await["owner"],
        "carol",
        "no usable actor"
    );
}

#[tokio::test]
async fn a_push_into_an_existing_container_adds_a_tag_and_keeps_its_settings() {
    let app = TestApp::with(vec![private("lab/tool", 1)]).await;
    let before = app
        .backends
        .store
        .get(&RepoName::parse("lab/tool").unwrap())
        .await
        .unwrap();
    app.notify(&[Event::push("e1", "lab/tool", "2.0", "bob")])
        .await;
    let after = app.backends.store.get(&before.id).await.unwrap();
    assert_eq!(after.owner, before.owner);
    assert_eq!(after.description, before.description);
    assert_eq!(after.visibility, before.visibility);
    let names: Vec<&str> = after.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["2.0", "latest"], "newest first");
}

#[tokio::test]
async fn redelivered_events_are_applied_once() {
    let app = TestApp::with(vec![public("lab/tool", 1)]).await;
    let receipt = app
        .notify(&[
            Event::pull("p1", "lab/tool"),
            Event::pull("p1", "lab/tool"),
            Event::pull("p2", "lab/tool"),
        ])
        .await;
    assert_eq!(receipt["applied"], 2, "{receipt}");
    assert_eq!(receipt["duplicates"], 1, "{receipt}");
    let receipt = app
        .notify(&[Event::pull("p1", "lab/tool"), Event::pull("p2", "lab/tool")])
        .await;
    assert_eq!(receipt["duplicates"], 2, "{receipt}");
    assert_eq!(app.pulls("lab/tool").await, 2);
}

#[tokio::test]
async fn only_manifest_events_are_kept() {
    let app = TestApp::new().await;
    let layer = Event {
        media_type: "application/octet-stream",
        tag: None,
        ..Event::push("b1", "alice/tool", "", "alice")
    };
    let config = Event {
        media_type: "application/vnd.oci.image.config.v1+json",
        tag: None,
        ..Event::push("b2", "alice/tool", "", "alice")
    };
    let layer_with_tag = Event {
        media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip",
        ..Event::push("b3", "alice/tool", "1.0", "alice")
    };
    let mount = Event {
        action: "mount",
        media_type: "application/octet-stream",
        tag: None,
        ..Event::push("b4", "alice/tool", "", "alice")
    };
    // A platform's manifest inside an index is pushed by digest, without a tag.
    let child = Event {
        media_type: OCI_MANIFEST,
        tag: None,
        ..Event::push("m1", "alice/tool", "", "alice")
    };
    let receipt = app
        .notify(&[layer, config, layer_with_tag, mount, child])
        .await;
    assert_eq!(receipt["ignored"], 5, "{receipt}");
    assert_eq!(app.count_all().await, 0);

    let index = Event {
        media_type: OCI_INDEX,
        digest: DIGEST_B,
        ..Event::push("m2", "alice/tool", "1.0", "alice")
    };
    let receipt = app.notify(&[index]).await;
    assert_eq!(receipt["applied"], 1, "{receipt}");
    let tags = app.get("/container/tags/alice/tool").await.json();
    assert_eq!(tags[0]["digest"], DIGEST_B, "an OCI index push is recorded");
}

#[tokio::test]
async fn pulls_count_manifest_gets_not_heads() {
    let app = TestApp::with(vec![public("lab/tool", 1)]).await;
    let head = Event {
        method: "HEAD",
        tag: Some("latest"),
        ..Event::pull("p1", "lab/tool")
    };
    app.notify(&[head]).await;
    assert_eq!(app.pulls("lab/tool").await, 0, "HEAD only resolves the tag");

    app.notify(&[Event::pull("p2", "lab/tool")]).await;
    assert_eq!(app.pulls("lab/tool").await, 1, "GET of the manifest");

    // The portal reading a pushed image back (for its labels) is nobody's pull.
    let own_read = Event {
        actor: "bioshadock-portal",
        ..Event::pull("p2b", "lab/tool")
    };
    app.notify(&[own_read]).await;
    assert_eq!(app.pulls("lab/tool").await, 1, "the portal's own read");

    // A multi-platform pull: the index, then one platform's manifest. Counted once.
    let index = Event {
        media_type: OCI_INDEX,
        ..Event::pull("p3", "lab/tool")
    };
    let platform = Event {
        media_type: OCI_MANIFEST,
        ..Event::pull("p4", "lab/tool")
    };
    app.notify(&[index, platform]).await;
    assert_eq!(app.pulls("lab/tool").await, 2);

    // A pull of a repository the catalogue does not know is not an error.
    let receipt = app.notify(&[Event::pull("p5", "lab/unknown")]).await;
    assert_eq!(receipt["applied"], 1, "{receipt}");
    assert_eq!(app.count_all().await, 1);
}

#[tokio::test]
async fn deletes_remove_tags_by_tag_and_by_digest() {
    let app = TestApp::new().await;
    let pushed = |id, tag, digest| Event {
        digest,
        ..Event::push(id, "lab/tool", tag, "lab")
    };
    app.notify(&[
        pushed("e1", "1.0", DIGEST_A),
        pushed("e2", "2.0", DIGEST_B),
        pushed("e3", "latest", DIGEST_B),
    ])
    .await;
    assert_eq!(app.tag_names("lab/tool").await, ["1.0", "2.0", "latest"]);

    // Delete events carry partial targets: no media type, a tag or a digest.
    let by_tag = json!({"events": [{
        "id": "d1", "timestamp": "2025-06-15T11:00:00Z", "action": "delete",
        "target": {"repository": "lab/tool", "tag": "1.0"},
        "request": {"id": "r", "addr": "10.0.0.5:1", "host": "registry", "method": "DELETE",
                    "useragent": "curl/7.88.1"},
        "actor": {"name": "lab"}, "source": {"addr": "registry:5000", "instanceID": "i"}
    }]});
    let response = app
        .notify_with(Some(&format!("Bearer {SECRET}")), by_tag.to_string())
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(app.tag_names("lab/tool").await, ["2.0", "latest"]);

    let by_digest = json!({"events": [{
        "id": "d2", "timestamp": "2025-06-15T11:00:00Z", "action": "delete",
        "target": {"repository": "lab/tool", "digest": DIGEST_B},
        "request": {"method": "DELETE"}, "actor": {"name": "lab"}
    }, {
        "id": "d3", "timestamp": "2025-06-15T11:00:00Z", "action": "delete",
        "target": {"repository": "lab/gone", "digest": DIGEST_B},
        "request": {"method": "DELETE"}, "actor": {"name": "lab"}
    }]});
    let response = app
        .notify_with(Some(&format!("Bearer {SECRET}")), by_digest.to_string())
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        app.tag_names("lab/tool").await.is_empty(),
        "every tag of that digest"
    );
    assert_eq!(app.count_all().await, 1, "the container stays");
}

#[tokio::test]
async fn malformed_bodies_are_refused_and_odd_events_skipped() {
    let app = TestApp::new().await;
    let auth = format!("Bearer {SECRET}");
    for body in [
        "{\"events\": [",
        "not json",
        "{\"events\": \"many\"}",
        "{}",
        "",
    ] {
        let response = app.notify_with(Some(&auth), body.to_owned()).await;
        response.assert_error(400, "bad_request");
    }
    let odd = json!({"events": [42, {"id": "x", "action": "push", "target": {"size": "big"}},
                                 Event::push("e1", "alice/tool", "1.0", "alice").json()]});
    let response = app.notify_with(Some(&auth), odd.to_string()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["ignored"], 2);
    assert_eq!(response.json()["applied"], 1);
}

#[tokio::test]
async fn pushes_to_names_that_are_not_container_ids_are_ignored() {
    let app = TestApp::new().await;
    let receipt = app
        .notify(&[
            Event::push("e1", "alpine", "3.20", "alice"),
            Event::push("e2", "lab/tools/samtools", "1.19", "alice"),
            Event::push("e3", "v2/tool", "1", "alice"),
            Event::push("e4", "lab/tool", "-bad-tag", "alice"),
        ])
        .await;
    assert_eq!(receipt["ignored"], 4, "{receipt}");
    assert_eq!(app.count_all().await, 0);
}

#[tokio::test]
async fn a_pushed_container_reaches_search_and_metrics() {
    let app = TestApp::new().await;
    app.notify(&[Event::push("e1", "alice/tool", "1.0", "alice")])
        .await;
    // The worker reindexes even though it cannot read the image from the (absent) registry.
    let mut indexed = 0;
    for _ in 0..100 {
        indexed = app.backends.search.doc_count().await.unwrap();
        if indexed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(indexed, 1, "the new container is indexed in the background");

    let metrics = app.get("/metrics").await.body;
    assert!(
        metrics.contains(r#"bioshadock_registry_events_total{outcome="applied"} 1"#),
        "{metrics}"
    );
}

/// A registry stand-in serving one multi-platform image, recording what the portal sent.
mod fake_registry {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::get;
    use serde_json::json;
    use sha2::{Digest as _, Sha256};

    pub struct Image {
        pub index_digest: String,
        /// config + layers of the linux/amd64 image.
        pub amd64_size: u64,
    }

    #[derive(Clone, Default)]
    pub struct Seen(pub Arc<Mutex<Vec<(String, String, String)>>>);

    type Blobs = Arc<HashMap<String, (&'static str, Vec<u8>)>>;

    fn add(
        blobs: &mut HashMap<String, (&'static str, Vec<u8>)>,
        kind: &'static str,
        body: &serde_json::Value,
    ) -> (String, u64) {
        let bytes = serde_json::to_vec(body).unwrap();
        let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
        let size = bytes.len() as u64;
        blobs.insert(digest.clone(), (kind, bytes));
        (digest, size)
    }

    /// Starts the registry on port 0; returns its URL, the image and the request log.
    pub async fn start() -> (String, Image, Seen) {
        let mut blobs = HashMap::new();
        let config = json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Labels": {
                "org.opencontainers.image.description": "Aligns reads",
                "org.opencontainers.image.version": "2.2.1"
            }},
            "rootfs": {"type": "layers", "diff_ids": []}
        });
        let (config_digest, config_size) = add(
            &mut blobs,
            "application/vnd.oci.image.config.v1+json",
            &config,
        );
        let amd64 = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_size},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                 "digest": format!("sha256:{:064x}", 1), "size": 31_000_000},
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                 "digest": format!("sha256:{:064x}", 2), "size": 4_500}
            ]
        });
        let (amd64_digest, amd64_manifest_size) = add(
            &mut blobs,
            "application/vnd.oci.image.manifest.v1+json",
            &amd64,
        );
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "digest": format!("sha256:{:064x}", 3), "size": 900,
                 "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "digest": amd64_digest, "size": amd64_manifest_size,
                 "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "digest": format!("sha256:{:064x}", 4), "size": 500,
                 "platform": {"architecture": "unknown", "os": "unknown"}}
            ]
        });
        let (index_digest, _) = add(
            &mut blobs,
            "application/vnd.oci.image.index.v1+json",
            &index,
        );
        let seen = Seen::default();
        let app = Router::new()
            .route("/v2/{ns}/{name}/manifests/{reference}", get(manifest))
            .route("/v2/{ns}/{name}/blobs/{digest}", get(blob))
            .route("/storage/{digest}", get(storage))
            .with_state((Arc::new(blobs), seen.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let image = Image {
            index_digest,
            amd64_size: config_size + 31_000_000 + 4_500,
        };
        (url, image, seen)
    }

    fn header_of(headers: &HeaderMap, name: header::HeaderName) -> String {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    async fn manifest(
        State((blobs, seen)): State<(Blobs, Seen)>,
        Path((ns, name, reference)): Path<(String, String, String)>,
        headers: HeaderMap,
    ) -> Response {
        seen.0.lock().unwrap().push((
            format!("{ns}/{name} manifest {reference}"),
            header_of(&headers, header::AUTHORIZATION),
            header_of(&headers, header::ACCEPT),
        ));
        match blobs.get(&reference) {
            Some((kind, bytes)) => ([(header::CONTENT_TYPE, *kind)], bytes.clone()).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }

    /// Blobs live in "storage", as with S3: the registry redirects.
    async fn blob(Path((_, _, digest)): Path<(String, String, String)>) -> Redirect {
        Redirect::temporary(&format!("/storage/{digest}"))
    }

    async fn storage(
        State((blobs, _)): State<(Blobs, Seen)>,
        Path(digest): Path<String>,
    ) -> Response {
        match blobs.get(&digest) {
            Some((_, bytes)) => bytes.clone().into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

#[tokio::test]
async fn the_worker_reads_a_pushed_index_back_from_the_registry() {
    use axum::http::StatusCode;
    use bioshadock_backends::open_backends;
    use bioshadock_core::config::Config;
    use tower::ServiceExt;

    let (url, image, seen) = fake_registry::start().await;
    let dir = tempfile::TempDir::new().unwrap();
    let mut config = Config::load(None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    let backends = open_backends(&config).await.unwrap();
    let ports = bioshadock_web::Ports {
        store: backends.store.clone(),
        search: backends.search.clone(),
        queue: backends.queue.clone(),
        builds: backends.builds.clone(),
        users: backends.users.clone(),
        orgs: backends.orgs.clone(),
        robots: backends.robots.clone(),
        rules: backends.rules.clone(),
        events: backends.events.clone(),
        webhooks: backends.webhooks.clone(),
        triggers: backends.triggers.clone(),
        keys: backends.keys.clone(),
        sessions: backends.sessions.clone(),
        coordination: backends.coordination.clone(),
        log_wakeups: backends.log_wakeups.clone(),
    };
    let settings = bioshadock_web::WebSettings {
        page_size: 24,
        pull_host: "registry.example.org".into(),
        public_url: "http://portal.example.org".into(),
        default_public: false,
        max_pending_builds: 3,
        schedule_spread: std::time::Duration::ZERO,
        base_rebuild_fanout: 20,
        metrics_token: None,
        live_log: Default::default(),
        org_creation: bioshadock_core::config::OrgCreation::Users,
        anonymous: bioshadock_core::config::AnonymousAccess::Read,
        local_sign_in: true,
        webhooks_allow_private: false,
        data_dir: None,
    };
    let mut registry = registry_auth();
    registry.registry_url = url;
    let router = bioshadock_web::router(bioshadock_web::AppState::new(ports, settings, registry));

    let push = Event {
        media_type: OCI_INDEX,
        digest: &image.index_digest,
        ..Event::push("e1", "lab/bwa", "2.2.1", "alice")
    };
    let request = Request::post("/registry/events")
        .header(header::CONTENT_TYPE, EVENTS_TYPE)
        .header(header::AUTHORIZATION, format!("Bearer {SECRET}"))
        .body(Body::from(envelope(&[push])))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let id = RepoName::parse("lab/bwa").unwrap();
    let container = backends.store.get(&id).await.unwrap();
    assert!(
        !container.visibility.is_public(),
        "the configured default visibility"
    );

    let mut container = container;
    for _ in 0..100 {
        container = backends.store.get(&id).await.unwrap();
        if !container.tags[0].platforms.is_empty() && !container.labels.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tag = &container.tags[0];
    assert_eq!(tag.digest, image.index_digest);
    assert_eq!(tag.platforms, ["linux/arm64/v8", "linux/amd64"]);
    assert_eq!(
        tag.size, image.amd64_size,
        "config and layers of linux/amd64"
    );
    assert_eq!(
        container
            .labels
            .get("org.opencontainers.image.version")
            .map(String::as_str),
        Some("2.2.1")
    );

    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        2,
        "the index, then the linux/amd64 manifest: {seen:?}"
    );
    for (what, authorization, accept) in &seen {
        assert!(
            authorization.starts_with("Bearer ey"),
            "{what}: {authorization}"
        );
        for media_type in [
            DOCKER_MANIFEST,
            OCI_MANIFEST,
            OCI_INDEX,
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ] {
            assert!(accept.contains(media_type), "{what}: Accept {accept}");
        }
    }
    for _ in 0..100 {
        if backends.search.doc_count().await.unwrap() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hits = backends.search.doc_count().await.unwrap();
    assert_eq!(hits, 1, "reindexed after reading the image");
}

#[tokio::test]
async fn a_push_shows_at_once_to_anonymous_callers() {
    let app = TestApp::with(vec![public("lab/old", 1)]).await;
    for _ in 0..2 {
        assert_eq!(ids(&app.get("/container/latest").await.json()), ["lab/old"]);
    }
    app.notify(&[Event::push("e1", "alice/tool", "1.0", "alice")])
        .await;
    assert_eq!(
        ids(&app.get("/container/latest").await.json()),
        ["alice/tool", "lab/old"],
        "not the cached answer from before the push"
    );
}
