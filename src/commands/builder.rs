//! `bioshadock builder`: a build worker alone, on the external backends of distributed mode.
//! Several may run, on several machines: the Redis queue hands each build to one of them, and
//! the lease reaper of any of them interrupts the builds of one that died.

use anyhow::Result;
use bioshadock_core::config::Config;
use bioshadock_web::BuilderLink;
use tokio_util::sync::CancellationToken;

pub async fn run(config: Config) -> Result<()> {
    if !config.is_distributed() {
        anyhow::bail!(
            "`builder` runs alone only on the external backends (storage.backend = \"mongodb\", \
             search.backend = \"elasticsearch\", queue.backend = \"redis\"); with the embedded \
             ones, `bioshadock serve` runs the builder"
        );
    }
    let backends = super::backends(&config).await?;
    let stop = CancellationToken::new();
    let mut builder =
        super::serve::start_builder(&config, &backends, BuilderLink::default(), stop.clone())
            .await?;
    tokio::select! {
        () = super::serve::shutdown_signal() => {
            tracing::info!("shutting down: running builds get builder.shutdown_grace_secs to finish");
            stop.cancel();
            if let Err(e) = builder.await {
                tracing::error!(error = %e, "the builder stopped abnormally");
            }
        }
        ended = &mut builder => {
            backends.close().await;
            anyhow::bail!("the builder stopped unexpectedly: {ended:?}");
        }
    }
    backends.close().await;
    Ok(())
}
