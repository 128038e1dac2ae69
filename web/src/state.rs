//! The application state: one struct of shared handles that handlers pick from.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;
use bioshadock_core::builder_status::BuilderStatus;
use bioshadock_core::config::{AnonymousAccess, OrgCreation};
use bioshadock_core::ports::accounts::{KeyStore, UserStore};
use bioshadock_core::ports::builds::BuildStore;
use bioshadock_core::ports::coordination::Coordination;
use bioshadock_core::ports::events::EventStore;
use bioshadock_core::ports::log_wakeups::LogWakeups;
use bioshadock_core::ports::orgs::OrgStore;
use bioshadock_core::ports::queue::JobQueue;
use bioshadock_core::ports::robots::RobotStore;
use bioshadock_core::ports::rules::RuleStore;
use bioshadock_core::ports::search::SearchIndex;
use bioshadock_core::ports::store::ContainerStore;
use tower_sessions::SessionStore;

use crate::auth::KeyCache;
use crate::auth::throttle::LoginThrottle;
use crate::metrics::Metrics;
use crate::registry::{PasswordCache, RegistryAuth};

/// What the portal needs to know of the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Containers per catalogue or search page.
    pub page_size: usize,
    /// Host (and port) shown in `docker pull` lines.
    pub pull_host: String,
    /// The portal's own public URL, for absolute links and the session cookie's `Secure`.
    pub public_url: String,
    /// Whether new containers are public unless the form says otherwise.
    pub default_public: bool,
    /// Queued or running builds one user may have (`builder.max_pending_per_user`).
    pub max_pending_builds: u64,
    /// How far after its time a scheduled build may start (`builder.schedule_spread_secs`).
    pub schedule_spread: std::time::Duration,
    /// Most containers one new base image rebuilds (`builder.base_rebuild_fanout`).
    pub base_rebuild_fanout: usize,
    /// The bearer token `/metrics` requires (`web.metrics_token`); `None`: open, public
    /// figures only.
    pub metrics_token: Option<String>,
    /// The bounds of the live logs (`web.live_log_*`).
    pub live_log: LiveLogSettings,
    /// Who may create organisations (`access.org_creation`).
    pub org_creation: OrgCreation,
    /// What callers without credentials may do (`access.anonymous`).
    pub anonymous: AnonymousAccess,
    /// Whether local accounts other than administrators sign in with a password
    /// (`auth.local_sign_in`).
    pub local_sign_in: bool,
    /// Whether webhooks may point at loopback, private and link-local addresses
    /// (`webhooks.allow_private`).
    pub webhooks_allow_private: bool,
    /// `data_dir`, where `bioshadock registry-gc` records its last run (for the storage
    /// page); `None`: nowhere to look.
    pub data_dir: Option<std::path::PathBuf>,
}

/// The bounds of the live logs.
#[derive(Debug, Clone)]
pub struct LiveLogSettings {
    /// Streams open at once, in all.
    pub max_streams: usize,
    /// Streams open at once from one client address.
    pub max_streams_per_client: usize,
    /// A stream without news for this long ends.
    pub idle: std::time::Duration,
    /// A stream's look at the store (and access re-check) when no wake-up came.
    pub poll: std::time::Duration,
}

impl Default for LiveLogSettings {
    /// The defaults of `config/default.toml`.
    fn default() -> Self {
        Self {
            max_streams: 1000,
            max_streams_per_client: 20,
            idle: std::time::Duration::from_secs(300),
            poll: std::time::Duration::from_secs(3),
        }
    }
}

/// The ports the portal talks to, as the binary (or a test) opened them.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn ContainerStore>,
    pub search: Arc<dyn SearchIndex>,
    pub queue: Arc<dyn JobQueue>,
    pub builds: Arc<dyn BuildStore>,
    pub users: Arc<dyn UserStore>,
    pub keys: Arc<dyn KeyStore>,
    pub orgs: Arc<dyn OrgStore>,
    pub robots: Arc<dyn RobotStore>,
    pub rules: Arc<dyn RuleStore>,
    /// The event stream (`services::events` records into it).
    pub events: Arc<dyn EventStore>,
    /// Outgoing webhooks (`services::webhooks`, `webhooks`).
    pub webhooks: Arc<dyn bioshadock_core::ports::webhooks::WebhookStore>,
    /// Push triggers and their decision log (`services::triggers`).
    pub triggers: Arc<dyn bioshadock_core::ports::triggers::TriggerStore>,
    pub sessions: Arc<dyn SessionStore>,
    /// State shared by the web processes: login failures, event ids seen, locks.
    pub coordination: Arc<dyn Coordination>,
    /// Wake-ups of the live logs when a build's log or status changes.
    pub log_wakeups: Arc<dyn LogWakeups>,
}

/// The portal's side of the builder: how to wake an idle worker of this process when a build
/// is queued, and what the builder reports about itself.
#[derive(Clone, Default)]
pub struct BuilderLink {
    pub wake: Arc<tokio::sync::Notify>,
    pub status: Arc<BuilderStatus>,
}

/// Shared handles, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn ContainerStore>,
    pub search: Arc<dyn SearchIndex>,
    pub queue: Arc<dyn JobQueue>,
    pub builds: Arc<dyn BuildStore>,
    pub users: Arc<dyn UserStore>,
    pub keys: Arc<dyn KeyStore>,
    pub orgs: Arc<dyn OrgStore>,
    pub robots: Arc<dyn RobotStore>,
    pub rules: Arc<dyn RuleStore>,
    pub events: Arc<dyn EventStore>,
    /// Outgoing webhooks (`services::webhooks`, `webhooks`).
    pub webhooks: Arc<dyn bioshadock_core::ports::webhooks::WebhookStore>,
    /// Push triggers and their decision log (`services::triggers`).
    pub triggers: Arc<dyn bioshadock_core::ports::triggers::TriggerStore>,
    pub sessions: Arc<dyn SessionStore>,
    /// State shared by the web processes (one process's memory in embedded mode).
    pub coordination: Arc<dyn Coordination>,
    pub log_wakeups: Arc<dyn LogWakeups>,
    /// Seals webhook secrets at rest and opens them to sign.
    pub(crate) sealing: Arc<bioshadock_core::sealed::SealingKey>,
    /// The live-log streams open now, counted against `settings.live_log`'s caps.
    pub(crate) live_logs: Arc<crate::live_log::Slots>,
    pub builder: BuilderLink,
    pub settings: Arc<WebSettings>,
    pub registry: Arc<RegistryAuth>,
    /// Anonymous answers of the hottest reads; `catalogue_changed` after a write.
    pub(crate) cache: Arc<crate::cache::ReadCache>,
    pub(crate) key_cache: Arc<KeyCache>,
    /// This process's copy of the access rules.
    pub(crate) rules_cache: Arc<crate::auth::rules::RulesCache>,
    pub(crate) passwords: Arc<PasswordCache>,
    /// The LDAP directory, when one is configured.
    pub(crate) directory: Option<Arc<crate::auth::directory::Directory>>,
    /// The OpenID Connect providers (none unless configured).
    pub(crate) openid: Arc<crate::auth::openid::OpenIdProviders>,
    /// The argon2 verifiers: a bounded number at once (callers queue, not fail).
    pub(crate) verifiers: Arc<crate::auth::password_check::Verifiers>,
    /// The sign-in form's session-less CSRF token.
    pub(crate) login_csrf: Arc<crate::auth::login_csrf::LoginCsrf>,
    pub(crate) throttle: Arc<LoginThrottle>,
    pub(crate) metrics: Arc<Metrics>,
    /// Reconciliation with the registry: one run at a time, and the last success.
    pub(crate) sync: Arc<crate::registry::sync::SyncStatus>,
    /// Whether a registry front in this process counts pulls (then the notifications' pull
    /// events are not counted again).
    pub(crate) front_counts_pulls: bool,
    /// The containers that follow their base images (`services::base_rebuilds`).
    pub(crate) followers: Arc<crate::services::base_rebuilds::Followers>,
    pub(crate) started: Instant,
}

impl AppState {
    pub fn new(ports: Ports, settings: WebSettings, registry: RegistryAuth) -> Self {
        let login_csrf = crate::auth::login_csrf::LoginCsrf::new(
            registry.notification_secret.expose(),
            settings.public_url.starts_with("https://"),
        );
        let openid = crate::auth::openid::OpenIdProviders::new(
            Vec::new(),
            crate::auth::oidc_flow::FlowCookies::new(
                registry.notification_secret.expose(),
                settings.public_url.starts_with("https://"),
            ),
        );
        Self {
            store: ports.store,
            search: ports.search,
            queue: ports.queue,
            builds: ports.builds,
            builder: BuilderLink::default(),
            users: ports.users,
            keys: ports.keys,
            orgs: ports.orgs,
            robots: ports.robots,
            rules: ports.rules,
            events: ports.events,
            webhooks: ports.webhooks,
            triggers: ports.triggers,
            sealing: Arc::new(ephemeral_sealing_key()),
            rules_cache: Arc::default(),
            sessions: ports.sessions,
            throttle: Arc::new(LoginThrottle::new(ports.coordination.clone())),
            coordination: ports.coordination,
            log_wakeups: ports.log_wakeups,
            live_logs: Arc::default(),
            settings: Arc::new(settings),
            registry: Arc::new(registry),
            cache: Arc::default(),
            key_cache: Arc::default(),
            passwords: Arc::default(),
            directory: None,
            openid: Arc::new(openid),
            verifiers: Arc::default(),
            login_csrf: Arc::new(login_csrf),
            metrics: Arc::new(Metrics::new()),
            sync: Arc::default(),
            front_counts_pulls: false,
            followers: Arc::default(),
            started: Instant::now(),
        }
    }
}

impl AppState {
    /// The same state, linked to the builder running in this process.
    pub fn with_builder(mut self, builder: BuilderLink) -> Self {
        self.builder = builder;
        self
    }

    /// The same state, with these OpenID Connect providers' sign-in buttons (and their access
    /// tokens accepted as `docker login -u oauth2`).
    pub fn with_openid(mut self, providers: Vec<crate::auth::OpenIdSignIn>) -> Self {
        let cookies = crate::auth::oidc_flow::FlowCookies::new(
            self.registry.notification_secret.expose(),
            self.settings.public_url.starts_with("https://"),
        );
        self.openid = Arc::new(crate::auth::openid::OpenIdProviders::new(
            providers, cookies,
        ));
        self
    }

    /// The key webhook and build secrets are sealed with.
    pub fn sealing_key(&self) -> &bioshadock_core::sealed::SealingKey {
        &self.sealing
    }

    /// The same state, sealing webhook secrets with `key` (the installation's, under
    /// `data_dir`; without it, a key that lives as long as the process).
    pub fn with_sealing_key(mut self, key: bioshadock_core::sealed::SealingKey) -> Self {
        self.sealing = Arc::new(key);
        self
    }

    /// The same state, signing users in through `directory` too.
    pub fn with_directory(mut self, directory: crate::auth::DirectorySignIn) -> Self {
        self.directory = Some(Arc::new(crate::auth::directory::Directory::new(directory)));
        self
    }
}

/// This process's name as the holder of coordination locks (reconciliation, retention,
/// webhooks): the pid and a random part, so two processes on two hosts never share it.
pub(crate) fn lock_holder() -> &'static str {
    static HOLDER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
    });
    &HOLDER
}

/// A key for a state built without the installation's: secrets sealed under it open only in
/// this process.
fn ephemeral_sealing_key() -> bioshadock_core::sealed::SealingKey {
    let bytes: [u8; 32] = rand::random();
    bioshadock_core::sealed::SealingKey::from_bytes(&bytes).expect("32 bytes make a key")
}

impl FromRef<AppState> for Arc<dyn ContainerStore> {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

impl FromRef<AppState> for Arc<WebSettings> {
    fn from_ref(state: &AppState) -> Self {
        state.settings.clone()
    }
}
