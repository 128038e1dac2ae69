//! A build's page (status, why it failed, metadata, the log so far; `static/build.js` follows
//! the rest live), and the forms that queue and cancel builds. The rules are those of
//! `crate::builds`, shared with the hooks and the JSON API.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::PortError;
use bioshadock_core::RepoName;
use bioshadock_core::model::now;
use bioshadock_core::permissions::Rights;
use bioshadock_core::ports::builds::{Build, BuildSource, BuildStatus, LogLine};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::format::{ago, duration};
use super::viewer::{Nav, Viewer};
use super::{PageError, container, render};
use crate::error::ApiError;
use crate::extract::ContainerId;
use crate::services::builds;
use crate::services::containers;
use crate::state::AppState;

/// One build in a list (a container's history, the admin page's live builds).
pub(crate) struct BuildRow {
    pub id: i64,
    pub url: String,
    pub container: String,
    pub tag: String,
    pub status: &'static str,
    pub requested_by: String,
    pub queued: String,
    pub queued_iso: String,
    pub duration: Option<String>,
    /// Why it ended badly; `None` for live and successful builds.
    pub reason: Option<String>,
    pub revision: Option<String>,
    pub short_revision: Option<String>,
}

impl BuildRow {
    pub fn new(build: &Build, at: DateTime<Utc>) -> Self {
        Self {
            id: build.id,
            url: page_path(build),
            container: build.container.to_string(),
            tag: build.tag.to_string(),
            status: build.status.as_str(),
            requested_by: build.requested_by.clone(),
            queued: ago(build.queued_at),
            queued_iso: build.queued_at.to_rfc3339(),
            duration: build.duration_secs(at).map(duration),
            reason: ended_badly(build.status).then(|| reason_of(build)),
            revision: build.revision.clone(),
            short_revision: build
                .revision
                .as_deref()
                .map(bioshadock_core::git::short_commit),
        }
    }
}

/// The build's page in the portal.
pub(crate) fn page_path(build: &Build) -> String {
    format!("/r/{}/builds/{}", build.container, build.id)
}

/// Failed, cancelled, interrupted or skipped: the page says why at the top.
pub(crate) fn ended_badly(status: BuildStatus) -> bool {
    status.is_final() && status != BuildStatus::Success
}

fn reason_of(build: &Build) -> String {
    build.reason.clone().unwrap_or_else(|| {
        format!(
            "the build {} without giving a reason",
            build.status.as_str()
        )
    })
}

/// A moment, relative and exact.
struct Stamp {
    ago: String,
    iso: String,
    exact: String,
}

impl Stamp {
    fn new(at: DateTime<Utc>) -> Self {
        Self {
            ago: ago(at),
            iso: at.to_rfc3339(),
            exact: at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "build.html")]
struct BuildPage {
    nav: Nav,
    csrf: String,
    /// The container's id.
    container: String,
    build_id: i64,
    status: &'static str,
    /// Queued or running: the page follows the log live.
    live: bool,
    reason: Option<String>,
    tag: String,
    /// The git source, credentials removed; `None` for a Dockerfile build.
    git: Option<String>,
    revision: Option<String>,
    digest: Option<String>,
    requested_by: String,
    worker: Option<String>,
    queued: Stamp,
    started: Option<Stamp>,
    finished: Option<Stamp>,
    duration: Option<String>,
    /// Earlier lines left out of the page.
    skipped: u64,
    lines: Vec<LogLine>,
    /// The number of the last line on the page, where the live log resumes.
    last_line: u64,
    can_cancel: bool,
    /// May queue it again (finished, and the viewer may build here).
    can_rebuild: bool,
    /// `NAME=value` of its build arguments.
    build_args: Vec<String>,
    /// It was asked to reuse no layer.
    no_cache: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct BuildSegments {
    build: String,
}

#[derive(Deserialize)]
pub struct BuildForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tag: String,
    /// Present (any value) for "Rebuild without cache".
    #[serde(default)]
    no_cache: Option<String>,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Path(BuildSegments { build }): Path<BuildSegments>,
) -> Result<Response, PageError> {
    let ContainerId(id) = id?;
    let (rights, build) = find(&state, &viewer, &id, &build).await?;
    let page = build_page(&state, &viewer, rights, build, None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The container page's Build form: queues a build and opens its page.
pub async fn queue(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Form(form): Form<BuildForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let ContainerId(id) = id?;
    let tag = Some(form.tag.trim()).filter(|t| !t.is_empty());
    let no_cache = form.no_cache.is_some();
    match builds::queue_build(&state, &viewer.principal, &id, tag, false, no_cache).await {
        Ok(queued) => Ok(Redirect::to(&page_path(&queued.build)).into_response()),
        Err(e) if shown_on_the_page(e.status) => {
            let flash = container::Flash {
                status: e.status,
                message: e.message,
                tag: form.tag,
            };
            container::show(&state, &viewer, &id, Some(flash)).await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// The build page's Cancel form.
pub async fn cancel(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Path(BuildSegments { build }): Path<BuildSegments>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let ContainerId(id) = id?;
    let (rights, build) = find(&state, &viewer, &id, &build).await?;
    match builds::cancel_build(&state, &viewer.principal, build.id).await {
        Ok(cancelled) => Ok(Redirect::to(&page_path(&cancelled)).into_response()),
        Err(e) if e.status == StatusCode::CONFLICT => {
            // It ended meanwhile: show how, with the reason the cancel was refused.
            let current = state.builds.get(build.id).await?;
            let page = build_page(&state, &viewer, rights, current, Some(e.message)).await?;
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Errors the person can act on (a bad tag, no source, too many builds) stay on the page.
fn shown_on_the_page(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::TOO_MANY_REQUESTS | StatusCode::CONFLICT
    )
}

/// The build `raw` of container `id`, if the viewer may see the container; any other build,
/// or one of a container they may not see, is reported absent.
async fn find(
    state: &AppState,
    viewer: &Viewer,
    id: &RepoName,
    raw: &str,
) -> Result<(Rights, Build), PageError> {
    let (_, rights) = containers::visible(state, &viewer.principal, id).await?;
    let unknown = || PageError(ApiError::not_found(format!("`{id}` has no build {raw}")));
    let build_id: i64 = raw.parse().map_err(|_| unknown())?;
    match state.builds.get(build_id).await {
        Ok(build) if build.container == *id => Ok((rights, build)),
        Ok(_) | Err(PortError::NotFound) => Err(unknown()),
        Err(e) => Err(e.into()),
    }
}

async fn build_page(
    state: &AppState,
    viewer: &Viewer,
    rights: Rights,
    build: Build,
    error: Option<String>,
) -> Result<BuildPage, PageError> {
    // The tail, like `GET /build/{build}`: the page links to the paged and the whole log.
    let lines = state
        .builds
        .log_tail(build.id, build.log_lines, builds::LOG_TAIL_BYTES)
        .await?;
    let skipped = lines.first().map_or(build.log_lines, |l| l.seq - 1);
    let last_line = lines.last().map_or(build.log_lines, |l| l.seq);
    let live = !build.status.is_final();
    Ok(BuildPage {
        nav: viewer.nav.clone(),
        csrf: viewer.nav.csrf.clone(),
        container: build.container.to_string(),
        build_id: build.id,
        status: build.status.as_str(),
        live,
        reason: ended_badly(build.status).then(|| reason_of(&build)),
        tag: build.tag.to_string(),
        git: match &build.source {
            BuildSource::Git(text) => Some(bioshadock_core::git::redact_userinfo(text)),
            BuildSource::Dockerfile(_) => None,
        },
        duration: build.duration_secs(now()).map(duration),
        revision: build.revision.clone(),
        digest: build.digest.clone(),
        requested_by: build.requested_by.clone(),
        worker: build.worker.clone(),
        queued: Stamp::new(build.queued_at),
        started: build.started_at.map(Stamp::new),
        finished: build.finished_at.map(Stamp::new),
        skipped,
        lines,
        last_line,
        can_cancel: live && rights.push && viewer.signed_in().is_some(),
        can_rebuild: !live && rights.push && viewer.signed_in().is_some(),
        build_args: build
            .options
            .args
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        no_cache: build.options.no_cache,
        error,
    })
}
