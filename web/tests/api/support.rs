//! The test harness: a fresh data dir, the embedded backends, the real router, and a request
//! helper. Each test builds its own `TestApp`.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bioshadock_backends::{Backends, open_backends};
use bioshadock_core::accounts::{ApiKey, KeySecret, Role, Scopes, User, UserName, hash_password};
use bioshadock_core::config::{AnonymousAccess, Config, OrgCreation};
use bioshadock_core::{Audience, Container, RepoName, Tag, TagName, Visibility};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

pub struct TestApp {
    pub backends: Backends,
    /// The portal's state, for the service functions tests drive with a clock of their own.
    pub state: bioshadock_web::AppState,
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
        Self::with_registry(registry_auth()).await
    }

    /// An app whose registry side is `registry` (e.g. a registry URL where nothing listens).
    pub async fn with_registry(registry: bioshadock_web::RegistryAuth) -> Self {
        Self::build(registry, None, Default::default(), |_| {}, None).await
    }

    /// An app whose live logs have these bounds (short idle times, long polls, small caps).
    pub async fn with_live_log(live_log: bioshadock_web::LiveLogSettings) -> Self {
        Self::build(registry_auth(), None, live_log, |_| {}, None).await
    }

    /// An app whose coordination state (login throttling, event dedupe, locks) is `shared`,
    /// as two web processes sharing one Redis.
    pub async fn with_coordination(
        shared: std::sync::Arc<dyn bioshadock_core::ports::coordination::Coordination>,
    ) -> Self {
        Self::build(
            registry_auth(),
            Some(shared),
            Default::default(),
            |_| {},
            None,
        )
        .await
    }

    /// An app whose settings `configure` changes from the tests' defaults (the access rules,
    /// say).
    pub async fn with_settings(configure: impl FnOnce(&mut bioshadock_web::WebSettings)) -> Self {
        Self::build(registry_auth(), None, Default::default(), configure, None).await
    }

    /// An app that also signs users in through `directory`, with these settings.
    pub async fn with_directory(
        directory: bioshadock_web::DirectorySignIn,
        configure: impl FnOnce(&mut bioshadock_web::WebSettings),
    ) -> Self {
        Self::build(
            registry_auth(),
            None,
            Default::default(),
            configure,
            Some(directory),
        )
        .await
    }

    async fn build(
        registry: bioshadock_web::RegistryAuth,
        coordination: Option<
            std::sync::Arc<dyn bioshadock_core::ports::coordination::Coordination>,
        >,
        live_log: bioshadock_web::LiveLogSettings,
        configure: impl FnOnce(&mut bioshadock_web::WebSettings),
        directory: Option<bioshadock_web::DirectorySignIn>,
    ) -> Self {
        let dir = TempDir::new().unwrap();
        let mut config = Config::load(None).unwrap();
        config.data_dir = dir.path().to_path_buf();
        let mut backends = open_backends(&config).await.unwrap();
        if let Some(shared) = coordination {
            backends.coordination = shared;
        }
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
        let mut settings = bioshadock_web::WebSettings {
            page_size: 24,
            pull_host: "registry.example.org".into(),
            public_url: "http://portal.example.org".into(),
            default_public: true,
            max_pending_builds: 3,
            schedule_spread: std::time::Duration::ZERO,
            base_rebuild_fanout: 20,
            metrics_token: None,
            live_log,
            org_creation: OrgCreation::Users,
            anonymous: AnonymousAccess::Read,
            local_sign_in: true,
            webhooks_allow_private: true,
            data_dir: None,
        };
        configure(&mut settings);
        let mut state = bioshadock_web::AppState::new(ports, settings, registry);
        if let Some(directory) = directory {
            state = state.with_directory(directory);
        }
        Self {
            router: bioshadock_web::router(state.clone()),
            state,
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

    /// The app's data directory (the store, the index, the sessions).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
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

    /// The response as it starts, its body still streaming (server-sent events).
    pub async fn open(&self, request: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(request).await.unwrap()
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

/// The token service's key, certificate and settings for tests: issuer `bioshadock`, service
/// `bioshadock-registry`, notification secret `test-notification-secret`, and no registry URL
/// (images are not read back; deletions change only the catalogue).
pub fn registry_auth() -> bioshadock_web::RegistryAuth {
    use bioshadock_core::tokens::{KidStyle, SigningMaterial, TokenIssuer};
    bioshadock_web::registry::install_crypto_provider();
    let tokens = TokenIssuer::new(
        SigningMaterial::generate().unwrap(),
        "bioshadock".into(),
        "bioshadock-registry".into(),
        KidStyle::Libtrust,
        std::time::Duration::from_secs(300),
    );
    bioshadock_web::RegistryAuth {
        tokens,
        notification_secret: bioshadock_core::secret::Secret::new(
            "test-notification-secret".into(),
        ),
        registry_url: String::new(),
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

/// A request with a JSON body.
pub fn json_request(method: &str, uri: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
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

/// A browser-like client of a `TestApp`: keeps the session cookie and the page's CSRF token.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    /// The session cookie (`name=value`), once there is a session.
    pub cookie: Option<String>,
    /// The sign-in form's nonce cookie, while there is one.
    pub login_cookie: Option<String>,
    pub csrf: String,
}

impl TestApp {
    /// Creates a user with this role and password straight in the store.
    pub async fn user(&self, name: &str, role: Role, password: &str) {
        let user = User::new(UserName::parse(name).unwrap(), role);
        let hash = hash_password(password).unwrap();
        self.backends.users.create_user(&user, &hash).await.unwrap();
    }

    /// Mints an API key for `name` with these scopes (e.g. "read,push") and returns it.
    pub async fn key(&self, name: &str, scopes: &str) -> String {
        let secret = KeySecret::generate();
        let key = ApiKey {
            id: secret.id().to_owned(),
            user: UserName::parse(name).unwrap(),
            label: "test".into(),
            scopes: Scopes::parse_list(scopes).unwrap(),
            created_at: bioshadock_core::model::now(),
            expires_at: None,
            last_used_at: None,
            revoked: false,
        };
        self.backends
            .keys
            .create_key(&key, &secret.hash())
            .await
            .unwrap();
        secret.expose().to_owned()
    }

    /// Sends `request` with `Authorization: Bearer key`.
    pub async fn with_key(&self, key: &str, mut request: Request<Body>) -> TestResponse {
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {key}").parse().unwrap(),
        );
        self.send(request).await
    }

    /// A signed-in browser session for `name`.
    pub async fn login(&self, name: &str, password: &str) -> Browser<'_> {
        let mut browser = self.browser();
        let response = browser.login(name, password).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
        browser
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            cookie: None,
            login_cookie: None,
            csrf: String::new(),
        }
    }
}

impl Browser<'_> {
    /// Opens the login page and posts the form; returns the post's response.
    pub async fn login(&mut self, name: &str, password: &str) -> TestResponse {
        self.get("/login").await;
        let form = format!(
            "csrf={}&name={}&password={}&next=%2F",
            self.csrf, name, password
        );
        self.post_form("/login", &form).await
    }

    pub async fn get(&mut self, uri: &str) -> TestResponse {
        let request = Request::get(uri);
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Posts an urlencoded form as is (the caller includes `csrf=` or deliberately not).
    pub async fn post_form(&mut self, uri: &str, form: &str) -> TestResponse {
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.send(request).await
    }

    pub async fn send(&mut self, mut request: Request<Body>) -> TestResponse {
        let jar: Vec<&str> = self
            .cookie
            .iter()
            .chain(self.login_cookie.iter())
            .map(String::as_str)
            .collect();
        if !jar.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, jar.join("; ").parse().unwrap());
        }
        let response = self.app.send(request).await;
        for set in response.headers.get_all(header::SET_COOKIE) {
            let text = set.to_str().unwrap();
            let pair = text.split(';').next().unwrap().to_owned();
            let removed = text.contains("Max-Age=0");
            let slot = if pair.starts_with("bioshadock_login=") {
                &mut self.login_cookie
            } else {
                &mut self.cookie
            };
            *slot = if removed { None } else { Some(pair) };
        }
        if let Some(token) = csrf_in(&response.body) {
            self.csrf = token;
        }
        response
    }
}

/// The CSRF token of the first form in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether any file under `dir` holds `needle` (SQLite's WAL included).
pub fn stored_anywhere(dir: &std::path::Path, needle: &[u8]) -> bool {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    files
        .iter()
        .any(|file| std::fs::read(file).is_ok_and(|bytes| contains(&bytes, needle)))
}

/// The claims of a registry token (a JWT; its signature is checked in core's tests and by the
/// real registry).
pub fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
