//! Robot accounts: `/user/robots` (the caller's own) and `/orgs/{org}/robots`. The work is in
//! [`crate::services::robots`]; a robot then authenticates with Basic `owner+name:TOKEN`, on
//! the API and with `docker login`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bioshadock_core::robots::{Robot, RobotPermission};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::grammar::{self, OrgPath, OrgRobotPath, RobotPath};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::services::robots::{self, NewRobot, Owner, RobotChanges, WithToken};
use crate::state::AppState;

/// A robot as listed: never its token.
#[derive(Debug, Serialize, ToSchema)]
pub struct RobotView {
    /// `owner+name`: the user name for `docker login` and Basic credentials.
    #[schema(example = "genomics-core+ci")]
    pub name: String,
    pub permission: RobotPermission,
    /// Repositories (names within the owner's namespace) it is limited to; empty: all.
    pub repositories: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// When its token stops working; absent: never.
    pub expires_at: Option<DateTime<Utc>>,
    pub disabled: bool,
}

impl From<Robot> for RobotView {
    fn from(robot: Robot) -> Self {
        Self {
            name: robot.name.to_string(),
            permission: robot.permission,
            repositories: robot.repositories,
            created_by: robot.created_by.to_string(),
            created_at: robot.created_at,
            expires_at: robot.expires_at,
            disabled: robot.disabled,
        }
    }
}

/// A robot with its token: the only answer that ever contains it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RobotWithTokenView {
    /// The token (`docker login -u NAME -p TOKEN`). Store it now: it is not shown again.
    #[schema(example = "bsr_…")]
    pub token: String,
    #[serde(flatten)]
    pub robot: RobotView,
}

impl From<WithToken> for RobotWithTokenView {
    fn from(created: WithToken) -> Self {
        Self {
            token: created.token,
            robot: created.robot.into(),
        }
    }
}

/// The body of `POST …/robots`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRobotBody {
    /// The part after `owner+`.
    #[schema(schema_with = grammar::robot_name_schema)]
    name: String,
    permission: RobotPermission,
    #[schema(schema_with = grammar::robot_repositories_schema)]
    repositories: Option<Vec<String>>,
    /// Days until the token stops working (1-3650); absent: never.
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
}

/// The body of `PATCH …/robots/{name}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RobotChangesBody {
    permission: Option<RobotPermission>,
    #[schema(schema_with = grammar::robot_repositories_schema)]
    repositories: Option<Vec<String>>,
    /// A disabled robot is refused everywhere at once.
    disabled: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NewTokenParams {
    /// Days until the new token stops working (1-3650); absent: never.
    #[param(value_type = u32, required = false, minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
}

fn new_robot(body: NewRobotBody) -> NewRobot {
    NewRobot {
        name: body.name,
        permission: body.permission,
        repositories: body.repositories.unwrap_or_default(),
        expires_in_days: body.expires_in_days,
    }
}

fn changes(body: RobotChangesBody) -> RobotChanges {
    RobotChanges {
        permission: body.permission,
        repositories: body.repositories,
        disabled: body.disabled,
    }
}

fn own(caller: &bioshadock_core::permissions::Principal) -> Result<Owner, ApiError> {
    let actor = caller.require(bioshadock_core::accounts::Scope::Push)?;
    Ok(Owner::User(actor.user.name.clone()))
}

fn views(robots: Vec<Robot>) -> Json<Vec<RobotView>> {
    Json(robots.into_iter().map(RobotView::from).collect())
}

/// The caller's robots.
#[utoipa::path(get, path = "/user/robots", tag = "robots",
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [RobotView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list_mine(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<RobotView>>, ApiError> {
    let owner = own(&caller)?;
    Ok(views(robots::list(&state, &caller, &owner).await?))
}

/// Create a robot of the caller's; the answer holds its token, shown this once.
#[utoipa::path(post, path = "/user/robots", tag = "robots", request_body = NewRobotBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = RobotWithTokenView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "The name is taken, or the owner has 100 robots", body = ErrorBody)))]
pub async fn create_mine(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewRobotBody>,
) -> Result<(StatusCode, Json<RobotWithTokenView>), ApiError> {
    let owner = own(&caller)?;
    let created = robots::create(&state, &caller, &owner, new_robot(body)).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Change one of the caller's robots.
#[utoipa::path(patch, path = "/user/robots/{name}", tag = "robots", params(RobotPath),
    request_body = RobotChangesBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RobotView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn update_mine(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RobotChangesBody>,
) -> Result<Json<RobotView>, ApiError> {
    let owner = own(&caller)?;
    let robot = robots::update(&state, &caller, &owner, &name, changes(body)).await?;
    Ok(Json(robot.into()))
}

/// Delete one of the caller's robots; it stops working at once.
#[utoipa::path(delete, path = "/user/robots/{name}", tag = "robots", params(RobotPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_mine(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let owner = own(&caller)?;
    robots::delete(&state, &caller, &owner, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give one of the caller's robots a new token (the old one stops working), shown this once.
#[utoipa::path(post, path = "/user/robots/{name}/token", tag = "robots",
    params(RobotPath, NewTokenParams),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RobotWithTokenView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn new_token_mine(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<NewTokenParams>,
) -> Result<Json<RobotWithTokenView>, ApiError> {
    let owner = own(&caller)?;
    let renewed = robots::new_token(&state, &caller, &owner, &name, params.expires_in_days).await?;
    Ok(Json(renewed.into()))
}

/// An organisation's robots (its admins and owners).
#[utoipa::path(get, path = "/orgs/{org}/robots", tag = "robots", params(OrgPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [RobotView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<RobotView>>, ApiError> {
    caller.require(bioshadock_core::accounts::Scope::Push)?;
    let owner = robots::org_owner(&org)?;
    Ok(views(robots::list(&state, &caller, &owner).await?))
}

/// Create a robot of an organisation (its admins and owners); the answer holds its token,
/// shown this once.
#[utoipa::path(post, path = "/orgs/{org}/robots", tag = "robots", params(OrgPath),
    request_body = NewRobotBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = RobotWithTokenView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The name is taken, or the owner has 100 robots", body = ErrorBody)))]
pub async fn create_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<NewRobotBody>,
) -> Result<(StatusCode, Json<RobotWithTokenView>), ApiError> {
    caller.require(bioshadock_core::accounts::Scope::Push)?;
    let owner = robots::org_owner(&org)?;
    let created = robots::create(&state, &caller, &owner, new_robot(body)).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Change a robot of an organisation.
#[utoipa::path(patch, path = "/orgs/{org}/robots/{name}", tag = "robots", params(OrgRobotPath),
    request_body = RobotChangesBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RobotView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn update_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<RobotChangesBody>,
) -> Result<Json<RobotView>, ApiError> {
    caller.require(bioshadock_core::accounts::Scope::Push)?;
    let owner = robots::org_owner(&org)?;
    let robot = robots::update(&state, &caller, &owner, &name, changes(body)).await?;
    Ok(Json(robot.into()))
}

/// Delete a robot of an organisation; it stops working at once.
#[utoipa::path(delete, path = "/orgs/{org}/robots/{name}", tag = "robots", params(OrgRobotPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(bioshadock_core::accounts::Scope::Push)?;
    let owner = robots::org_owner(&org)?;
    robots::delete(&state, &caller, &owner, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a robot of an organisation a new token (the old one stops working), shown this once.
#[utoipa::path(post, path = "/orgs/{org}/robots/{name}/token", tag = "robots",
    params(OrgRobotPath, NewTokenParams),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RobotWithTokenView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn new_token_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((org, name)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<NewTokenParams>,
) -> Result<Json<RobotWithTokenView>, ApiError> {
    caller.require(bioshadock_core::accounts::Scope::Push)?;
    let owner = robots::org_owner(&org)?;
    let renewed = robots::new_token(&state, &caller, &owner, &name, params.expires_in_days).await?;
    Ok(Json(renewed.into()))
}
