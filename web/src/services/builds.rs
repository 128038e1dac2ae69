//! Queueing and cancelling builds on behalf of a caller, shared by the hook URLs, the JSON API
//! and the pages, so all of them follow the same rules:
//!
//! - the caller holds the `build` scope (a session holds every scope) and their account may
//!   push to the container (a key's other scopes do not matter: a CI key can be `build` only);
//! - the source is fixed when the build is queued: the container's git source (the tag hook
//!   builds the git ref named like the tag), else its Dockerfile;
//! - the same container, tag and source already queued → that build is returned; while one
//!   runs, at most one more is queued behind it;
//! - a user has at most `builder.max_pending_per_user` builds queued or running (429 beyond).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use bioshadock_core::accounts::{Scope, Scopes, UserName};
use bioshadock_core::build_settings::resolve_args;
use bioshadock_core::git::GitSource;
use bioshadock_core::model::now;
use bioshadock_core::permissions::{Credential, Principal};
use bioshadock_core::ports::builds::{
    BUILD_JOB, Build, BuildOptions, BuildSource, BuildStatus, ChangeFilter, Finish, NewBuild,
};
use bioshadock_core::ports::queue::NewJob;
use bioshadock_core::{Container, PortError, PortResult, RepoName, TagName};
use sha2::{Digest, Sha256};

use super::containers;
use super::events;
use crate::error::ApiError;
use crate::state::AppState;
use bioshadock_core::events::EventKind;

/// The most of a log that one JSON answer (the build, the build page) carries: its last
/// lines within this many bytes.
pub const LOG_TAIL_BYTES: usize = 1024 * 1024;

/// The tag built when none is named.
pub const DEFAULT_TAG: &str = "latest";

/// A queued build, and whether it was already queued.
#[derive(Debug)]
pub struct Queued {
    pub build: Build,
    pub deduplicated: bool,
}

/// What a build is asked to be beyond its container's source and settings.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Build arguments overriding the container's (a trigger's own).
    pub args: BTreeMap<String, String>,
    /// Reuse no layer of an earlier build ("rebuild without cache").
    pub no_cache: bool,
    /// Build only if a matching file changed since an earlier commit (the builder compares).
    pub only_if_changed: Option<ChangeFilter>,
}

/// Queues a build of container `id` producing `tag` (default `latest`); `tag_is_ref` makes a
/// git source build the ref of the same name (the `/container/tag/…` hook).
pub async fn queue_build(
    state: &AppState,
    caller: &Principal,
    id: &RepoName,
    tag: Option<&str>,
    tag_is_ref: bool,
    no_cache: bool,
) -> Result<Queued, ApiError> {
    let tag = tag.unwrap_or(DEFAULT_TAG);
    let extras = Extras {
        no_cache,
        ..Extras::default()
    };
    queue_build_at(state, caller, id, tag, tag_is_ref.then_some(tag), &extras).await
}

/// Queues a build producing `tag` from the container's git source at `git_ref` (a branch, a
/// tag or a commit id; `None`: the source's own ref), or from its Dockerfile, with the
/// container's build arguments overridden by `extras.args`.
pub async fn queue_build_at(
    state: &AppState,
    caller: &Principal,
    id: &RepoName,
    tag: &str,
    git_ref: Option<&str>,
    extras: &Extras,
) -> Result<Queued, ApiError> {
    let actor = caller.require(Scope::Build)?;
    let container = buildable(state, caller, id).await?;
    let tag =
        TagName::parse(tag).map_err(|e| ApiError::bad_request(format!("invalid tag: {e}")))?;
    let source = source_of(&container, git_ref)?;
    // `{sha}` is known now only when the build is of one commit (a push trigger's).
    let commit = git_ref.filter(|r| r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit()));
    let options = BuildOptions {
        args: resolve_args(
            &container.policy.build.args,
            &extras.args,
            tag.as_str(),
            commit,
        ),
        no_cache: extras.no_cache,
        only_if_changed: extras.only_if_changed.clone(),
    };
    let user = actor.user.name.as_str().to_owned();
    if state.queue.pending_for(&user).await? >= state.settings.max_pending_builds {
        return Err(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_builds",
            message: format!(
                "you already have {} builds queued or running (builder.max_pending_per_user); \
                 wait for some to finish",
                state.settings.max_pending_builds
            ),
        });
    }
    let key = dedupe_key(id, &tag, &source, &options);
    let mut enqueued = state
        .queue
        .enqueue(job(&user, id, &tag, key.clone()))
        .await?;
    if enqueued.deduplicated {
        let existing = await_record(state, enqueued.job.id).await?;
        if existing.status != BuildStatus::Running {
            return Ok(Queued {
                build: existing,
                deduplicated: true,
            });
        }
        // It already runs, on older sources maybe: queue one more behind it (at most one).
        let follow_up = format!("{key}:after:{}", existing.id);
        enqueued = state.queue.enqueue(job(&user, id, &tag, follow_up)).await?;
        if enqueued.deduplicated {
            return Ok(Queued {
                build: await_record(state, enqueued.job.id).await?,
                deduplicated: true,
            });
        }
    }
    let record = NewBuild {
        id: enqueued.job.id,
        container: id.clone(),
        tag,
        requested_by: user,
        source,
        options,
        queued_at: now(),
    };
    let build = match state.builds.create(record).await {
        Ok(build) => build,
        Err(e) => {
            // Without its record the job would only be skipped by the worker: take it back.
            let _ = state.queue.cancel(enqueued.job.id).await;
            return Err(e.into());
        }
    };
    tracing::info!(build = build.id, container = %id, tag = %build.tag, "build queued");
    let summary = format!("build {} of {}:{} queued", build.id, id, build.tag);
    let kind = EventKind::BuildQueued;
    events::record_on_container(
        state,
        caller,
        kind,
        id,
        format!("build:{}", build.id),
        summary,
    )
    .await;
    // Woken once `build.queued` is in the stream, so that `build.started` follows it there
    // (a builder of another process may still find the job first, by its poll).
    state.builder.wake.notify_one();
    Ok(Queued {
        build,
        deduplicated: false,
    })
}

/// The user builds that no one requested in person run as (a trigger's creator, a scheduled
/// container's owner), with every scope and their memberships: the queue then checks their
/// rights as for anyone. `role` says who they are, for the reason when they cannot.
pub async fn acting_user(state: &AppState, name: &str, role: &str) -> Result<Principal, String> {
    let name = UserName::parse(name).map_err(|_| format!("{name} ({role}) is not a user"))?;
    let user = match state.users.get_user(&name).await {
        Ok(user) if !user.disabled => user,
        Ok(_) => return Err(format!("{name}, {role}, is disabled")),
        Err(PortError::NotFound) => return Err(format!("{name}, {role}, is gone")),
        Err(e) => return Err(e.to_string()),
    };
    let principal = Principal::user(user, Scopes::all(), Credential::Local);
    crate::auth::with_memberships(state, principal)
        .await
        .map_err(|e| e.message)
}

/// What became of a build queued on nobody's request, for the reason its decision gives.
pub enum Queueing<'a> {
    Queued,
    AlreadyQueued,
    /// Why not (the owner cannot build, the queue refused).
    NotQueued(&'a str),
}

/// Queues a build that nobody requested in person (a schedule's, a base image's) as the
/// container's `owner`, and writes what became of it into `decision`: its outcome (queued,
/// deduplicated, over the owner's limit, failed), the build, and the reason `say` gives.
#[allow(clippy::too_many_arguments)] // the queue's own parameters, and where the outcome goes
pub async fn queue_as_owner(
    state: &AppState,
    owner: &str,
    id: &RepoName,
    tag: &str,
    git_ref: Option<&str>,
    extras: &Extras,
    decision: &mut bioshadock_core::triggers::Decision,
    say: impl Fn(Queueing<'_>) -> String,
) {
    use bioshadock_core::triggers::Outcome;
    let owner = match acting_user(state, owner, "its owner").await {
        Ok(owner) => owner,
        Err(why) => {
            decision.outcome = Outcome::Failed;
            decision.reason = say(Queueing::NotQueued(&why));
            return;
        }
    };
    match queue_build_at(state, &owner, id, tag, git_ref, extras).await {
        Ok(queued) => {
            decision
                .builds
                .push((queued.build.id, queued.build.tag.to_string()));
            (decision.outcome, decision.reason) = if queued.deduplicated {
                (Outcome::Deduplicated, say(Queueing::AlreadyQueued))
            } else {
                (Outcome::Queued, say(Queueing::Queued))
            };
        }
        Err(e) => {
            decision.outcome = if e.status == StatusCode::TOO_MANY_REQUESTS {
                Outcome::OverLimit
            } else {
                Outcome::Failed
            };
            decision.reason = say(Queueing::NotQueued(&e.message));
        }
    }
}

/// Cancels a queued or running build. The worker running it notices within a second, stops
/// the engine's work and cleans up.
pub async fn cancel_build(
    state: &AppState,
    caller: &Principal,
    build_id: i64,
) -> Result<Build, ApiError> {
    let actor = caller.require(Scope::Build)?;
    let build = visible_build(state, caller, build_id).await?;
    buildable(state, caller, &build.container).await?;
    if build.status.is_final() {
        return Err(ApiError::conflict(format!(
            "build {build_id} already ended ({})",
            build.status.as_str()
        )));
    }
    let finish = Finish {
        status: BuildStatus::Cancelled,
        reason: Some(format!("cancelled by {}", actor.user.name)),
        digest: None,
        at: now(),
    };
    let cancelled = match state.builds.finish(build_id, finish).await {
        Ok(build) => build,
        Err(PortError::Conflict(_)) => {
            return Err(ApiError::conflict(format!(
                "build {build_id} ended before it could be cancelled"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    match state.queue.cancel(build_id).await {
        Ok(_) | Err(PortError::NotFound | PortError::Conflict(_)) => {}
        Err(e) => tracing::warn!(build = build_id, error = %e, "cancelling the build job failed"),
    }
    tracing::info!(build = build_id, by = %actor.user.name, "build cancelled");
    let summary = format!(
        "build {build_id} of {}:{} cancelled",
        cancelled.container, cancelled.tag
    );
    events::record_on_container(
        state,
        caller,
        EventKind::BuildCancelled,
        &cancelled.container,
        format!("build:{build_id}"),
        summary,
    )
    .await;
    Ok(cancelled)
}

/// A build whose container the caller may see; others are reported absent, so private
/// containers do not leak through build ids.
pub async fn visible_build(
    state: &AppState,
    caller: &Principal,
    build_id: i64,
) -> Result<Build, ApiError> {
    let unknown = || ApiError::not_found(format!("no build {build_id}"));
    let build = match state.builds.get(build_id).await {
        Ok(build) => build,
        Err(PortError::NotFound) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    };
    match containers::visible(state, caller, &build.container).await {
        Ok(_) => Ok(build),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(unknown()),
        Err(e) => Err(e),
    }
}

/// The container, if the caller's account may push to it (whatever the key's other scopes).
async fn buildable(
    state: &AppState,
    caller: &Principal,
    id: &RepoName,
) -> Result<Container, ApiError> {
    let Some(actor) = caller.actor() else {
        return Err(ApiError::unauthorized(
            "sign in or present an API key first",
        ));
    };
    let account = Principal::user(actor.user.clone(), Scopes::all(), Credential::Local)
        .with_memberships(actor.memberships.clone());
    let (container, rights) = containers::visible(state, &account, id).await?;
    if !rights.push {
        return Err(ApiError::forbidden(
            "forbidden",
            format!("building `{id}` needs push rights on it"),
        ));
    }
    Ok(container)
}

/// What to build: the git source (with `git_ref` replacing its ref), else the Dockerfile.
fn source_of(container: &Container, git_ref: Option<&str>) -> Result<BuildSource, ApiError> {
    if let Some(raw) = container.git.as_deref().filter(|g| !g.trim().is_empty()) {
        let mut source = GitSource::parse(raw).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if let Some(reference) = git_ref {
            source.reference = Some(reference.to_owned());
        }
        let mut text = source.url.clone();
        if source.reference.is_some() || source.subdir.is_some() {
            text.push('#');
            text.push_str(source.reference.as_deref().unwrap_or_default());
            if let Some(subdir) = &source.subdir {
                text.push(':');
                text.push_str(subdir);
            }
        }
        // Checked again as a whole: the rebuilt string must be as safe as the original.
        GitSource::parse(&text).map_err(|e| ApiError::bad_request(e.to_string()))?;
        return Ok(BuildSource::Git(text));
    }
    if let Some(dockerfile) = container
        .dockerfile
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        return Ok(BuildSource::Dockerfile(dockerfile.to_owned()));
    }
    // The request is fine; the container's state is what stands in the way.
    Err(ApiError {
        status: axum::http::StatusCode::CONFLICT,
        code: "no_source",
        message: format!(
            "`{}` has neither a git source nor a Dockerfile to build; set one in its settings",
            container.id
        ),
    })
}

/// Recent builds read when looking for the last successful build of each tag.
const RECENT_BUILDS_READ: usize = 100;

/// The newest successful build of each tag among the container's recent builds, by tag.
pub async fn newest_success_per_tag(
    state: &AppState,
    id: &RepoName,
) -> PortResult<BTreeMap<String, Build>> {
    let mut newest: BTreeMap<String, Build> = BTreeMap::new();
    for build in state.builds.list(id, RECENT_BUILDS_READ).await? {
        if build.status == BuildStatus::Success {
            // Newest first: the first of each tag is its newest.
            newest.entry(build.tag.to_string()).or_insert(build);
        }
    }
    Ok(newest)
}

/// Builds of the same container, tag, source and options are the same build.
fn dedupe_key(
    id: &RepoName,
    tag: &TagName,
    source: &BuildSource,
    options: &BuildOptions,
) -> String {
    let mut hash = Sha256::new();
    match source {
        BuildSource::Git(text) => hash.update(format!("git\0{text}")),
        BuildSource::Dockerfile(text) => hash.update(format!("dockerfile\0{text}")),
    }
    if !options.is_default() {
        // Absent for plain builds, so their keys stay what they were before options existed.
        hash.update(b"\0options\0");
        hash.update(serde_json::to_vec(options).unwrap_or_default());
    }
    let digest = hex::encode(&hash.finalize()[..12]);
    format!("build:{id}:{tag}:{digest}")
}

fn job(user: &str, id: &RepoName, tag: &TagName, key: String) -> NewJob {
    NewJob {
        kind: BUILD_JOB.to_owned(),
        owner: user.to_owned(),
        dedupe_key: Some(key),
        payload: serde_json::json!({ "container": id.as_str(), "tag": tag.as_str() }),
    }
}

/// The record of a deduplicated job: a concurrent request may have enqueued it a moment ago
/// and be about to record it.
async fn await_record(state: &AppState, id: i64) -> Result<Build, ApiError> {
    for _ in 0..50 {
        match state.builds.get(id).await {
            Ok(build) => return Ok(build),
            Err(PortError::NotFound) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::unavailable())
}
