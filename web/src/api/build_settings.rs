//! A container's build settings through the API: the build arguments of its builds, the cron
//! schedule that rebuilds it, and whether a new base image rebuilds it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use bioshadock_core::build_settings::ContainerBuildSettings;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::grammar::ContainerPath;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ContainerId};
use crate::services::build_schedules;
use crate::services::containers::{self, Changes};
use crate::state::AppState;

/// How a container's builds are made and when they start by themselves.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildSettingsBody {
    /// Build arguments (`ARG` values) of every build; a push trigger's own override them.
    /// `{tag}` becomes the tag built and `{sha}` the commit. Arguments are not secret: they
    /// are in the image's history.
    #[serde(default)]
    #[schema(schema_with = super::grammar::build_args_schema)]
    args: BTreeMap<String, String>,
    /// A five-field cron expression in UTC (`0 3 * * 1`: Mondays at 03:00) or `@daily`,
    /// `@weekly`…; at most hourly. `null`: no scheduled builds.
    #[serde(default)]
    #[schema(max_length = 100, example = "0 3 * * 1")]
    schedule: Option<String>,
    /// Rebuild (the same commit, as its owner) when a base image of this catalogue that its
    /// last build of a tag used gets a new image.
    #[serde(default)]
    rebuild_on_base: bool,
}

/// A container's build settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct BuildSettingsView {
    /// Build arguments of every build.
    #[schema(schema_with = super::grammar::build_args_schema)]
    args: BTreeMap<String, String>,
    /// The cron schedule (UTC), if any.
    schedule: Option<String>,
    /// Rebuilt when a base image of this catalogue it was built on gets a new image.
    rebuild_on_base: bool,
    /// When the next scheduled build starts (its time plus this container's spread offset).
    next_scheduled_build: Option<DateTime<Utc>>,
}

fn view(
    state: &AppState,
    id: &bioshadock_core::RepoName,
    settings: ContainerBuildSettings,
) -> BuildSettingsView {
    BuildSettingsView {
        next_scheduled_build: build_schedules::next_build(state, id, &settings),
        args: settings.args,
        schedule: settings.schedule,
        rebuild_on_base: settings.rebuild_on_base,
    }
}

/// A container's build settings (anyone who may see it).
#[utoipa::path(get, path = "/container/build-settings/{namespace}/{name}", tag = "builds",
    params(ContainerPath),
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = BuildSettingsView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
) -> Result<Json<BuildSettingsView>, ApiError> {
    let (container, _) = containers::visible(&state, &caller, &id).await?;
    Ok(Json(view(&state, &id, container.policy.build)))
}

/// Replace a container's build settings (its owner, push members and admins).
#[utoipa::path(put, path = "/container/build-settings/{namespace}/{name}", tag = "builds",
    params(ContainerPath), request_body = BuildSettingsBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses((status = 200, body = BuildSettingsView),
        (status = 400, description = "An invalid argument, or a schedule that is not a cron expression or builds more often than hourly", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    ApiJson(body): ApiJson<BuildSettingsBody>,
) -> Result<Json<BuildSettingsView>, ApiError> {
    let changes = Changes {
        build: Some(ContainerBuildSettings {
            args: body.args,
            schedule: body.schedule.filter(|s| !s.trim().is_empty()),
            rebuild_on_base: body.rebuild_on_base,
            // Kept as they are: secrets are set one by one (`/container/build-secrets/…`).
            secrets: Default::default(),
        }),
        ..Changes::default()
    };
    let saved = containers::update(&state, &caller, &id, changes).await?;
    Ok(Json(view(&state, &id, saved.policy.build)))
}
