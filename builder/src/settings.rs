//! How a builder runs: limits, timings and where images go, taken from the configuration.

use std::time::Duration;

use bioshadock_core::config::Config;

/// A builder's settings.
#[derive(Debug, Clone)]
pub struct BuilderSettings {
    /// This worker's name in leases and build records: unique per process (host and pid), so
    /// a restarted builder never mistakes a dead one's lease for its own.
    pub worker: String,
    /// Parallel builds.
    pub concurrency: usize,
    /// A build running longer is stopped and marked failed.
    pub timeout: Duration,
    /// On shutdown, how long running builds may go on.
    pub shutdown_grace: Duration,
    /// Where images are pushed: the registry's host (and port), e.g. `127.0.0.1:5000`.
    pub registry_host: String,
    /// Every host (lowercase) an image of this portal's registry may be named with in a
    /// Dockerfile: `registry.pull_host` and the host of `registry.url`.
    pub registry_hosts: Vec<String>,
    /// The portal's URL, for the source label of Dockerfile builds.
    pub public_url: String,
    pub memory_bytes: Option<i64>,
    pub cpus: Option<f64>,
    pub network: Option<String>,
    pub pull: bool,
    pub max_context_bytes: u64,
    /// Most files a checkout may hold.
    pub max_context_files: u64,
    /// Whether descriptor URLs may reach loopback, private or link-local addresses.
    pub descriptor_private_urls: bool,
    /// Most bytes of cache images kept on the engine (`builder.cache_mb`); 0 keeps none.
    pub cache_bytes: u64,
    /// Every build starts cold (`builder.no_cache`).
    pub no_cache: bool,
    /// How long a lease lasts without a heartbeat; a worker that dies is noticed after this.
    pub lease: Duration,
    /// How often a running build renews its lease.
    pub heartbeat: Duration,
    /// How often an idle worker looks for queued builds when nothing wakes it (another
    /// process may have queued them): 100 ms on the shared Redis queue, 1 s on the embedded one.
    pub poll: Duration,
}

impl BuilderSettings {
    pub fn from_config(config: &Config) -> Self {
        let builder = &config.builder;
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "builder".to_owned());
        Self {
            worker: format!("{host}-{}", std::process::id()),
            concurrency: builder.concurrency as usize,
            timeout: Duration::from_secs(builder.timeout_secs),
            shutdown_grace: Duration::from_secs(builder.shutdown_grace_secs),
            registry_host: config.pull_host(),
            registry_hosts: registry_hosts(config),
            public_url: config.web.public_url.trim_end_matches('/').to_owned(),
            memory_bytes: (builder.memory_mb > 0).then(|| {
                i64::try_from(builder.memory_mb.saturating_mul(1 << 20)).unwrap_or(i64::MAX)
            }),
            cpus: (builder.cpus > 0.0).then_some(builder.cpus),
            network: (builder.network != "default").then(|| builder.network.clone()),
            pull: builder.pull,
            max_context_bytes: builder.max_context_mb.saturating_mul(1 << 20),
            max_context_files: builder.max_context_files,
            descriptor_private_urls: builder.descriptor_private_urls,
            cache_bytes: builder.cache_mb.saturating_mul(1 << 20),
            no_cache: builder.no_cache,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
            // Alone (distributed mode) nothing in-process wakes the worker when a portal
            // queues a build: it asks the shared queue often, which is cheap for Redis when
            // idle. Beside the portal (`serve`) it is woken at once and only polls as a backstop.
            poll: if config.is_distributed() {
                Duration::from_millis(100)
            } else {
                Duration::from_secs(1)
            },
        }
    }
}

fn registry_hosts(config: &Config) -> Vec<String> {
    let url_host = config
        .registry
        .url
        .split_once("://")
        .map_or(config.registry.url.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let mut hosts = vec![config.pull_host().to_ascii_lowercase()];
    if !url_host.is_empty() && !hosts.contains(&url_host.to_ascii_lowercase()) {
        hosts.push(url_host.to_ascii_lowercase());
    }
    hosts
}
