//! Searching the catalogue: `GET /container/search?q=` and `POST /container/search`.

use axum::Json;
use axum::extract::State;
use bioshadock_core::permissions::Principal;
use bioshadock_core::query::{Facet, MAX_QUERY_LEN, SearchQuery, Sort};
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::services::paging::Paging;
use crate::services::search::search_catalogue;
use crate::state::AppState;
use crate::views::{ContainerView, FacetsView, SearchResults};

/// Results per page unless the caller asks otherwise.
const DEFAULT_PER_PAGE: u32 = 20;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Free text and `field:value` filters, at most 256 characters, double quotes balanced,
    /// at most 16 filters, each with a value. Empty lists everything. Filters: `name:`,
    /// `namespace:`, `owner:`, `tag:`, `label.KEY:`; `topic:` and `operation:` (an EDAM id,
    /// URI, label or synonym; also finds the terms below it); `license:`; `digest:` (a
    /// manifest digest, or a prefix of 12 hex digits or more); `automated:yes|no`;
    /// `updated:day|week|month|year`; `alias:biotools:ID`; `descriptor:cwl`.
    #[param(value_type = String, required = false, schema_with = query_schema)]
    q: Option<String>,
    /// The order: `relevance` (the default: best match first, newest first without free
    /// text), `pulls`, `updated` or `name`.
    #[param(value_type = String, required = false, schema_with = sort_schema)]
    sort: Option<String>,
    /// Facets to count over every match, comma-separated: `namespace`, `topic`,
    /// `operation`, `license`, `automated`, `updated`.
    #[param(value_type = String, required = false, schema_with = facets_schema)]
    facets: Option<String>,
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
    /// The order, as `sort` of `GET /container/search`.
    sort: Option<SortName>,
    /// Facets to count, as `facets` of `GET /container/search` (a list here).
    facets: Option<Vec<FacetName>>,
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

/// An order of the hits (`Sort`), by name.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum SortName {
    Relevance,
    Pulls,
    Updated,
    Name,
}

impl From<SortName> for Sort {
    fn from(name: SortName) -> Self {
        match name {
            SortName::Relevance => Sort::Relevance,
            SortName::Pulls => Sort::Pulls,
            SortName::Updated => Sort::Updated,
            SortName::Name => Sort::Name,
        }
    }
}

/// A facet (`Facet`), by name.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum FacetName {
    Namespace,
    Topic,
    Operation,
    License,
    Automated,
    Updated,
}

impl From<FacetName> for Facet {
    fn from(name: FacetName) -> Self {
        match name {
            FacetName::Namespace => Facet::Namespace,
            FacetName::Topic => Facet::Topic,
            FacetName::Operation => Facet::Operation,
            FacetName::License => Facet::License,
            FacetName::Automated => Facet::Automated,
            FacetName::Updated => Facet::Updated,
        }
    }
}

/// The sort names.
fn sort_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Sort::ALL.map(Sort::as_str)))
}

/// Facet names, comma-separated, or nothing.
fn facets_schema() -> ObjectBuilder {
    let name = Facet::ALL.map(Facet::as_str).join("|");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^(?:(?:{name})(?:,(?:{name}))*)?$")))
        .examples(["topic,operation,license,namespace"])
}

/// Search the containers the caller may see.
#[utoipa::path(get, path = "/container/search", tag = "search", params(SearchParams),
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    responses(
        (status = 200, body = SearchResults),
        (status = 400, description = "Query too long or malformed, an unknown EDAM term, sort or facet, or bad paging", body = ErrorBody)))]
pub async fn search_get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let paging = Paging::for_api(params.page, params.per_page, DEFAULT_PER_PAGE)?;
    let facets = Facet::parse_list(params.facets.as_deref().unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let query = query(
        params.q.as_deref().unwrap_or_default(),
        params.sort.as_deref(),
        facets,
    )?;
    run(&state, &caller, &query, paging).await.map(Json)
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
    let mut facets: Vec<Facet> = Vec::new();
    for facet in body.facets.unwrap_or_default().into_iter().map(Facet::from) {
        if !facets.contains(&facet) {
            facets.push(facet);
        }
    }
    let mut query = query(&body.search, None, facets)?;
    query.sort = body.sort.map(Sort::from).unwrap_or_default();
    run(&state, &caller, &query, paging).await.map(Json)
}

/// The typed text parsed, with its order and facets.
fn query(text: &str, sort: Option<&str>, facets: Vec<Facet>) -> Result<SearchQuery, ApiError> {
    let mut query = SearchQuery::parse(text)?;
    query.sort = sort
        .map(str::parse)
        .transpose()
        .map_err(ApiError::bad_request)?
        .unwrap_or_default();
    query.facets = facets;
    Ok(query)
}

/// Searches the index and reads the hits from the store (the source of truth).
async fn run(
    state: &AppState,
    caller: &Principal,
    query: &SearchQuery,
    paging: Paging,
) -> Result<SearchResults, ApiError> {
    let found = search_catalogue(state, caller, query, paging).await?;
    let host = &state.settings.pull_host;
    let results = found
        .containers
        .into_iter()
        .map(|c| ContainerView::new(c, host))
        .collect();
    let facets = (!query.facets.is_empty()).then(|| FacetsView::new(&found.facets));
    Ok(SearchResults {
        total: found.total,
        results,
        facets,
    })
}
