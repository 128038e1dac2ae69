//! The search port: a derived index over the store, rebuildable at any time (`bioshadock reindex`).

use async_trait::async_trait;

use crate::query::{FacetCounts, SearchQuery};
use crate::{Audience, Container, PortResult, RepoName};

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchHits {
    /// How many containers the audience may see match the query. Never counts invisible ones.
    pub total: u64,
    /// The ids on this page, in the query's order.
    pub ids: Vec<RepoName>,
    /// The facets the query asked for, in its order, counted over every hit the audience may
    /// see (not only this page).
    pub facets: Vec<FacetCounts>,
}

/// A full-text index of containers.
///
/// Matches free text against names, descriptions, label keys and values, and tag names;
/// applies `field:value` filters exactly (EDAM filters with the descendants of their term,
/// through `crate::indexed::IndexFacts`); ranks an exact name match first, or orders as the
/// query's [`crate::query::Sort`] says; counts the facets the query asks for; filters by
/// [`Audience`] inside the index so neither totals nor facets reveal private containers.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Adds or replaces these containers. They are searchable when this returns.
    async fn upsert(&self, containers: &[Container]) -> PortResult<()>;

    /// Removes a container. Removing an absent one is not an error.
    async fn remove(&self, id: &RepoName) -> PortResult<()>;

    /// Runs a query for an audience; `offset`/`limit` page through the ranked hits.
    async fn search(
        &self,
        query: &SearchQuery,
        audience: &Audience,
        offset: usize,
        limit: usize,
    ) -> PortResult<SearchHits>;

    /// Removes everything (the first step of a rebuild).
    async fn clear(&self) -> PortResult<()>;

    /// How many documents the index holds (for `/metrics` and checks after a reindex).
    async fn doc_count(&self) -> PortResult<u64>;
}
