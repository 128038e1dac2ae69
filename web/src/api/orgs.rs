//! Organisations: `/orgs`, their members and their teams. The rules live in
//! `core::permissions` and the aggregate (`core::orgs`); the work in
//! [`crate::services::orgs`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bioshadock_core::accounts::UserName;
use bioshadock_core::orgs::{OrgMember, OrgRole, Organisation, Permission, Team, TeamName};
use bioshadock_core::permissions::OrgRights;
use bioshadock_core::tag_policy::ImmutableTags;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::grammar::{self, OrgMemberPath, OrgPath, TeamMemberPath, TeamPath, TeamRepositoryPath};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::services::orgs::{self, Change};
use crate::services::users::unknown_user;
use crate::state::AppState;

/// An organisation as the API shows it. Members and teams are present for those who may see
/// them: its members and administrators.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    #[schema(example = "genomics-core")]
    pub name: String,
    /// Markdown.
    pub description: String,
    pub created_at: DateTime<Utc>,
    /// Sorted by user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<OrgMember>>,
    /// Sorted by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<Team>>,
    /// The immutability of tags in its containers that set none of their own.
    #[schema(schema_with = super::immutable_schema)]
    pub immutable: Option<ImmutableTags>,
}

impl OrgView {
    fn new(org: Organisation, rights: OrgRights) -> Self {
        let (members, teams) = if rights.see_members {
            (Some(org.members), Some(org.teams))
        } else {
            (None, None)
        };
        Self {
            name: org.name.to_string(),
            description: org.description,
            created_at: org.created_at,
            members,
            teams,
            immutable: org.immutable,
        }
    }
}

/// The body of `POST /orgs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgBody {
    /// A namespace name, free among users and organisations.
    #[schema(schema_with = grammar::user_name_schema)]
    name: String,
    /// Markdown, at most 4096 characters.
    #[serde(default)]
    #[schema(schema_with = grammar::org_description_schema)]
    description: String,
}

/// The body of `PATCH /orgs/{org}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgChangesBody {
    #[schema(schema_with = grammar::optional_org_description_schema)]
    description: Option<String>,
    /// The immutability default of its containers; `null` for none.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(schema_with = super::immutable_schema)]
    immutable: Option<Option<ImmutableTags>>,
}

/// The body of `PUT /orgs/{org}/members/{user}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: OrgRole,
}

/// The body of `POST /orgs/{org}/teams`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeamBody {
    #[schema(schema_with = grammar::team_name_schema)]
    name: String,
    /// On every repository of the organisation.
    permission: Permission,
}

/// The body of `PATCH /orgs/{org}/teams/{team}` and
/// `PUT /orgs/{org}/teams/{team}/repositories/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionBody {
    permission: Permission,
}

/// Every organisation, by name (members and teams left out: see `GET /orgs/{org}`).
#[utoipa::path(get, path = "/orgs", tag = "organisations",
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [OrgView])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(_caller): Caller,
) -> Result<Json<Vec<OrgView>>, ApiError> {
    let orgs = orgs::list(&state).await?;
    Ok(Json(
        orgs.into_iter()
            .map(|org| OrgView::new(org, OrgRights::default()))
            .collect(),
    ))
}

/// Create an organisation; the caller becomes its owner (`access.org_creation` says who may).
#[utoipa::path(post, path = "/orgs", tag = "organisations", request_body = NewOrgBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = OrgView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Only admins create organisations here, or the key lacks `push`", body = ErrorBody),
        (status = 409, description = "The name is taken, or containers already live under it", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewOrgBody>,
) -> Result<(StatusCode, Json<OrgView>), ApiError> {
    let org = orgs::create(&state, &caller, &body.name, &body.description).await?;
    let rights = caller.org_rights(&org);
    Ok((StatusCode::CREATED, Json(OrgView::new(org, rights))))
}

/// One organisation; its members and teams for those who may see them.
#[utoipa::path(get, path = "/orgs/{org}", tag = "organisations", params(OrgPath),
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = OrgView), (status = 404, body = ErrorBody)))]
pub async fn one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
) -> Result<Json<OrgView>, ApiError> {
    let (org, rights) = orgs::get(&state, &caller, &org).await?;
    Ok(Json(OrgView::new(org, rights)))
}

/// Change an organisation's description or the immutability default of its containers (its
/// admins and owners).
#[utoipa::path(patch, path = "/orgs/{org}", tag = "organisations", params(OrgPath),
    request_body = OrgChangesBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = OrgView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<OrgChangesBody>,
) -> Result<Json<OrgView>, ApiError> {
    let mut changes = Vec::new();
    if let Some(description) = body.description {
        changes.push(Change::Describe(description));
    }
    if let Some(immutable) = body.immutable {
        changes.push(Change::SetImmutable(immutable));
    }
    let mut view = None;
    for change in changes {
        view = Some(changed(&state, &caller, &org, change).await?);
    }
    match view {
        Some(view) => Ok(view),
        None => one(State(state), Caller(caller), Path(org)).await,
    }
}

/// Delete an organisation that holds no containers (its owners).
#[utoipa::path(delete, path = "/orgs/{org}", tag = "organisations", params(OrgPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "It still holds containers", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
) -> Result<StatusCode, ApiError> {
    orgs::delete(&state, &caller, &org).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One member's role (for those who may see the members).
#[utoipa::path(get, path = "/orgs/{org}/members/{user}", tag = "organisations",
    params(OrgMemberPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = OrgMember), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such organisation, or not a member", body = ErrorBody)))]
pub async fn member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, user)): Path<(String, String)>,
) -> Result<Json<OrgMember>, ApiError> {
    caller
        .actor()
        .ok_or_else(|| ApiError::unauthorized("sign in or present an API key first"))?;
    let (org, rights) = orgs::get(&state, &caller, &org).await?;
    if !rights.see_members {
        return Err(ApiError::forbidden(
            "forbidden",
            "only the organisation's members see who its members are",
        ));
    }
    org.members
        .into_iter()
        .find(|m| m.user.as_str() == user)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("{user} is not a member of {}", org.name)))
}

/// Add a member, or change their role. Admins manage members; only owners make or unmake owners.
#[utoipa::path(put, path = "/orgs/{org}/members/{user}", tag = "organisations",
    params(OrgMemberPath), request_body = RoleBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = OrgView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such organisation or user", body = ErrorBody),
        (status = 409, description = "It would leave no owner, or the organisation is full", body = ErrorBody)))]
pub async fn set_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, user)): Path<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<OrgView>, ApiError> {
    let user = user_name(&user)?;
    changed(&state, &caller, &org, Change::SetMember(user, body.role)).await
}

/// Remove a member (and from every team). Anyone may leave; the last owner may not.
#[utoipa::path(delete, path = "/orgs/{org}/members/{user}", tag = "organisations",
    params(OrgMemberPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The last owner", body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = user_name(&user)?;
    orgs::apply(&state, &caller, &org, Change::RemoveMember(user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's teams (for those who may see its members).
#[utoipa::path(get, path = "/orgs/{org}/teams", tag = "organisations", params(OrgPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [Team]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn teams(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<Team>>, ApiError> {
    caller
        .actor()
        .ok_or_else(|| ApiError::unauthorized("sign in or present an API key first"))?;
    let (org, rights) = orgs::get(&state, &caller, &org).await?;
    if !rights.see_members {
        return Err(ApiError::forbidden(
            "forbidden",
            "only the organisation's members see its teams",
        ));
    }
    Ok(Json(org.teams))
}

/// Create a team with a permission on every repository of the organisation.
#[utoipa::path(post, path = "/orgs/{org}/teams", tag = "organisations", params(OrgPath),
    request_body = NewTeamBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = Team), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The team exists, or the organisation has 100", body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<NewTeamBody>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    let team = TeamName::parse(&body.name)
        .map_err(|e| ApiError::bad_request(format!("team name: {e}")))?;
    let saved = orgs::apply(
        &state,
        &caller,
        &org,
        Change::AddTeam(team.clone(), body.permission),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(team_of(saved, &team)?)))
}

/// Change a team's permission on every repository of the organisation.
#[utoipa::path(patch, path = "/orgs/{org}/teams/{team}", tag = "organisations",
    params(TeamPath), request_body = PermissionBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = Team), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, team)): Path<(String, String)>,
    ApiJson(body): ApiJson<PermissionBody>,
) -> Result<Json<Team>, ApiError> {
    let team = team_name(&team)?;
    let change = Change::SetTeamPermission(team.clone(), body.permission);
    let saved = orgs::apply(&state, &caller, &org, change).await?;
    Ok(Json(team_of(saved, &team)?))
}

/// Delete a team.
#[utoipa::path(delete, path = "/orgs/{org}/teams/{team}", tag = "organisations",
    params(TeamPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn delete_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, team)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let team = team_name(&team)?;
    orgs::apply(&state, &caller, &org, Change::RemoveTeam(team)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a member of the organisation to a team.
#[utoipa::path(put, path = "/orgs/{org}/teams/{team}/members/{user}", tag = "organisations",
    params(TeamMemberPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = Team), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The user is not a member of the organisation", body = ErrorBody)))]
pub async fn add_team_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, team, user)): Path<(String, String, String)>,
) -> Result<Json<Team>, ApiError> {
    let (team, user) = (team_name(&team)?, user_name(&user)?);
    let change = Change::SetTeamMember(team.clone(), user, true);
    let saved = orgs::apply(&state, &caller, &org, change).await?;
    Ok(Json(team_of(saved, &team)?))
}

/// Remove a user from a team (they stay in the organisation).
#[utoipa::path(delete, path = "/orgs/{org}/teams/{team}/members/{user}", tag = "organisations",
    params(TeamMemberPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "Removed, or was not in the team"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove_team_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, team, user)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let (team, user) = (team_name(&team)?, user_name(&user)?);
    orgs::apply(
        &state,
        &caller,
        &org,
        Change::SetTeamMember(team, user, false),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a team's permission on one repository of the organisation, replacing its
/// organisation-wide permission there (`none` takes the repository away from the team).
#[utoipa::path(put, path = "/orgs/{org}/teams/{team}/repositories/{name}", tag = "organisations",
    params(TeamRepositoryPath), request_body = PermissionBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = Team), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The team has 500 repository permissions", body = ErrorBody)))]
pub async fn set_team_repository(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, team, name)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<PermissionBody>,
) -> Result<Json<Team>, ApiError> {
    let team = team_name(&team)?;
    let change = Change::SetTeamRepository(team.clone(), name, Some(body.permission));
    let saved = orgs::apply(&state, &caller, &org, change).await?;
    Ok(Json(team_of(saved, &team)?))
}

/// Remove a team's permission on one repository: its organisation-wide permission applies again.
#[utoipa::path(delete, path = "/orgs/{org}/teams/{team}/repositories/{name}", tag = "organisations",
    params(TeamRepositoryPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "Removed, or there was none"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn remove_team_repository(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, team, name)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let team = team_name(&team)?;
    let change = Change::SetTeamRepository(team, name, None);
    orgs::apply(&state, &caller, &org, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn changed(
    state: &AppState,
    caller: &bioshadock_core::permissions::Principal,
    org: &str,
    change: Change,
) -> Result<Json<OrgView>, ApiError> {
    let saved = orgs::apply(state, caller, org, change).await?;
    let rights = caller.org_rights(&saved);
    Ok(Json(OrgView::new(saved, rights)))
}

fn team_of(org: Organisation, team: &TeamName) -> Result<Team, ApiError> {
    org.teams
        .into_iter()
        .find(|t| &t.name == team)
        .ok_or_else(|| ApiError::not_found(format!("this organisation has no team `{team}`")))
}

fn user_name(raw: &str) -> Result<UserName, ApiError> {
    UserName::parse(raw).map_err(|_| unknown_user(raw))
}

fn team_name(raw: &str) -> Result<TeamName, ApiError> {
    TeamName::parse(raw)
        .map_err(|_| ApiError::not_found(format!("this organisation has no team `{raw}`")))
}
