//! The catalogue search shared by the API and the search page: the index finds, the store (the
//! source of truth) answers, and only what the caller may see comes back.

use bioshadock_core::Container;
use bioshadock_core::permissions::Principal;
use bioshadock_core::query::{FacetCounts, SearchQuery};

use super::paging::Paging;
use crate::error::ApiError;
use crate::state::AppState;

/// One page of a search: the total and the facets count every hit the caller may see.
pub struct Found {
    pub total: u64,
    pub containers: Vec<Container>,
    pub facets: Vec<FacetCounts>,
}

/// Searches with a parsed query, its sort and facets included.
pub async fn search_catalogue(
    state: &AppState,
    caller: &Principal,
    query: &SearchQuery,
    paging: Paging,
) -> Result<Found, ApiError> {
    search_range(
        state,
        caller,
        query,
        paging.offset() as usize,
        paging.limit(),
    )
    .await
}

/// The same, for `limit` hits from `offset` (TRS pages by offset, up to 1000 at once).
pub async fn search_range(
    state: &AppState,
    caller: &Principal,
    query: &SearchQuery,
    offset: usize,
    limit: usize,
) -> Result<Found, ApiError> {
    let audience = caller.audience();
    let hits = state.search.search(query, &audience, offset, limit).await?;
    let mut containers = state.store.get_many(&hits.ids).await?;
    // The index may briefly hold a container the store no longer shows to this audience.
    containers.retain(|c| caller.rights_on(c).see);
    Ok(Found {
        total: hits.total,
        containers,
        facets: hits.facets,
    })
}

/// The total the caller may see and one page of it, for typed text in the default order.
pub async fn search_containers(
    state: &AppState,
    caller: &Principal,
    text: &str,
    paging: Paging,
) -> Result<(u64, Vec<Container>), ApiError> {
    let query = SearchQuery::parse(text)?;
    let found = search_catalogue(state, caller, &query, paging).await?;
    Ok((found.total, found.containers))
}
