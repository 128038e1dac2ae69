//! Configuration: built-in defaults (`config/default.toml`) <- `--config FILE` <- environment
//! `BIOSHADOCK__SECTION__KEY`. Unknown keys and bad values are errors that name the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

mod auth;
pub use auth::{AuthConfig, LdapConfig, OidcConfig, TeamMappingConfig};

/// The documented defaults, compiled in so the binary runs with no file at all.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");
/// Environment variables with this prefix override configuration keys.
pub const ENV_PREFIX: &str = "BIOSHADOCK__";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub web: WebConfig,
    pub registry: RegistryConfig,
    pub storage: StorageConfig,
    pub search: SearchConfig,
    pub queue: QueueConfig,
    pub builder: BuilderConfig,
    pub access: AccessConfig,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    pub retention: RetentionConfig,
    pub webhooks: WebhooksConfig,
}

/// Tag retention (`[retention]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Seconds between runs of every retention policy; 0: only on demand.
    pub interval_secs: u64,
}

/// Outgoing webhooks (`[webhooks]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Whether hooks may point at loopback, link-local and private addresses (a lab's own
    /// chat server, the tests); refused by default, so a hook cannot probe the local network.
    pub allow_private: bool,
}

/// The audit log (`[audit]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Days an event is kept; 0 keeps them all.
    pub retention_days: u64,
}

/// Who may do what beyond the built-in rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// Who may create organisations.
    pub org_creation: OrgCreation,
    /// What callers who present no credentials may do.
    pub anonymous: AnonymousAccess,
}

/// What anonymous callers may do (`access.anonymous`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnonymousAccess {
    /// See and pull public containers.
    #[default]
    Read,
    /// Nothing: a private installation where everyone signs in.
    None,
}

/// Who may create organisations (`access.org_creation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgCreation {
    /// Any signed-in user.
    Users,
    /// Administrators only (and `bioshadock org add`).
    Admins,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub listen: SocketAddr,
    pub public_url: String,
    pub page_size: usize,
    /// Visibility of new containers (created in the portal or by a first push) unless the
    /// creator says otherwise.
    pub default_visibility: crate::model::Visibility,
    /// A bearer token that `/metrics` requires when set (then it counts private containers
    /// too); empty: `/metrics` is open and counts public containers only.
    #[serde(default)]
    pub metrics_token: Secret<String>,
    /// Live-log streams (`GET /build/{build}/events`) open at once, in all.
    pub live_log_max_streams: usize,
    /// Live-log streams open at once from one client address.
    pub live_log_max_streams_per_client: usize,
    /// Seconds a live-log stream may go without news before it ends (the browser resumes it).
    pub live_log_idle_secs: u64,
    /// Seconds between a live-log stream's looks at the store when no wake-up came; also how
    /// often it re-checks that the caller may still see the build.
    pub live_log_poll_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    pub url: String,
    pub service: String,
    pub issuer: String,
    pub pull_host: String,
    /// The `kid` of issued tokens: the libtrust id (Distribution 2.x) or the RFC 7638
    /// thumbprint (Distribution 3 without `x5c` support).
    pub token_kid: crate::tokens::KidStyle,
    /// Lifetime of an issued registry token, 60-3600 seconds.
    pub token_ttl_secs: u64,
    /// Seconds between reconciliations of the catalogue with the registry's own listing
    /// (notifications can be lost); 0 disables them.
    pub sync_interval_secs: u64,
    /// The shared secret the registry sends with its notifications. Empty: generated once
    /// under `data_dir` and printed by `bioshadock registry-config`.
    #[serde(default)]
    pub notification_secret: Secret<String>,
    /// Where the registry front listens (the registry host users push to), forwarding to the
    /// registry at `url`; empty: no front (unless `serve` spawns the registry).
    pub front_listen: String,
    /// Whether `serve` starts a Distribution registry of its own.
    pub spawn: Spawn,
    /// The Distribution binary to spawn; empty: `docker-registry` (Debian), else `registry`,
    /// on PATH.
    pub binary: String,
}

/// Whether `serve` starts the registry (`registry.spawn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SpawnValue", into = "SpawnValue")]
pub enum Spawn {
    /// When a Distribution binary is found and `registry.url` is left at its default.
    Auto,
    Always,
    Never,
}

/// `registry.spawn` as written: `"auto"`, or a boolean (which an environment variable gives
/// as a string).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum SpawnValue {
    Flag(bool),
    Word(String),
}

impl TryFrom<SpawnValue> for Spawn {
    type Error = String;

    fn try_from(value: SpawnValue) -> Result<Self, String> {
        match value {
            SpawnValue::Flag(true) => Ok(Self::Always),
            SpawnValue::Flag(false) => Ok(Self::Never),
            SpawnValue::Word(word) => match word.as_str() {
                "auto" => Ok(Self::Auto),
                "true" => Ok(Self::Always),
                "false" => Ok(Self::Never),
                other => Err(format!("`{other}` is not one of \"auto\", true or false")),
            },
        }
    }
}

impl From<Spawn> for SpawnValue {
    fn from(spawn: Spawn) -> Self {
        match spawn {
            Spawn::Auto => Self::Word("auto".into()),
            Spawn::Always => Self::Flag(true),
            Spawn::Never => Self::Flag(false),
        }
    }
}

/// `registry.url`'s default: a registry on this machine's port 5000.
pub const DEFAULT_REGISTRY_URL: &str = "http://127.0.0.1:5000";

impl RegistryConfig {
    /// The front's address, when `registry.front_listen` is set (checked at load).
    pub fn front_listen(&self) -> Option<SocketAddr> {
        self.front_listen.trim().parse().ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Embedded,
    Mongodb,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub backend: StorageBackend,
    #[serde(default)]
    pub mongodb_url: Option<Secret<String>>,
    /// Create the MongoDB indexes at start-up (off where a DBA manages them).
    pub mongodb_create_indexes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchBackend {
    Embedded,
    Elasticsearch,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    pub backend: SearchBackend,
    #[serde(default)]
    pub elasticsearch_url: Option<Secret<String>>,
    /// The Elasticsearch index holding the catalogue.
    pub elasticsearch_index: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueBackend {
    Embedded,
    Redis,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub backend: QueueBackend,
    #[serde(default)]
    pub redis_url: Option<Secret<String>>,
    /// Prefix of every Redis key (several installations may share one Redis).
    pub redis_prefix: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuilderConfig {
    pub concurrency: u32,
    pub timeout_secs: u64,
    /// On shutdown, how long running builds may go on before they are stopped and marked
    /// interrupted.
    pub shutdown_grace_secs: u64,
    /// Queued or running builds one user may have; more are refused with 429.
    pub max_pending_per_user: u64,
    /// Memory limit of build and smoke-test containers in MiB; 0 for none.
    pub memory_mb: u64,
    /// CPU limit of build and smoke-test containers (e.g. 1.5); 0 for none.
    pub cpus: f64,
    /// Network of build steps: `default` (the engine's bridge), `none`, `host`, or a network
    /// name. Smoke tests always run with no network.
    pub network: String,
    /// Whether builds pull newer base images (`docker build --pull`).
    pub pull: bool,
    /// Largest build context (the cloned sub-directory) in MiB; also the most a checkout may
    /// write.
    pub max_context_mb: u64,
    /// Most files (and symlinks) a build's checkout may hold.
    pub max_context_files: u64,
    /// Whether descriptor URLs may resolve to loopback, private or link-local addresses.
    pub descriptor_private_urls: bool,
    /// Cache images kept on the engine (each container's last successful image, whose layers
    /// the next build reuses), in MiB; beyond it the least recently built go. 0 keeps none.
    pub cache_mb: u64,
    /// Every build starts cold, reusing no layer of an earlier build.
    pub no_cache: bool,
    /// A scheduled build starts within this many seconds after its time, each container at
    /// its own offset.
    pub schedule_spread_secs: u64,
    /// Most containers one new base image rebuilds.
    pub base_rebuild_fanout: u32,
}

/// Where a listener on `address` is reached from this machine: the address itself, or
/// loopback at its port when it listens on every interface (`0.0.0.0`, `::`).
pub fn reachable_locally(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), address.port())
    } else {
        address
    }
}

/// `host[:port]` of an http(s) URL.
fn host_and_port(url: &str) -> &str {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    without_scheme.split('/').next().unwrap_or_default()
}

/// A configuration that cannot be used, with a message that names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl Config {
    /// What goes before the image name in `docker pull HOST/ns/name:tag`: `registry.pull_host`,
    /// else the front's address (with the public URL's host when the front listens on every
    /// interface), else `registry.url`'s host and port.
    pub fn pull_host(&self) -> String {
        let registry = &self.registry;
        if !registry.pull_host.is_empty() {
            return registry.pull_host.clone();
        }
        if let Some(front) = registry.front_listen() {
            if !front.ip().is_unspecified() {
                return front.to_string();
            }
            let public_host = host_and_port(&self.web.public_url)
                .rsplit_once(':')
                .map_or(host_and_port(&self.web.public_url), |(host, _)| host);
            return format!("{public_host}:{}", front.port());
        }
        host_and_port(&registry.url).to_owned()
    }

    /// Loads defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    /// The layered sources, before extraction (tests use it with a fake environment).
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment.merge(Env::prefixed(ENV_PREFIX).split("__"))
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(|e| ConfigError(describe(e)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("`{key}`: {why}")));
        for (key, url) in [
            ("web.public_url", &self.web.public_url),
            ("registry.url", &self.registry.url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(key, "must be an http:// or https:// URL");
            }
        }
        let front = self.registry.front_listen.trim();
        if !front.is_empty() && front.parse::<SocketAddr>().is_err() {
            return bad(
                "registry.front_listen",
                "must be empty (no front) or an address and port such as 0.0.0.0:5000",
            );
        }
        if !front.is_empty() && !self.registry.url.starts_with("http://") {
            return bad(
                "registry.url",
                "the front forwards to the registry over plain HTTP on a private address: \
                 it must be an http:// URL when registry.front_listen is set",
            );
        }
        if self.audit.retention_days > 36_500 {
            return bad(
                "audit.retention_days",
                "must be 0 (keep everything) or at most 36500 (a hundred years)",
            );
        }
        let retention = self.retention.interval_secs;
        if retention != 0 && !(10..=30 * 86_400).contains(&retention) {
            return bad(
                "retention.interval_secs",
                "must be 0 (on demand only) or between 10 and 2592000 (30 days)",
            );
        }
        if !(60..=3600).contains(&self.registry.token_ttl_secs) {
            return bad("registry.token_ttl_secs", "must be between 60 and 3600");
        }
        let sync = self.registry.sync_interval_secs;
        if sync != 0 && !(10..=7 * 86_400).contains(&sync) {
            return bad(
                "registry.sync_interval_secs",
                "must be 0 (off) or between 10 and 604800 (a week)",
            );
        }
        let metrics_token = self.web.metrics_token.expose();
        if !metrics_token.is_empty()
            && (metrics_token.len() < 16 || !metrics_token.chars().all(|c| c.is_ascii_graphic()))
        {
            return bad(
                "web.metrics_token",
                "must be empty or at least 16 printable characters without spaces",
            );
        }
        if !(1..=100).contains(&self.web.page_size) {
            return bad("web.page_size", "must be between 1 and 100");
        }
        if !(1..=100_000).contains(&self.web.live_log_max_streams) {
            return bad("web.live_log_max_streams", "must be between 1 and 100000");
        }
        let per_client = self.web.live_log_max_streams_per_client;
        if !(1..=self.web.live_log_max_streams).contains(&per_client) {
            return bad(
                "web.live_log_max_streams_per_client",
                "must be between 1 and web.live_log_max_streams",
            );
        }
        if !(1..=86_400).contains(&self.web.live_log_idle_secs) {
            return bad("web.live_log_idle_secs", "must be between 1 and 86400");
        }
        if !(1..=3600).contains(&self.web.live_log_poll_secs) {
            return bad("web.live_log_poll_secs", "must be between 1 and 3600");
        }
        if !(1..=64).contains(&self.builder.concurrency) {
            return bad("builder.concurrency", "must be between 1 and 64");
        }
        if self.builder.timeout_secs == 0 {
            return bad("builder.timeout_secs", "must be at least 1");
        }
        if !(1..=1000).contains(&self.builder.max_pending_per_user) {
            return bad("builder.max_pending_per_user", "must be between 1 and 1000");
        }
        if !(self.builder.cpus >= 0.0 && self.builder.cpus <= 1024.0) {
            return bad(
                "builder.cpus",
                "must be 0 (no limit) or a positive number of CPUs",
            );
        }
        if self.builder.base_rebuild_fanout > 1000 {
            return bad("builder.base_rebuild_fanout", "must be at most 1000");
        }
        if self.builder.schedule_spread_secs > 86_400 {
            return bad(
                "builder.schedule_spread_secs",
                "must be at most 86400 (a day)",
            );
        }
        if self.builder.max_context_mb == 0 {
            return bad("builder.max_context_mb", "must be at least 1");
        }
        if self.builder.max_context_files == 0 {
            return bad("builder.max_context_files", "must be at least 1");
        }
        let network = self.builder.network.as_str();
        if network.is_empty()
            || !network
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return bad(
                "builder.network",
                "must be `default`, `none`, `host` or a Docker network name",
            );
        }
        for (key, value) in [
            ("registry.service", &self.registry.service),
            ("registry.issuer", &self.registry.issuer),
        ] {
            if value.trim().is_empty() {
                return bad(key, "must not be empty");
            }
        }
        if let Some((key, why)) = self.auth.ldap.as_ref().and_then(LdapConfig::problem) {
            return bad(key, &why);
        }
        if let Some(why) = self.auth.oidc.iter().find_map(OidcConfig::problem) {
            return bad("auth.oidc", &why);
        }
        let mut ids: Vec<&str> = self.auth.oidc.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(twice) = ids.windows(2).find(|w| w[0] == w[1]) {
            return bad(
                "auth.oidc",
                &format!("two providers have the id `{}`", twice[0]),
            );
        }
        self.validate_backends()
    }

    /// All three backends embedded, or all three external: the embedded ones belong to one
    /// process, the external ones are shared by several, and a mix would have neither
    /// property. External ones need their URL.
    fn validate_backends(&self) -> Result<(), ConfigError> {
        let external = [
            self.storage.backend != StorageBackend::Embedded,
            self.search.backend != SearchBackend::Embedded,
            self.queue.backend != QueueBackend::Embedded,
        ];
        if external.iter().any(|e| *e) && !external.iter().all(|e| *e) {
            return Err(ConfigError(
                "`storage.backend`, `search.backend` and `queue.backend` must be all \"embedded\" \
                 or \"mongodb\", \"elasticsearch\" and \"redis\" together"
                    .into(),
            ));
        }
        if !self.is_distributed() {
            return Ok(());
        }
        for (key, url) in [
            ("storage.mongodb_url", &self.storage.mongodb_url),
            ("search.elasticsearch_url", &self.search.elasticsearch_url),
            ("queue.redis_url", &self.queue.redis_url),
        ] {
            if url.as_ref().is_none_or(|u| u.expose().trim().is_empty()) {
                return Err(ConfigError(format!(
                    "`{key}` is required by distributed mode"
                )));
            }
        }
        if self.search.elasticsearch_index.trim().is_empty() {
            return Err(ConfigError(
                "`search.elasticsearch_index` must not be empty".into(),
            ));
        }
        if self.queue.redis_prefix.is_empty() {
            return Err(ConfigError("`queue.redis_prefix` must not be empty".into()));
        }
        Ok(())
    }

    /// Whether the backends are the external ones (MongoDB, Elasticsearch, Redis).
    pub fn is_distributed(&self) -> bool {
        self.storage.backend == StorageBackend::Mongodb
    }

    /// The SQLite database of the embedded store and queue.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("bioshadock.db")
    }

    /// Where the token signing key, its certificate and the notification secret live.
    pub fn secrets_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// The directory of the embedded search index.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("search-index")
    }
}

/// figment's message already names the key ("for key `web.listen`"); keep each error on one line.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
