//! A container's settings: description (with a Markdown preview), visibility, build sources,
//! members, deletion. Who may change what is decided in `core::permissions`; fields the
//! viewer may not change are not offered.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::model::{Access, Member};
use bioshadock_core::permissions::Rights;
use bioshadock_core::tag_policy::ImmutableTags;
use bioshadock_core::{Container, RepoName};
use serde::Deserialize;

use super::builds::page_path;
use super::viewer::{Nav, Viewer};
use super::{PageError, render};
use crate::error::ApiError;
use crate::extract::ContainerId;
use crate::markdown;
use crate::services::builds;
use crate::services::containers::{self, Changes, DeprecationInput};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    nav: Nav,
    csrf: String,
    id: String,
    can_manage: bool,
    /// May delete tags (owner, push members, admins).
    can_push: bool,
    /// `(name, digest)`, newest first.
    tags: Vec<(String, String)>,
    description: String,
    preview_html: Option<String>,
    public: bool,
    git: String,
    dockerfile: String,
    descriptor: String,
    members: Vec<(String, String)>,
    error: Option<String>,
    /// The container's own immutability: `default` (its namespace's), `none`, `all` or
    /// `patterns`, with the patterns one per line.
    immutable_mode: &'static str,
    immutable_patterns: String,
    /// The container's deprecation, as the form shows it.
    deprecated: bool,
    deprecation_reason: String,
    deprecation_replacement: String,
    /// `YYYY-MM-DD`, or empty.
    deprecation_block: String,
    /// Build arguments, `NAME=value` one per line.
    build_args: String,
    /// The cron schedule, or empty.
    schedule: String,
    rebuild_on_base: bool,
}

#[derive(Deserialize)]
pub struct BuildSettingsForm {
    #[serde(default)]
    csrf: String,
    /// `NAME=value`, one per line.
    #[serde(default)]
    args: String,
    #[serde(default)]
    schedule: String,
    /// Present (checked) to rebuild when a base image changes.
    #[serde(default)]
    rebuild_on_base: Option<String>,
}

#[derive(Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    csrf: String,
    /// `save`, or `lift` (the deprecation).
    #[serde(default)]
    action: String,
    #[serde(default)]
    immutable: String,
    #[serde(default)]
    patterns: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    replacement: String,
    /// A date (`YYYY-MM-DD`, from midnight UTC) after which pulls are refused.
    #[serde(default)]
    block_pulls_after: String,
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    description: Option<String>,
    visibility: Option<String>,
    git: Option<String>,
    dockerfile: Option<String>,
    descriptor: Option<String>,
    /// "Save and build": queue a build of `latest` once saved.
    and_build: Option<String>,
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    access: String,
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
) -> Result<Response, PageError> {
    let ContainerId(id) = id?;
    let (container, rights) = editable(&state, &viewer, &id).await?;
    let page = settings_page(&viewer, &container, rights, None);
    Ok(render(StatusCode::OK, &page))
}

pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let ContainerId(id) = id?;
    let (container, rights) = editable(&state, &viewer, &id).await?;
    if form.action == "preview" {
        let mut shown = container.clone();
        shown.description = form.description.clone().unwrap_or_default();
        let mut page = settings_page(&viewer, &shown, rights, None);
        page.preview_html = Some(markdown::render(&shown.description));
        page.git = form.git.unwrap_or_default();
        page.dockerfile = form.dockerfile.unwrap_or_default();
        page.descriptor = form.descriptor.unwrap_or_default();
        return Ok(render(StatusCode::OK, &page));
    }
    let changes = Changes {
        description: form.description,
        // Only managers see the visibility control; a crafted post from anyone else is refused.
        visible: form.visibility.map(|v| v == "public"),
        // Pasted URLs often carry a trailing space; the service takes sources as given.
        git: form.git.map(|git| git.trim().to_owned()),
        dockerfile: form.dockerfile,
        descriptor: form.descriptor.map(|d| d.trim().to_owned()),
        ..Changes::default()
    };
    let and_build = form.and_build.is_some_and(|v| !v.is_empty());
    match containers::update(&state, &viewer.principal, &id, changes).await {
        Ok(saved) if and_build => save_and_build(&state, &viewer, &saved, rights).await,
        Ok(_) => Ok(Redirect::to(&format!("/r/{id}/settings?saved=1")).into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let page = settings_page(&viewer, &container, rights, Some(e.message));
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

/// After "Save and build": queues a build of `latest` and opens its page; a build that cannot
/// be queued (no source, too many builds) is explained on the settings page, already saved.
async fn save_and_build(
    state: &AppState,
    viewer: &Viewer,
    saved: &Container,
    rights: Rights,
) -> Result<Response, PageError> {
    match builds::queue_build(state, &viewer.principal, &saved.id, None, false, false).await {
        Ok(queued) => Ok(Redirect::to(&page_path(&queued.build)).into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let message = format!("Saved, but no build was queued: {}", e.message);
            let page = settings_page(viewer, saved, rights, Some(message));
            Ok(render(e.status, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

pub async fn members(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Form(form): Form<MemberForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let ContainerId(id) = id?;
    let (container, rights) = editable(&state, &viewer, &id).await?;
    let user = containers::member_name(&form.user);
    let mut members = container.members.clone();
    let outcome = match (form.action.as_str(), user) {
        ("remove", Ok(user)) => {
            members.retain(|m| m.user != user);
            Ok(members)
        }
        ("add", Ok(user)) => match Access::parse(&form.access) {
            Some(access) => {
                members.retain(|m| m.user != user);
                members.push(Member { user, access });
                Ok(members)
            }
            None => Err(ApiError::bad_request("choose pull or push access")),
        },
        (_, Err(e)) => Err(e),
        _ => Err(ApiError::bad_request("unknown action")),
    };
    let result = match outcome {
        Ok(members) => containers::set_members(&state, &viewer.principal, &id, members).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/r/{id}/settings#members")).into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let page = settings_page(&viewer, &container, rights, Some(e.message));
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let ContainerId(id) = id?;
    containers::delete(&state, &viewer.principal, &id).await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Deserialize)]
pub struct TagSegments {
    tag: String,
}

/// Deletes one tag (registry and catalogue); a conflict (tags sharing an image) is shown on
/// the settings page.
pub async fn delete_tag(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Path(TagSegments { tag }): Path<TagSegments>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let ContainerId(id) = id?;
    let (container, rights) = editable(&state, &viewer, &id).await?;
    match containers::delete_tag(&state, &viewer.principal, &id, &tag).await {
        Ok(()) => Ok(Redirect::to(&format!("/r/{id}/settings#tags")).into_response()),
        Err(e) if e.status == StatusCode::CONFLICT => {
            let page = settings_page(&viewer, &container, rights, Some(e.message));
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

/// The container if the viewer may at least edit it; 404 when they may not see it, 403 when
/// they see it but may not change it, and a login redirect's worth of 401 when anonymous.
async fn editable(
    state: &AppState,
    viewer: &Viewer,
    id: &RepoName,
) -> Result<(Container, Rights), PageError> {
    let (container, rights) = containers::visible(state, &viewer.principal, id).await?;
    if viewer.principal.actor().is_none() {
        return Err(PageError(ApiError::unauthorized(
            "sign in to change containers",
        )));
    }
    if !rights.edit {
        return Err(PageError(ApiError::forbidden(
            "forbidden",
            "only its owner, push members and admins may change this container",
        )));
    }
    Ok((container, rights))
}

fn settings_page(
    viewer: &Viewer,
    c: &Container,
    rights: Rights,
    error: Option<String>,
) -> SettingsPage {
    SettingsPage {
        nav: viewer.nav.clone(),
        csrf: viewer.nav.csrf.clone(),
        id: c.id.to_string(),
        can_manage: rights.manage,
        can_push: rights.push,
        tags: c
            .tags
            .iter()
            .map(|t| (t.name.to_string(), t.digest.clone()))
            .collect(),
        description: c.description.clone(),
        preview_html: None,
        public: c.visibility.is_public(),
        // Credentials in the git source are for the builder and the people who manage the
        // container; push members see (and may keep by saving unchanged) the URL without them.
        git: c
            .git
            .as_deref()
            .map(|git| {
                if rights.manage {
                    git.to_owned()
                } else {
                    bioshadock_core::git::redact_userinfo(git)
                }
            })
            .unwrap_or_default(),
        dockerfile: c.dockerfile.clone().unwrap_or_default(),
        descriptor: c.descriptor.clone().unwrap_or_default(),
        members: c
            .members
            .iter()
            .map(|m| (m.user.to_string(), m.access.as_str().to_owned()))
            .collect(),
        error,
        immutable_mode: match &c.policy.immutable {
            None => "default",
            Some(ImmutableTags::None) => "none",
            Some(ImmutableTags::All) => "all",
            Some(ImmutableTags::Patterns(_)) => "patterns",
        },
        immutable_patterns: match &c.policy.immutable {
            Some(p @ ImmutableTags::Patterns(_)) => p.describe().replace(", ", "\n"),
            _ => String::new(),
        },
        deprecated: c.policy.deprecated.is_some(),
        deprecation_reason: c
            .policy
            .deprecated
            .as_ref()
            .map(|d| d.reason.clone())
            .unwrap_or_default(),
        deprecation_replacement: c
            .policy
            .deprecated
            .as_ref()
            .and_then(|d| d.replacement.clone())
            .unwrap_or_default(),
        deprecation_block: c
            .policy
            .deprecated
            .as_ref()
            .and_then(|d| d.block_pulls_after)
            .map(|at| at.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        build_args: c
            .policy
            .build
            .args
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect(),
        schedule: c.policy.build.schedule.clone().unwrap_or_default(),
        rebuild_on_base: c.policy.build.rebuild_on_base,
    }
}

/// The build settings form: build arguments and the schedule (its editors).
pub async fn build_settings(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Form(form): Form<BuildSettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let ContainerId(id) = id?;
    let (container, rights) = editable(&state, &viewer, &id).await?;
    let result = match build_changes(&form) {
        Ok(changes) => containers::update(&state, &viewer.principal, &id, changes).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            Ok(Redirect::to(&format!("/r/{id}/settings?saved=1#build-settings")).into_response())
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let mut page = settings_page(&viewer, &container, rights, Some(e.message));
            // What was typed stays in the form, to be corrected.
            page.build_args = form.args;
            page.schedule = form.schedule;
            page.rebuild_on_base = form.rebuild_on_base.is_some();
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

/// What the build settings form asks for, as the service's changes.
fn build_changes(form: &BuildSettingsForm) -> Result<Changes, ApiError> {
    let mut args = std::collections::BTreeMap::new();
    for line in form.args.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once('=') else {
            return Err(ApiError::bad_request(format!(
                "`{}`: write build arguments as NAME=value, one per line",
                line.chars().take(64).collect::<String>()
            )));
        };
        args.insert(name.trim().to_owned(), value.to_owned());
    }
    let schedule = Some(form.schedule.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(Changes {
        build: Some(bioshadock_core::build_settings::ContainerBuildSettings {
            args,
            schedule,
            rebuild_on_base: form.rebuild_on_base.is_some(),
            // Kept as they are: secrets are set one by one.
            secrets: Default::default(),
        }),
        ..Changes::default()
    })
}

/// The tag policy form: the container's immutable tags and its deprecation (its managers).
pub async fn policy(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Form(form): Form<PolicyForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let ContainerId(id) = id?;
    let (container, rights) = editable(&state, &viewer, &id).await?;
    let changes = policy_changes(form);
    let result = match changes {
        Ok(changes) => containers::update(&state, &viewer.principal, &id, changes).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/r/{id}/settings?saved=1#policy")).into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let page = settings_page(&viewer, &container, rights, Some(e.message));
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

/// What the policy form asks for, as the service's changes.
fn policy_changes(form: PolicyForm) -> Result<Changes, ApiError> {
    let immutable = match form.immutable.as_str() {
        "default" => None,
        "none" => Some(ImmutableTags::None),
        "all" => Some(ImmutableTags::All),
        "patterns" => {
            let patterns: Vec<String> = form
                .patterns
                .split([',', '\n'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            Some(ImmutableTags::patterns(patterns).map_err(ApiError::bad_request)?)
        }
        _ => return Err(ApiError::bad_request("choose which tags are immutable")),
    };
    let deprecated = if form.action == "lift" {
        None
    } else if form.reason.trim().is_empty() {
        // No reason given: no deprecation (nothing to lift either).
        None
    } else {
        let block_pulls_after = match form.block_pulls_after.trim() {
            "" => None,
            day => Some(
                chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                    .map_err(|_| ApiError::bad_request("the date is YYYY-MM-DD"))?
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc(),
            ),
        };
        Some(DeprecationInput {
            reason: form.reason.trim().to_owned(),
            replacement: Some(form.replacement.trim().to_owned()).filter(|r| !r.is_empty()),
            block_pulls_after,
        })
    };
    Ok(Changes {
        immutable: Some(immutable),
        deprecated: Some(deprecated),
        ..Changes::default()
    })
}
