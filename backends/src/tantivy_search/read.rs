//! The read side: runs a built query, counts every visible hit and the facets asked for, and
//! returns one page of ids in the query's order.

use bioshadock_core::ports::search::SearchHits;
use bioshadock_core::query::{SearchQuery, Sort};
use bioshadock_core::{Audience, PortError, PortResult, RepoName};
use tantivy::aggregation::AggregationCollector;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue, SortByString};
use tantivy::collector::{Collector, Count, TopDocs};
use tantivy::query::Query;
use tantivy::schema::{TantivyDocument, Value};
use tantivy::{DocAddress, Order, Searcher};

use super::Inner;
use super::query::QueryBuilder;
use super::schema::{
    AUTOMATED, DEPRECATED, ID, LICENSE, NAMESPACE, OPERATION, PULLS, TOPIC, UPDATED_AT,
};
use crate::search_facets::{self, FacetFields};

/// Where each facet's values live in this index.
const FACET_FIELDS: FacetFields = FacetFields {
    namespace: NAMESPACE,
    topic: TOPIC,
    operation: OPERATION,
    license: LICENSE,
    automated: AUTOMATED,
    updated_at: UPDATED_AT,
};

impl Inner {
    /// Orders as the query says (relevance: score, then newest; without free text, newest
    /// first). `Count` and the facet aggregations run beside `TopDocs` over the same query,
    /// audience included, so `total` and the facets are exact and never count hidden ones.
    pub(super) fn search(
        &self,
        query: &SearchQuery,
        audience: &Audience,
        offset: usize,
        limit: usize,
    ) -> PortResult<SearchHits> {
        let searcher = self.reader.searcher();
        let now_millis = chrono::Utc::now().timestamp_millis();
        let mut builder = QueryBuilder::new(self.fields, self.index.tokenizers(), now_millis)
            .ok_or_else(|| PortError::Unavailable("search analysers are not registered".into()))?;
        let built = builder.build(query, audience);
        // No facets asked, no aggregation run: a plain search costs what it always did.
        let facets =
            if query.facets.is_empty() {
                None
            } else {
                let aggregations: Aggregations = serde_json::from_value(
                    search_facets::aggregations(&query.facets, &FACET_FIELDS, now_millis),
                )
                .map_err(PortError::backend)?;
                Some(AggregationCollector::from_aggs(
                    aggregations,
                    Default::default(),
                ))
            };
        // TopDocs allocates for `offset + limit` up front: never ask past the last document.
        let end = offset
            .saturating_add(limit)
            .min(searcher.num_docs() as usize);
        let page = TopDocs::for_doc_range(offset..end.max(offset));
        let newest = (
            SortByStaticFastValue::<i64>::for_field(UPDATED_AT),
            Order::Desc,
        );
        let run = Run {
            searcher: &searcher,
            query: built.query.as_ref(),
            facets,
            empty: offset >= end,
        };
        // Relevance ranks deprecated containers after the others ("no" sorts before "yes").
        let current_first = (SortByString::for_field(DEPRECATED), Order::Asc);
        let (total, addresses, facets) = match query.sort {
            Sort::Relevance if built.scored => run.ordered(page.order_by((
                current_first,
                ((SortBySimilarityScore, Order::Desc), newest),
            )))?,
            Sort::Relevance => run.ordered(page.order_by((current_first, newest)))?,
            Sort::Updated => run.ordered(page.order_by(newest))?,
            Sort::Pulls => run.ordered(page.order_by((
                (SortByStaticFastValue::<u64>::for_field(PULLS), Order::Desc),
                newest,
            )))?,
            Sort::Name => run.ordered(page.order_by((SortByString::for_field(ID), Order::Asc)))?,
        };
        let ids = addresses
            .into_iter()
            .filter_map(|address| self.stored_id(&searcher, address).transpose())
            .collect::<PortResult<Vec<_>>>()?;
        let facets = search_facets::read(&query.facets, &facets);
        Ok(SearchHits {
            total: total as u64,
            ids,
            facets,
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

/// One search: the total, the facets and, unless the page is past the end, the page.
struct Run<'a> {
    searcher: &'a Searcher,
    query: &'a dyn Query,
    facets: Option<AggregationCollector>,
    /// The page lies past the last hit: only count.
    empty: bool,
}

type Fruit = (usize, Vec<DocAddress>, serde_json::Value);

impl Run<'_> {
    /// Collects with `page`, whatever its sort key.
    fn ordered<K, C>(self, page: C) -> PortResult<Fruit>
    where
        K: Send + Sync,
        C: Collector<Fruit = Vec<(K, DocAddress)>>,
    {
        let facets_json = |results| serde_json::to_value(results).map_err(PortError::backend);
        if self.empty {
            let (total, facets) = self
                .searcher
                .search(self.query, &(Count, self.facets))
                .map_err(PortError::backend)?;
            return Ok((total, Vec::new(), facets_json(facets)?));
        }
        let (total, hits, facets) = self
            .searcher
            .search(self.query, &(Count, page, self.facets))
            .map_err(PortError::backend)?;
        let addresses = hits.into_iter().map(|(_, address)| address).collect();
        Ok((total, addresses, facets_json(facets)?))
    }
}
