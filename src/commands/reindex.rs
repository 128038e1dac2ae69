//! `bioshadock reindex`: rebuilds the search index from the store.

use std::time::Instant;

use anyhow::Result;
use bioshadock_core::catalogue;
use bioshadock_core::config::Config;

pub async fn run(config: Config) -> Result<()> {
    let backends = super::backends(&config).await?;
    let started = Instant::now();
    let indexed = catalogue::reindex(backends.store.clone(), backends.search.as_ref()).await?;
    backends.close().await;
    println!(
        "reindexed {indexed} containers in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
