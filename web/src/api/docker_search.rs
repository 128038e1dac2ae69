//! `docker search HOST/TERM`: the Docker Hub v1 search the docker CLI speaks. The daemon first
//! checks that HOST is a v1 index (`GET /v1/_ping`), then asks `GET /v1/search?q=TERM&n=LIMIT`
//! and prints `name`, `description`, `star_count`, `is_official` and `is_automated` of each
//! result. Answered from the same search as `/container/search`, for the caller's audience.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use bioshadock_core::query::MAX_QUERY_LEN;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::services::paging::Paging;
use crate::services::search::search_containers;
use crate::state::AppState;

/// Results per page when `n` is not given (the docker CLI's default).
const DEFAULT_LIMIT: u32 = 25;
/// The longest description shown (docker cuts it further for display).
const MAX_DESCRIPTION: usize = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct V1SearchParams {
    /// The search term, as `/container/search`'s `q` (at most 256 characters).
    #[param(value_type = String, required = false, max_length = 256)]
    q: Option<String>,
    /// Results per page, 1-100 (default 25).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    n: Option<u32>,
    /// Page number, 1-100.
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    page: Option<u32>,
}

/// One result, as Docker Hub's v1 search gives it.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1Result {
    /// `namespace/name`.
    pub name: String,
    /// The first line of the description, at most 200 characters.
    pub description: String,
    /// Always 0: the catalogue has no stars.
    pub star_count: u64,
    /// Whether the container is in the curated `library/` namespace.
    pub is_official: bool,
    /// Whether the container is built by the builder (it has a git source or a Dockerfile).
    pub is_automated: bool,
}

/// A page of v1 search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1SearchResults {
    pub query: String,
    pub num_results: u64,
    pub num_pages: u64,
    pub page: u32,
    pub page_size: u32,
    pub results: Vec<V1Result>,
}

/// The v1 index check the docker daemon makes before a search.
#[utoipa::path(get, path = "/v1/_ping", tag = "search",
    responses((status = 200, description = "This host answers v1 searches", body = bool,
        content_type = "application/json")))]
pub async fn ping() -> Response {
    let mut response = Json(true).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "X-Docker-Registry-Version",
        HeaderValue::from_static("0.6.0"),
    );
    headers.insert(
        "X-Docker-Registry-Standalone",
        HeaderValue::from_static("true"),
    );
    response
}

/// Search the containers the caller may see, in the format `docker search` reads.
#[utoipa::path(get, path = "/v1/search", tag = "search", params(V1SearchParams),
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, body = V1SearchResults),
        (status = 400, description = "Query too long, malformed, or bad paging", body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<V1SearchParams>,
) -> Result<Json<V1SearchResults>, ApiError> {
    let query = params.q.unwrap_or_default();
    if query.chars().count() > MAX_QUERY_LEN {
        return Err(ApiError::bad_request(format!(
            "`q` has at most {MAX_QUERY_LEN} characters"
        )));
    }
    let paging = Paging::for_api(params.page, params.n, DEFAULT_LIMIT)?;
    // A docker search term is plain text: quotes and `field:` filters are this API's, so the
    // term is searched as words.
    let words: String = query
        .chars()
        .map(|c| if c == '"' || c == ':' { ' ' } else { c })
        .collect();
    let (total, containers) = search_containers(&state, &caller, &words, paging).await?;
    let results = containers
        .into_iter()
        .map(|c| V1Result {
            is_official: c.id.namespace() == bioshadock_core::accounts::LIBRARY_NAMESPACE,
            is_automated: c.git.is_some() || c.dockerfile.is_some(),
            description: c
                .description
                .lines()
                .map(|l| l.trim_start_matches('#').trim())
                .find(|l| !l.is_empty())
                .unwrap_or_default()
                .chars()
                .take(MAX_DESCRIPTION)
                .collect(),
            name: c.id.to_string(),
            star_count: 0,
        })
        .collect();
    let page_size = paging.per_page;
    Ok(Json(V1SearchResults {
        query,
        num_results: total,
        num_pages: total.div_ceil(u64::from(page_size)),
        page: paging.page,
        page_size,
        results,
    }))
}
