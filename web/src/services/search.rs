//! The catalogue search shared by the API and the search page: the index finds, the store (the
//! source of truth) answers, and only what the caller may see comes back.

use bioshadock_core::Container;
use bioshadock_core::permissions::Principal;
use bioshadock_core::query::SearchQuery;

use super::paging::Paging;
use crate::error::ApiError;
use crate::state::AppState;

/// The total the caller may see and one page of it.
pub async fn search_containers(
    state: &AppState,
    caller: &Principal,
    text: &str,
    paging: Paging,
) -> Result<(u64, Vec<Container>), ApiError> {
    let query = SearchQuery::parse(text)?;
    let audience = caller.audience();
    let hits = state
        .search
        .search(&query, &audience, paging.offset() as usize, paging.limit())
        .await?;
    let mut containers = state.store.get_many(&hits.ids).await?;
    // The index may briefly hold a container the store no longer shows to this audience.
    containers.retain(|c| caller.rights_on(c).see);
    Ok((hits.total, containers))
}
