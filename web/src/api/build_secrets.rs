//! Build secrets through the API: set (write-only), list by name, remove; per container and
//! per organisation.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::grammar::{ContainerPath, OrgPath};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ContainerId};
use crate::services::build_secrets;
use crate::state::AppState;

/// A build secret's value. It is sealed at once and never shown again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretBody {
    /// 1–16384 characters (a PEM key fits), no NUL character.
    #[schema(min_length = 1, max_length = 16384, pattern = r"^[^\x00]+$")]
    value: String,
}

/// The names of the build secrets (never their values).
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretNames {
    #[schema(example = json!(["NPM_TOKEN", "pypi_token"]))]
    names: Vec<String>,
}

/// `{secret}`: a build secret's name, its id in `RUN --mount=type=secret,id=NAME`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SecretPath {
    #[param(pattern = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")]
    secret: String,
}

/// `{org}/…/{secret}`.
#[derive(Debug, Deserialize)]
pub struct OrgSecretSegments {
    org: String,
    secret: String,
}

#[derive(Debug, Deserialize)]
pub struct OrgSegment {
    org: String,
}

fn secret_of(path: Result<Path<SecretPath>, PathRejection>) -> Result<String, ApiError> {
    let Path(SecretPath { secret }) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(secret)
}

/// The names of a container's build secrets (its owner and admins).
#[utoipa::path(get, path = "/container/build-secrets/{namespace}/{name}", tag = "builds",
    params(ContainerPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = SecretNames), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<Json<SecretNames>, ApiError> {
    let names = build_secrets::names(&state, &caller, &id).await?;
    Ok(Json(SecretNames { names }))
}

/// Set a container's build secret (its owner and admins); write-only.
#[utoipa::path(put, path = "/container/build-secrets/{namespace}/{name}/{secret}", tag = "builds",
    params(ContainerPath, SecretPath), request_body = SecretBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Too many build secrets", body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    secret: Result<Path<SecretPath>, PathRejection>,
    ApiJson(body): ApiJson<SecretBody>,
) -> Result<StatusCode, ApiError> {
    let secret = secret_of(secret)?;
    build_secrets::set(&state, &caller, &id, &secret, Some(&body.value)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a container's build secret (its owner and admins).
#[utoipa::path(delete, path = "/container/build-secrets/{namespace}/{name}/{secret}", tag = "builds",
    params(ContainerPath, SecretPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    secret: Result<Path<SecretPath>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let secret = secret_of(secret)?;
    build_secrets::set(&state, &caller, &id, &secret, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The names of an organisation's build secrets (its admins and owners).
#[utoipa::path(get, path = "/orgs/{org}/build-secrets", tag = "builds",
    params(OrgPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = SecretNames), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(OrgSegment { org }): Path<OrgSegment>,
) -> Result<Json<SecretNames>, ApiError> {
    let names = build_secrets::org_names(&state, &caller, &org).await?;
    Ok(Json(SecretNames { names }))
}

/// Set a build secret of every container of an organisation (its admins and owners); a
/// container's own secret of the same name wins.
#[utoipa::path(put, path = "/orgs/{org}/build-secrets/{secret}", tag = "builds",
    params(OrgPath, SecretPath), request_body = SecretBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Too many build secrets", body = ErrorBody)))]
pub async fn put_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    path: Result<Path<OrgSecretSegments>, PathRejection>,
    ApiJson(body): ApiJson<SecretBody>,
) -> Result<StatusCode, ApiError> {
    let Path(OrgSecretSegments { org, secret }) =
        path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    build_secrets::org_set(&state, &caller, &org, &secret, Some(&body.value)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove an organisation's build secret (its admins and owners).
#[utoipa::path(delete, path = "/orgs/{org}/build-secrets/{secret}", tag = "builds",
    params(OrgPath, SecretPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    path: Result<Path<OrgSecretSegments>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(OrgSecretSegments { org, secret }) =
        path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    build_secrets::org_set(&state, &caller, &org, &secret, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
