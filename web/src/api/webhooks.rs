//! Webhooks through the API, for a container (its owner and admins), an organisation (its
//! admins and owners) and the whole installation (administrators): create (the secret is shown
//! once), list, delete, the delivery log, resend, and a test event.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bioshadock_core::webhooks::{
    Attempt, Delivery, DeliveryState, HookEvent, HookFormat, MAX_TAG_PATTERNS, Webhook,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::grammar::{ContainerPath, OrgPath};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ContainerId};
use crate::services::webhooks::{self, NewHook, Owner};
use crate::state::AppState;

/// A new webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHookBody {
    /// Where to POST: http(s), a public address unless `webhooks.allow_private`.
    #[schema(schema_with = super::grammar::webhook_url_schema)]
    url: String,
    /// The signing secret (16–256 characters); one is made when it is left out. Shown once.
    #[serde(default)]
    #[schema(schema_with = super::grammar::chosen_secret_schema)]
    secret: Option<String>,
    /// What to hear: `push`, `tag_deleted`, `build_started`, `build_succeeded`,
    /// `build_failed`, `build_skipped`, `deprecated`, `retention_deleted`.
    #[schema(min_items = 1, max_items = 8)]
    events: Vec<HookEvent>,
    /// Only events about tags matching one of these (globs or `/regex/`).
    #[serde(default)]
    #[schema(max_items = 20)]
    tags: Vec<String>,
    /// `json` (the documented payload, `WebhookPayload`) or `slack` (`{"text": …}`, for Slack
    /// and Mattermost incoming webhooks).
    #[serde(default)]
    format: HookFormat,
}

/// A webhook (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct HookView {
    #[schema(example = "wh_3f2a9c0d1e4b5a67")]
    id: String,
    /// `container:NAMESPACE/NAME`, `org:ORG` or `global`.
    #[schema(example = "container:genomics-core/samtools")]
    scope: String,
    url: String,
    events: Vec<HookEvent>,
    tags: Vec<String>,
    format: HookFormat,
    created_by: String,
    created_at: DateTime<Utc>,
}

impl From<Webhook> for HookView {
    fn from(hook: Webhook) -> Self {
        Self {
            id: hook.id,
            scope: hook.scope.to_string(),
            url: hook.url,
            events: hook.events.into_iter().collect(),
            tags: hook.tags,
            format: hook.format,
            created_by: hook.created_by,
            created_at: hook.created_at,
        }
    }
}

/// A webhook just created, with its secret: store it now, it is not shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedHookView {
    #[serde(flatten)]
    hook: HookView,
    #[schema(example = "whsec_…")]
    secret: String,
}

/// One try of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    at: DateTime<Utc>,
    /// The receiver's status, when it answered.
    status: Option<u16>,
    duration_ms: u64,
    /// The first 1 KiB of the answer.
    response: String,
    /// Why there was no answer.
    error: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            at: a.at,
            status: a.status,
            duration_ms: a.duration_ms,
            response: a.response,
            error: a.error,
        }
    }
}

/// A delivery and its tries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Also sent as `Bioshadock-Delivery`.
    id: String,
    /// The event's name (`push`, …, `test`), also sent as `Bioshadock-Event`.
    event: String,
    /// The event's id in the stream (none for a test).
    event_id: Option<u64>,
    created_at: DateTime<Utc>,
    /// `pending` (tried again at `next_attempt_at`), `delivered` or `failed` (gave up after
    /// 24 hours).
    #[schema(example = "delivered")]
    state: String,
    next_attempt_at: Option<DateTime<Utc>>,
    /// Tries so far.
    attempts: u32,
    /// The newest ten tries, oldest first.
    tries: Vec<AttemptView>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        let state = match d.state {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        };
        Self {
            next_attempt_at: (d.state == DeliveryState::Pending).then_some(d.next_attempt_at),
            id: d.id,
            event: d.event,
            event_id: d.event_id,
            created_at: d.created_at,
            state: state.to_owned(),
            attempts: d.attempts,
            tries: d.tries.into_iter().map(Into::into).collect(),
        }
    }
}

/// `?limit=N` of a delivery log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// Deliveries to show, newest first (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
}

/// `{id}`: a webhook.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct HookPath {
    #[param(pattern = r"^wh_[0-9a-f]{16}$")]
    id: String,
}

/// `{id}/deliveries/{delivery}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    #[param(pattern = r"^wh_[0-9a-f]{16}$")]
    id: String,
    #[param(pattern = r"^wh_[0-9a-f]{16}\.(t[0-9a-f]{16}|[0-9]{1,20})$")]
    delivery: String,
}

/// `{org}` beside a hook's segments.
#[derive(Debug, Deserialize)]
pub struct OrgSegment {
    org: String,
}

fn hook_id(path: Result<Path<HookPath>, PathRejection>) -> Result<String, ApiError> {
    let Path(p) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    checked_hook_id(p.id)
}

/// `wh_` and 16 lowercase hex digits, as ids are made.
fn checked_hook_id(id: String) -> Result<String, ApiError> {
    if super::grammar::is_prefixed_hex_id(&id, "wh_") {
        Ok(id)
    } else {
        Err(ApiError::bad_request(
            "a webhook id is `wh_` and 16 hex digits",
        ))
    }
}

fn delivery_ids(
    path: Result<Path<DeliveryPath>, PathRejection>,
) -> Result<(String, String), ApiError> {
    let Path(p) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = checked_hook_id(p.id)?;
    // `HOOK.EVENT_ID` or `HOOK.t` and 16 hex digits.
    let valid = p.delivery.split_once('.').is_some_and(|(hook, rest)| {
        super::grammar::is_prefixed_hex_id(hook, "wh_")
            && (super::grammar::is_prefixed_hex_id(rest, "t")
                || (!rest.is_empty()
                    && rest.len() <= 20
                    && rest.bytes().all(|b| b.is_ascii_digit())))
    });
    if !valid {
        return Err(ApiError::bad_request(
            "a delivery id is the webhook's id, a dot, and an event id or `t` and 16 hex digits",
        ));
    }
    Ok((id, p.delivery))
}

fn org_of(path: Result<Path<OrgSegment>, PathRejection>) -> Result<Owner, ApiError> {
    path.map(|Path(p)| Owner::Organisation(p.org))
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

fn new_hook(body: NewHookBody) -> Result<NewHook, ApiError> {
    if body.tags.len() > MAX_TAG_PATTERNS {
        return Err(ApiError::bad_request(format!(
            "tags: at most {MAX_TAG_PATTERNS} patterns"
        )));
    }
    Ok(NewHook {
        url: body.url,
        secret: body.secret,
        events: body.events,
        tags: body.tags,
        format: body.format,
    })
}

async fn do_list(
    state: &AppState,
    caller: &Caller,
    owner: Owner,
) -> Result<Json<Vec<HookView>>, ApiError> {
    let hooks = webhooks::list(state, &caller.0, &owner).await?;
    Ok(Json(hooks.into_iter().map(Into::into).collect()))
}

async fn do_create(
    state: &AppState,
    caller: &Caller,
    owner: Owner,
    body: NewHookBody,
) -> Result<(StatusCode, Json<CreatedHookView>), ApiError> {
    let (hook, secret) = webhooks::create(state, &caller.0, &owner, new_hook(body)?).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedHookView {
            hook: hook.into(),
            secret,
        }),
    ))
}

async fn do_delete(
    state: &AppState,
    caller: &Caller,
    owner: Owner,
    id: String,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(state, &caller.0, &owner, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn do_deliveries(
    state: &AppState,
    caller: &Caller,
    owner: Owner,
    id: String,
    params: DeliveryParams,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit is 1 to 200"));
    }
    let found = webhooks::deliveries(state, &caller.0, &owner, &id, limit).await?;
    Ok(Json(found.into_iter().map(Into::into).collect()))
}

async fn do_resend(
    state: &AppState,
    caller: &Caller,
    owner: Owner,
    (id, delivery): (String, String),
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let again = webhooks::resend(state, &caller.0, &owner, &id, &delivery).await?;
    Ok((StatusCode::ACCEPTED, Json(again.into())))
}

async fn do_test(
    state: &AppState,
    caller: &Caller,
    owner: Owner,
    id: String,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let delivery = webhooks::test(state, &caller.0, &owner, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}

/// The webhooks, a container's (its owner and admins).
#[utoipa::path(get, path = "/container/webhooks/{namespace}/{name}", tag = "webhooks", params(ContainerPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [HookView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_container(
    State(state): State<AppState>,
    caller: Caller,
    ContainerId(container): ContainerId,
) -> Result<Json<Vec<HookView>>, ApiError> {
    do_list(&state, &caller, Owner::Container(container)).await
}

/// Create a webhook; the answer holds its secret, shown this once.
#[utoipa::path(post, path = "/container/webhooks/{namespace}/{name}", tag = "webhooks", params(ContainerPath), request_body = NewHookBody, security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = CreatedHookView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Too many webhooks here", body = ErrorBody)))]
pub async fn create_container(
    State(state): State<AppState>,
    caller: Caller,
    ContainerId(container): ContainerId,
    ApiJson(body): ApiJson<NewHookBody>,
) -> Result<(StatusCode, Json<CreatedHookView>), ApiError> {
    do_create(&state, &caller, Owner::Container(container), body).await
}

/// Delete a webhook and its delivery log.
#[utoipa::path(delete, path = "/container/webhooks/{namespace}/{name}/{id}", tag = "webhooks", params(ContainerPath, HookPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_container(
    State(state): State<AppState>,
    caller: Caller,
    ContainerId(container): ContainerId,
    id: Result<Path<HookPath>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let owner = Owner::Container(container);
    do_delete(&state, &caller, owner, hook_id(id)?).await
}

/// A webhook's deliveries, newest first: each with its state and its tries (time, status,
/// duration, the first 1 KiB of the answer).
#[utoipa::path(get, path = "/container/webhooks/{namespace}/{name}/{id}/deliveries", tag = "webhooks",
    params(ContainerPath, HookPath, DeliveryParams), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [DeliveryView]), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn deliveries_container(
    State(state): State<AppState>,
    caller: Caller,
    ContainerId(container): ContainerId,
    id: Result<Path<HookPath>, PathRejection>,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let owner = Owner::Container(container);
    do_deliveries(&state, &caller, owner, hook_id(id)?, params).await
}

/// Send a delivery's payload again, as a new delivery (202: it is queued).
#[utoipa::path(post, path = "/container/webhooks/{namespace}/{name}/{id}/deliveries/{delivery}/resend", tag = "webhooks",
    params(ContainerPath, DeliveryPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 202, body = DeliveryView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn resend_container(
    State(state): State<AppState>,
    caller: Caller,
    ContainerId(container): ContainerId,
    ids: Result<Path<DeliveryPath>, PathRejection>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let owner = Owner::Container(container);
    do_resend(&state, &caller, owner, delivery_ids(ids)?).await
}

/// Send a test event (202: it is queued; its delivery shows in the log).
#[utoipa::path(post, path = "/container/webhooks/{namespace}/{name}/{id}/test", tag = "webhooks", params(ContainerPath, HookPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 202, body = DeliveryView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn test_container(
    State(state): State<AppState>,
    caller: Caller,
    ContainerId(container): ContainerId,
    id: Result<Path<HookPath>, PathRejection>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let owner = Owner::Container(container);
    do_test(&state, &caller, owner, hook_id(id)?).await
}

/// The webhooks, an organisation's (its admins and owners).
#[utoipa::path(get, path = "/orgs/{org}/webhooks", tag = "webhooks", params(OrgPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [HookView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_org(
    State(state): State<AppState>,
    caller: Caller,
    org: Result<Path<OrgSegment>, PathRejection>,
) -> Result<Json<Vec<HookView>>, ApiError> {
    do_list(&state, &caller, org_of(org)?).await
}

/// Create a webhook; the answer holds its secret, shown this once.
#[utoipa::path(post, path = "/orgs/{org}/webhooks", tag = "webhooks", params(OrgPath), request_body = NewHookBody, security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = CreatedHookView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Too many webhooks here", body = ErrorBody)))]
pub async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    org: Result<Path<OrgSegment>, PathRejection>,
    ApiJson(body): ApiJson<NewHookBody>,
) -> Result<(StatusCode, Json<CreatedHookView>), ApiError> {
    do_create(&state, &caller, org_of(org)?, body).await
}

/// Delete a webhook and its delivery log.
#[utoipa::path(delete, path = "/orgs/{org}/webhooks/{id}", tag = "webhooks", params(OrgPath, HookPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_org(
    State(state): State<AppState>,
    caller: Caller,
    org: Result<Path<OrgSegment>, PathRejection>,
    id: Result<Path<HookPath>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let owner = org_of(org)?;
    do_delete(&state, &caller, owner, hook_id(id)?).await
}

/// A webhook's deliveries, newest first: each with its state and its tries (time, status,
/// duration, the first 1 KiB of the answer).
#[utoipa::path(get, path = "/orgs/{org}/webhooks/{id}/deliveries", tag = "webhooks",
    params(OrgPath, HookPath, DeliveryParams), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [DeliveryView]), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn deliveries_org(
    State(state): State<AppState>,
    caller: Caller,
    org: Result<Path<OrgSegment>, PathRejection>,
    id: Result<Path<HookPath>, PathRejection>,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let owner = org_of(org)?;
    do_deliveries(&state, &caller, owner, hook_id(id)?, params).await
}

/// Send a delivery's payload again, as a new delivery (202: it is queued).
#[utoipa::path(post, path = "/orgs/{org}/webhooks/{id}/deliveries/{delivery}/resend", tag = "webhooks",
    params(OrgPath, DeliveryPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 202, body = DeliveryView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn resend_org(
    State(state): State<AppState>,
    caller: Caller,
    org: Result<Path<OrgSegment>, PathRejection>,
    ids: Result<Path<DeliveryPath>, PathRejection>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let owner = org_of(org)?;
    do_resend(&state, &caller, owner, delivery_ids(ids)?).await
}

/// Send a test event (202: it is queued; its delivery shows in the log).
#[utoipa::path(post, path = "/orgs/{org}/webhooks/{id}/test", tag = "webhooks", params(OrgPath, HookPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 202, body = DeliveryView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn test_org(
    State(state): State<AppState>,
    caller: Caller,
    org: Result<Path<OrgSegment>, PathRejection>,
    id: Result<Path<HookPath>, PathRejection>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let owner = org_of(org)?;
    do_test(&state, &caller, owner, hook_id(id)?).await
}

/// The webhooks, global (administrators): they hear every container.
#[utoipa::path(get, path = "/admin/webhooks", tag = "webhooks", security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [HookView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_admin(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<HookView>>, ApiError> {
    do_list(&state, &caller, Owner::Global).await
}

/// Create a webhook; the answer holds its secret, shown this once.
#[utoipa::path(post, path = "/admin/webhooks", tag = "webhooks", request_body = NewHookBody, security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = CreatedHookView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Too many webhooks here", body = ErrorBody)))]
pub async fn create_admin(
    State(state): State<AppState>,
    caller: Caller,

    ApiJson(body): ApiJson<NewHookBody>,
) -> Result<(StatusCode, Json<CreatedHookView>), ApiError> {
    do_create(&state, &caller, Owner::Global, body).await
}

/// Delete a webhook and its delivery log.
#[utoipa::path(delete, path = "/admin/webhooks/{id}", tag = "webhooks", params(HookPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_admin(
    State(state): State<AppState>,
    caller: Caller,

    id: Result<Path<HookPath>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let owner = Owner::Global;
    do_delete(&state, &caller, owner, hook_id(id)?).await
}

/// A webhook's deliveries, newest first: each with its state and its tries (time, status,
/// duration, the first 1 KiB of the answer).
#[utoipa::path(get, path = "/admin/webhooks/{id}/deliveries", tag = "webhooks",
    params(HookPath, DeliveryParams), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [DeliveryView]), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn deliveries_admin(
    State(state): State<AppState>,
    caller: Caller,

    id: Result<Path<HookPath>, PathRejection>,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let owner = Owner::Global;
    do_deliveries(&state, &caller, owner, hook_id(id)?, params).await
}

/// Send a delivery's payload again, as a new delivery (202: it is queued).
#[utoipa::path(post, path = "/admin/webhooks/{id}/deliveries/{delivery}/resend", tag = "webhooks",
    params(DeliveryPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 202, body = DeliveryView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn resend_admin(
    State(state): State<AppState>,
    caller: Caller,

    ids: Result<Path<DeliveryPath>, PathRejection>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let owner = Owner::Global;
    do_resend(&state, &caller, owner, delivery_ids(ids)?).await
}

/// Send a test event (202: it is queued; its delivery shows in the log).
#[utoipa::path(post, path = "/admin/webhooks/{id}/test", tag = "webhooks", params(HookPath), security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 202, body = DeliveryView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn test_admin(
    State(state): State<AppState>,
    caller: Caller,

    id: Result<Path<HookPath>, PathRejection>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let owner = Owner::Global;
    do_test(&state, &caller, owner, hook_id(id)?).await
}
