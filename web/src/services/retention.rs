//! Tag retention on behalf of a caller (the policy page and the API) and of the periodic run.
//! The rules are `core::retention`'s; this finds the policy in force (the container's own,
//! else its organisation's), protects what the tag policies protect, and deletes through the
//! registry the way the portal's own deletions do, recording each deletion as an event.
//!
//! The preview and the run ask the same [`plan_for`], so a preview lists exactly what a run
//! at the same moment deletes.

use bioshadock_core::accounts::Scope;
use bioshadock_core::events::{ActorKind, Credential, EventActor, EventKind};
use bioshadock_core::orgs::{OrgName, Organisation};
use bioshadock_core::permissions::Principal;
use bioshadock_core::query::SearchQuery;
use bioshadock_core::retention::{self, Doomed, RetentionPolicy, TagFacts};
use bioshadock_core::{Audience, Container, PortError, PortResult, RepoName};
use std::collections::BTreeMap;

use super::containers::{self, Changes};
use super::events;
use super::tag_policies::TagRules;
use crate::error::ApiError;
use crate::registry::removal;
use crate::state::AppState;

/// Containers read per page when the periodic run walks the catalogue.
const PAGE: usize = 200;
/// Containers of one organisation a preview or run covers, at most (search pages through them).
const MAX_ORG_CONTAINERS: u64 = 10_000;

/// The policies that bear on one container.
#[derive(Debug, Clone, Default)]
pub struct InForce {
    /// The container's own.
    pub own: Option<RetentionPolicy>,
    /// Its organisation's default, which applies when it has none of its own.
    pub organisation: Option<RetentionPolicy>,
}

impl InForce {
    /// The policy that decides (nothing set deletes nothing but expired tags).
    pub fn policy(&self) -> RetentionPolicy {
        self.own
            .clone()
            .or_else(|| self.organisation.clone())
            .unwrap_or_default()
    }
}

/// What one run did to one container.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub deleted: Vec<(RepoName, Doomed)>,
    /// Tags the plan named that could not be deleted, with why.
    pub failed: Vec<(RepoName, String, String)>,
}

impl RunReport {
    fn absorb(&mut self, other: RunReport) {
        self.deleted.extend(other.deleted);
        self.failed.extend(other.failed);
    }
}

/// The retention default of `namespace`'s organisation, if it is one and has one.
async fn organisation_policy(
    state: &AppState,
    namespace: &str,
) -> PortResult<Option<RetentionPolicy>> {
    let Ok(name) = OrgName::parse(namespace) else {
        return Ok(None);
    };
    match state.orgs.get_org(&name).await {
        Ok(org) => Ok(org.retention),
        Err(PortError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn in_force(state: &AppState, container: &Container) -> PortResult<InForce> {
    Ok(InForce {
        own: container.policy.retention.clone(),
        organisation: organisation_policy(state, container.id.namespace()).await?,
    })
}

/// The tags `policy` deletes from `container` now, newest first. Immutable tags are protected,
/// and so is every tag that shares its image with an immutable one: a registry that deletes
/// by digest (Distribution 2.x) would take the immutable tag with it.
pub async fn plan_for(
    state: &AppState,
    container: &Container,
    policy: &RetentionPolicy,
) -> Result<Vec<Doomed>, ApiError> {
    let rules = TagRules::for_container(state, &container.id, Some(container.clone())).await?;
    let digest_of: BTreeMap<&str, &str> = container
        .tags
        .iter()
        .map(|t| (t.name.as_str(), t.digest.as_str()))
        .collect();
    let protected = |tag: &str| {
        digest_of
            .get(tag)
            .is_some_and(|digest| rules.immutable_tags_at(digest).next().is_some())
    };
    retention::plan(
        policy,
        &TagFacts::of(container),
        protected,
        bioshadock_core::model::now(),
    )
    .map_err(|e| {
        // Policies are checked when saved: one that no longer compiles is the store's fault.
        tracing::error!(id = %container.id, error = %e, "a stored retention policy is invalid");
        ApiError::internal()
    })
}

/// A container's policies, for anyone who may see it.
pub async fn get(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
) -> Result<InForce, ApiError> {
    let (container, _) = containers::visible(state, principal, id).await?;
    Ok(in_force(state, &container).await?)
}

/// Sets the container's own policy (`None`: back to its organisation's), for its managers.
pub async fn set(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    policy: Option<RetentionPolicy>,
) -> Result<InForce, ApiError> {
    let changes = Changes {
        retention: Some(policy.filter(|p| !p.is_empty())),
        ..Changes::default()
    };
    let container = containers::update(state, principal, id, changes).await?;
    Ok(in_force(state, &container).await?)
}

/// A container the caller manages (retention deletes: only its owner and admins ask for it).
async fn managed(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    scope: Scope,
) -> Result<Container, ApiError> {
    containers::managed(state, principal, id, scope, "its retention policy").await
}

/// The dry run: what a run would delete now, and why.
pub async fn preview(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
) -> Result<Vec<Doomed>, ApiError> {
    let container = managed(state, principal, id, Scope::Read).await?;
    let policy = in_force(state, &container).await?.policy();
    plan_for(state, &container, &policy).await
}

/// Runs the policy in force on one container now, for its managers.
pub async fn run(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
) -> Result<RunReport, ApiError> {
    let container = managed(state, principal, id, Scope::Push).await?;
    Ok(run_on(state, events::actor_of(principal), container).await)
}

/// Plans and deletes on `container`, as `actor`. Each tag goes from the registry first and then
/// from the catalogue; a tag the registry keeps is reported, not forgotten.
async fn run_on(state: &AppState, actor: EventActor, mut container: Container) -> RunReport {
    let mut report = RunReport::default();
    let id = container.id.clone();
    let plan = match in_force(state, &container).await {
        Ok(in_force) => plan_for(state, &container, &in_force.policy()).await,
        Err(e) => Err(e.into()),
    };
    let doomed = match plan {
        Ok(doomed) => doomed,
        Err(e) => {
            report
                .failed
                .push((id, String::new(), format!("no plan: {}", e.message)));
            return report;
        }
    };
    for doomed in doomed {
        let Some(tag) = container
            .tags
            .iter()
            .find(|t| t.name.as_str() == doomed.tag)
            .cloned()
        else {
            continue;
        };
        if let Err(e) = removal::delete_tag(state, &container, &tag).await {
            report.failed.push((id.clone(), doomed.tag, e.message));
            continue;
        }
        match state.store.delete_tag(&id, &tag.name).await {
            Ok(()) | Err(PortError::NotFound) => {}
            Err(e) => {
                report
                    .failed
                    .push((id.clone(), doomed.tag, format!("catalogue: {e}")));
                continue;
            }
        }
        // Later tags of the same image are no longer "sharing" it with this one.
        container.tags.retain(|t| t.name != tag.name);
        let summary = format!(
            "deleted by retention ({}; it was {})",
            doomed.reason.describe(),
            tag.digest
        );
        let target = format!("{id}:{}", tag.name);
        let kind = EventKind::RetentionDeleted;
        events::record_on_repository(state, actor.clone(), kind, &id, target, summary).await;
        report.deleted.push((id.clone(), doomed));
    }
    if !report.deleted.is_empty() {
        state.cache.catalogue_changed();
        match state.store.get(&id).await {
            Ok(fresh) => {
                if let Err(e) = state.search.upsert(std::slice::from_ref(&fresh)).await {
                    tracing::warn!(error = %e, %id, "indexing after retention failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, %id, "reading back after retention failed"),
        }
    }
    report
}

/// An organisation the caller manages.
async fn managed_org(
    state: &AppState,
    principal: &Principal,
    org: &str,
    scope: Scope,
) -> Result<Organisation, ApiError> {
    principal.require(scope)?;
    let (org, rights) = super::orgs::get(state, principal, org).await?;
    if !rights.manage {
        return Err(ApiError::forbidden(
            "forbidden",
            "only the organisation's admins and owners manage its retention",
        ));
    }
    Ok(org)
}

/// An organisation's default policy, for its admins and owners.
pub async fn get_org(
    state: &AppState,
    principal: &Principal,
    org: &str,
) -> Result<Option<RetentionPolicy>, ApiError> {
    Ok(managed_org(state, principal, org, Scope::Read)
        .await?
        .retention)
}

/// Sets an organisation's default policy (`None`: none).
pub async fn set_org(
    state: &AppState,
    principal: &Principal,
    org: &str,
    policy: Option<RetentionPolicy>,
) -> Result<Option<RetentionPolicy>, ApiError> {
    let change = super::orgs::Change::SetRetention(policy.filter(|p| !p.is_empty()));
    Ok(super::orgs::apply(state, principal, org, change)
        .await?
        .retention)
}

/// The containers of organisation `org`, by the search index (bounded).
async fn containers_of(state: &AppState, org: &OrgName) -> Result<Vec<RepoName>, ApiError> {
    let query = SearchQuery::parse(&format!("namespace:{org}"))?;
    let mut ids = Vec::new();
    loop {
        let offset = ids.len();
        let hits = state
            .search
            .search(&query, &Audience::Everyone, offset, PAGE)
            .await?;
        let got = hits.ids.len();
        ids.extend(hits.ids);
        if got == 0 || ids.len() as u64 >= hits.total.min(MAX_ORG_CONTAINERS) {
            return Ok(ids);
        }
    }
}

/// The dry run over every container of an organisation (each under the policy in force for it).
pub async fn preview_org(
    state: &AppState,
    principal: &Principal,
    org: &str,
) -> Result<Vec<(RepoName, Doomed)>, ApiError> {
    let org = managed_org(state, principal, org, Scope::Read).await?;
    let mut out = Vec::new();
    for id in containers_of(state, &org.name).await? {
        let container = match state.store.get(&id).await {
            Ok(container) => container,
            Err(PortError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        let policy = container
            .policy
            .retention
            .clone()
            .or_else(|| org.retention.clone())
            .unwrap_or_default();
        let doomed = plan_for(state, &container, &policy).await?;
        out.extend(doomed.into_iter().map(|d| (id.clone(), d)));
    }
    Ok(out)
}

/// Runs retention on every container of an organisation now.
pub async fn run_org(
    state: &AppState,
    principal: &Principal,
    org: &str,
) -> Result<RunReport, ApiError> {
    let org = managed_org(state, principal, org, Scope::Push).await?;
    let actor = events::actor_of(principal);
    let mut report = RunReport::default();
    for id in containers_of(state, &org.name).await? {
        match state.store.get(&id).await {
            Ok(container) => report.absorb(run_on(state, actor.clone(), container).await),
            Err(PortError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}

/// The periodic run: every container with a policy in force or an expiring tag. Walks the
/// catalogue by keyset pages, remembering only the ids to visit.
pub async fn run_everywhere(state: &AppState) -> PortResult<RunReport> {
    let defaults: BTreeMap<String, RetentionPolicy> = state
        .orgs
        .list_orgs()
        .await?
        .into_iter()
        .filter_map(|org| Some((org.name.to_string(), org.retention?)))
        .collect();
    let due = containers::every(state, |c| {
        let applies = !c.tags.is_empty()
            && (c.policy.retention.is_some()
                || !c.policy.expiring.is_empty()
                || defaults.contains_key(c.id.namespace()));
        applies.then_some(c.id)
    })
    .await?;
    let actor = EventActor {
        kind: ActorKind::System,
        name: "retention".to_owned(),
        credential: Credential::None,
        client: None,
        request_id: None,
    };
    let mut report = RunReport::default();
    for id in due {
        match state.store.get(&id).await {
            Ok(container) => report.absorb(run_on(state, actor.clone(), container).await),
            Err(PortError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// The lock that keeps N portals from running the same policies at once.
const LOCK: &str = "retention";
/// Held at most this long, should its holder die mid-run.
const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs every policy every `every` (the first run a minute after start), in one process at a
/// time across a distributed installation.
pub fn spawn_periodic(state: AppState, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    let holder = crate::state::lock_holder();
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + every.min(std::time::Duration::from_secs(60));
        let mut ticks = tokio::time::interval_at(first, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match state.coordination.try_lock(LOCK, holder, LOCK_TTL).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!("another process runs retention; skipping this round");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the retention lock");
                    continue;
                }
            }
            match run_everywhere(&state).await {
                Ok(report) => {
                    for (id, tag, why) in &report.failed {
                        tracing::warn!(%id, tag, why, "retention could not delete a tag");
                    }
                    tracing::info!(
                        deleted = report.deleted.len(),
                        failed = report.failed.len(),
                        "retention run done"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "retention run failed"),
            }
            if let Err(e) = state.coordination.unlock(LOCK, holder).await {
                tracing::warn!(error = %e, "cannot release the retention lock");
            }
        }
    })
}
