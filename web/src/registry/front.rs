//! The portal's side of the registry front (`bioshadock-front`): the [`Gate`] the front asks
//! about each manifest request, on the portal's store and rules, and the pull counter.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bioshadock_core::{PortError, RepoName};
use bioshadock_front::{Gate, ManifestCall, Verdict};
use tokio::sync::mpsc;

use super::events::worker::reindex_all;
use crate::state::AppState;

/// Pulled containers waiting to be reindexed (their pull count is already stored); beyond
/// this they are dropped, and reindexed with their next change or reconciliation.
const REINDEX_QUEUE: usize = 10_000;
/// Pulls are reindexed together at most this often: one search-index commit for a burst of
/// pulls instead of one each.
const REINDEX_EVERY: Duration = Duration::from_secs(1);

impl AppState {
    /// The same state with a registry front in this process, and the gate that front asks.
    /// The front counts pulls as they happen, so pull notifications are no longer counted.
    pub fn with_front(mut self) -> (Self, Arc<dyn Gate>) {
        self.front_counts_pulls = true;
        let (reindex, pending) = mpsc::channel(REINDEX_QUEUE);
        tokio::spawn(reindex_pulled(self.clone(), pending));
        let gate = PortalGate {
            state: self.clone(),
            reindex,
        };
        (self, Arc::new(gate))
    }
}

struct PortalGate {
    state: AppState,
    reindex: mpsc::Sender<RepoName>,
}

#[async_trait]
impl Gate for PortalGate {
    async fn check(&self, _call: &ManifestCall<'_>) -> Verdict {
        Verdict::Forward
    }

    async fn pulled(&self, repository: &str) {
        let Ok(id) = RepoName::parse(repository) else {
            return;
        };
        match self.state.store.add_pulls(&id, 1).await {
            Ok(()) => {
                let _ = self.reindex.try_send(id);
            }
            // Pulled from the registry but not catalogued (yet): nothing to count on.
            Err(PortError::NotFound) => {}
            Err(e) => tracing::warn!(error = %e, %id, "counting a pull failed"),
        }
    }
}

/// Reindexes pulled containers (their pulls are a sort key), a second's worth at a time.
async fn reindex_pulled(state: AppState, mut pending: mpsc::Receiver<RepoName>) {
    while let Some(first) = pending.recv().await {
        tokio::time::sleep(REINDEX_EVERY).await;
        let mut ids = BTreeSet::from([first]);
        while let Ok(id) = pending.try_recv() {
            ids.insert(id);
        }
        let ids: Vec<RepoName> = ids.into_iter().collect();
        if let Err(e) = reindex_all(&state, &ids).await {
            tracing::warn!(error = %e, n = ids.len(), "reindexing pulled containers failed");
        }
    }
}
