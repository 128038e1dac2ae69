//! The distributed search port: an index on an Elasticsearch 8 cluster.
//!
//! Same layout and query semantics as the embedded tantivy index (see [`mapping`] and
//! [`query`]); Elasticsearch only stores and ranks. The index is created with an explicit,
//! strict mapping on open if it is missing; one carrying an older layout version is dropped
//! and created afresh, since it is derived data that `bioshadock reindex` rebuilds. Writes
//! go through `_bulk` with `refresh=true`, so they are searchable when they return.
//!
//! The URL in `search.elasticsearch_url` may carry credentials (`https://user:pass@host`):
//! they are moved into the client's Basic auth, and neither the URL nor errors that could
//! quote it are ever logged or returned.

mod client;
mod mapping;
mod query;

use std::collections::HashSet;

use async_trait::async_trait;
use bioshadock_core::ports::search::{SearchHits, SearchIndex};
use bioshadock_core::query::SearchQuery;
use bioshadock_core::{Audience, Container, PortError, PortResult, RepoName};
use elasticsearch::http::request::JsonBody;
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts, IndicesGetMappingParts};
use elasticsearch::params::{Conflicts, Refresh};
use elasticsearch::{BulkParts, CountParts, DeleteByQueryParts, Elasticsearch, SearchParts};
use serde_json::{Value, json};
use tracing::instrument;

use self::client::{EsError, checked, connect};
use self::mapping::{SCHEMA_META_KEY, SCHEMA_VERSION};

/// Index name used when the configuration names none.
pub const DEFAULT_INDEX: &str = "bioshadock-containers";
/// Documents per `_bulk` request: bounds request size during a reindex.
const BULK_BATCH: usize = 500;

/// An Elasticsearch index of containers, implementing [`SearchIndex`].
#[derive(Clone)]
pub struct ElasticSearch {
    client: Elasticsearch,
    index: String,
}

impl ElasticSearch {
    /// Connects to the cluster at `url` and makes sure `index` exists with our mapping.
    ///
    /// Fails with [`PortError::Unavailable`] when the cluster cannot be reached, refuses the
    /// credentials, or `index` is not a valid name or is an index Bioshadock did not create.
    pub async fn open(url: &str, index: &str) -> PortResult<Self> {
        validate_index_name(index)?;
        let search = Self {
            client: connect(url)?,
            index: index.to_owned(),
        };
        search.ensure_index().await?;
        Ok(search)
    }

    /// The name of the index this adapter reads and writes.
    pub fn index_name(&self) -> &str {
        &self.index
    }

    /// Deletes the whole index, mapping included (tests, and retiring a deployment). The next
    /// [`ElasticSearch::open`] creates it again.
    pub async fn drop_index(&self) -> PortResult<()> {
        let response = self
            .client
            .indices()
            .delete(IndicesDeleteParts::Index(&[&self.index]))
            .send()
            .await;
        checked(response, "delete the index", &[404])
            .await
            .map(drop)
    }

    /// Creates the index if missing; replaces one written with another layout version.
    async fn ensure_index(&self) -> PortResult<()> {
        let response = self
            .client
            .indices()
            .get_mapping(IndicesGetMappingParts::Index(&[&self.index]))
            .send()
            .await;
        let Some(mappings) = checked(response, "read the index mapping", &[404]).await? else {
            return self.create_index().await;
        };
        match layout_version(&mappings) {
            Some(SCHEMA_VERSION) => Ok(()),
            // A newer binary's index stays: during an upgrade, the old processes must not
            // throw away what the new ones built.
            Some(newer) if newer > SCHEMA_VERSION => Err(PortError::Unavailable(format!(
                "the Elasticsearch index `{}` has layout version {newer}, written by a newer \
                 Bioshadock (this one knows {SCHEMA_VERSION}); upgrade this process",
                self.index
            ))),
            Some(old) => {
                tracing::warn!(
                    index = %self.index,
                    found = old,
                    expected = SCHEMA_VERSION,
                    "the search index has another layout version; starting an empty one, \
                     to be rebuilt from the store"
                );
                self.drop_index().await?;
                self.create_index().await
            }
            None => Err(PortError::Unavailable(format!(
                "the Elasticsearch index `{}` was not created by Bioshadock; \
                 configure another index name",
                self.index
            ))),
        }
    }

    async fn create_index(&self) -> PortResult<()> {
        let response = self
            .client
            .indices()
            .create(IndicesCreateParts::Index(&self.index))
            .body(mapping::index_body())
            .send()
            .await;
        match checked(response, "create the index", &[400]).await? {
            // A 400 is fine only when another process created the index meanwhile.
            None => self.ensure_index_created_elsewhere().await,
            Some(_) => Ok(()),
        }
    }

    /// After a refused create: the index now exists (a concurrent open won the race) and
    /// has our layout, or the refusal was a real error.
    async fn ensure_index_created_elsewhere(&self) -> PortResult<()> {
        let response = self
            .client
            .indices()
            .get_mapping(IndicesGetMappingParts::Index(&[&self.index]))
            .send()
            .await;
        let mappings = checked(response, "read the index mapping", &[404]).await?;
        if mappings.as_ref().and_then(layout_version) == Some(SCHEMA_VERSION) {
            Ok(())
        } else {
            Err(PortError::backend(EsError(format!(
                "Elasticsearch refused to create the index `{}` (HTTP 400)",
                self.index
            ))))
        }
    }

    /// Runs one `_bulk` request and refreshes, failing on the first refused item.
    async fn bulk(&self, lines: Vec<JsonBody<Value>>) -> PortResult<()> {
        let response = self
            .client
            .bulk(BulkParts::Index(&self.index))
            .refresh(Refresh::True)
            .body(lines)
            .send()
            .await;
        let body = checked(response, "write to the index", &[])
            .await?
            .unwrap_or_default();
        if body["errors"].as_bool() != Some(true) {
            return Ok(());
        }
        let items = body["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        // Items carry the failures; an item without `error` (such as a `not_found` delete,
        // which the noida-db stand-in flags in `errors`) succeeded.
        let failure = items
            .iter()
            .filter_map(|item| item.as_object()?.values().next())
            .find_map(|result| {
                let error = result.get("error")?;
                Some(format!(
                    "document `{}`: {} ({})",
                    result["_id"].as_str().unwrap_or("?"),
                    error["reason"].as_str().unwrap_or("no reason given"),
                    error["type"].as_str().unwrap_or("unknown error"),
                ))
            });
        let Some(failure) = failure else {
            return Ok(());
        };
        Err(PortError::backend(EsError(format!(
            "Elasticsearch refused a write: {failure}"
        ))))
    }
}

/// The layout version in a get-mapping answer, keyed by the concrete index name (the
/// configured name may be an alias); `None` for an index Bioshadock did not create.
fn layout_version(mappings: &Value) -> Option<u64> {
    mappings
        .as_object()?
        .values()
        .next()?
        .pointer(&format!("/mappings/_meta/{SCHEMA_META_KEY}"))?
        .as_u64()
}

/// Elasticsearch's rules for index names, checked up front for a clear message.
fn validate_index_name(index: &str) -> PortResult<()> {
    let bad = index.is_empty()
        || index.len() > 255
        || index == "."
        || index == ".."
        || index.starts_with(['-', '_', '+'])
        || index
            .chars()
            .any(|c| c.is_uppercase() || c.is_whitespace() || "\\/*?\"<>|,#:".contains(c));
    if bad {
        return Err(PortError::Unavailable(format!(
            "`{index}` is not a valid Elasticsearch index name (lowercase, no spaces or \
             \\/*?\"<>|,#: characters, not starting with -, _ or +)"
        )));
    }
    Ok(())
}

#[async_trait]
impl SearchIndex for ElasticSearch {
    #[instrument(skip_all, fields(count = containers.len()), err)]
    async fn upsert(&self, containers: &[Container]) -> PortResult<()> {
        // The same id twice in one call: the last copy wins, and only it is sent.
        let mut seen = HashSet::new();
        let mut latest: Vec<&Container> = containers
            .iter()
            .rev()
            .filter(|c| seen.insert(c.id.as_str()))
            .collect();
        latest.reverse();
        for batch in latest.chunks(BULK_BATCH) {
            let mut lines = Vec::with_capacity(batch.len() * 2);
            for c in batch {
                lines.push(JsonBody::new(json!({"index": {"_id": c.id.as_str()}})));
                lines.push(JsonBody::new(mapping::document(c)));
            }
            self.bulk(lines).await?;
        }
        Ok(())
    }

    #[instrument(skip_all, fields(id = %id), err)]
    async fn remove(&self, id: &RepoName) -> PortResult<()> {
        // A delete of an absent document is a `not_found` result, not an item error.
        self.bulk(vec![JsonBody::new(json!({"delete": {"_id": id.as_str()}}))])
            .await
    }

    #[instrument(skip_all, err)]
    async fn search(
        &self,
        query: &SearchQuery,
        audience: &Audience,
        offset: usize,
        limit: usize,
    ) -> PortResult<SearchHits> {
        let now_millis = chrono::Utc::now().timestamp_millis();
        let body = query::search_body(query, audience, offset, limit, now_millis);
        let response = self
            .client
            .search(SearchParts::Index(&[&self.index]))
            .body(body)
            .send()
            .await;
        let body = checked(response, "search the index", &[])
            .await?
            .unwrap_or_default();
        let hits = &body["hits"];
        let total = hits["total"]["value"]
            .as_u64()
            .or_else(|| hits["total"].as_u64())
            .ok_or_else(|| EsError::port("a search answer without a total"))?;
        let ids = hits["hits"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|hit| {
                let raw = hit["_id"].as_str().unwrap_or_default();
                RepoName::parse(raw)
                    .inspect_err(|e| {
                        tracing::warn!(id = raw, error = %e, "search index holds an invalid id; reindex");
                    })
                    .ok()
            })
            .collect();
        let facets = crate::search_facets::read(&query.facets, &body["aggregations"]);
        Ok(SearchHits { total, ids, facets })
    }

    #[instrument(skip_all, err)]
    async fn clear(&self) -> PortResult<()> {
        let response = self
            .client
            .delete_by_query(DeleteByQueryParts::Index(&[&self.index]))
            .conflicts(Conflicts::Proceed)
            .refresh(true)
            .body(json!({"query": {"match_all": {}}}))
            .send()
            .await;
        let body = checked(response, "clear the index", &[])
            .await?
            .unwrap_or_default();
        match body["failures"].as_array() {
            Some(failures) if !failures.is_empty() => Err(EsError::port(format!(
                "clearing the index failed for {} documents",
                failures.len()
            ))),
            _ => Ok(()),
        }
    }

    async fn doc_count(&self) -> PortResult<u64> {
        let response = self
            .client
            .count(CountParts::Index(&[&self.index]))
            .send()
            .await;
        let body = checked(response, "count documents", &[])
            .await?
            .unwrap_or_default();
        body["count"]
            .as_u64()
            .ok_or_else(|| EsError::port("a count answer without a count"))
    }
}
