//! `bioshadock serve`: the portal on the embedded backends, in one process.

use anyhow::{Context, Result};
use bioshadock_core::config::Config;
use bioshadock_core::{Audience, catalogue};
use bioshadock_web::{AppState, WebSettings};
use tokio::net::TcpListener;

pub async fn run(config: Config) -> Result<()> {
    let backends = super::backends(&config).await?;
    rebuild_index_if_missing(&backends).await?;
    let settings = WebSettings {
        page_size: config.web.page_size,
        pull_host: config.registry.pull_host().to_owned(),
        public_url: config.web.public_url.clone(),
    };
    let state = AppState::new(
        backends.store.clone(),
        backends.search.clone(),
        backends.queue.clone(),
        settings,
    );
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
