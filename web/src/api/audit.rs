//! The audit log through the API: `GET /admin/audit` (administrators) and
//! `GET /orgs/{org}/audit` (the organisation's owners and admins), newest first, filtered.

use axum::Json;
use axum::extract::{Path, State};
use bioshadock_core::events::{EventActor, EventFilter, MAX_FIELD_CHARS, Recorded};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::grammar::OrgPath;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::services::audit::{self, AuditScope};
use crate::state::AppState;

/// The filters and the page of an audit query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this actor's events (a user or robot name, `registry` or `system`).
    #[param(required = false, min_length = 1, max_length = 300)]
    actor: Option<String>,
    /// Only events on this target, or on the targets under it (`lab/tool` also finds
    /// `lab/tool:1.0`).
    #[param(required = false, min_length = 1, max_length = 300)]
    target: Option<String>,
    /// Only this kind of event (`tag.pushed`, `container.members`, …).
    #[param(required = false, schema_with = super::grammar::event_kind_schema)]
    action: Option<String>,
    /// At or after this time.
    #[param(required = false)]
    since: Option<DateTime<Utc>>,
    /// Before this time.
    #[param(required = false)]
    until: Option<DateTime<Utc>>,
    /// Entries with an id below this one: the `next_before` of the previous page.
    #[param(value_type = u64, required = false, minimum = 1, maximum = 9223372036854775807_u64)]
    before: Option<u64>,
    /// At most this many entries (1-200, default 50).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 200)]
    limit: Option<usize>,
}

/// Who acted, how, and from where.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActorView {
    /// `user`, `robot`, `registry`, `system` or `anonymous`.
    kind: String,
    name: String,
    /// `session`, `api_key`, `password`, `robot_token`, `access_token`, `registry_token`,
    /// `notification_secret`, `command_line` or `none`.
    credential: String,
    client: Option<String>,
    request_id: Option<String>,
}

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    id: u64,
    at: DateTime<Utc>,
    /// What happened: `container.created`, `tag.pushed`, …
    action: String,
    /// What it happened to: `lab/tool`, `lab/tool:1.0`, `org:lab`, …
    target: String,
    /// The organisation it belongs to.
    org: Option<String>,
    actor: AuditActorView,
    /// A short before/after; never a secret.
    summary: String,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditEntryView>,
    /// Pass as `before` for the next (older) page; absent on the last.
    next_before: Option<u64>,
}

fn word<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn actor_view(actor: EventActor) -> AuditActorView {
    AuditActorView {
        kind: word(&actor.kind),
        name: actor.name,
        credential: word(&actor.credential),
        client: actor.client,
        request_id: actor.request_id,
    }
}

fn entry_view(recorded: Recorded) -> AuditEntryView {
    let event = recorded.event;
    AuditEntryView {
        id: recorded.id,
        at: recorded.at,
        action: event.kind.as_str().to_owned(),
        target: event.target,
        org: event.org,
        actor: actor_view(event.actor),
        summary: event.summary,
    }
}

fn filter_of(params: &AuditParams) -> Result<EventFilter, ApiError> {
    for (name, value) in [("actor", &params.actor), ("target", &params.target)] {
        if let Some(value) = value
            && (value.is_empty() || value.chars().count() > MAX_FIELD_CHARS)
        {
            return Err(ApiError::bad_request(format!(
                "`{name}` is 1 to {MAX_FIELD_CHARS} characters"
            )));
        }
    }
    if params
        .limit
        .is_some_and(|l| !(1..=audit::MAX_PAGE).contains(&l))
    {
        return Err(ApiError::bad_request(format!(
            "`limit` is 1 to {}",
            audit::MAX_PAGE
        )));
    }
    if params.before.is_some_and(|b| b == 0 || b > i64::MAX as u64) {
        return Err(ApiError::bad_request("`before` is an entry's id"));
    }
    let kind = audit::action_filter(params.action.as_deref())?;
    Ok(EventFilter {
        actor: params.actor.clone(),
        target: params.target.clone(),
        kind,
        org: None,
        since: params.since,
        until: params.until,
    })
}

async fn answer(
    state: &AppState,
    caller: &bioshadock_core::permissions::Principal,
    scope: AuditScope,
    params: AuditParams,
) -> Result<Json<AuditPage>, ApiError> {
    let filter = filter_of(&params)?;
    let (entries, next_before) = audit::page(
        state,
        caller,
        scope,
        filter,
        params.before,
        params.limit.unwrap_or(50),
    )
    .await?;
    Ok(Json(AuditPage {
        entries: entries.into_iter().map(entry_view).collect(),
        next_before,
    }))
}

/// The whole audit log (administrators), newest first.
#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(AuditParams),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn everything(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    answer(&state, &caller, AuditScope::Everything, params).await
}

/// An organisation's audit log (its owners and admins), newest first.
#[utoipa::path(get, path = "/orgs/{org}/audit", tag = "organisations",
    params(OrgPath, AuditParams),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn organisation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    answer(&state, &caller, AuditScope::Organisation(org), params).await
}
