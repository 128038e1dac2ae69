//! The portal's side of the registry front (`bioshadock-front`): the [`Gate`] the front asks
//! about each manifest request, on the portal's store and rules, and the pull counter.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bioshadock_core::tag_policy::immutable_refusal;
use bioshadock_core::tokens::{Action, ResourceAccess};
use bioshadock_core::{PortError, RepoName};
use bioshadock_front::{Gate, ManifestAction, ManifestCall, Refusal, Verdict, is_digest};
use tokio::sync::mpsc;

use super::PORTAL_SUBJECT;
use super::client::RegistryClient;
use super::events::worker::reindex_all;
use crate::services::tag_policies::TagRules;
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
        let registry = RegistryClient::new(&self.registry.registry_url)
            .inspect_err(|e| tracing::error!(error = %e, "the front cannot read the registry"))
            .ok();
        let gate = PortalGate {
            state: self.clone(),
            reindex,
            registry,
        };
        (self, Arc::new(gate))
    }
}

struct PortalGate {
    state: AppState,
    reindex: mpsc::Sender<RepoName>,
    /// For the current digest of a tag about to be pushed over.
    registry: Option<RegistryClient>,
}

#[async_trait]
impl Gate for PortalGate {
    async fn check(&self, call: &ManifestCall<'_>) -> Verdict {
        let Ok(id) = RepoName::parse(call.repository) else {
            return Verdict::Forward;
        };
        let needed = match call.action {
            ManifestAction::Read { .. } => Action::Pull,
            ManifestAction::Write => Action::Push,
            ManifestAction::Delete => Action::Delete,
        };
        // What the registry refuses anyway is not judged here: a caller without rights on the
        // repository learns nothing of its tags or deprecations from the answer.
        if !self.granted(call.authorization, &id, needed) {
            return Verdict::Forward;
        }
        let rules = match TagRules::of(&self.state, &id).await {
            Ok(rules) => rules,
            Err(e) => {
                tracing::warn!(error = %e, %id, "the front cannot read the tag policies");
                return Verdict::Refuse(Refusal::unavailable(
                    "the portal cannot check this request now; try again shortly",
                ));
            }
        };
        match call.action {
            ManifestAction::Read { .. } => {
                match rules.blocked_pull(call.reference, bioshadock_core::model::now()) {
                    Some(reason) => Verdict::Refuse(Refusal::denied(reason)),
                    None => Verdict::Forward,
                }
            }
            ManifestAction::Write => self.check_push(&id, &rules, call).await,
            ManifestAction::Delete => check_delete(&id, &rules, call.reference),
        }
    }

    async fn pulled(&self, repository: &str) {
        let Ok(id) = RepoName::parse(repository) else {
            return;
        };
        let mut counted = self.state.store.add_pulls(&id, 1).await;
        if matches!(counted, Err(PortError::NotFound)) {
            // In the registry (it just served the image) but not yet in the catalogue: its push
            // notification has not arrived. The container is created now, as that notification
            // would create it, so that this pull is not lost.
            counted = match super::events::create(&self.state, &id, None).await {
                Ok(()) => self.state.store.add_pulls(&id, 1).await,
                Err(e) => Err(e),
            };
        }
        match counted {
            Ok(()) => {
                let _ = self.reindex.try_send(id);
            }
            Err(e) => tracing::warn!(error = %e, %id, "counting a pull failed"),
        }
    }
}

impl PortalGate {
    /// Whether the bearer token of `authorization` grants `action` on `id` (verified as the
    /// registry verifies it).
    fn granted(&self, authorization: Option<&str>, id: &RepoName, action: Action) -> bool {
        let Some(token) = authorization.and_then(crate::auth::bearer_credentials) else {
            return false;
        };
        let Ok(claims) = self.state.registry.tokens.verify(token) else {
            return false;
        };
        claims.access.iter().any(|access| {
            access.kind == "repository"
                && access.name == id.as_str()
                && access
                    .actions
                    .iter()
                    .any(|a| a == action.as_str() || a == Action::All.as_str())
        })
    }

    /// A push over an immutable tag is refused unless it pushes the very manifest the tag holds.
    async fn check_push(
        &self,
        id: &RepoName,
        rules: &TagRules,
        call: &ManifestCall<'_>,
    ) -> Verdict {
        let named = (!is_digest(call.reference)).then_some(call.reference);
        let tags = named
            .into_iter()
            .chain(call.query_tags.iter().map(String::as_str));
        for tag in tags.filter(|tag| rules.is_immutable(tag)) {
            match self.current_digest(id, tag).await {
                Ok(None) => {}
                Ok(Some(current)) if Some(&current) == call.digest.as_ref() => {}
                Ok(Some(_)) => {
                    return Verdict::Refuse(Refusal::denied(immutable_refusal(tag, id.as_str())));
                }
                Err(e) => {
                    tracing::warn!(error = %e, %id, tag, "cannot read a tag's digest");
                    return Verdict::Refuse(Refusal::unavailable(
                        "the portal cannot read this tag from the registry now; try again shortly",
                    ));
                }
            }
        }
        Verdict::Forward
    }

    /// The digest `tag` of `id` holds in the registry now, `None` if it does not exist.
    async fn current_digest(&self, id: &RepoName, tag: &str) -> Result<Option<String>, String> {
        let registry = self
            .registry
            .as_ref()
            .ok_or_else(|| "no registry client".to_owned())?;
        let access = vec![ResourceAccess::repository(id, &[Action::Pull])];
        let token = self
            .state
            .registry
            .tokens
            .mint(PORTAL_SUBJECT, access)
            .map_err(|e| e.to_string())?;
        registry
            .digest(id, tag, &token.token)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Deleting an immutable tag, or an image an immutable tag points to, is refused.
fn check_delete(id: &RepoName, rules: &TagRules, reference: &str) -> Verdict {
    let refused = if is_digest(reference) {
        rules
            .immutable_tags_at(reference)
            .next()
            .map(|t| t.name.as_str().to_owned())
    } else {
        rules.is_immutable(reference).then(|| reference.to_owned())
    };
    match refused {
        Some(tag) => Verdict::Refuse(Refusal::denied(immutable_refusal(&tag, id.as_str()))),
        None => Verdict::Forward,
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
