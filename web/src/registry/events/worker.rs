//! The background half of the event receiver: reads each pushed image back from the registry
//! (size, platforms, labels) and keeps search in step. One task per receiver, fed through a
//! bounded channel; failures are logged and left to reconciliation, a panic ends only its job.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;

use bioshadock_core::tokens::{Action, IssuedToken, ResourceAccess};
use bioshadock_core::{PortError, RepoName, Tag, TagName};
use futures::FutureExt as _;
use tokio::sync::mpsc;

use crate::registry::PORTAL_SUBJECT;
use crate::registry::client::{ClientError, RegistryClient};
use crate::state::AppState;

/// Jobs taken at once; their containers are reindexed together.
const BATCH: usize = 64;

/// What is left to do after an event was recorded.
#[derive(Debug)]
pub(super) enum Job {
    /// Read the image `digest` tagged `tag` and update the tag and labels, then reindex.
    Enrich {
        id: RepoName,
        tag: TagName,
        digest: String,
    },
    Reindex(RepoName),
    /// Put the manifest `digest` back under the immutable `tag`, which a push at the registry
    /// moved (no front stood in the way).
    Restore {
        id: RepoName,
        tag: TagName,
        digest: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub(in crate::registry) enum EnrichError {
    #[error(transparent)]
    Registry(#[from] ClientError),
    #[error("cannot mint a registry token: {0}")]
    Token(#[from] bioshadock_core::tokens::TokenError),
    #[error("store: {0}")]
    Store(#[from] PortError),
}

/// The worker's registry client (made at first use) and a token of the portal's own for
/// `actions` on `id`; `None` when no registry is configured.
fn connect<'a>(
    state: &AppState,
    client: &'a mut Option<RegistryClient>,
    id: &RepoName,
    actions: &[Action],
) -> Result<Option<(&'a RegistryClient, IssuedToken)>, EnrichError> {
    let registry = &state.registry;
    if registry.registry_url.is_empty() {
        return Ok(None);
    }
    let client = match client {
        Some(client) => client,
        None => client.insert(RegistryClient::new(&registry.registry_url)?),
    };
    let access = vec![ResourceAccess::repository(id, actions)];
    let token = registry.tokens.mint(PORTAL_SUBJECT, access)?;
    Ok(Some((client, token)))
}

/// Puts the manifest `digest` of `id` back under `tag`: read by digest (the registry keeps it:
/// moving a tag deletes nothing), written by tag.
async fn restore(
    state: &AppState,
    client: &mut Option<RegistryClient>,
    id: &RepoName,
    tag: &TagName,
    digest: &str,
) -> Result<(), EnrichError> {
    let Some((client, token)) = connect(state, client, id, &[Action::Pull, Action::Push])? else {
        return Ok(());
    };
    let (manifest, media_type) = client.raw_manifest(id, digest, &token.token).await?;
    client
        .put_manifest(id, tag.as_str(), manifest, &media_type, &token.token)
        .await?;
    state.metrics.registry_events("immutable_restored", 1);
    Ok(())
}

/// Runs until every sender is gone (the router was dropped).
pub(super) async fn run(state: AppState, mut jobs: mpsc::Receiver<Job>) {
    let mut client = None;
    let mut batch = Vec::with_capacity(BATCH);
    while jobs.recv_many(&mut batch, BATCH).await > 0 {
        let mut reindex = BTreeSet::new();
        for job in batch.drain(..) {
            match job {
                Job::Enrich { id, tag, digest } => {
                    let work = enrich(&state, &mut client, &id, &tag, &digest);
                    match AssertUnwindSafe(work).catch_unwind().await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(
                            error = %e, %id, %tag, %digest,
                            "reading a pushed image from the registry failed; \
                             reconciliation will retry"
                        ),
                        Err(_) => tracing::error!(%id, %tag, "reading a pushed image panicked"),
                    }
                    reindex.insert(id);
                }
                Job::Reindex(id) => {
                    reindex.insert(id);
                }
                Job::Restore { id, tag, digest } => {
                    match restore(&state, &mut client, &id, &tag, &digest).await {
                        Ok(()) => tracing::warn!(
                            %id, %tag, %digest,
                            "restored an immutable tag that a push at the registry had moved"
                        ),
                        Err(e) => tracing::error!(
                            error = %e, %id, %tag, %digest,
                            "an immutable tag was moved at the registry and could not be restored"
                        ),
                    }
                }
            }
        }
        let ids: Vec<RepoName> = reindex.into_iter().collect();
        if let Err(e) = reindex_all(&state, &ids).await {
            tracing::warn!(error = %e, n = ids.len(), "reindexing after registry events failed");
        }
    }
    tracing::debug!("registry event worker stopped");
}

/// Updates the tag's size and platforms and, for the newest tag, the container's labels.
pub(in crate::registry) async fn enrich(
    state: &AppState,
    client: &mut Option<RegistryClient>,
    id: &RepoName,
    tag: &TagName,
    digest: &str,
) -> Result<(), EnrichError> {
    let Some((client, token)) = connect(state, client, id, &[Action::Pull])? else {
        return Ok(());
    };
    let image = client.image(id, digest, &token.token).await?;

    // Re-read: the tag may have moved or gone while the registry was asked.
    let container = match state.store.get(id).await {
        Ok(container) => container,
        Err(PortError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let Some(current) = container.tags.iter().find(|t| t.name == *tag) else {
        return Ok(());
    };
    if current.digest != digest {
        return Ok(());
    }
    if current.size != image.size || current.platforms != image.platforms {
        let updated = Tag {
            size: image.size,
            platforms: image.platforms,
            ..current.clone()
        };
        state.store.put_tag(id, &updated).await?;
        state.cache.catalogue_changed();
    }
    record_expiry(state, &container, tag, &image.labels).await?;
    let newest = container.tags.first().is_some_and(|t| t.name == *tag);
    if newest && container.labels != image.labels {
        state.store.set_labels(id, &image.labels).await?;
        state.cache.catalogue_changed();
    }
    Ok(())
}

/// Remembers the image's expiry label (`org.bioshadock.expires-after`) for `tag`, or forgets
/// the one an earlier image had, so that retention finds it without asking the registry. The
/// settings are written only as read: an edit saved meanwhile makes it read them again rather
/// than write back what it read before (a visibility change, say).
async fn record_expiry(
    state: &AppState,
    container: &bioshadock_core::Container,
    tag: &TagName,
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<(), PortError> {
    let label = bioshadock_core::retention::expiry_label(labels);
    let change =
        |container: &bioshadock_core::Container,
         settings: &mut bioshadock_core::ports::store::ContainerSettings| {
            if container.policy.expiring.get(tag.as_str()) == label.as_ref() {
                return false;
            }
            match &label {
                Some(label) => settings
                    .policy
                    .expiring
                    .insert(tag.to_string(), label.clone()),
                None => settings.policy.expiring.remove(tag.as_str()),
            };
            // Expired tags that are gone are forgotten too, so the map stays as small as the tags.
            settings.policy.expiring.retain(|name, _| {
                name == tag.as_str() || container.tags.iter().any(|t| t.name.as_str() == name)
            });
            true
        };
    crate::services::containers::write_settings_as_read(state, container, change)
        .await
        .map(drop)
}

pub(in crate::registry) async fn reindex_all(
    state: &AppState,
    ids: &[RepoName],
) -> Result<(), PortError> {
    let containers = state.store.get_many(ids).await?;
    if containers.is_empty() {
        return Ok(());
    }
    state.search.upsert(&containers).await
}
