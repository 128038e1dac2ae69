//! Retention through the API: a container's or an organisation's policy, its dry run (exactly
//! the tags a run would delete now, each with its reason) and an on-demand run.

use axum::Json;
use axum::extract::{Path, State};
use bioshadock_core::RepoName;
use bioshadock_core::retention::{Doomed, MAX_KEEP_PATTERNS, RetentionPolicy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::grammar::{ContainerPath, OrgPath};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ContainerId};
use crate::services::retention::{self, InForce, RunReport};
use crate::state::AppState;

/// A retention policy. Nothing set deletes nothing (but tags whose image carries the
/// `org.bioshadock.expires-after` label still expire). Immutable tags are never deleted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// Keep the N most recently pushed tags; older ones go unless kept otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    keep_newest: Option<u32>,
    /// Tags never deleted: globs (`release-*`), `/regex/`, or semver ranges (`>=1.0 <2`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = super::grammar::retention_keep_schema)]
    keep: Vec<String>,
    /// Tags pushed more than this many days ago go, unless kept otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 36500)]
    delete_older_than_days: Option<u32>,
}

impl PolicyBody {
    fn into_policy(self) -> Result<RetentionPolicy, ApiError> {
        if self.keep.len() > MAX_KEEP_PATTERNS {
            return Err(ApiError::bad_request(format!(
                "retention: at most {MAX_KEEP_PATTERNS} keep patterns"
            )));
        }
        if let Some(pattern) = self.keep.iter().find(|p| p.chars().count() > 256) {
            return Err(ApiError::bad_request(format!(
                "retention: a keep pattern is at most 256 characters (`{}…`)",
                pattern.chars().take(32).collect::<String>()
            )));
        }
        if self.keep_newest.is_some_and(|n| n > 1_000_000) {
            return Err(ApiError::bad_request(
                "retention: keep_newest is at most 1000000",
            ));
        }
        if self.delete_older_than_days.is_some_and(|d| d > 36_500) {
            return Err(ApiError::bad_request(
                "retention: delete_older_than_days is at most 36500",
            ));
        }
        RetentionPolicy {
            keep_newest: self.keep_newest.map(|n| n as usize),
            keep: self.keep,
            delete_older_than_days: self.delete_older_than_days,
        }
        .checked()
        .map_err(|e| ApiError::bad_request(format!("retention: {e}")))
    }

    fn of(policy: RetentionPolicy) -> Self {
        Self {
            keep_newest: policy
                .keep_newest
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            keep: policy.keep,
            delete_older_than_days: policy.delete_older_than_days,
        }
    }
}

/// The policies that bear on a container.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionView {
    /// The container's own policy; `null`: its organisation's applies.
    own: Option<PolicyBody>,
    /// Its organisation's default, when its namespace is an organisation that has one.
    organisation: Option<PolicyBody>,
    /// The policy that decides.
    in_force: PolicyBody,
}

impl From<InForce> for RetentionView {
    fn from(policies: InForce) -> Self {
        Self {
            in_force: PolicyBody::of(policies.policy()),
            own: policies.own.map(PolicyBody::of),
            organisation: policies.organisation.map(PolicyBody::of),
        }
    }
}

/// One tag a run deletes (or deleted), and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoomedView {
    /// The container, in an organisation's preview or run.
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<String>,
    tag: String,
    /// The reason in a sentence.
    #[schema(example = "not among the 5 most recently pushed")]
    reason: String,
    /// The rule that decided: `expired`, `older_than` or `beyond_newest`.
    #[schema(example = "beyond_newest")]
    rule: String,
}

impl DoomedView {
    fn of(container: Option<&RepoName>, doomed: Doomed) -> Self {
        let rule = match doomed.reason {
            bioshadock_core::retention::Reason::Expired { .. } => "expired",
            bioshadock_core::retention::Reason::OlderThan { .. } => "older_than",
            bioshadock_core::retention::Reason::BeyondNewest { .. } => "beyond_newest",
        };
        Self {
            container: container.map(ToString::to_string),
            tag: doomed.tag,
            reason: doomed.reason.describe(),
            rule: rule.to_owned(),
        }
    }
}

/// A tag a run could not delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedView {
    container: String,
    tag: String,
    error: String,
}

/// What a run did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    deleted: Vec<DoomedView>,
    failed: Vec<FailedView>,
}

impl RunView {
    fn of(report: RunReport, with_container: bool) -> Self {
        Self {
            deleted: report
                .deleted
                .into_iter()
                .map(|(id, d)| DoomedView::of(with_container.then_some(&id), d))
                .collect(),
            failed: report
                .failed
                .into_iter()
                .map(|(id, tag, error)| FailedView {
                    container: id.to_string(),
                    tag,
                    error,
                })
                .collect(),
        }
    }
}

/// A container's retention policies (anyone who may see it).
#[utoipa::path(get, path = "/container/retention/{namespace}/{name}", tag = "retention",
    params(ContainerPath),
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RetentionView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<Json<RetentionView>, ApiError> {
    Ok(Json(retention::get(&state, &caller, &id).await?.into()))
}

/// Set a container's own retention policy (its owner and admins); `{}` falls back to its
/// organisation's.
#[utoipa::path(put, path = "/container/retention/{namespace}/{name}", tag = "retention",
    params(ContainerPath), request_body = PolicyBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RetentionView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<Json<RetentionView>, ApiError> {
    let policy = body.into_policy()?;
    Ok(Json(
        retention::set(&state, &caller, &id, Some(policy))
            .await?
            .into(),
    ))
}

/// The dry run (its owner and admins): exactly the tags a run now would delete, newest first.
#[utoipa::path(get, path = "/container/retention/{namespace}/{name}/preview", tag = "retention",
    params(ContainerPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [DoomedView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<Json<Vec<DoomedView>>, ApiError> {
    let doomed = retention::preview(&state, &caller, &id).await?;
    Ok(Json(
        doomed
            .into_iter()
            .map(|d| DoomedView::of(None, d))
            .collect(),
    ))
}

/// Run the policy now (its owner and admins): the tags go from the registry and the catalogue,
/// each recorded in the audit log as `retention.deleted`.
#[utoipa::path(post, path = "/container/retention/{namespace}/{name}/run", tag = "retention",
    params(ContainerPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RunView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<Json<RunView>, ApiError> {
    let report = retention::run(&state, &caller, &id).await?;
    Ok(Json(RunView::of(report, false)))
}

/// An organisation's default retention policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgRetentionView {
    /// `null`: none; its containers keep every tag unless they set a policy of their own.
    policy: Option<PolicyBody>,
}

/// An organisation's default retention policy (its admins and owners).
#[utoipa::path(get, path = "/orgs/{org}/retention", tag = "retention", params(OrgPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = OrgRetentionView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
) -> Result<Json<OrgRetentionView>, ApiError> {
    let policy = retention::get_org(&state, &caller, &org).await?;
    Ok(Json(OrgRetentionView {
        policy: policy.map(PolicyBody::of),
    }))
}

/// Set an organisation's default retention policy (its admins and owners); `{}` for none.
#[utoipa::path(put, path = "/orgs/{org}/retention", tag = "retention", params(OrgPath),
    request_body = PolicyBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = OrgRetentionView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn put_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<Json<OrgRetentionView>, ApiError> {
    let policy = body.into_policy()?;
    let policy = retention::set_org(&state, &caller, &org, Some(policy)).await?;
    Ok(Json(OrgRetentionView {
        policy: policy.map(PolicyBody::of),
    }))
}

/// The dry run over the organisation's containers (its admins and owners), each under the
/// policy in force for it.
#[utoipa::path(get, path = "/orgs/{org}/retention/preview", tag = "retention", params(OrgPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = [DoomedView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn preview_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<DoomedView>>, ApiError> {
    let doomed = retention::preview_org(&state, &caller, &org).await?;
    Ok(Json(
        doomed
            .into_iter()
            .map(|(id, d)| DoomedView::of(Some(&id), d))
            .collect(),
    ))
}

/// Run retention on every container of the organisation now (its admins and owners).
#[utoipa::path(post, path = "/orgs/{org}/retention/run", tag = "retention", params(OrgPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = RunView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn run_org(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(org): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    let report = retention::run_org(&state, &caller, &org).await?;
    Ok(Json(RunView::of(report, true)))
}
