//! Changing the catalogue on behalf of a caller: create, edit, set members, delete. Shared by
//! the JSON API and the pages, so both follow the same rules (`core::permissions`) and keep
//! the search index in step with the store.

use super::events;
use super::tag_policies::{TagRules, refuse_immutable_deletion};
use bioshadock_core::accounts::Scope;
use bioshadock_core::build_settings::ContainerBuildSettings;
use bioshadock_core::descriptor::DescriptorSource;
use bioshadock_core::events::EventKind;
use bioshadock_core::git::{GitSource, redact_userinfo};
use bioshadock_core::model::{self, Member, MemberName};
use bioshadock_core::names::MAX_NEW_NAME_LEN;
use bioshadock_core::orgs::{OrgName, Organisation, Permission, TeamName};
use bioshadock_core::permissions::{Principal, Rights, owner_for};
use bioshadock_core::ports::store::{ContainerSettings, changed_meanwhile};
use bioshadock_core::query::SearchQuery;
use bioshadock_core::retention::RetentionPolicy;
use bioshadock_core::tag_policy::{Deprecation, ImmutableTags, MAX_DEPRECATED_TAGS};
use bioshadock_core::{Audience, Container, PortError, RepoName, Visibility};

use crate::error::ApiError;
use crate::registry::removal;
use crate::state::AppState;

/// Longest description or Dockerfile accepted, in characters (both are shown on pages).
pub(crate) const MAX_TEXT: usize = 64 * 1024;
/// More members than this is a group's job, not a list's.
pub(crate) const MAX_MEMBERS: usize = 200;

/// What a new container starts with.
#[derive(Debug, Default)]
pub struct NewContainer {
    /// `namespace/name`, or just `name` for the caller's own namespace.
    pub name: String,
    pub description: String,
    pub git: Option<String>,
    pub dockerfile: Option<String>,
    /// A workflow descriptor: a path in the git source or an http(s) URL.
    pub descriptor: Option<String>,
    pub visible: Option<bool>,
}

/// Fields to change; `None` leaves a field as it is, an empty git, Dockerfile or descriptor
/// removes it.
#[derive(Debug, Default)]
pub struct Changes {
    pub description: Option<String>,
    pub visible: Option<bool>,
    pub git: Option<String>,
    pub dockerfile: Option<String>,
    pub descriptor: Option<String>,
    /// `Some(None)`: back to the namespace's default.
    pub immutable: Option<Option<ImmutableTags>>,
    /// `Some(None)`: lifted.
    pub deprecated: Option<Option<DeprecationInput>>,
    /// `Some(None)`: back to the organisation's policy (or none).
    pub retention: Option<Option<RetentionPolicy>>,
    /// Its build arguments and schedule, replacing the stored ones.
    pub build: Option<ContainerBuildSettings>,
}

/// A deprecation as asked for (checked by [`Deprecation::new`]).
#[derive(Debug)]
pub struct DeprecationInput {
    pub reason: String,
    pub replacement: Option<String>,
    pub block_pulls_after: Option<chrono::DateTime<chrono::Utc>>,
}

impl DeprecationInput {
    fn checked(self) -> Result<Deprecation, ApiError> {
        Deprecation::new(
            self.reason,
            self.replacement,
            self.block_pulls_after,
            model::now(),
        )
        .map_err(ApiError::bad_request)
    }
}

/// A container the caller manages (its owner and admins), for the changes only they make;
/// `what` names what they manage, for the refusal ("a container's triggers").
pub async fn managed(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    scope: Scope,
    what: &str,
) -> Result<Container, ApiError> {
    principal.require(scope)?;
    let (container, rights) = visible(state, principal, id).await?;
    if !rights.manage {
        return Err(forbidden(&format!(
            "only its owner and admins manage {what}"
        )));
    }
    Ok(container)
}

/// Every container of the catalogue (private ones too: for the portal's own periodic work,
/// never for a caller) that `keep` keeps, walking it by keyset pages so that only what is
/// kept is held.
pub async fn every<T>(
    state: &AppState,
    mut keep: impl FnMut(Container) -> Option<T>,
) -> bioshadock_core::PortResult<Vec<T>> {
    /// Containers read per page.
    const PAGE: usize = 500;
    let mut kept = Vec::new();
    let mut cursor: Option<bioshadock_core::ports::store::ListCursor> = None;
    loop {
        let page = state
            .store
            .list_after(
                &bioshadock_core::audience::Audience::Everyone,
                cursor.as_ref(),
                PAGE,
            )
            .await?;
        let Some(last) = page.last() else { break };
        cursor = Some(bioshadock_core::ports::store::ListCursor::of(last));
        kept.extend(page.into_iter().filter_map(&mut keep));
    }
    Ok(kept)
}

/// A container the caller may see; one they may not see is reported as absent, so its
/// existence does not leak.
pub async fn visible(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
) -> Result<(Container, Rights), ApiError> {
    let unknown = || ApiError::not_found(format!("no container named `{id}`"));
    match state.store.get(id).await {
        Ok(c) => {
            let rights = principal.rights_on(&c);
            if rights.see {
                Ok((c, rights))
            } else {
                Err(unknown())
            }
        }
        Err(PortError::NotFound) => Err(unknown()),
        Err(e) => Err(e.into()),
    }
}

pub async fn create(
    state: &AppState,
    principal: &Principal,
    input: NewContainer,
) -> Result<Container, ApiError> {
    let actor = principal.require(Scope::Push)?;
    // Taken as given (forms trim before calling): the API's document promises no trimming.
    let name = input.name.as_str();
    if name.chars().count() > MAX_NEW_NAME_LEN {
        return Err(ApiError::bad_request(format!(
            "a new container's name is at most {MAX_NEW_NAME_LEN} characters"
        )));
    }
    let id = if name.contains('/') {
        RepoName::parse(name)?
    } else {
        RepoName::parse(&format!("{}/{name}", actor.user.name))?
    };
    let actor = principal.may_create(&id)?;
    let visibility = match input.visible.unwrap_or(state.settings.default_public) {
        true => Visibility::Public,
        false => Visibility::Private,
    };
    let mut container = Container::new(
        id.clone(),
        owner_for(id.namespace(), &actor.user.name),
        visibility,
    );
    container.description = checked_text("description", input.description)?;
    container.git = checked_git(input.git)?;
    container.dockerfile = checked_dockerfile(input.dockerfile)?;
    container.descriptor = checked_descriptor(input.descriptor)?;
    match state.store.create(&container).await {
        Ok(()) => {}
        Err(PortError::Conflict(_)) => {
            return Err(ApiError::conflict(format!(
                "a container named `{id}` already exists"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    state.cache.catalogue_changed();
    reindex(state, &container).await;
    let summary = format!("created, {}", container.visibility.as_str());
    let kind = EventKind::ContainerCreated;
    events::record_on_container(state, principal, kind, &id, id.to_string(), summary).await;
    Ok(container)
}

pub async fn update(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    changes: Changes,
) -> Result<Container, ApiError> {
    principal.require(Scope::Push)?;
    let (container, rights) = visible(state, principal, id).await?;
    let edits_content = changes.description.is_some()
        || changes.git.is_some()
        || changes.dockerfile.is_some()
        || changes.descriptor.is_some()
        || changes.build.is_some();
    if edits_content && !rights.edit {
        return Err(forbidden(
            "only its owner, push members and admins may edit this container",
        ));
    }
    if changes.visible.is_some() && !rights.manage {
        return Err(forbidden(
            "only its owner and admins may change who can see this container",
        ));
    }
    if (changes.immutable.is_some() || changes.deprecated.is_some()) && !rights.manage {
        return Err(forbidden(
            "only its owner and admins may change its immutable tags or deprecate it",
        ));
    }
    if changes.retention.is_some() && !rights.manage {
        return Err(forbidden(
            "only its owner and admins may change its retention policy",
        ));
    }
    let mut settings = ContainerSettings::of(&container);
    if let Some(text) = changes.description {
        settings.description = checked_text("description", text)?;
    }
    if let Some(visible) = changes.visible {
        settings.visibility = if visible {
            Visibility::Public
        } else {
            Visibility::Private
        };
    }
    if let Some(git) = changes.git {
        // Push members and API callers are shown the source without its credentials; sending
        // that form back unchanged keeps the stored one (credentials included).
        let unchanged = container
            .git
            .as_deref()
            .is_some_and(|stored| redact_userinfo(stored) == git);
        if !unchanged {
            settings.git = checked_git(Some(git))?;
        }
    }
    if let Some(dockerfile) = changes.dockerfile {
        settings.dockerfile = checked_dockerfile(Some(dockerfile))?;
    }
    if let Some(descriptor) = changes.descriptor {
        settings.descriptor = checked_descriptor(Some(descriptor))?;
    }
    if let Some(immutable) = changes.immutable {
        settings.policy.immutable = immutable;
    }
    if let Some(mut build) = changes.build {
        build.check().map_err(ApiError::bad_request)?;

        // Secrets are set one by one (`build_secrets`), never through the settings.
        build.secrets = std::mem::take(&mut settings.policy.build.secrets);
        settings.policy.build = build;
    }
    if let Some(retention) = changes.retention {
        settings.policy.retention = retention
            .map(RetentionPolicy::checked)
            .transpose()
            .map_err(|e| ApiError::bad_request(format!("retention: {e}")))?;
    }
    if let Some(deprecated) = changes.deprecated {
        let asked = deprecated.map(DeprecationInput::checked).transpose()?;
        settings.policy.deprecated = match (asked, settings.policy.deprecated.take()) {
            // The same deprecation saved again keeps the day it was made.
            (Some(asked), Some(kept))
                if (&asked.reason, &asked.replacement, asked.block_pulls_after)
                    == (&kept.reason, &kept.replacement, kept.block_pulls_after) =>
            {
                Some(kept)
            }
            (asked, _) => asked,
        };
    }
    let before = ContainerSettings::of(&container);
    let saved = save(state, id, settings.clone()).await?;
    if before.policy.build.rebuild_on_base != settings.policy.build.rebuild_on_base {
        // Once saved, so that the next read of the followers sees the change.
        state.followers.forget();
    }
    for (kind, summary) in settings_changes(&before, &settings) {
        events::record_on_container(state, principal, kind, id, id.to_string(), summary).await;
    }
    Ok(saved)
}

/// The events a settings change makes, with a summary each: which content fields changed
/// (by name only: a git source may hold credentials), visibility, immutability, deprecation.
fn settings_changes(
    before: &ContainerSettings,
    after: &ContainerSettings,
) -> Vec<(EventKind, String)> {
    let mut out = Vec::new();
    let edited: Vec<&str> = [
        ("description", before.description != after.description),
        ("git source", before.git != after.git),
        ("Dockerfile", before.dockerfile != after.dockerfile),
        ("descriptor", before.descriptor != after.descriptor),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect();
    if !edited.is_empty() {
        out.push((
            EventKind::ContainerEdited,
            format!("changed: {}", edited.join(", ")),
        ));
    }
    if before.visibility != after.visibility {
        out.push((
            EventKind::VisibilityChanged,
            format!(
                "{} → {}",
                before.visibility.as_str(),
                after.visibility.as_str()
            ),
        ));
    }
    if before.policy.immutable != after.policy.immutable {
        let describe = |p: &Option<ImmutableTags>| {
            p.as_ref()
                .map_or("the namespace default".to_owned(), ImmutableTags::describe)
        };
        out.push((
            EventKind::ImmutabilityChanged,
            format!(
                "immutable tags: {} → {}",
                describe(&before.policy.immutable),
                describe(&after.policy.immutable)
            ),
        ));
    }
    if before.policy.retention != after.policy.retention {
        let describe = |p: &Option<RetentionPolicy>| {
            p.as_ref()
                .map_or("inherited".to_owned(), RetentionPolicy::describe)
        };
        out.push((
            EventKind::ContainerEdited,
            format!(
                "retention: {} → {}",
                describe(&before.policy.retention),
                describe(&after.policy.retention)
            ),
        ));
    }
    if before.policy.build != after.policy.build {
        out.push((
            EventKind::ContainerEdited,
            format!(
                "build settings: {} → {}",
                describe_build(&before.policy.build),
                describe_build(&after.policy.build)
            ),
        ));
    }
    if before.policy.deprecated != after.policy.deprecated {
        let summary = match &after.policy.deprecated {
            Some(d) => format!("deprecated: {}", d.reason),
            None => "deprecation lifted".to_owned(),
        };
        out.push((EventKind::Deprecated, summary));
    }
    out
}

/// Build settings in a few words: the argument names (their values stay out of the audit
/// log) and the schedule.
fn describe_build(build: &ContainerBuildSettings) -> String {
    if build.is_empty() {
        return "none".to_owned();
    }
    let mut parts = Vec::new();
    if !build.args.is_empty() {
        let names: Vec<&str> = build.args.keys().map(String::as_str).collect();
        parts.push(format!("arguments {}", names.join(", ")));
    }
    if let Some(schedule) = &build.schedule {
        parts.push(format!("schedule `{schedule}`"));
    }
    if build.rebuild_on_base {
        parts.push("rebuilt when a base image changes".to_owned());
    }
    parts.join("; ")
}

/// Replaces the member list.
pub async fn set_members(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    members: Vec<Member>,
) -> Result<Container, ApiError> {
    principal.require(Scope::Push)?;
    let (container, rights) = visible(state, principal, id).await?;
    if !rights.manage {
        return Err(forbidden(
            "only its owner and admins may change its members",
        ));
    }
    if members.len() > MAX_MEMBERS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_MEMBERS} members"
        )));
    }
    let members = widest_access_each(members);
    for member in &members {
        if member.user.as_str() == container.owner {
            return Err(ApiError::conflict(format!(
                "`{}` owns the container already",
                member.user
            )));
        }
        member_exists(state, &container, &member.user).await?;
    }
    let summary = members_change(&container.members, &members);
    let mut settings = ContainerSettings::of(&container);
    settings.members = members;
    let saved = save(state, id, settings).await?;
    if !summary.is_empty() {
        let kind = EventKind::MembersChanged;
        events::record_on_container(state, principal, kind, id, id.to_string(), summary).await;
    }
    Ok(saved)
}

/// Who joined, left or changed access, as one line (empty when nothing changed).
fn members_change(before: &[Member], after: &[Member]) -> String {
    let access = |list: &[Member], name: &MemberName| {
        list.iter()
            .find(|m| &m.user == name)
            .map(|m| m.access.as_str())
    };
    let mut names: Vec<&MemberName> = before.iter().chain(after).map(|m| &m.user).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| match (access(before, name), access(after, name)) {
            (None, Some(now)) => Some(format!("{name} added ({now})")),
            (Some(_), None) => Some(format!("{name} removed")),
            (Some(was), Some(now)) if was != now => Some(format!("{name} {was} → {now}")),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The teams of a container's organisation that hold a permission of their own on it, by name.
/// Containers outside organisations have none.
pub async fn team_members(
    state: &AppState,
    container: &Container,
) -> Result<Vec<(TeamName, Permission)>, ApiError> {
    let Some(org) = organisation_of(state, &container.id).await? else {
        return Ok(Vec::new());
    };
    let short = container.id.short_name();
    Ok(org
        .teams
        .into_iter()
        .filter_map(|team| {
            let grant = team.repositories.iter().find(|r| r.name == short)?;
            Some((team.name.clone(), grant.permission))
        })
        .collect())
}

/// Replaces which teams of the container's organisation hold a permission of their own on it
/// (the container's admins decide this, as they decide its user members): every team listed
/// gets its permission here, every other team falls back to its organisation-wide one.
pub async fn set_team_members(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    teams: Vec<(TeamName, Permission)>,
) -> Result<(), ApiError> {
    let container = team_members_checked(state, principal, id, &teams).await?;
    let mut wanted: std::collections::BTreeMap<TeamName, Permission> = Default::default();
    for (team, permission) in teams {
        let entry = wanted.entry(team).or_insert(permission);
        *entry = (*entry).max(permission);
    }
    let short = container.id.short_name().to_owned();
    for _ in 0..5 {
        let mut org = organisation_of(state, &container.id)
            .await?
            .ok_or_else(|| not_an_organisation(&container.id))?;
        if let Some(unknown) = wanted.keys().find(|t| org.team(t).is_none()) {
            return Err(ApiError::not_found(format!(
                "{} has no team `{unknown}`",
                org.name
            )));
        }
        let overrides = |org: &bioshadock_core::orgs::Organisation| -> Vec<(TeamName, Permission)> {
            org.teams
                .iter()
                .filter_map(|t| {
                    t.repositories
                        .iter()
                        .find(|grant| grant.name == short)
                        .map(|grant| (t.name.clone(), grant.permission))
                })
                .collect()
        };
        let before = overrides(&org);
        let names: Vec<TeamName> = org.teams.iter().map(|t| t.name.clone()).collect();
        for team in names {
            org.set_team_repository(&team, &short, wanted.get(&team).copied())?;
        }
        let changed = before != overrides(&org);
        match state.orgs.save_org(&org).await {
            Ok(()) if !changed => return Ok(()),
            Ok(()) => {
                let summary = if wanted.is_empty() {
                    "no team has a permission of its own".to_owned()
                } else {
                    let teams: Vec<String> = wanted
                        .iter()
                        .map(|(team, permission)| format!("{team}: {}", permission.as_str()))
                        .collect();
                    format!("teams: {}", teams.join(", "))
                };
                let kind = EventKind::MembersChanged;
                events::record_on_container(state, principal, kind, id, id.to_string(), summary)
                    .await;
                return Ok(());
            }
            Err(PortError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(format!(
        "the organisation of `{id}` kept changing; try again"
    )))
}

/// Checks, changing nothing, that `teams` could be made the container's team members: the
/// caller manages the container, it belongs to an organisation, and the teams exist there.
/// Returns the container.
pub async fn team_members_checked(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    teams: &[(TeamName, Permission)],
) -> Result<Container, ApiError> {
    principal.require(Scope::Push)?;
    let (container, rights) = visible(state, principal, id).await?;
    if !rights.manage {
        return Err(forbidden(
            "only its owner and admins may change its members",
        ));
    }
    let org = organisation_of(state, &container.id)
        .await?
        .ok_or_else(|| not_an_organisation(&container.id))?;
    match teams.iter().find(|(team, _)| org.team(team).is_none()) {
        Some((unknown, _)) => Err(ApiError::not_found(format!(
            "{} has no team `{unknown}`",
            org.name
        ))),
        None => Ok(container),
    }
}

/// The organisation whose namespace holds `id`, if its namespace is one.
pub async fn organisation_of(
    state: &AppState,
    id: &RepoName,
) -> Result<Option<Organisation>, ApiError> {
    let Ok(name) = OrgName::parse(id.namespace()) else {
        return Ok(None);
    };
    match state.orgs.get_org(&name).await {
        Ok(org) => Ok(Some(org)),
        Err(PortError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Takes `member` off every container of `namespace` (a robot being deleted: a later robot of
/// the same name must not inherit its memberships). Robots only join their own namespace's
/// containers, so the namespace is the whole search.
pub async fn remove_member_from_namespace(
    state: &AppState,
    namespace: &str,
    member: &MemberName,
) -> Result<usize, ApiError> {
    let query = SearchQuery::parse(&format!("namespace:{namespace}"))?;
    let mut removed = 0;
    let mut offset = 0;
    loop {
        let hits = state
            .search
            .search(&query, &Audience::Everyone, offset, 100)
            .await?;
        if hits.ids.is_empty() {
            return Ok(removed);
        }
        offset += hits.ids.len();
        for container in state.store.get_many(&hits.ids).await? {
            if container.member_access(member.as_str()).is_none() {
                continue;
            }
            change_settings(state, container, |settings| {
                settings.members.retain(|m| m.user != *member);
            })
            .await?;
            removed += 1;
        }
        if offset as u64 >= hits.total {
            return Ok(removed);
        }
    }
}

fn not_an_organisation(id: &RepoName) -> ApiError {
    ApiError::conflict(format!(
        "`{}` is not an organisation: only an organisation's containers have team members",
        id.namespace()
    ))
}

pub async fn delete(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
) -> Result<(), ApiError> {
    principal.require(Scope::Push)?;
    let (container, rights) = visible(state, principal, id).await?;
    if !rights.manage {
        return Err(forbidden(
            "only its owner and admins may delete this container",
        ));
    }
    let rules = TagRules::for_container(state, id, Some(container.clone())).await?;
    refuse_immutable_deletion(&rules, id, container.tags.iter())?;
    // Recorded before anything goes, so that nothing recreated meanwhile (a push racing the
    // deletion, a reconciliation) can come back more visible than this container was.
    state
        .store
        .record_deletion(id, container.visibility)
        .await?;
    // The registry first: an image the catalogue forgot would stay pullable.
    removal::delete_container(state, &container).await?;
    // Its builds, triggers and webhooks go too: a later container of the same name (someone
    // else's, maybe) must not inherit them, nor send its events to this one's receivers.
    if let Err(e) = state.builds.delete_for_container(id).await {
        tracing::warn!(error = %e, %id, "deleting the builds of a deleted container failed");
    }
    if let Err(e) = state.triggers.delete_triggers_of(id.as_str()).await {
        tracing::warn!(error = %e, %id, "deleting the triggers of a deleted container failed");
    }
    let scope = bioshadock_core::webhooks::HookScope::Container(id.to_string());
    super::webhooks::delete_all_of(state, &scope).await;
    match state.store.delete(id).await {
        Ok(()) | Err(PortError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    state.cache.catalogue_changed();
    if let Err(e) = state.search.remove(id).await {
        // The store is the source of truth; a stale hit is filtered out when read back.
        tracing::warn!(error = %e, %id, "removing a deleted container from the index failed");
    }
    let summary = format!("deleted with {} tags", container.tags.len());
    let kind = EventKind::ContainerDeleted;
    events::record_on_container(state, principal, kind, id, id.to_string(), summary).await;
    Ok(())
}

/// Deprecates one tag (`Some(Some(_))`), lifts its deprecation (`Some(None)`) or changes
/// nothing (`None`): the container's owner and admins. The deprecation is kept by name, so a tag
/// pushed again stays deprecated.
pub async fn deprecate_tag(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    tag: &str,
    deprecation: Option<Option<DeprecationInput>>,
) -> Result<Container, ApiError> {
    principal.require(Scope::Push)?;
    let (container, rights) = visible(state, principal, id).await?;
    if !rights.manage {
        return Err(forbidden(
            "only its owner and admins may deprecate this container's tags",
        ));
    }
    let known = container.tags.iter().any(|t| t.name.as_str() == tag)
        || container.policy.deprecated_tags.contains_key(tag);
    if !known {
        return Err(ApiError::not_found(format!("`{id}` has no tag `{tag}`")));
    }
    let mut settings = ContainerSettings::of(&container);
    let Some(deprecation) = deprecation else {
        return Ok(container);
    };
    match deprecation {
        Some(input) => {
            if settings.policy.deprecated_tags.len() >= MAX_DEPRECATED_TAGS
                && !settings.policy.deprecated_tags.contains_key(tag)
            {
                return Err(ApiError::conflict(format!(
                    "at most {MAX_DEPRECATED_TAGS} tags of one container are deprecated one by one; \
                     deprecate the container instead"
                )));
            }
            settings
                .policy
                .deprecated_tags
                .insert(tag.to_owned(), input.checked()?);
        }
        None => {
            settings.policy.deprecated_tags.remove(tag);
        }
    }
    let saved = save(state, id, settings).await?;
    let summary = match saved.policy.deprecated_tags.get(tag) {
        Some(d) => format!("deprecated: {}", d.reason),
        None => "deprecation lifted".to_owned(),
    };
    let target = format!("{id}:{tag}");
    events::record_on_container(state, principal, EventKind::Deprecated, id, target, summary).await;
    Ok(saved)
}

/// Deletes one tag, in the registry and then in the catalogue (owner, push members, admins).
pub async fn delete_tag(
    state: &AppState,
    principal: &Principal,
    id: &RepoName,
    tag: &str,
) -> Result<(), ApiError> {
    principal.require(Scope::Push)?;
    let (container, rights) = visible(state, principal, id).await?;
    if !rights.push {
        return Err(forbidden(
            "only its owner, push members and admins may delete its tags",
        ));
    }
    let Some(tag) = container.tags.iter().find(|t| t.name.as_str() == tag) else {
        return Err(ApiError::not_found(format!("`{id}` has no tag `{tag}`")));
    };
    // Distribution 2.x deletes by digest: every tag of that image goes with it.
    let rules = TagRules::for_container(state, id, Some(container.clone())).await?;
    refuse_immutable_deletion(
        &rules,
        id,
        container.tags.iter().filter(|t| t.digest == tag.digest),
    )?;
    removal::delete_tag(state, &container, tag).await?;
    match state.store.delete_tag(id, &tag.name).await {
        Ok(()) | Err(PortError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    state.cache.catalogue_changed();
    let summary = format!("deleted (it was {})", tag.digest);
    let target = format!("{id}:{}", tag.name);
    events::record_on_container(state, principal, EventKind::TagDeleted, id, target, summary).await;
    match state.store.get(id).await {
        Ok(container) => reindex(state, &container).await,
        Err(PortError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Parses a member's user name from a form or body.
pub fn member_name(raw: &str) -> Result<MemberName, ApiError> {
    MemberName::parse(raw).map_err(|e| ApiError::bad_request(format!("member: {e}")))
}

/// Refuses a member who does not exist, and a robot of another namespace: a robot joins only
/// its own owner's containers, so it never holds more than its owner could grant.
async fn member_exists(
    state: &AppState,
    container: &Container,
    member: &MemberName,
) -> Result<(), ApiError> {
    if let Some(robot) = member.robot() {
        if robot.owner() != container.id.namespace() {
            return Err(ApiError::conflict(format!(
                "{robot} belongs to `{}`: a robot joins only its owner's containers",
                robot.owner()
            )));
        }
        return match state.robots.find_robot(&robot).await {
            Ok(_) => Ok(()),
            Err(PortError::NotFound) => {
                Err(ApiError::not_found(format!("there is no robot `{robot}`")))
            }
            Err(e) => Err(e.into()),
        };
    }
    let Some(user) = member.user() else {
        return Err(ApiError::bad_request(format!(
            "member `{member}`: not a name"
        )));
    };
    match state.users.get_user(&user).await {
        Ok(_) => Ok(()),
        Err(PortError::NotFound) => {
            Err(ApiError::not_found(format!("there is no user `{member}`")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Tries this often, reading the container again after each conflicting change.
const SETTINGS_ATTEMPTS: usize = 5;

/// Writes `change` of `container`'s settings, as read: when another change landed since
/// `container` was read (`Conflict`), reads it again and applies `change` to that, a few
/// times. `change` answers false when there is nothing to change, and then nothing is written.
/// Answers whether it wrote. For changes that stand whatever else changed (an expiry label, a
/// member removed everywhere); a user's edit is saved once, and a conflict is theirs to see
/// (409).
pub(crate) async fn write_settings_as_read(
    state: &AppState,
    container: &Container,
    change: impl Fn(&Container, &mut ContainerSettings) -> bool,
) -> Result<bool, PortError> {
    let mut container = std::borrow::Cow::Borrowed(container);
    for _ in 0..SETTINGS_ATTEMPTS {
        let mut settings = ContainerSettings::of(&container);
        if !change(&container, &mut settings) {
            return Ok(false);
        }
        settings.updated_at = settings.next_updated_at(model::now());
        match state.store.update_settings(&container.id, &settings).await {
            Err(PortError::Conflict(_)) => {
                container = std::borrow::Cow::Owned(state.store.get(&container.id).await?);
            }
            written => return written.map(|()| true),
        }
    }
    Err(changed_meanwhile(&container.id))
}

/// [`write_settings_as_read`] of a change that always applies, then what [`save`] does after
/// writing.
pub(crate) async fn change_settings(
    state: &AppState,
    container: Container,
    change: impl Fn(&mut ContainerSettings),
) -> Result<Container, ApiError> {
    write_settings_as_read(state, &container, |_, settings| {
        change(settings);
        true
    })
    .await?;
    saved(state, &container.id).await
}

pub(crate) async fn save(
    state: &AppState,
    id: &RepoName,
    mut settings: ContainerSettings,
) -> Result<Container, ApiError> {
    settings.updated_at = settings.next_updated_at(model::now());
    state.store.update_settings(id, &settings).await?;
    saved(state, id).await
}

/// After a container's settings were written: the caches and the search index follow, and the
/// container is read back.
async fn saved(state: &AppState, id: &RepoName) -> Result<Container, ApiError> {
    state.cache.catalogue_changed();
    let container = state.store.get(id).await?;
    reindex(state, &container).await;
    Ok(container)
}

/// Keeps search in step; a failure is logged, and `bioshadock reindex` repairs it.
async fn reindex(state: &AppState, container: &Container) {
    if let Err(e) = state.search.upsert(std::slice::from_ref(container)).await {
        tracing::warn!(error = %e, id = %container.id, "indexing a changed container failed");
    }
}

fn forbidden(message: &str) -> ApiError {
    ApiError::forbidden("forbidden", message)
}

/// One entry per user, sorted: a user listed twice keeps the wider access (`push` over
/// `pull`), as if the two entries had been merged.
fn widest_access_each(mut members: Vec<Member>) -> Vec<Member> {
    members.sort_by(|a, b| a.user.cmp(&b.user).then(b.access.cmp(&a.access)));
    members.dedup_by(|later, kept| later.user == kept.user);
    members
}

/// Counted in characters, as the API's document states its `maxLength`.
fn checked_text(field: &str, text: String) -> Result<String, ApiError> {
    if text.chars().count() > MAX_TEXT {
        return Err(ApiError::bad_request(format!(
            "`{field}` is longer than {MAX_TEXT} characters"
        )));
    }
    Ok(text)
}

/// An empty source means none; anything else must parse, untrimmed.
fn checked_git(git: Option<String>) -> Result<Option<String>, ApiError> {
    match git.filter(|g| !g.is_empty()) {
        None => Ok(None),
        Some(git) => {
            GitSource::parse(&git).map_err(|e| ApiError::bad_request(e.to_string()))?;
            Ok(Some(git))
        }
    }
}

/// An empty descriptor means none; anything else must be a path or URL naming a descriptor.
fn checked_descriptor(descriptor: Option<String>) -> Result<Option<String>, ApiError> {
    match descriptor.filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(raw) => {
            DescriptorSource::parse(&raw).map_err(ApiError::bad_request)?;
            Ok(Some(raw))
        }
    }
}

fn checked_dockerfile(dockerfile: Option<String>) -> Result<Option<String>, ApiError> {
    match dockerfile.filter(|d| !d.trim().is_empty()) {
        None => Ok(None),
        Some(text) => checked_text("dockerfile", text).map(Some),
    }
}
