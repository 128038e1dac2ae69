//! Reconciliation: the registry's notifications are delivered at most once (kept in memory,
//! lost if the registry stops), so the catalogue is periodically repaired from the registry's
//! own listing. Walks `/v2/_catalog` and each repository's tags with tokens the portal mints
//! for itself, then creates missing containers, records missing or moved tags (reading each
//! image back as the event worker does), and drops tags the registry no longer has.
//! Containers absent from the registry are left alone: they may be new, created in the portal.
//!
//! One run at a time across every web process: a run holds a lock in the coordination port
//! (one process's memory in embedded mode, Redis in distributed mode) for at most
//! [`LOCK_TTL`], so a process that dies while running does not block the others for longer.
//! If the port fails, the run goes ahead without it (with a warning): runs only repair, so
//! two at once cost work, not correctness.

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bioshadock_core::tokens::{Action, ResourceAccess, TokenError};
use bioshadock_core::{PortError, RepoName, Tag, TagName};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::PORTAL_SUBJECT;
use super::client::{ClientError, RegistryClient};
use super::events::{create, worker};
use crate::state::AppState;

/// What a run changed.
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct SyncSummary {
    /// Repositories the registry lists.
    pub repositories: usize,
    /// Containers created for repositories the catalogue lacked.
    pub created: usize,
    /// Tags recorded (missing, or pointing at another image than the catalogue said).
    pub tags_added: usize,
    /// Tags the registry no longer has, dropped from the catalogue.
    pub tags_removed: usize,
    /// Repositories skipped because reading them failed (see the log); the next run retries.
    pub failed: usize,
    pub duration_ms: u64,
}

/// Why a run could not be done at all.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no registry is configured (registry.url)")]
    NoRegistry,
    #[error(transparent)]
    Registry(#[from] ClientError),
    #[error("cannot mint a registry token: {0}")]
    Token(#[from] TokenError),
    #[error("store: {0}")]
    Store(#[from] PortError),
}

/// The last successful run, for the admin page and `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct LastSync {
    pub at: DateTime<Utc>,
    pub duration: Duration,
    pub repositories: usize,
}

/// The name of the lock in the coordination port.
const LOCK: &str = "registry-sync";
/// How long a run's lock holds at most: a run taking longer may overlap the next one.
const LOCK_TTL: Duration = Duration::from_secs(3600);
/// How often a run waiting for another process's run asks for the lock again.
const LOCK_POLL: Duration = Duration::from_secs(1);

/// One per portal: runs do not overlap (in this process: `running`; across processes: the
/// coordination lock), and the last success is remembered.
#[derive(Default)]
pub(crate) struct SyncStatus {
    running: tokio::sync::Mutex<()>,
    last: Mutex<Option<LastSync>>,
}

impl SyncStatus {
    pub(crate) fn last(&self) -> Option<LastSync> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs reconciliation every `every`, the first time shortly after start-up, until the
/// process ends. Failures are logged; the next run tries again.
pub fn spawn_periodic(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + every.min(Duration::from_secs(30));
        let mut ticks = tokio::time::interval_at(first, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match run_unless_busy(&state).await {
                Ok(Some(summary)) => tracing::info!(?summary, "registry reconciliation done"),
                // Another portal is at it: this round is theirs.
                Ok(None) => tracing::debug!("another process is reconciling; skipping this round"),
                Err(e) => tracing::warn!(error = %e, "registry reconciliation failed"),
            }
        }
    })
}

/// One reconciliation run, now (waiting for a run in progress to finish first).
pub async fn run(state: &AppState) -> Result<SyncSummary, SyncError> {
    let status = state.sync.clone();
    let _running = status.running.lock().await;
    let locked = lock(state, true).await;
    finish(state, &status, locked == Some(true)).await
}

/// A periodic run: skipped (`None`) while another process runs one, so N portals do not
/// repeat the same work every interval.
async fn run_unless_busy(state: &AppState) -> Result<Option<SyncSummary>, SyncError> {
    let status = state.sync.clone();
    let _running = status.running.lock().await;
    match lock(state, false).await {
        None => Ok(None),
        Some(locked) => finish(state, &status, locked).await.map(Some),
    }
}

/// Runs with the lock (`locked`: taken in the port, else going ahead without it) and releases it.
async fn finish(
    state: &AppState,
    status: &SyncStatus,
    locked: bool,
) -> Result<SyncSummary, SyncError> {
    let result = run_locked(state, status).await;
    if locked
        && let Err(e) = state
            .coordination
            .unlock(LOCK, crate::state::lock_holder())
            .await
    {
        tracing::warn!(error = %e, "cannot release the registry reconciliation lock");
    }
    result
}

/// Takes the coordination lock: `Some(true)` taken, `Some(false)` the port failed and the run
/// goes ahead without it, `None` busy elsewhere and not `wait`ing.
async fn lock(state: &AppState, wait: bool) -> Option<bool> {
    let mut waiting = false;
    loop {
        match state
            .coordination
            .try_lock(LOCK, crate::state::lock_holder(), LOCK_TTL)
            .await
        {
            Ok(true) => return Some(true),
            Ok(false) if !wait => return None,
            Ok(false) => {
                if !waiting {
                    tracing::info!("another process is reconciling with the registry; waiting");
                    waiting = true;
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the registry reconciliation lock; running anyway");
                return Some(false);
            }
        }
    }
}

async fn run_locked(state: &AppState, status: &SyncStatus) -> Result<SyncSummary, SyncError> {
    let started = Instant::now();
    let since = Utc::now();
    let registry = &state.registry;
    if registry.registry_url.is_empty() {
        return Err(SyncError::NoRegistry);
    }
    let client = RegistryClient::new(&registry.registry_url)?;
    let catalog = registry
        .tokens
        .mint(PORTAL_SUBJECT, vec![ResourceAccess::catalog()])?;
    let names = client.catalog(&catalog.token).await?;
    let mut summary = SyncSummary {
        repositories: names.len(),
        ..SyncSummary::default()
    };
    let mut changed = BTreeSet::new();
    let mut reader = Some(client.clone());
    for name in names {
        let Ok(id) = RepoName::parse(&name) else {
            tracing::debug!(%name, "the registry holds a repository that is not a container id");
            continue;
        };
        match repository(state, &client, &mut reader, &id, since, &mut summary).await {
            Ok(true) => {
                changed.insert(id);
            }
            Ok(false) => {}
            Err(e) => {
                summary.failed += 1;
                tracing::warn!(error = %e, %id, "reconciling a repository failed");
            }
        }
    }
    if !changed.is_empty() {
        state.cache.catalogue_changed();
        let ids: Vec<RepoName> = changed.into_iter().collect();
        let containers = state.store.get_many(&ids).await?;
        if let Err(e) = state.search.upsert(&containers).await {
            tracing::warn!(error = %e, "reindexing after reconciliation failed");
        }
    }
    let duration = started.elapsed();
    summary.duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    *status.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(LastSync {
        at: Utc::now(),
        duration,
        repositories: summary.repositories,
    });
    Ok(summary)
}

/// Repairs one repository; true if the catalogue changed. Tags recorded after `since` are
/// kept even if the listing lacks them: they were pushed while it was being read.
async fn repository(
    state: &AppState,
    client: &RegistryClient,
    reader: &mut Option<RegistryClient>,
    id: &RepoName,
    since: DateTime<Utc>,
    summary: &mut SyncSummary,
) -> Result<bool, SyncError> {
    let access = vec![ResourceAccess::repository(id, &[Action::Pull])];
    let token = state.registry.tokens.mint(PORTAL_SUBJECT, access)?.token;
    let mut listed = Vec::new();
    for raw in client.tags(id, &token).await? {
        let Ok(tag) = TagName::parse(&raw) else {
            continue;
        };
        if let Some(digest) = client.digest(id, tag.as_str(), &token).await? {
            listed.push((tag, digest));
        }
    }
    let existing = match state.store.get(id).await {
        Ok(container) => Some(container),
        Err(PortError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let mut changed = false;
    let container = match existing {
        Some(container) => container,
        // A repository without tags holds nothing worth a catalogue entry.
        None if listed.is_empty() => return Ok(false),
        None => {
            create(state, id, None).await?;
            summary.created += 1;
            changed = true;
            state.store.get(id).await?
        }
    };
    let mut to_read = Vec::new();
    for (tag, digest) in &listed {
        let known = container.tags.iter().find(|t| t.name == *tag);
        if known.is_some_and(|t| t.digest == *digest) {
            continue;
        }
        let record = Tag {
            name: tag.clone(),
            digest: digest.clone(),
            size: 0,
            platforms: Vec::new(),
            pushed_at: bioshadock_core::model::now(),
        };
        state.store.put_tag(id, &record).await?;
        summary.tags_added += 1;
        changed = true;
        to_read.push((tag.clone(), digest.clone()));
    }
    let in_registry: HashSet<&TagName> = listed.iter().map(|(tag, _)| tag).collect();
    for tag in &container.tags {
        if !in_registry.contains(&tag.name) && tag.pushed_at < since {
            match state.store.delete_tag(id, &tag.name).await {
                Ok(()) | Err(PortError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            summary.tags_removed += 1;
            changed = true;
        }
    }
    // Size, platforms and labels, the way the event worker reads a pushed image.
    for (tag, digest) in to_read {
        if let Err(e) = worker::enrich(state, reader, id, &tag, &digest).await {
            tracing::warn!(error = %e, %id, %tag, "reading an image back failed");
        }
    }
    Ok(changed)
}
