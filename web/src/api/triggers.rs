//! Push triggers through the API: a container's triggers (its owner and admins; the secret is
//! shown once), their decision log, and the hook URL git servers call.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use bioshadock_core::triggers::{
    Decision, MAX_BODY_BYTES, Outcome, Provider, Trigger, TriggerRules,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::grammar::ContainerPath;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ContainerId};
use crate::services::triggers::{self, NewTrigger};
use crate::state::AppState;

/// A new trigger.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTriggerBody {
    /// Who calls the hook URL: `github`, `gitlab`, `gitea` (Forgejo too) or `generic`.
    provider: Provider,
    /// The secret (16–256 characters; GitLab's "secret token"); one is made when left out.
    #[serde(default)]
    #[schema(schema_with = super::grammar::chosen_secret_schema)]
    secret: Option<String>,
    /// Branches and tags that build: globs or `/regex/`, `branch:` or `tag:` before a pattern
    /// to name the kind. Empty: all.
    #[serde(default)]
    #[schema(schema_with = super::grammar::trigger_refs_schema)]
    refs: Vec<String>,
    /// Tags to build: `{branch}`, `{tag}`, `{short_sha}`, `{date}`, and `latest` (the default
    /// branch only). Empty: `latest` and `{tag}`.
    #[serde(default)]
    #[schema(schema_with = super::grammar::trigger_templates_schema)]
    tag_templates: Vec<String>,
    /// Build only when a changed file matches one of these (globs or `/regex/`). Empty: always.
    #[serde(default)]
    #[schema(schema_with = super::grammar::trigger_paths_schema)]
    paths: Vec<String>,
    /// Build arguments of its builds, over the container's; `{tag}` and `{sha}` are filled in.
    #[serde(default)]
    #[schema(schema_with = super::grammar::build_args_schema)]
    build_args: std::collections::BTreeMap<String, String>,
}

/// A trigger (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerView {
    #[schema(example = "tr_3f2a9c0d1e4b5a67")]
    id: String,
    provider: Provider,
    /// Where the git server sends its push events.
    #[schema(example = "https://bioshadock.example.org/hooks/github/lab/samtools")]
    url: String,
    refs: Vec<String>,
    tag_templates: Vec<String>,
    paths: Vec<String>,
    /// Build arguments of its builds, over the container's.
    build_args: std::collections::BTreeMap<String, String>,
    created_by: String,
    created_at: DateTime<Utc>,
}

/// A trigger just created, with its secret: store it in the git server now, it is not shown
/// again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTriggerView {
    #[serde(flatten)]
    trigger: TriggerView,
    secret: String,
}

fn view(state: &AppState, trigger: Trigger) -> TriggerView {
    TriggerView {
        url: format!(
            "{}/hooks/{}/{}",
            state.settings.public_url.trim_end_matches('/'),
            trigger.provider.as_str(),
            trigger.container
        ),
        id: trigger.id,
        provider: trigger.provider,
        refs: trigger.rules.refs,
        tag_templates: trigger.rules.tag_templates,
        paths: trigger.rules.paths,
        build_args: trigger.build_args,
        created_by: trigger.created_by,
        created_at: trigger.created_at,
    }
}

/// One build a decision queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecidedBuild {
    id: i64,
    tag: String,
}

/// What became of one hook delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    at: DateTime<Utc>,
    /// The trigger whose secret signed it (none for a bad signature).
    trigger: Option<String>,
    /// What asked: a hook's provider (`github`, `gitlab`, `gitea`, `generic`), `schedule` or
    /// `base_image`.
    provider: bioshadock_core::triggers::Origin,
    /// `branch main`, `tag v1.2`.
    reference: Option<String>,
    commit: Option<String>,
    outcome: Outcome,
    /// Why, in a sentence.
    reason: String,
    builds: Vec<DecidedBuild>,
}

impl From<Decision> for DecisionView {
    fn from(d: Decision) -> Self {
        Self {
            at: d.at,
            trigger: d.trigger,
            provider: d.provider,
            reference: d.reference,
            commit: d.commit,
            outcome: d.outcome,
            reason: d.reason,
            builds: d
                .builds
                .into_iter()
                .map(|(id, tag)| DecidedBuild { id, tag })
                .collect(),
        }
    }
}

/// `?limit=N` of the decision log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DecisionParams {
    /// Decisions to show, newest first (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
}

/// `{id}`: a trigger.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TriggerPath {
    #[param(pattern = r"^tr_[0-9a-f]{16}$")]
    id: String,
}

/// `{provider}` of a hook URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProviderPath {
    /// `github`, `gitlab`, `gitea`, `forgejo` or `generic`.
    #[param(pattern = r"^(github|gitlab|gitea|forgejo|generic)$")]
    provider: String,
}

/// A container's push triggers (its owner and admins).
#[utoipa::path(get, path = "/container/triggers/{namespace}/{name}", tag = "builds",
    params(ContainerPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [TriggerView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<Json<Vec<TriggerView>>, ApiError> {
    let found = triggers::list(&state, &caller, &id).await?;
    Ok(Json(found.into_iter().map(|t| view(&state, t)).collect()))
}

/// Create a push trigger; the answer holds its hook URL and its secret, shown this once.
#[utoipa::path(post, path = "/container/triggers/{namespace}/{name}", tag = "builds",
    params(ContainerPath), request_body = NewTriggerBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 201, body = CreatedTriggerView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "No git source, or too many triggers", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    ApiJson(body): ApiJson<NewTriggerBody>,
) -> Result<(StatusCode, Json<CreatedTriggerView>), ApiError> {
    let new = NewTrigger {
        provider: body.provider,
        secret: body.secret,
        rules: TriggerRules {
            refs: body.refs,
            tag_templates: body.tag_templates,
            paths: body.paths,
        },
        build_args: body.build_args,
    };
    let (trigger, secret) = triggers::create(&state, &caller, &id, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTriggerView {
            trigger: view(&state, trigger),
            secret,
        }),
    ))
}

/// Delete a trigger (its decisions stay in the log).
#[utoipa::path(delete, path = "/container/triggers/{namespace}/{name}/{id}", tag = "builds",
    params(ContainerPath, TriggerPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    trigger: Result<Path<TriggerPath>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(TriggerPath { id: trigger }) =
        trigger.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if !super::grammar::is_prefixed_hex_id(&trigger, "tr_") {
        return Err(ApiError::bad_request(
            "a trigger id is `tr_` and 16 hex digits",
        ));
    }
    triggers::delete(&state, &caller, &id, &trigger).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every hook delivery's fate, newest first, with its reason: queued, ignored by the ref or
/// path filter, deduplicated, over the owner's build limit, bad signature, ignored.
#[utoipa::path(get, path = "/container/triggers/{namespace}/{name}/decisions", tag = "builds",
    params(ContainerPath, DecisionParams),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [DecisionView]), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn decisions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    ApiQuery(params): ApiQuery<DecisionParams>,
) -> Result<Json<Vec<DecisionView>>, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit is 1 to 200"));
    }
    let found = triggers::decisions(&state, &caller, &id, limit).await?;
    Ok(Json(found.into_iter().map(Into::into).collect()))
}

/// The hook URL of a container's push triggers. GitHub signs with `X-Hub-Signature-256`,
/// GitLab sends `X-Gitlab-Token`, Gitea and Forgejo sign with `X-Gitea-Signature`, and the
/// generic form takes `{ref, commit, changed_paths?}` signed with `Bioshadock-Signature-256:
/// sha256=HMAC`. A bad or missing signature gets 401 and queues nothing.
#[utoipa::path(post, path = "/hooks/{provider}/{namespace}/{name}", tag = "builds",
    params(ProviderPath, ContainerPath),
    request_body(content = serde_json::Value, description = "The provider's push payload", content_type = "application/json"),
    responses(
        (status = 200, description = "Read and not built (a ping, a filter, no tag)", body = DecisionView),
        (status = 202, description = "Queued (or already queued)", body = DecisionView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 429, description = "The trigger's owner has too many builds", body = DecisionView)))]
pub async fn hook(
    State(state): State<AppState>,
    provider: Result<Path<ProviderPath>, PathRejection>,
    ContainerId(id): ContainerId,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<DecisionView>), ApiError> {
    let Path(ProviderPath { provider }) =
        provider.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let provider = Provider::parse(&provider)
        .ok_or_else(|| ApiError::not_found(format!("no provider `{provider}`")))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            message: format!("a hook body is at most {} KiB", MAX_BODY_BYTES / 1024),
        });
    }
    let answer = triggers::receive(&state, provider, &id, &headers, &body).await?;
    Ok((answer.status, Json(answer.decision.into())))
}
