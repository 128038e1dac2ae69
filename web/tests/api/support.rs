//! The test harness: a fresh data dir, the embedded backends, the real router, and a request
//! helper. Each test builds its own `TestApp`.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bioshadock_backends::{Backends, open_backends};
use bioshadock_core::config::Config;
use bioshadock_core::{Audience, Container, RepoName, Tag, TagName, Visibility};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

pub struct TestApp {
    pub backends: Backends,
    router: Router,
    _dir: TempDir,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a JSON error with this status and code, the contract's error shape.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert!(
            self.content_type().starts_with("application/json"),
            "{}",
            self.content_type()
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let mut config = Config::load(None).unwrap();
        config.data_dir = dir.path().to_path_buf();
        let backends = open_backends(&config).await.unwrap();
        let state = bioshadock_web::AppState::new(
            backends.store.clone(),
            backends.search.clone(),
            backends.queue.clone(),
            bioshadock_web::WebSettings {
                page_size: 24,
                pull_host: "registry.example.org".into(),
                public_url: "http://portal.example.org".into(),
            },
        );
        Self {
            router: bioshadock_web::router(state),
            backends,
            _dir: dir,
        }
    }

    /// An app holding these containers, stored and indexed.
    pub async fn with(containers: Vec<Container>) -> Self {
        let app = Self::new().await;
        app.add(&containers).await;
        app
    }

    pub async fn add(&self, containers: &[Container]) {
        self.backends.store.put_many(containers).await.unwrap();
        self.backends.search.upsert(containers).await.unwrap();
    }

    pub async fn count_all(&self) -> u64 {
        self.backends
            .store
            .count(&Audience::Everyone)
            .await
            .unwrap()
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn get_accepting(&self, uri: &str, accept: &str) -> TestResponse {
        self.send(
            Request::get(uri)
                .header(header::ACCEPT, accept)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn post_json(&self, uri: &str, body: &str) -> TestResponse {
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// A fixed instant `minutes` after a base time, so tests control newest-first order.
pub fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_750_000_000_000).unwrap() + Duration::minutes(minutes)
}

/// A container with a description, updated at `at(minute)`, with a `latest` tag.
pub fn container(id: &str, visibility: Visibility, minute: i64, description: &str) -> Container {
    let id = RepoName::parse(id).unwrap();
    let mut c = Container::new(id.clone(), id.namespace(), visibility);
    c.description = description.to_owned();
    c.created_at = at(minute);
    c.updated_at = at(minute);
    c.tags = vec![tag("latest", minute)];
    c
}

pub fn tag(name: &str, minute: i64) -> Tag {
    Tag {
        name: TagName::parse(name).unwrap(),
        digest: format!("sha256:{:064x}", 4096 + minute),
        size: 123_456_789,
        platforms: vec!["linux/amd64".into()],
        pushed_at: at(minute),
    }
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn public(id: &str, minute: i64) -> Container {
    container(id, Visibility::Public, minute, &format!("{id} for tests"))
}

pub fn private(id: &str, minute: i64) -> Container {
    container(id, Visibility::Private, minute, &format!("{id} is secret"))
}

/// The `id`s of a JSON array of containers.
pub fn ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}
