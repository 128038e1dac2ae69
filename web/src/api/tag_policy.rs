//! Tag policies through the API: the deprecation of a single tag, and the shapes the
//! container and organisation updates share (`immutable`, `deprecated`).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use bioshadock_core::tag_policy::ImmutableTags;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::grammar::{self, TagPath};
use super::manage::TagSegment;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ContainerId};
use crate::services::containers::{self, DeprecationInput};
use crate::services::tag_policies;
use crate::state::AppState;
use crate::views::ContainerView;

/// A field that may be absent (leave it), `null` (clear it) or a value (set it).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The body of `PATCH /user`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSettingsBody {
    /// The immutability default of the caller's namespace; `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = super::immutable_schema)]
    immutable: Option<Option<ImmutableTags>>,
}

/// The caller's namespace settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSettingsView {
    #[schema(example = "alice")]
    name: String,
    /// The immutability of tags in the caller's containers that set none of their own.
    #[schema(schema_with = super::immutable_schema)]
    immutable: Option<ImmutableTags>,
}

/// Change the caller's own namespace settings: the immutability default of their containers.
#[utoipa::path(patch, path = "/user", tag = "account", request_body = UserSettingsBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, body = UserSettingsView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn update_user_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<UserSettingsBody>,
) -> Result<Json<UserSettingsView>, ApiError> {
    let (name, immutable) = tag_policies::set_user_default(&state, &caller, body.immutable).await?;
    Ok(Json(UserSettingsView {
        name: name.to_string(),
        immutable,
    }))
}

/// A deprecation as asked for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeprecationBody {
    #[schema(schema_with = grammar::deprecation_reason_schema)]
    reason: String,
    #[schema(schema_with = grammar::deprecation_replacement_schema)]
    #[serde(default)]
    replacement: Option<String>,
    /// From then on, pulls through the registry front are refused with the reason.
    #[serde(default)]
    block_pulls_after: Option<DateTime<Utc>>,
}

impl From<DeprecationBody> for DeprecationInput {
    fn from(body: DeprecationBody) -> Self {
        Self {
            reason: body.reason,
            replacement: body.replacement,
            block_pulls_after: body.block_pulls_after,
        }
    }
}

/// The body of `PATCH /container/tags/{namespace}/{name}/{tag}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagChangesBody {
    /// A deprecation of this tag alone; `null` lifts it.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable)]
    deprecated: Option<Option<DeprecationBody>>,
}

/// Deprecate one tag (or lift its deprecation): its owner and admins. The pages strike it
/// through, search ranks it lower, and after `block_pulls_after` the registry front refuses
/// its pulls with the reason.
#[utoipa::path(patch, path = "/container/tags/{namespace}/{name}/{tag}", tag = "containers",
    params(TagPath), request_body = TagChangesBody,
    security(("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, body = ContainerView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such container or tag", body = ErrorBody)))]
pub async fn update_tag(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ContainerId(id): ContainerId,
    tag: Result<Path<TagSegment>, PathRejection>,
    ApiJson(body): ApiJson<TagChangesBody>,
) -> Result<Json<ContainerView>, ApiError> {
    let Path(segment) = tag.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let container = containers::deprecate_tag(
        &state,
        &caller,
        &id,
        segment.tag(),
        body.deprecated.map(|d| d.map(Into::into)),
    )
    .await?;
    let default = tag_policies::namespace_default(&state, id.namespace()).await?;
    Ok(Json(
        ContainerView::new(container, &state.settings.pull_host)
            .with_namespace_default(default.as_ref()),
    ))
}
