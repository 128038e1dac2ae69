//! The descriptor endpoints (`{type}/descriptor[/{relative_path}]`, `{type}/tests`,
//! `{type}/files`). No container carries a workflow descriptor yet, so each answers the
//! specification's 404 `Error` for a version that exists, naming why; an unknown tool or
//! version is a 404 too, as everywhere in TRS.

use axum::extract::{Path, State};

use super::TrsError;
use super::tools::{tag_of, visible};
use crate::auth::Caller;
use crate::state::AppState;

/// The descriptor types of TRS 2.0.1, plain or wrapped.
const TYPES: [&str; 10] = [
    "CWL",
    "WDL",
    "NFL",
    "GALAXY",
    "SMK",
    "PLAIN_CWL",
    "PLAIN_WDL",
    "PLAIN_NFL",
    "PLAIN_GALAXY",
    "PLAIN_SMK",
];

async fn none(
    state: &AppState,
    caller: &bioshadock_core::permissions::Principal,
    id: &str,
    version_id: &str,
    kind: &str,
) -> TrsError {
    let c = match visible(state, caller, id).await {
        Ok(c) => c,
        Err(e) => return e,
    };
    if let Err(e) = tag_of(&c, version_id) {
        return e;
    }
    if !TYPES.contains(&kind) {
        return TrsError::not_found(format!("`{kind}` is not a TRS descriptor type"));
    }
    TrsError::not_found(format!(
        "`{}` version `{version_id}` has no {} descriptor",
        c.id,
        kind.trim_start_matches("PLAIN_")
    ))
}

pub async fn primary(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id, kind)): Path<(String, String, String)>,
) -> TrsError {
    none(&state, &caller, &id, &version_id, &kind).await
}

pub async fn relative(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id, kind, _path)): Path<(String, String, String, String)>,
) -> TrsError {
    none(&state, &caller, &id, &version_id, &kind).await
}

pub async fn tests(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id, kind)): Path<(String, String, String)>,
) -> TrsError {
    none(&state, &caller, &id, &version_id, &kind).await
}

pub async fn files(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id, kind)): Path<(String, String, String)>,
) -> TrsError {
    none(&state, &caller, &id, &version_id, &kind).await
}
