//! `bioshadock serve` (the portal and a builder in one process, on any backends) and
//! `bioshadock web` (the portal alone, on the external backends of distributed mode).

use std::path::Path;

use anyhow::{Context, Result};
use bioshadock_core::accounts::ProviderId;
use bioshadock_core::config::{Config, LdapConfig, OidcConfig, reachable_locally};
use bioshadock_core::{Audience, catalogue};
use std::sync::Arc;

use bioshadock_builder::{BuilderSettings, WorkerPorts};
use bioshadock_identity::ldap::LdapDirectory;
use bioshadock_identity::oidc::OidcProvider;
use bioshadock_web::{
    AppState, BuilderLink, DirectorySignIn, LiveLogSettings, OpenIdSignIn, Ports, WebSettings,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Whether this process runs a builder beside the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `serve`: portal and builder.
    Everything,
    /// `web`: the portal only; builders are separate processes.
    PortalOnly,
}

/// The LDAP directory of `[auth.ldap]`, with its group mapping.
fn directory_sign_in(ldap: &LdapConfig) -> Result<DirectorySignIn> {
    Ok(DirectorySignIn {
        directory: Arc::new(LdapDirectory::new(ldap).map_err(anyhow::Error::msg)?),
        mapping: ldap.mapping().map_err(anyhow::Error::msg)?,
        recheck: std::time::Duration::from_secs(ldap.recheck_secs),
    })
}

/// One `[[auth.oidc]]` provider, with its group mapping. Nothing is fetched from it yet: a
/// provider that is down must not stop the portal.
fn openid_sign_in(provider: &OidcConfig, public_url: &str) -> Result<OpenIdSignIn> {
    Ok(OpenIdSignIn {
        id: ProviderId::parse(&provider.id).map_err(anyhow::Error::msg)?,
        display_name: provider.display_name.clone(),
        issuer: provider.issuer.clone(),
        provider: Arc::new(OidcProvider::new(provider, public_url).map_err(anyhow::Error::msg)?),
        mapping: provider.mapping().map_err(anyhow::Error::msg)?,
        allowed_domains: provider.allowed_domains.clone(),
    })
}

/// `config_file` is only for the hints we print: the config itself is already loaded.
pub async fn run(mut config: Config, config_file: Option<&Path>, role: Role) -> Result<()> {
    if role == Role::PortalOnly && !config.is_distributed() {
        anyhow::bail!(
            "`web` runs the portal alone on the external backends (storage.backend = \"mongodb\", \
             search.backend = \"elasticsearch\", queue.backend = \"redis\"); the embedded ones \
             belong to one process: use `bioshadock serve`"
        );
    }
    // `serve` may start the registry itself; the rest of the process then reaches it at its
    // private address, and users at the front.
    let spawn_plan = match role {
        Role::Everything => super::spawn::plan(&config)?,
        Role::PortalOnly => None,
    };
    if let Some(plan) = &spawn_plan {
        super::spawn::apply(&mut config, plan);
    }
    let backends = super::backends(&config).await?;
    rebuild_index_if_missing(&backends).await?;
    let first_run = backends.users.count_users().await? == 0;
    let settings = WebSettings {
        page_size: config.web.page_size,
        pull_host: config.pull_host(),
        public_url: config.web.public_url.clone(),
        default_public: config.web.default_visibility.is_public(),
        max_pending_builds: config.builder.max_pending_per_user,
        schedule_spread: std::time::Duration::from_secs(config.builder.schedule_spread_secs),
        base_rebuild_fanout: config.builder.base_rebuild_fanout as usize,
        metrics_token: Some(config.web.metrics_token.expose().clone()).filter(|t| !t.is_empty()),
        live_log: LiveLogSettings {
            max_streams: config.web.live_log_max_streams,
            max_streams_per_client: config.web.live_log_max_streams_per_client,
            idle: std::time::Duration::from_secs(config.web.live_log_idle_secs),
            poll: std::time::Duration::from_secs(config.web.live_log_poll_secs),
        },
        org_creation: config.access.org_creation,
        anonymous: config.access.anonymous,
        local_sign_in: config.auth.local_sign_in,
        webhooks_allow_private: config.webhooks.allow_private,
        data_dir: Some(config.data_dir.clone()),
    };
    let ports = Ports {
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
    let registry = super::registry::registry_auth(&config)?;
    let stop = CancellationToken::new();
    // The spawned registry stops last, once the portal and the builder have finished with it.
    let registry_stop = CancellationToken::new();
    let spawned = match spawn_plan {
        Some(plan) => Some(super::spawn::start(
            &config,
            plan,
            registry.notification_secret.expose(),
            registry_stop.clone(),
        )?),
        None => None,
    };
    let link = BuilderLink::default();
    let sealing = bioshadock_core::sealed::SealingKey::load_or_create(&config.secrets_dir())
        .context("cannot load or create the key that seals webhook and build secrets")?;
    let mut state = AppState::new(ports, settings, registry)
        .with_builder(link.clone())
        .with_sealing_key(sealing);
    if !config.auth.oidc.is_empty() {
        let providers = config
            .auth
            .oidc
            .iter()
            .map(|provider| openid_sign_in(provider, &config.web.public_url))
            .collect::<Result<Vec<_>>>()?;
        tracing::info!(
            providers = %config.auth.oidc.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", "),
            "users also sign in through OpenID Connect"
        );
        state = state.with_openid(providers);
    }
    if let Some(ldap) = &config.auth.ldap {
        state = state.with_directory(directory_sign_in(ldap)?);
        tracing::info!(url = %ldap.url, "users also sign in through the LDAP directory");
    }
    sweep_expired_sessions(backends.clone());
    prune_old_events(backends.clone(), config.audit.retention_days);
    prune_old_trigger_decisions(backends.clone());
    bioshadock_web::webhooks::spawn(state.clone());
    bioshadock_web::services::build_schedules::spawn_periodic(state.clone());
    bioshadock_web::services::base_rebuilds::spawn_follower(state.clone());
    if config.retention.interval_secs > 0 {
        bioshadock_web::services::retention::spawn_periodic(
            state.clone(),
            std::time::Duration::from_secs(config.retention.interval_secs),
        );
    }
    if config.registry.sync_interval_secs > 0 {
        bioshadock_web::registry::sync::spawn_periodic(
            state.clone(),
            std::time::Duration::from_secs(config.registry.sync_interval_secs),
        );
    }
    let (state, gate, front_listener) = match config.registry.front_listen() {
        Some(address) => {
            let listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (registry.front_listen)"))?;
            let (state, gate) = state.with_front();
            (state, Some(gate), Some(listener))
        }
        None => (state, None, None),
    };
    let listener = TcpListener::bind(config.web.listen)
        .await
        .with_context(|| format!("cannot listen on {} (web.listen)", config.web.listen))?;
    tracing::info!(
        data_dir = %config.data_dir.display(),
        "Bioshadock is ready at {} (listening on {})",
        config.web.public_url,
        listener.local_addr()?,
    );
    if first_run {
        warn_no_users(&config, config_file);
    }
    let builder = match role {
        Role::Everything => Some(start_builder(&config, &backends, link, stop.clone()).await?),
        Role::PortalOnly => {
            tracing::info!(
                "no builder in this process: `bioshadock builder` processes run the builds"
            );
            None
        }
    };
    let front = match front_listener {
        Some(listener) => Some(start_front(&config, listener, gate, stop.clone())?),
        None => None,
    };
    let signal = async move {
        shutdown_signal().await;
        stop.cancel();
    };
    bioshadock_web::serve(listener, state, signal).await?;
    tracing::info!("shutting down");
    if let Some(front) = front
        && let Err(e) = front.await
    {
        tracing::error!(error = %e, "the registry front stopped abnormally");
    }
    if let Some(builder) = builder
        && let Err(e) = builder.await
    {
        tracing::error!(error = %e, "the builder stopped abnormally");
    }
    if let Some(spawned) = spawned {
        registry_stop.cancel();
        let _ = spawned.await;
    }
    backends.close().await;
    Ok(())
}

/// Starts the registry front on `listener`, forwarding to `registry.url`, until `stop`.
fn start_front(
    config: &Config,
    listener: TcpListener,
    gate: Option<Arc<dyn bioshadock_front::Gate>>,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let upstream = bioshadock_front::Upstream::parse(&config.registry.url)
        .map_err(|e| anyhow::anyhow!("registry.url: {e}"))?;
    let gate = gate.unwrap_or_else(|| Arc::new(bioshadock_front::OpenGate));
    // `docker search HOST/TERM` asks the registry host: the front hands it to the portal's
    // own listener (loopback when it listens on every interface).
    let portal = reachable_locally(config.web.listen);
    let portal = bioshadock_front::Upstream::parse(&format!("http://{portal}")).ok();
    tracing::info!(
        registry = upstream.authority(),
        "the registry front listens on {} (push and pull there)",
        listener.local_addr()?,
    );
    let front = Arc::new(bioshadock_front::Front::new(upstream, portal, gate));
    Ok(tokio::spawn(bioshadock_front::serve(
        listener,
        front,
        stop.cancelled_owned(),
    )))
}

/// Starts the builder of this process. The embedded queue belongs to this process alone, so
/// builds a previous run left running are interrupted now, not a lease period later; shared
/// (external) backends leave that to the lease reaper, as other builders may be running.
pub(super) async fn start_builder(
    config: &Config,
    backends: &bioshadock_backends::Backends,
    link: BuilderLink,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let ports = WorkerPorts {
        queue: backends.queue.clone(),
        builds: backends.builds.clone(),
        users: backends.users.clone(),
        orgs: backends.orgs.clone(),
        rules: backends.rules.clone(),
        containers: backends.store.clone(),
        events: backends.events.clone(),
        tokens: Arc::new(super::registry::token_issuer(config)?),
        sealing: Arc::new(
            bioshadock_core::sealed::SealingKey::load_or_create(&config.secrets_dir())
                .context("cannot load the key that opens build secrets")?,
        ),
        wake: link.wake,
        status: link.status,
    };
    let interrupted = if backends.is_embedded() {
        bioshadock_builder::recovery::recover_own_builds(&ports).await?
    } else {
        0
    };
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "builds left running by the previous run were marked interrupted"
        );
    }
    let settings = BuilderSettings::from_config(config);
    tracing::info!(
        worker = %settings.worker,
        concurrency = settings.concurrency,
        "the builder is starting (builds run on the local Docker Engine)"
    );
    Ok(tokio::spawn(bioshadock_builder::run(ports, settings, stop)))
}

/// A lost or deleted index is rebuilt from the store, the source of truth.
async fn rebuild_index_if_missing(backends: &bioshadock_backends::Backends) -> Result<()> {
    let in_store = backends.store.count(&Audience::Everyone).await?;
    let in_index = backends.search.doc_count().await?;
    if in_index == 0 && in_store > 0 {
        tracing::warn!(
            in_store,
            "the search index is empty; rebuilding it from the store"
        );
        catalogue::reindex(backends.store.clone(), backends.search.as_ref()).await?;
    }
    Ok(())
}

/// A newcomer's first question is how to log in: say exactly what to run.
fn warn_no_users(config: &Config, config_file: Option<&Path>) {
    let config_arg = config_file
        .map(|file| format!("--config {} ", file.display()))
        .unwrap_or_default();
    tracing::warn!(
        "there are no user accounts yet: create the first admin with \
         `bioshadock {config_arg}user add admin --admin` (it works while this server runs \
         and prints a generated password once), then log in at {}/login",
        config.web.public_url.trim_end_matches('/'),
    );
}

/// Resolves on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Deletes events older than `retention_days` at start-up and then once a day (0: never).
/// Several portals sharing a store may all do it: deleting what is already gone is nothing.
fn prune_old_events(backends: bioshadock_backends::Backends, retention_days: u64) {
    if retention_days == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(86_400));
        loop {
            every.tick().await;
            let days = i64::try_from(retention_days).unwrap_or(i64::MAX);
            let cutoff = chrono::Utc::now() - chrono::Duration::days(days);
            match backends.events.prune(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, retention_days, "deleted old audit events"),
                Err(e) => tracing::warn!(error = %e, "deleting old audit events failed"),
            }
        }
    });
}

/// Deletes trigger decisions older than 90 days at start-up and then once a day: the log says
/// why recent pushes did or did not build, not what happened last year.
fn prune_old_trigger_decisions(backends: bioshadock_backends::Backends) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(86_400));
        loop {
            every.tick().await;
            let cutoff = chrono::Utc::now() - chrono::Duration::days(90);
            match backends.triggers.prune_decisions(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, "deleted old trigger decisions"),
                Err(e) => tracing::warn!(error = %e, "deleting old trigger decisions failed"),
            }
        }
    });
}

/// Deletes expired web sessions once an hour, so the session table does not grow forever.
fn sweep_expired_sessions(backends: bioshadock_backends::Backends) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            match backends.delete_expired_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(n, "deleted expired sessions"),
                Err(e) => tracing::warn!(error = %e, "deleting expired sessions failed"),
            }
        }
    });
}
