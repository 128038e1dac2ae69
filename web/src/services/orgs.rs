//! Organisations on behalf of a caller: create, describe, delete; members and their roles;
//! teams, their members and their repository permissions. Shared by the JSON API, the pages
//! and the `org` command.
//!
//! Every change reads the organisation, asks `core::permissions` what the caller may do with
//! it, applies one of the aggregate's methods (which keep its rules) and saves it at the
//! version it read; when another change landed in between, it starts again from a fresh read.

use bioshadock_core::accounts::{Scope, UserName};
use bioshadock_core::names::MAX_NEW_NAME_LEN;
use bioshadock_core::orgs::{OrgError, OrgName, OrgRole, Organisation, Permission, TeamName};
use bioshadock_core::permissions::{OrgRights, Principal};
use bioshadock_core::query::SearchQuery;
use bioshadock_core::{Audience, PortError, RepoName};

use super::events;
use crate::error::ApiError;
use crate::services::users::unknown_user;
use crate::state::AppState;
use bioshadock_core::events::{Event, EventKind};

/// Reads and retries of one change before giving up on a very busy organisation.
const ATTEMPTS: usize = 5;

/// One change to an organisation's members or teams.
#[derive(Debug, Clone)]
pub enum Change {
    Describe(String),
    SetMember(UserName, OrgRole),
    RemoveMember(UserName),
    AddTeam(TeamName, Permission),
    SetTeamPermission(TeamName, Permission),
    RemoveTeam(TeamName),
    SetTeamMember(TeamName, UserName, bool),
    /// A team's permission on one repository (its name within the organisation); `None`
    /// removes the override.
    SetTeamRepository(TeamName, String, Option<Permission>),
    /// The immutability default of its containers.
    SetImmutable(Option<bioshadock_core::tag_policy::ImmutableTags>),
    /// The retention policy of its containers that set none of their own.
    SetRetention(Option<bioshadock_core::retention::RetentionPolicy>),
    /// A build secret of its containers, sealed; `None` removes it.
    SetBuildSecret(
        String,
        Option<bioshadock_core::build_settings::SealedSecret>,
    ),
}

/// Creates organisation `name` with the caller as its owner.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    name: &str,
    description: &str,
) -> Result<Organisation, ApiError> {
    let actor = caller.may_create_org(state.settings.org_creation)?;
    let name = OrgName::parse(name).map_err(|e| ApiError::bad_request(format!("name: {e}")))?;
    let org = Organisation::new(name, description.to_owned(), actor.user.name.clone())?;
    // Containers may already live under the name (pushed by an admin, or migrated): only an
    // admin may turn such a namespace into an organisation, which then holds them.
    if !caller.is_admin() && containers_in(state, &org.name).await? > 0 {
        return Err(ApiError::conflict(format!(
            "containers already exist under `{}/`; an administrator can make it an organisation",
            org.name
        )));
    }
    match state.orgs.create_org(&org).await {
        Ok(()) => {}
        Err(PortError::Conflict(_)) => {
            return Err(ApiError::conflict(format!(
                "the name `{}` is taken by a user or an organisation",
                org.name
            )));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = %org.name, owner = %actor.user.name, "organisation created");
    let summary = format!("created, owned by {}", actor.user.name);
    record(state, caller, EventKind::OrgCreated, &org, summary).await;
    Ok(org)
}

/// An organisation and what the caller may do with it. Organisations are public, like
/// users' namespaces; their members and teams are not (see [`OrgRights::see_members`]).
pub async fn get(
    state: &AppState,
    caller: &Principal,
    name: &str,
) -> Result<(Organisation, OrgRights), ApiError> {
    let org = read(state, name).await?;
    let rights = caller.org_rights(&org);
    Ok((org, rights))
}

/// Every organisation, by name.
pub async fn list(state: &AppState) -> Result<Vec<Organisation>, ApiError> {
    Ok(state.orgs.list_orgs().await?)
}

/// Applies `change` for `caller`, and returns the organisation as saved.
pub async fn apply(
    state: &AppState,
    caller: &Principal,
    name: &str,
    change: Change,
) -> Result<Organisation, ApiError> {
    // Who asks comes first: an anonymous change is a 401 whether or not the name exists.
    caller.require(Scope::Push)?;
    if let Change::SetMember(user, _) = &change {
        // Only accounts join: a typo must not become a member who appears later.
        match state.users.get_user(user).await {
            Ok(_) => {}
            Err(PortError::NotFound) => return Err(unknown_user(user.as_str())),
            Err(e) => return Err(e.into()),
        }
    }
    if let Change::SetTeamRepository(_, repository, _) = &change {
        // A name that could be created: the bound of a new container's name.
        if repository.len() > MAX_NEW_NAME_LEN {
            return Err(ApiError::bad_request(format!(
                "a repository name has at most {MAX_NEW_NAME_LEN} characters"
            )));
        }
        RepoName::parse(&format!("{name}/{repository}"))
            .map_err(|e| ApiError::bad_request(format!("repository `{repository}`: {e}")))?;
    }
    for _ in 0..ATTEMPTS {
        let mut org = read(state, name).await?;
        allowed(caller, &org, &change)?;
        apply_to(&mut org, change.clone())?;
        match state.orgs.save_org(&org).await {
            Ok(()) => {
                tracing::info!(org = %org.name, change = ?change, "organisation changed");
                org.version += 1;
                record(
                    state,
                    caller,
                    EventKind::OrgChanged,
                    &org,
                    describe(&change),
                )
                .await;
                return Ok(org);
            }
            Err(PortError::Conflict(_)) => continue,
            Err(PortError::NotFound) => return Err(unknown(name)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(busy(name))
}

/// Deletes an organisation that holds no containers, with its robots (its owners, or an
/// admin).
pub async fn delete(state: &AppState, caller: &Principal, name: &str) -> Result<(), ApiError> {
    caller.require(Scope::Push)?;
    for _ in 0..ATTEMPTS {
        let org = read(state, name).await?;
        if !caller.org_rights(&org).own {
            return Err(ApiError::forbidden(
                "forbidden",
                "only the organisation's owners delete it",
            ));
        }
        let held = containers_in(state, &org.name).await?;
        if held > 0 {
            return Err(ApiError::conflict(format!(
                "`{name}` still holds {held} container(s): delete or move them first"
            )));
        }
        // Its robots and webhooks go first: none may outlive it (and serve a later owner of
        // the name).
        state.robots.delete_robots_of(org.name.as_str()).await?;
        let scope = bioshadock_core::webhooks::HookScope::Organisation(org.name.to_string());
        super::webhooks::delete_all_of(state, &scope).await;
        match state.orgs.delete_org(&org).await {
            Ok(()) => {
                tracing::info!(org = %org.name, "organisation deleted");
                let summary = "deleted".to_owned();
                record(state, caller, EventKind::OrgDeleted, &org, summary).await;
                return Ok(());
            }
            Err(PortError::Conflict(_)) => continue,
            Err(PortError::NotFound) => return Err(unknown(name)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(busy(name))
}

/// Records `kind` on organisation `org`, as one of its events.
async fn record(
    state: &AppState,
    caller: &Principal,
    kind: EventKind,
    org: &Organisation,
    summary: String,
) {
    let target = format!("org:{}", org.name);
    let event =
        Event::new(kind, target, events::actor_of(caller), summary).in_org(org.name.as_str());
    events::record(state, event).await;
}

/// A change in one line for the audit log.
fn describe(change: &Change) -> String {
    match change {
        Change::Describe(_) => "description changed".to_owned(),
        Change::SetMember(user, role) => format!("{user} is {}", role.as_str()),
        Change::RemoveMember(user) => format!("{user} removed"),
        Change::AddTeam(team, permission) => {
            format!("team {team} added ({})", permission.as_str())
        }
        Change::SetTeamPermission(team, permission) => {
            format!("team {team}: {}", permission.as_str())
        }
        Change::RemoveTeam(team) => format!("team {team} removed"),
        Change::SetTeamMember(team, user, true) => format!("{user} joined team {team}"),
        Change::SetTeamMember(team, user, false) => format!("{user} left team {team}"),
        Change::SetTeamRepository(team, repository, Some(permission)) => {
            format!("team {team} on {repository}: {}", permission.as_str())
        }
        Change::SetTeamRepository(team, repository, None) => {
            format!("team {team} on {repository}: the team's own permission")
        }
        Change::SetBuildSecret(secret, Some(_)) => format!("build secret {secret} set"),
        Change::SetBuildSecret(secret, None) => format!("build secret {secret} removed"),
        Change::SetRetention(retention) => format!(
            "retention by default: {}",
            retention.as_ref().map_or(
                "none".to_owned(),
                bioshadock_core::retention::RetentionPolicy::describe
            )
        ),
        Change::SetImmutable(immutable) => format!(
            "immutable tags by default: {}",
            immutable.as_ref().map_or(
                "none".to_owned(),
                bioshadock_core::tag_policy::ImmutableTags::describe
            )
        ),
    }
}

/// Whether `caller` may make `change` to `org` as it stands: admins of the organisation manage
/// members and teams, only owners touch owners, and anyone may leave.
fn allowed(caller: &Principal, org: &Organisation, change: &Change) -> Result<(), ApiError> {
    let rights = caller.org_rights(org);
    let touches_owner = |user: &UserName| org.role_of(user) == Some(OrgRole::Owner);
    let ok = match change {
        Change::SetMember(user, role) => {
            if *role == OrgRole::Owner || touches_owner(user) {
                rights.own
            } else {
                rights.manage
            }
        }
        Change::RemoveMember(user) => {
            let leaving = caller.name() == Some(user);
            leaving
                || if touches_owner(user) {
                    rights.own
                } else {
                    rights.manage
                }
        }
        _ => rights.manage,
    };
    if ok {
        Ok(())
    } else if rights.manage {
        Err(ApiError::forbidden(
            "forbidden",
            "only the organisation's owners make or unmake owners",
        ))
    } else {
        Err(ApiError::forbidden(
            "forbidden",
            "only the organisation's admins and owners change it",
        ))
    }
}

fn apply_to(org: &mut Organisation, change: Change) -> Result<(), ApiError> {
    match change {
        Change::Describe(text) => org.set_description(text),
        Change::SetMember(user, role) => org.set_member(&user, role),
        Change::RemoveMember(user) => {
            return org.remove_member(&user).map_err(|e| match e {
                OrgError::NotAMember(_) => ApiError::not_found(e.to_string()),
                e => e.into(),
            });
        }
        Change::AddTeam(team, permission) => org.add_team(team, permission),
        Change::SetTeamPermission(team, permission) => org.set_team_permission(&team, permission),
        Change::RemoveTeam(team) => org.remove_team(&team),
        Change::SetTeamMember(team, user, present) => org.set_team_member(&team, &user, present),
        Change::SetTeamRepository(team, name, permission) => {
            org.set_team_repository(&team, &name, permission)
        }
        Change::SetImmutable(immutable) => {
            org.immutable = immutable;
            Ok(())
        }
        Change::SetRetention(retention) => {
            org.retention = retention
                .map(bioshadock_core::retention::RetentionPolicy::checked)
                .transpose()
                .map_err(|e| ApiError::bad_request(format!("retention: {e}")))?;
            Ok(())
        }
        Change::SetBuildSecret(secret, sealed) => {
            super::build_secrets::put(&mut org.build_secrets, secret, sealed)?;
            Ok(())
        }
    }
    .map_err(ApiError::from)
}

async fn read(state: &AppState, name: &str) -> Result<Organisation, ApiError> {
    let parsed = OrgName::parse(name).map_err(|_| unknown(name))?;
    match state.orgs.get_org(&parsed).await {
        Ok(org) => Ok(org),
        Err(PortError::NotFound) => Err(unknown(name)),
        Err(e) => Err(e.into()),
    }
}

/// How many containers the catalogue holds under `name/`, private ones included.
async fn containers_in(state: &AppState, name: &OrgName) -> Result<u64, ApiError> {
    let query = SearchQuery::parse(&format!("namespace:{name}"))?;
    let hits = state
        .search
        .search(&query, &Audience::Everyone, 0, 1)
        .await?;
    Ok(hits.total)
}

pub fn unknown(name: &str) -> ApiError {
    ApiError::not_found(format!("there is no organisation `{name}`"))
}

fn busy(name: &str) -> ApiError {
    ApiError::conflict(format!(
        "`{name}` kept changing while this change was applied; try again"
    ))
}
