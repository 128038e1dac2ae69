//! `bioshadock seed --containers N`: synthetic demo data for a first look and for benchmarks.

use std::time::Instant;

use anyhow::{Result, bail};
use bioshadock_core::config::Config;

use crate::seed::SyntheticCatalogue;

/// Containers written (and indexed) per batch.
const BATCH: usize = 1_000;
/// More than this is not a demo any more.
const MAX_CONTAINERS: u64 = 1_000_000;

pub async fn run(config: Config, count: u64) -> Result<()> {
    if count == 0 || count > MAX_CONTAINERS {
        bail!("--containers must be between 1 and {MAX_CONTAINERS}");
    }
    let backends = super::backends(&config).await?;
    let started = Instant::now();
    let mut generator = SyntheticCatalogue::new(count);
    let mut written = 0u64;
    loop {
        let batch: Vec<_> = generator.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        backends.store.put_many(&batch).await?;
        backends.search.upsert(&batch).await?;
        written += batch.len() as u64;
    }
    backends.close().await;
    println!(
        "seeded {written} synthetic containers into {} in {:.1}s",
        config.data_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
