//! The descriptor endpoints: `{type}/descriptor[/{relative_path}]`, `{type}/files` and
//! `{type}/tests`. A version has a descriptor when the build that produced its image recorded
//! one (the container's `descriptor`, fetched with the source); it is served as recorded, as a
//! `FileWrapper` or, for the `PLAIN_` types, as the bare text. Anything else (an unknown tool
//! or version, no descriptor, another type, another file) is the specification's 404 `Error`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bioshadock_core::descriptor::DescriptorType;
use bioshadock_core::ports::builds::BuiltDescriptor;

use super::TrsError;
use super::model::{Checksum, FileWrapper, ToolFile};
use super::tools::{built_tags, tag_of, visible};
use crate::auth::Caller;
use crate::state::AppState;

/// The descriptor of `type` that version `version_id` of tool `id` was built with.
async fn recorded(
    state: &AppState,
    caller: &bioshadock_core::permissions::Principal,
    id: &str,
    version_id: &str,
    kind: &str,
) -> Result<BuiltDescriptor, TrsError> {
    let c = visible(state, caller, id).await?;
    let tag = tag_of(&c, version_id)?;
    let asked = DescriptorType::parse(kind)
        .ok_or_else(|| TrsError::not_found(format!("`{kind}` is not a TRS descriptor type")))?;
    let none = || {
        TrsError::not_found(format!(
            "`{}` version `{version_id}` has no {asked} descriptor",
            c.id
        ))
    };
    let built = built_tags(state, &c).await?;
    let build = built.get(tag.name.as_str()).ok_or_else(none)?.build;
    let descriptor = state.builds.descriptor(build).await?.ok_or_else(none)?;
    if descriptor.kind != asked.as_str() {
        return Err(none());
    }
    Ok(descriptor)
}

/// The name the descriptor is served under: the last part of its path or URL.
fn file_name(descriptor: &BuiltDescriptor) -> String {
    let path = descriptor
        .origin
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// The descriptor as JSON or, for a `PLAIN_` type, as text.
fn served(kind: &str, descriptor: BuiltDescriptor) -> Response {
    if kind.to_ascii_uppercase().starts_with("PLAIN_") {
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            descriptor.text,
        )
            .into_response();
    }
    let url = descriptor
        .origin
        .contains("://")
        .then(|| descriptor.origin.clone());
    Json(FileWrapper {
        checksum: vec![Checksum::sha256_of(&descriptor.text)],
        content: descriptor.text,
        url,
    })
    .into_response()
}

pub async fn primary(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id, kind)): Path<(String, String, String)>,
) -> Result<Response, TrsError> {
    let descriptor = recorded(&state, &caller, &id, &version_id, &kind).await?;
    Ok(served(&kind, descriptor))
}

/// Only the descriptor itself is recorded, so its own name is the one relative path served.
pub async fn relative(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id, kind, relative_path)): Path<(String, String, String, String)>,
) -> Result<Response, TrsError> {
    let descriptor = recorded(&state, &caller, &id, &version_id, &kind).await?;
    let name = file_name(&descriptor);
    if relative_path.trim_start_matches("./") != name {
        return Err(TrsError::not_found(format!(
            "`{relative_path}` is not a file of this descriptor (only `{name}` is recorded)"
        )));
    }
    Ok(served(&kind, descriptor))
}

/// The test parameter files: none are recorded, so a version with a descriptor has none.
pub async fn tests(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id, kind)): Path<(String, String, String)>,
) -> Result<Json<Vec<FileWrapper>>, TrsError> {
    recorded(&state, &caller, &id, &version_id, &kind).await?;
    Ok(Json(Vec::new()))
}

/// The descriptor's files: the descriptor itself, and the Dockerfile when one was recorded.
/// `format=zip` is not offered.
pub async fn files(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id, kind)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<ToolFile>>, TrsError> {
    let descriptor = recorded(&state, &caller, &id, &version_id, &kind).await?;
    let zip = query
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "format" && v == "zip"))
        .unwrap_or(false);
    if zip {
        return Err(TrsError::not_found(
            "this registry does not offer zip archives; fetch each file by its relative path",
        ));
    }
    Ok(Json(vec![ToolFile {
        path: file_name(&descriptor),
        file_type: "PRIMARY_DESCRIPTOR",
    }]))
}
