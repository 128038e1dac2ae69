//! `bioshadock serve`: the portal on the embedded backends, in one process.

use std::path::Path;

use anyhow::{Context, Result};
use bioshadock_core::config::Config;
use bioshadock_core::{Audience, catalogue};
use bioshadock_web::{AppState, Ports, WebSettings};
use tokio::net::TcpListener;

/// `config_file` is only for the hints we print: the config itself is already loaded.
pub async fn run(config: Config, config_file: Option<&Path>) -> Result<()> {
    let backends = super::backends(&config).await?;
    rebuild_index_if_missing(&backends).await?;
    let first_run = backends.users.count_users().await? == 0;
    let settings = WebSettings {
        page_size: config.web.page_size,
        pull_host: config.registry.pull_host().to_owned(),
        public_url: config.web.public_url.clone(),
        default_public: config.web.default_visibility.is_public(),
    };
    let ports = Ports {
        store: backends.store.clone(),
        search: backends.search.clone(),
        queue: backends.queue.clone(),
        users: backends.users.clone(),
        keys: backends.keys.clone(),
        sessions: backends.sessions.clone(),
    };
    let registry = super::registry::registry_auth(&config)?;
    let state = AppState::new(ports, settings, registry);
    sweep_expired_sessions(backends.clone());
    if config.registry.sync_interval_secs > 0 {
        bioshadock_web::registry::sync::spawn_periodic(
            state.clone(),
            std::time::Duration::from_secs(config.registry.sync_interval_secs),
        );
    }
    let listener = TcpListener::bind(config.web.listen)
        .await
        .with_context(|| format!("cannot listen on {} (web.listen)", config.web.listen))?;
    tracing::info!(
        data_dir = %config.data_dir.display(),
        "Bioshadock is ready at {} (listening on {})",
        config.web.public_url,
        listener.local_addr()?,
    );
    tracing::info!("the builder is not part of this version yet: builds stay queued");
    if first_run {
        warn_no_users(&config, config_file);
    }
    bioshadock_web::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("shutting down");
    backends.close().await;
    Ok(())
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
async fn shutdown_signal() {
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
