//! A build's log beyond the tail that `GET /build/{build}` carries: paged as JSON, or the whole
//! log as a plain-text download streamed page by page. A log can be a hundred megabytes;
//! neither answer ever holds more than one page of it in memory.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bioshadock_core::ports::builds::{BuildStore, LogLine};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::grammar::BuildPath;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::services::builds;
use crate::state::AppState;

/// Lines in a page of `GET /build/{build}/log` unless `limit` says otherwise.
const DEFAULT_PAGE_LINES: usize = 500;
/// The largest `limit`: with lines of at most 8 KiB, a page stays within 8 MiB.
pub(crate) const MAX_PAGE_LINES: usize = 1000;
/// Lines read from the store per chunk of `log.txt` (at most 2 MiB).
const DOWNLOAD_CHUNK_LINES: usize = 256;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Lines after this line number (default 0: from the start).
    #[param(value_type = u64, required = false, minimum = 0, maximum = 18446744073709551615_u64)]
    after: Option<u64>,
    /// At most this many lines (1-1000, default 500).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// One line of a build's log.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogLineView {
    /// Its number, from 1.
    seq: u64,
    text: String,
}

/// A page of a build's log.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogPage {
    /// The lines after `after`, in order.
    lines: Vec<LogLineView>,
    /// How many lines the log holds now.
    total: u64,
    /// The `after` of the next page; absent once this page reaches the end.
    next_after: Option<u64>,
}

/// A page of a build's log, in order.
#[utoipa::path(get, path = "/build/{build}/log", tag = "builds",
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    params(BuildPath, LogQuery),
    responses(
        (status = 200, body = LogPage),
        (status = 400, description = "`after` or `limit` is not a number, or `limit` is outside 1-1000", body = ErrorBody),
        (status = 404, description = "No such build (or its container is not visible)", body = ErrorBody)))]
pub async fn page(
    State(state): State<AppState>,
    Caller(caller): Caller,
    build: Result<Path<i64>, PathRejection>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Json<LogPage>, ApiError> {
    let Path(build_id) = build.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_LINES);
    if !(1..=MAX_PAGE_LINES).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_PAGE_LINES}, not {limit}"
        )));
    }
    let build = builds::visible_build(&state, &caller, build_id).await?;
    let lines = state
        .builds
        .log(build_id, query.after.unwrap_or(0), limit)
        .await?;
    let last = lines.last().map(|l| l.seq);
    let total = build.log_lines.max(last.unwrap_or(0));
    Ok(Json(LogPage {
        next_after: last.filter(|&seq| seq < total),
        total,
        lines: lines
            .into_iter()
            .map(|LogLine { seq, text }| LogLineView { seq, text })
            .collect(),
    }))
}

/// The whole log as plain text, one line per line, for download.
///
/// Holds the lines stored when it was asked for; a running build's later lines are in the
/// next download (or the live log).
#[utoipa::path(get, path = "/build/{build}/log.txt", tag = "builds",
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    params(BuildPath),
    responses(
        (status = 200, description = "The log", content_type = "text/plain", body = String),
        (status = 404, description = "No such build (or its container is not visible)", body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    Caller(caller): Caller,
    build: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(build_id) = build.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let build = builds::visible_build(&state, &caller, build_id).await?;
    let body = Body::from_stream(chunks(state.builds.clone(), build_id, build.log_lines));
    let disposition = format!("attachment; filename=\"build-{build_id}.log\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// Lines `1..=upto` of the log, a chunk of [`DOWNLOAD_CHUNK_LINES`] at a time, read only as
/// the client takes them.
fn chunks(
    store: std::sync::Arc<dyn BuildStore>,
    id: i64,
    upto: u64,
) -> impl futures::Stream<Item = Result<bytes::Bytes, bioshadock_core::PortError>> {
    futures::stream::try_unfold(0u64, move |after| {
        let store = store.clone();
        async move {
            if after >= upto {
                return Ok(None);
            }
            let want = DOWNLOAD_CHUNK_LINES.min((upto - after) as usize);
            let lines = store.log(id, after, want).await?;
            let Some(last) = lines.last().map(|l| l.seq) else {
                return Ok(None);
            };
            let mut text = String::with_capacity(lines.iter().map(|l| l.text.len() + 1).sum());
            for line in &lines {
                text.push_str(&line.text);
                text.push('\n');
            }
            Ok(Some((bytes::Bytes::from(text), last)))
        }
    })
}
