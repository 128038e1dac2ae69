//! Changing containers: create, edit, members, delete. The rules live in `core::permissions`;
//! the work in [`crate::manage`].

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bioshadock_core::model::{Access, Member};
use bioshadock_core::orgs::{Permission, TeamName};
use bioshadock_core::tag_policy::ImmutableTags;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::grammar::{self, ContainerPath, TagPath};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ContainerId};
use crate::services::containers::{self, Changes, NewContainer};
use crate::services::tag_policies;
use crate::state::AppState;
use crate::views::ContainerView;

/// The body of `POST /container/new`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContainerBody {
    /// `namespace/name`, or just `name` for the caller's own namespace: lowercase letters and
    /// digits in runs joined by `.`, `_`, `__` or dashes, the namespace not a reserved word;
    /// at most 190 characters as typed.
    #[schema(schema_with = grammar::new_container_name_schema)]
    name: String,
    /// Markdown, at most 65536 characters.
    #[serde(default)]
    #[schema(schema_with = grammar::description_schema)]
    description: String,
    /// Git source to build from: `URL`, `URL#ref` or `URL#ref:subdir` (https, http, git, ssh,
    /// or scp-like `user@host:path`); empty for none.
    #[schema(schema_with = grammar::git_source_schema)]
    git: Option<String>,
    #[schema(schema_with = grammar::dockerfile_schema)]
    dockerfile: Option<String>,
    #[schema(schema_with = grammar::descriptor_schema)]
    descriptor: Option<String>,
    /// Public (default from configuration) or private.
    visible: Option<bool>,
}

/// Create a container in the caller's namespace (editors and admins: also `library/`).
#[utoipa::path(post, path = "/container/new", tag = "containers", request_body = NewContainerBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 201, body = ContainerView),
        (status = 400, description = "Invalid name, git source or body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the caller's namespace, or the key lacks `push`", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewContainerBody>,
) -> Result<(StatusCode, Json<ContainerView>), ApiError> {
    let input = NewContainer {
        name: body.name,
        description: body.description,
        git: body.git,
        dockerfile: body.dockerfile,
        descriptor: body.descriptor,
        visible: body.visible,
    };
    let container = containers::create(&state, &caller, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(ContainerView::new(container, &state.settings.pull_host)),
    ))
}

/// The body of `PATCH /container/{namespace}/{name}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[schema(schema_with = grammar::optional_description_schema)]
    description: Option<String>,
    /// Changing visibility needs the right to manage the container.
    visible: Option<bool>,
    /// An empty string removes the git source.
    #[schema(schema_with = grammar::git_source_schema)]
    git: Option<String>,
    #[schema(schema_with = grammar::dockerfile_schema)]
    dockerfile: Option<String>,
    /// An empty string removes the descriptor.
    #[schema(schema_with = grammar::descriptor_schema)]
    descriptor: Option<String>,
    /// Its own immutability (needs the right to manage it); `null` returns to the namespace's
    /// default.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(schema_with = grammar::immutable_schema)]
    immutable: Option<Option<ImmutableTags>>,
    /// Deprecate the whole container (needs the right to manage it); `null` lifts it.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(nullable)]
    deprecated: Option<Option<super::DeprecationBody>>,
}

/// Edit a container's description, visibility, git source, Dockerfile or descriptor, its
/// immutable tags or its deprecation.
#[utoipa::path(patch, path = "/container/{namespace}/{name}", tag = "containers",
    params(ContainerPath), request_body = UpdateBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, body = ContainerView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<ContainerView>, ApiError> {
    let changes = Changes {
        description: body.description,
        visible: body.visible,
        git: body.git,
        dockerfile: body.dockerfile,
        descriptor: body.descriptor,
        immutable: body.immutable,
        deprecated: body.deprecated.map(|d| d.map(Into::into)),
        retention: None,
        build: None,
    };
    let container = containers::update(&state, &caller, &id, changes).await?;
    let default = tag_policies::namespace_default(&state, id.namespace()).await?;
    Ok(Json(
        ContainerView::new(container, &state.settings.pull_host)
            .with_namespace_default(default.as_ref()),
    ))
}

/// Delete a container (its owner or an admin), with its images in the registry.
#[utoipa::path(delete, path = "/container/{namespace}/{name}", tag = "containers",
    params(ContainerPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 204, description = "Deleted, with its images in the registry"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 502, description = "The registry refused the deletion", body = ErrorBody),
        (status = 503, description = "The registry could not be reached; nothing was deleted",
            body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<StatusCode, ApiError> {
    containers::delete(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `{tag}` of `/container/tags/{namespace}/{name}/{tag}`.
#[derive(Debug, Deserialize)]
pub struct TagSegment {
    tag: String,
}

impl TagSegment {
    pub(crate) fn tag(&self) -> &str {
        &self.tag
    }
}

/// Delete one tag of a container, in the registry and the catalogue (its owner, push members
/// and admins; API keys need the `push` scope). A registry that cannot delete by tag
/// (Distribution 2.x) deletes the image by digest, so a tag sharing its image with other tags
/// is refused with 409 until they are deleted together.
#[utoipa::path(delete, path = "/container/tags/{namespace}/{name}/{tag}", tag = "containers",
    params(TagPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such container or tag", body = ErrorBody),
        (status = 409, description = "Other tags point to the same image", body = ErrorBody),
        (status = 502, description = "The registry refused the deletion", body = ErrorBody),
        (status = 503, description = "The registry could not be reached; nothing was deleted",
            body = ErrorBody)))]
pub async fn delete_tag(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    tag: Result<Path<TagSegment>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(TagSegment { tag }) = tag.map_err(|e| ApiError::bad_request(e.body_text()))?;
    containers::delete_tag(&state, &caller, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member of a container: a user with `pull` or `push`, or (for an organisation's
/// containers) one of the organisation's teams with a permission of its own on it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MemberView {
    User(UserMemberView),
    Robot(RobotMemberView),
    Team(TeamMemberView),
}

/// A robot account of the container's own namespace.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RobotMemberView {
    /// `owner+name`, the owner being the container's namespace.
    #[schema(schema_with = grammar::robot_full_name_schema)]
    robot: String,
    /// `pull` or `push`.
    access: Access,
}

/// A user member.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserMemberView {
    #[schema(schema_with = grammar::user_name_schema)]
    user: String,
    /// `pull` or `push`.
    access: Access,
}

/// A team of the container's organisation, with its permission here (it replaces the team's
/// organisation-wide permission on this container).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMemberView {
    #[schema(schema_with = grammar::team_name_schema)]
    team: String,
    permission: Permission,
}

/// The body of `PUT /container/members/{namespace}/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersBody {
    /// The whole list; it replaces the current one (users, and for an organisation's
    /// container its teams). A user or team listed twice gets the wider access of the two.
    #[schema(max_items = 200)]
    members: Vec<MemberView>,
}

fn views(members: Vec<Member>, teams: Vec<(TeamName, Permission)>) -> Vec<MemberView> {
    members
        .into_iter()
        .map(|m| match m.user.robot() {
            Some(robot) => MemberView::Robot(RobotMemberView {
                robot: robot.to_string(),
                access: m.access,
            }),
            None => MemberView::User(UserMemberView {
                user: m.user.to_string(),
                access: m.access,
            }),
        })
        .chain(teams.into_iter().map(|(team, permission)| {
            MemberView::Team(TeamMemberView {
                team: team.to_string(),
                permission,
            })
        }))
        .collect()
}

/// A container's members (its owner or an admin).
#[utoipa::path(get, path = "/container/members/{namespace}/{name}", tag = "containers",
    params(ContainerPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [MemberView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn members(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<Json<Vec<MemberView>>, ApiError> {
    caller.require(bioshadock_core::accounts::Scope::Read)?;
    let (container, rights) = containers::visible(&state, &caller, &id).await?;
    if !rights.manage {
        return Err(ApiError::forbidden(
            "forbidden",
            "only its owner and admins may list its members",
        ));
    }
    let teams = containers::team_members(&state, &container).await?;
    Ok(Json(views(container.members, teams)))
}

/// Replace a container's members (its owner or an admin).
#[utoipa::path(put, path = "/container/members/{namespace}/{name}", tag = "containers",
    params(ContainerPath), request_body = MembersBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [MemberView]), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such container, user or team", body = ErrorBody),
        (status = 409, description = "The owner listed as a member, or teams for a container \
            outside an organisation", body = ErrorBody)))]
pub async fn set_members(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    ApiJson(body): ApiJson<MembersBody>,
) -> Result<Json<Vec<MemberView>>, ApiError> {
    let mut users = Vec::new();
    let mut teams = Vec::new();
    for entry in body.members {
        match entry {
            MemberView::User(m) => users.push(Member {
                user: containers::member_name(&m.user)?,
                access: m.access,
            }),
            MemberView::Robot(m) => users.push(Member {
                user: containers::member_name(&m.robot)?,
                access: m.access,
            }),
            MemberView::Team(t) => teams.push((
                TeamName::parse(&t.team)
                    .map_err(|e| ApiError::bad_request(format!("team: {e}")))?,
                t.permission,
            )),
        }
    }
    // Teams are checked first (they exist, the container is an organisation's), so that a
    // refused list changes nothing.
    // In an organisation, a list without teams clears its teams' permissions of their own.
    let with_teams = !teams.is_empty() || containers::organisation_of(&state, &id).await?.is_some();
    if !teams.is_empty() {
        containers::team_members_checked(&state, &caller, &id, &teams).await?;
    }
    let container = containers::set_members(&state, &caller, &id, users).await?;
    if with_teams {
        containers::set_team_members(&state, &caller, &id, teams).await?;
    }
    let teams = containers::team_members(&state, &container).await?;
    Ok(Json(views(container.members, teams)))
}
