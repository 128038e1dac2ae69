//! `GET/PUT /admin/access-rules`: the access rules in docker_auth's ACL format (YAML, or
//! JSON), for administrators. A document is checked whole before it is stored (a mistake is
//! refused with its line and changes nothing) and saved against the version it was read at.

use axum::Json;
use axum::extract::State;
use bioshadock_core::accounts::Scope;
use bioshadock_core::rules::RuleSet;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

/// The access rules as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    /// The document as written: a list of `{match: {account, name, type, service, ip, labels},
    /// actions: [pull, push, delete, *], comment}`, the first matching rule deciding.
    pub source: String,
    /// Send it back with a change: a change to a version that is no longer current is refused.
    pub version: u64,
    /// How many rules the document holds.
    pub rules: usize,
}

/// The body of `PUT /admin/access-rules`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// The whole document (YAML or JSON), at most 256 KiB; empty for no rules.
    #[schema(max_length = 262144)]
    source: String,
    /// The version the document was read at (0 before the first save).
    #[schema(minimum = 0)]
    version: u64,
}

/// The access rules (administrators).
#[utoipa::path(get, path = "/admin/access-rules", tag = "admin",
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RulesView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<RulesView>, ApiError> {
    caller.require_admin(Scope::Read)?;
    let stored = state.rules.get_rules().await?;
    let rules = RuleSet::parse(&stored.source).map_or(0, |r| r.len());
    Ok(Json(RulesView {
        source: stored.source,
        version: stored.version,
        rules,
    }))
}

/// Replace the access rules (administrators). They decide on every path at once in this
/// process, and within 2 seconds in the others.
#[utoipa::path(put, path = "/admin/access-rules", tag = "admin", request_body = RulesBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RulesView),
        (status = 400, description = "The document is not valid: the message names the line", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "The rules changed since `version`: read them again", body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<RulesBody>,
) -> Result<Json<RulesView>, ApiError> {
    let (version, rules) =
        crate::services::rules::replace(&state, &caller, &body.source, body.version).await?;
    Ok(Json(RulesView {
        source: body.source,
        version,
        rules,
    }))
}
