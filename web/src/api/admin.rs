//! Account administration, for admins only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bioshadock_core::accounts::{Role, Scope, User, UserName};
use serde::Deserialize;
use utoipa::ToSchema;

use super::account::UserView;
use super::grammar::UserPath;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::registry::sync::{self, SyncSummary};
use crate::services::users::{change_user, create_user, unknown_user};
use crate::state::AppState;

/// The body of `POST /admin/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// Lowercase letters and digits in runs joined by `.`, `_`, `__` or dashes, at most 64
    /// characters, not a reserved word nor `library`.
    #[schema(schema_with = super::grammar::user_name_schema)]
    name: String,
    /// 8-1024 characters.
    #[schema(schema_with = super::grammar::password_schema)]
    password: String,
    /// Default `user`.
    role: Option<Role>,
}

/// The body of `PATCH /admin/users/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChangesBody {
    role: Option<Role>,
    disabled: Option<bool>,
}

/// Reconcile the catalogue with the registry now (what the periodic job does): create
/// containers for repositories it lacks, record missing tags, drop tags the registry no
/// longer has. Waits for a run in progress to finish first.
#[utoipa::path(post, path = "/admin/registry/sync", tag = "admin",
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = SyncSummary), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 503, description = "The registry could not be read", body = ErrorBody)))]
pub async fn sync_registry(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<SyncSummary>, ApiError> {
    caller.require_admin(Scope::Push)?;
    match sync::run(&state).await {
        Ok(summary) => Ok(Json(summary)),
        Err(e) => {
            tracing::warn!(error = %e, "registry reconciliation failed");
            Err(ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "registry_unavailable",
                message: "the registry could not be read; the log says why, and \
                          `bioshadock registry-check` checks the configuration"
                    .into(),
            })
        }
    }
}

/// Every user.
#[utoipa::path(get, path = "/admin/users", tag = "admin",
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [UserView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.require_admin(Scope::Read)?;
    let users = state.users.list_users().await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// Create a user.
#[utoipa::path(post, path = "/admin/users", tag = "admin", request_body = NewUserBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    caller.require_admin(Scope::Push)?;
    let name = UserName::parse(&body.name)
        .map_err(|e| ApiError::bad_request(format!("user name: {e}")))?;
    let user = User::new(name, body.role.unwrap_or(Role::User));
    create_user(&state, &caller, &user, &body.password).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Change a user's role, or disable or re-enable them.
#[utoipa::path(patch, path = "/admin/users/{name}", tag = "admin", request_body = UserChangesBody,
    params(UserPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UserChangesBody>,
) -> Result<Json<UserView>, ApiError> {
    let actor = caller.require_admin(Scope::Push)?;
    let name = UserName::parse(&name).map_err(|_| unknown_user(&name))?;
    let user = change_user(&state, actor, &name, body.role, body.disabled).await?;
    Ok(Json(user.into()))
}
