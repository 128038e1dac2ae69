//! Searching the catalogue: `GET /container/search?q=` and `POST /container/search`.

use axum::Json;
use axum::extract::State;
use bioshadock_core::permissions::Principal;
use bioshadock_core::query::MAX_QUERY_LEN;
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::services::paging::Paging;
use crate::services::search::search_containers;
use crate::state::AppState;
use crate::views::{ContainerView, SearchResults};

/// Results per page unless the caller asks otherwise.
const DEFAULT_PER_PAGE: u32 = 20;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Free text and `field:value` filters (`name:`, `namespace:`, `owner:`, `tag:`,
    /// `label.KEY:`), at most 256 characters, double quotes balanced, at most 16 filters, each
    /// with a value. Empty lists everything.
    #[param(value_type = String, required = false, schema_with = query_schema)]
    q: Option<String>,
    /// Page number, 1-100.
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    page: Option<u32>,
    /// Results per page, 1-100 (default 20).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    per_page: Option<u32>,
}

/// The body of `POST /container/search`, as Bioshadock's clients send it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// Free text and `field:value` filters, as `q` of `GET /container/search`.
    #[schema(schema_with = query_schema)]
    search: String,
    /// Page number, 1-100.
    #[schema(minimum = 1, maximum = 100)]
    page: Option<u32>,
    /// Results per page, 1-100 (default 20).
    #[schema(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
}

/// A query: at most [`MAX_QUERY_LEN`] characters with its double quotes balanced (the other
/// rules, at most 16 filters each with a value, are in the description: a pattern for them
/// would be unreadable).
fn query_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_QUERY_LEN))
        .pattern(Some(r#"^[^"]*(?:"[^"]*"[^"]*)*$"#))
        .examples(["samtools namespace:lab"])
}

/// Search the containers the caller may see.
#[utoipa::path(get, path = "/container/search", tag = "search", params(SearchParams),
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, body = SearchResults),
        (status = 400, description = "Query too long, malformed, or bad paging", body = ErrorBody)))]
pub async fn search_get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let paging = Paging::for_api(params.page, params.per_page, DEFAULT_PER_PAGE)?;
    run(
        &state,
        &caller,
        params.q.as_deref().unwrap_or_default(),
        paging,
    )
    .await
    .map(Json)
}

/// Search, with the query in a JSON body.
#[utoipa::path(post, path = "/container/search", tag = "search", request_body = SearchBody,
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, body = SearchResults),
        (status = 400, description = "Malformed body or query", body = ErrorBody)))]
pub async fn search_post(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<SearchBody>,
) -> Result<Json<SearchResults>, ApiError> {
    let paging = Paging::for_api(body.page, body.per_page, DEFAULT_PER_PAGE)?;
    run(&state, &caller, &body.search, paging).await.map(Json)
}

/// Parses, searches the index, and reads the hits from the store (the source of truth).
async fn run(
    state: &AppState,
    caller: &Principal,
    text: &str,
    paging: Paging,
) -> Result<SearchResults, ApiError> {
    let (total, containers) = search_containers(state, caller, text, paging).await?;
    let host = &state.settings.pull_host;
    let results = containers
        .into_iter()
        .map(|c| ContainerView::new(c, host))
        .collect();
    Ok(SearchResults { total, results })
}
