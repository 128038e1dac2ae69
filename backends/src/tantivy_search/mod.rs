//! The embedded search port: a tantivy index in a directory of the data dir.
//!
//! One writer for the life of the process (tantivy allows one per index, across processes),
//! with one indexing thread and the smallest memory budget tantivy accepts: the catalogue
//! writes rarely and in small batches, and the server must idle in a few tens of megabytes.
//! The reader reloads only after our own commits, so a write is visible when it returns and
//! no file watcher runs. Commits and searches run on tokio's blocking pool.

mod query;
mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bioshadock_core::ports::search::{SearchHits, SearchIndex};
use bioshadock_core::query::SearchQuery;
use bioshadock_core::{Audience, Container, PortError, PortResult, RepoName};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::schema::{TantivyDocument, Value};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyError, Term,
};
use tracing::instrument;

use self::query::QueryBuilder;
use self::schema::{Fields, UPDATED_AT, register_tokenizers};

/// The indexing arena: tantivy's minimum (it refuses less). Pages are taken as documents
/// arrive, and a segment is flushed when the arena is nearly full.
const WRITER_MEMORY_BUDGET: usize = 15_000_000;
/// Decompressed doc-store blocks kept per segment. Hits only read the stored id, a few bytes
/// per document, so a small cache serves a page of hits without holding memory at idle.
const DOC_STORE_CACHE_BLOCKS: usize = 4;

/// A tantivy index of containers, implementing [`SearchIndex`].
#[derive(Clone)]
pub struct TantivySearch {
    inner: Arc<Inner>,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

impl TantivySearch {
    /// Opens the index in `dir`, creating the directory and an empty index if needed.
    ///
    /// Fails with [`PortError::Unavailable`] and a hint when another process holds the index
    /// or the index was written with a different schema (the index is derived data: deleting
    /// the directory and running `bioshadock reindex` rebuilds it).
    pub fn open(dir: &Path) -> PortResult<Self> {
        let shown = dir.display();
        std::fs::create_dir_all(dir).map_err(|e| {
            PortError::Unavailable(format!(
                "cannot create the search index directory {shown}: {e}"
            ))
        })?;
        let (schema, fields) = Fields::schema();
        let directory = MmapDirectory::open(dir).map_err(PortError::backend)?;
        let index = Index::open_or_create(directory, schema).map_err(|e| match e {
            TantivyError::SchemaError(_) => PortError::Unavailable(format!(
                "the search index in {shown} has an older layout ({e}); delete the directory \
                 and run `bioshadock reindex`"
            )),
            e => PortError::backend(e),
        })?;
        register_tokenizers(index.tokenizers());
        let options = IndexWriterOptions::builder()
            .num_worker_threads(1)
            .num_merge_threads(1)
            .memory_budget_per_thread(WRITER_MEMORY_BUDGET)
            .build();
        let writer = index.writer_with_options(options).map_err(|e| match e {
            TantivyError::LockFailure(..) => PortError::Unavailable(format!(
                "the search index in {shown} is in use by another process ({e})"
            )),
            e => PortError::backend(e),
        })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .try_into()
            .map_err(PortError::backend)?;
        let inner = Inner {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Runs `work` on the blocking pool: commits and searches must not stall the runtime.
    async fn blocking<T, F>(&self, work: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> PortResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(PortError::backend)?
    }
}

impl Inner {
    /// A poisoned lock only means an earlier write panicked; `write` rolls back on failure,
    /// so the writer holds no half-done batch and stays usable.
    fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `ops` to the writer, commits, and reloads the reader; rolls back on failure so
    /// a failed batch is not committed by the next write.
    fn write(&self, ops: impl FnOnce(&mut IndexWriter) -> tantivy::Result<()>) -> PortResult<()> {
        let mut writer = self.writer();
        let result = ops(&mut writer).and_then(|()| writer.commit().map(drop));
        if let Err(e) = result {
            if let Err(rollback) = writer.rollback() {
                tracing::error!(error = %rollback, "search index rollback failed");
            }
            return Err(PortError::backend(e));
        }
        self.reader.reload().map_err(PortError::backend)
    }

    fn search(
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
        let run = |e: TantivyError| PortError::backend(e);
        if offset >= end {
            let total = searcher.search(&built.query, &Count).map_err(run)?;
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
                .map_err(run)?;
            (
                total,
                hits.into_iter().map(|(_, address)| address).collect(),
            )
        } else {
            let (total, hits) = searcher
                .search(&built.query, &(Count, page.order_by(newest)))
                .map_err(run)?;
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

#[async_trait]
impl SearchIndex for TantivySearch {
    #[instrument(skip_all, fields(count = containers.len()), err)]
    async fn upsert(&self, containers: &[Container]) -> PortResult<()> {
        if containers.is_empty() {
            return Ok(());
        }
        let fields = self.inner.fields;
        let docs: Vec<(Term, TantivyDocument)> = containers
            .iter()
            .map(|c| {
                (
                    Term::from_field_text(fields.id, c.id.as_str()),
                    fields.document(c),
                )
            })
            .collect();
        self.blocking(move |inner| {
            inner.write(|writer| {
                // Deletes only reach documents added before them, so within one batch the
                // last copy of an id wins.
                for (id, doc) in docs {
                    writer.delete_term(id);
                    writer.add_document(doc)?;
                }
                Ok(())
            })
        })
        .await
    }

    #[instrument(skip_all, fields(id = %id), err)]
    async fn remove(&self, id: &RepoName) -> PortResult<()> {
        let term = Term::from_field_text(self.inner.fields.id, id.as_str());
        self.blocking(move |inner| {
            inner.write(|writer| {
                writer.delete_term(term);
                Ok(())
            })
        })
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
        let (query, audience) = (query.clone(), audience.clone());
        self.blocking(move |inner| inner.search(&query, &audience, offset, limit))
            .await
    }

    #[instrument(skip_all, err)]
    async fn clear(&self) -> PortResult<()> {
        self.blocking(|inner| inner.write(|writer| writer.delete_all_documents().map(drop)))
            .await
    }

    async fn doc_count(&self) -> PortResult<u64> {
        Ok(self.inner.reader.searcher().num_docs())
    }
}
