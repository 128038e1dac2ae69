//! Builds: the two Bioshadock hook URLs that queue them, their history, one build with the
//! end of its log, and cancelling. (The log itself: `build_log`; the live log: `build_events`.)

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::Event;
use bioshadock_core::model::now;
use bioshadock_core::ports::builds::{Build, BuildSource, BuildStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::grammar::{BuildPath, ContainerPath, TagPath};
use crate::auth::{Caller, KeyCaller};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, ContainerId};
use crate::services::builds::{self, Queued};
use crate::services::containers;
use crate::state::AppState;

/// The answer to a build request.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedView {
    /// The build id.
    id: i64,
    /// `queued` (or `running` when an identical build was already under way).
    #[schema(value_type = String, example = "queued")]
    status: BuildStatus,
    container: String,
    tag: String,
    /// True when the same build was already queued and is returned instead of a new one.
    deduplicated: bool,
    /// The build's page in the portal.
    url: String,
}

impl QueuedView {
    fn new(queued: Queued, public_url: &str) -> Self {
        let build = queued.build;
        Self {
            url: build_page(public_url, &build),
            id: build.id,
            status: build.status,
            container: build.container.to_string(),
            tag: build.tag.to_string(),
            deduplicated: queued.deduplicated,
        }
    }
}

fn build_page(public_url: &str, build: &Build) -> String {
    format!(
        "{}/r/{}/builds/{}",
        public_url.trim_end_matches('/'),
        build.container,
        build.id
    )
}

/// A build, without its log.
#[derive(Debug, Serialize, ToSchema)]
pub struct BuildView {
    id: i64,
    container: String,
    tag: String,
    /// queued, running, success, failed, cancelled, interrupted or skipped.
    #[schema(value_type = String, example = "success")]
    status: BuildStatus,
    /// Why it failed, was cancelled, interrupted or skipped.
    reason: Option<String>,
    /// `git` or `dockerfile`.
    source_kind: &'static str,
    /// The git source built (credentials removed); absent for Dockerfile builds.
    git: Option<String>,
    /// The commit built.
    revision: Option<String>,
    /// The pushed image's digest, on success.
    digest: Option<String>,
    requested_by: String,
    /// The builder process that runs or ran it (`host-pid`).
    worker: Option<String>,
    queued_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    /// From start to end, or to now while running.
    duration_secs: Option<f64>,
    log_lines: u64,
    /// Its build arguments, placeholders filled in (arguments are not secret: they are in the
    /// image's history).
    build_args: std::collections::BTreeMap<String, String>,
    /// True when it was asked to reuse no layer of an earlier build.
    no_cache: bool,
}

impl From<&Build> for BuildView {
    fn from(build: &Build) -> Self {
        let (source_kind, git) = match &build.source {
            BuildSource::Git(text) => ("git", Some(bioshadock_core::git::redact_userinfo(text))),
            BuildSource::Dockerfile(_) => ("dockerfile", None),
        };
        Self {
            id: build.id,
            container: build.container.to_string(),
            tag: build.tag.to_string(),
            status: build.status,
            reason: build.reason.clone(),
            source_kind,
            git,
            revision: build.revision.clone(),
            digest: build.digest.clone(),
            requested_by: build.requested_by.clone(),
            worker: build.worker.clone(),
            queued_at: build.queued_at,
            started_at: build.started_at,
            finished_at: build.finished_at,
            duration_secs: build.duration_secs(now()),
            log_lines: build.log_lines,
            build_args: build.options.args.clone(),
            no_cache: build.options.no_cache,
        }
    }
}

/// A build with the end of its log.
#[derive(Debug, Serialize, ToSchema)]
pub struct BuildDetail {
    #[serde(flatten)]
    build: BuildView,
    /// The log so far, one line per line: its last lines within 1 MiB.
    log: String,
    /// True when earlier lines are left out of `log`: `/build/{build}/log` pages through them
    /// all and `/build/{build}/log.txt` downloads the whole log (`log_lines` counts them).
    log_truncated: bool,
    /// The Dockerfile the build built, as its source held it, once recorded.
    dockerfile: Option<RecordedDockerfile>,
    /// The workflow descriptor it fetched with its source, if the container names one.
    descriptor: Option<RecordedDescriptor>,
}

/// A recorded Dockerfile.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedDockerfile {
    /// Its path in the source (`Dockerfile` for a pasted one).
    path: String,
    text: String,
}

/// A recorded workflow descriptor.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedDescriptor {
    /// `CWL`, `WDL`, `NFL`, `GALAXY` or `SMK`.
    kind: String,
    /// Its path in the source, or the URL it was fetched from.
    origin: String,
    text: String,
}

/// Queue a build from the container's git repository (else its Dockerfile), tagged `latest`.
///
/// Bioshadock's hook URL: point a git server's push webhook at it with `?apikey=KEY`.
#[utoipa::path(method(get, post), path = "/container/git/{namespace}/{name}", tag = "builds",
    params(ContainerPath, BuildQuery),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 202, description = "Queued (or the identical queued build)", body = QueuedView),
        (status = 400, description = "An invalid name or option", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "The key lacks `build`, or its user may not push here", body = ErrorBody),
        (status = 404, description = "No such container", body = ErrorBody),
        (status = 409, description = "The container has neither a git source nor a Dockerfile", body = ErrorBody),
        (status = 429, description = "Too many builds queued or running for this user", body = ErrorBody)))]
pub async fn build_git(
    State(state): State<AppState>,
    KeyCaller(caller): KeyCaller,
    ContainerId(id): ContainerId,
    ApiQuery(query): ApiQuery<BuildQuery>,
) -> Result<(StatusCode, Json<QueuedView>), ApiError> {
    let queued = builds::queue_build(&state, &caller, &id, None, false, query.no_cache).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(QueuedView::new(queued, &state.settings.public_url)),
    ))
}

/// Options of a build request (besides `apikey`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BuildQuery {
    /// Reuse no layer of an earlier build: every step runs ("rebuild without cache").
    #[serde(default)]
    no_cache: bool,
}

#[derive(Deserialize)]
pub struct TagSegment {
    tag: String,
}

/// Queue a build that produces tag `{tag}`; a git source is built at the ref of that name.
#[utoipa::path(method(get, post), path = "/container/tag/{namespace}/{name}/{tag}", tag = "builds",
    params(TagPath, BuildQuery),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 202, description = "Queued (or the identical queued build)", body = QueuedView),
        (status = 400, description = "An invalid name or tag, or a tag that cannot name a git ref", body = ErrorBody),
        (status = 401, description = "No or bad API key", body = ErrorBody),
        (status = 403, description = "The key lacks `build`, or its user may not push here", body = ErrorBody),
        (status = 404, description = "No such container", body = ErrorBody),
        (status = 409, description = "The container has neither a git source nor a Dockerfile", body = ErrorBody),
        (status = 429, description = "Too many builds queued or running for this user", body = ErrorBody)))]
pub async fn build_tag(
    State(state): State<AppState>,
    KeyCaller(caller): KeyCaller,
    ContainerId(id): ContainerId,
    tag: Result<Path<TagSegment>, PathRejection>,
    ApiQuery(query): ApiQuery<BuildQuery>,
) -> Result<(StatusCode, Json<QueuedView>), ApiError> {
    let Path(TagSegment { tag }) = tag.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let queued =
        builds::queue_build(&state, &caller, &id, Some(&tag), true, query.no_cache).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(QueuedView::new(queued, &state.settings.public_url)),
    ))
}

/// The most builds one listing returns.
const MAX_LIST: usize = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many (1-200, default 50).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 200)]
    limit: Option<usize>,
}

/// The builds of a container, newest first.
#[utoipa::path(get, path = "/builds/{namespace}/{name}", tag = "builds",
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    params(ContainerPath, ListQuery),
    responses(
        (status = 200, body = [BuildView]),
        (status = 400, description = "An invalid name, or `limit` outside 1-200", body = ErrorBody),
        (status = 404, description = "No such container (or not visible to the caller)", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<BuildView>>, ApiError> {
    containers::visible(&state, &caller, &id).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "`limit` must be between 1 and {MAX_LIST}"
        )));
    }
    let builds = state.builds.list(&id, limit).await?;
    Ok(Json(builds.iter().map(BuildView::from).collect()))
}

/// One build with the end of its log (the last 1 MiB; the rest is paged by `/build/{build}/log`).
#[utoipa::path(get, path = "/build/{build}", tag = "builds",
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    params(BuildPath),
    responses(
        (status = 200, body = BuildDetail),
        (status = 404, description = "No such build (or its container is not visible)", body = ErrorBody)))]
pub async fn one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    build: Result<Path<i64>, PathRejection>,
) -> Result<Json<BuildDetail>, ApiError> {
    let Path(build_id) = build.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let build = builds::visible_build(&state, &caller, build_id).await?;
    let lines = state
        .builds
        .log_tail(build_id, build.log_lines, builds::LOG_TAIL_BYTES)
        .await?;
    let log_truncated = lines.first().map_or(build.log_lines > 0, |l| l.seq > 1);
    let mut log = String::with_capacity(lines.iter().map(|l| l.text.len() + 1).sum());
    for line in &lines {
        log.push_str(&line.text);
        log.push('\n');
    }
    let dockerfile = state
        .builds
        .dockerfile(build_id)
        .await?
        .map(|d| RecordedDockerfile {
            path: d.path,
            text: d.text,
        });
    let descriptor = state
        .builds
        .descriptor(build_id)
        .await?
        .map(|d| RecordedDescriptor {
            kind: d.kind,
            origin: d.origin,
            text: d.text,
        });
    Ok(Json(BuildDetail {
        build: BuildView::from(&build),
        log,
        log_truncated,
        dockerfile,
        descriptor,
    }))
}

/// Cancel a queued or running build (push rights on its container, `build` scope).
#[utoipa::path(post, path = "/build/{build}/cancel", tag = "builds",
    params(BuildPath),
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, description = "Cancelled", body = BuildView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No push rights, or the key lacks `build`", body = ErrorBody),
        (status = 404, description = "No such build", body = ErrorBody),
        (status = 409, description = "The build already ended", body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    build: Result<Path<i64>, PathRejection>,
) -> Result<Json<BuildView>, ApiError> {
    let Path(build_id) = build.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let build = builds::cancel_build(&state, &caller, build_id).await?;
    Ok(Json(BuildView::from(&build)))
}

/// A `status` or `end` event of the live log: the build as JSON.
pub(crate) fn status_event(name: &str, build: &Build) -> Event {
    let data = serde_json::to_string(&BuildView::from(build)).unwrap_or_default();
    Event::default().event(name).data(data)
}
