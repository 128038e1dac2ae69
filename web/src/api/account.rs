//! The caller's own account: profile and API keys. Nothing here ever shows another user's
//! data, a password hash, or a key after the response that created it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bioshadock_core::accounts::{ApiKey, Scope, Scopes, User};
use bioshadock_core::permissions::{Actor, Principal};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::services::keys::{self, MintedKey};
use crate::state::AppState;

/// A user as the API shows it: never a password hash or a key.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    #[schema(example = "alice")]
    pub name: String,
    /// `user`, `editor` or `admin`.
    pub role: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Who vouches for the account: `local` (a password kept here), `ldap`, or `oidc:ID`.
    #[schema(example = "local", pattern = r"^(local|ldap|oidc:[a-z0-9-]{1,32})$")]
    pub source: String,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            name: user.name.to_string(),
            role: user.role.as_str().to_owned(),
            disabled: user.disabled,
            created_at: user.created_at,
            source: user.source.to_string(),
        }
    }
}

/// An API key as listed: its public id and metadata, never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// The public part of the key (`bsk_<id>_…`).
    #[schema(example = "3f9a0c1b2d4e")]
    pub id: String,
    pub label: String,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

impl From<ApiKey> for KeyView {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            label: key.label,
            scopes: key.scopes,
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked: key.revoked,
        }
    }
}

/// A key just created: the only response that ever contains the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewKeyView {
    /// The key itself. Store it now: it is not shown again.
    #[schema(example = "bsk_3f9a0c1b2d4e_…")]
    pub key: String,
    #[serde(flatten)]
    pub info: KeyView,
}

impl From<MintedKey> for NewKeyView {
    fn from(minted: MintedKey) -> Self {
        Self {
            key: minted.secret,
            info: minted.key.into(),
        }
    }
}

/// The body of `POST /user/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    /// 1-100 characters, not all spaces (surrounding spaces are dropped).
    #[schema(
        example = "CI pipeline",
        min_length = 1,
        max_length = 100,
        pattern = r"\S"
    )]
    label: String,
    /// Default: all of `read`, `build`, `push` (a key can only grant what the caller holds).
    #[schema(min_items = 1)]
    scopes: Option<Vec<Scope>>,
    /// Days until the key stops working (1-3650); none for a key that does not expire.
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
}

/// The caller's own profile.
#[utoipa::path(get, path = "/user", tag = "account",
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn me(Caller(caller): Caller) -> Result<Json<UserView>, ApiError> {
    let actor = caller.require(Scope::Read)?;
    Ok(Json(actor.user.clone().into()))
}

/// The caller's API keys, newest first (revoked ones included, secrets never).
#[utoipa::path(get, path = "/user/keys", tag = "account",
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [KeyView]), (status = 401, body = ErrorBody)))]
pub async fn list_keys(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let actor = caller.require(Scope::Read)?;
    let keys = state.keys.list_keys(&actor.user.name).await?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

/// Create an API key; the response holds the key, shown this once.
#[utoipa::path(post, path = "/user/keys", tag = "account", request_body = NewKeyBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = NewKeyView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewKeyBody>,
) -> Result<(StatusCode, Json<NewKeyView>), ApiError> {
    let actor = signed_in(&caller)?;
    let scopes = match body.scopes {
        Some(list) => list.into_iter().collect(),
        None => Scopes::all(),
    };
    let minted = keys::mint_key(&state, actor, &body.label, scopes, body.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(minted.into())))
}

/// Revoke one of the caller's API keys. Revoking a revoked key is not an error.
#[utoipa::path(delete, path = "/user/keys/{id}", tag = "account",
    params(("id" = String, Path, description = "The key's public id")),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody),
        (status = 404, description = "The caller has no such key", body = ErrorBody)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let actor = signed_in(&caller)?;
    keys::revoke(&state, actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn signed_in(caller: &Principal) -> Result<&Actor, ApiError> {
    caller
        .actor()
        .ok_or_else(|| ApiError::unauthorized("sign in or present an API key first"))
}
