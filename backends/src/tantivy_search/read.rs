//! The read side: runs a built query, counts every visible hit, and returns one page of ids.

use bioshadock_core::ports::search::SearchHits;
use bioshadock_core::query::SearchQuery;
use bioshadock_core::{Audience, PortError, PortResult, RepoName};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::{TantivyDocument, Value};
use tantivy::{DocAddress, Order, Searcher};

use super::Inner;
use super::query::QueryBuilder;
use super::schema::UPDATED_AT;

impl Inner {
    /// Ranks by score, then newest first; without free text, newest first alone. `Count` runs
    /// beside `TopDocs` over the same query, audience included, so `total` is exact.
    pub(super) fn search(
        &self,
        query: &SearchQuery,
        audience: &Audience,
        offset: usize,
        limit: usize,
    ) -> PortResult<SearchHits> {
        let searcher = self.reader.searcher();
        let mut builder = QueryBuilder::new(self.fields, self.index.tokenizers())
            .ok_or_else(|| PortError::Unavailable("search analysers are not registered".into()))?;
        let built = builder.build(query, audience);
        // TopDocs allocates for `offset + limit` up front: never ask past the last document.
        let end = offset
            .saturating_add(limit)
            .min(searcher.num_docs() as usize);
        if offset >= end {
            let total = searcher
                .search(&built.query, &Count)
                .map_err(PortError::backend)?;
            return Ok(SearchHits {
                total: total as u64,
                ids: Vec::new(),
            });
        }
        let page = TopDocs::for_doc_range(offset..end);
        let newest = (
            SortByStaticFastValue::<i64>::for_field(UPDATED_AT),
            Order::Desc,
        );
        let (total, addresses): (usize, Vec<DocAddress>) = if built.scored {
            let ranked = page.order_by(((SortBySimilarityScore, Order::Desc), newest));
            let (total, hits) = searcher
                .search(&built.query, &(Count, ranked))
                .map_err(PortError::backend)?;
            (
                total,
                hits.into_iter().map(|(_, address)| address).collect(),
            )
        } else {
            let (total, hits) = searcher
                .search(&built.query, &(Count, page.order_by(newest)))
                .map_err(PortError::backend)?;
            (
                total,
                hits.into_iter().map(|(_, address)| address).collect(),
            )
        };
        let ids = addresses
            .into_iter()
            .filter_map(|address| self.stored_id(&searcher, address).transpose())
            .collect::<PortResult<Vec<_>>>()?;
        Ok(SearchHits {
            total: total as u64,
            ids,
        })
    }

    /// The id stored with a hit; `None` (logged) for an id that no longer parses, which
    /// only an index written by a buggy or foreign version could hold.
    fn stored_id(&self, searcher: &Searcher, address: DocAddress) -> PortResult<Option<RepoName>> {
        let doc: TantivyDocument = searcher.doc(address).map_err(PortError::backend)?;
        let raw = doc
            .get_first(self.fields.id)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        match RepoName::parse(raw) {
            Ok(id) => Ok(Some(id)),
            Err(e) => {
                tracing::warn!(id = raw, error = %e, "search index holds an invalid id; reindex");
                Ok(None)
            }
        }
    }
}
