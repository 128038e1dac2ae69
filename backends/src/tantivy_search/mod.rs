//! The embedded search port: a tantivy index in a directory of the data dir.
//!
//! Memory first: the server must idle in a few tens of megabytes, and the catalogue writes
//! rarely (a push, an edit, a reindex in batches). So no `IndexWriter` lives between writes:
//! each write opens one (one indexing thread, tantivy's minimum arena), commits, lets the
//! merges it triggered finish, and drops it, taking its threads and buffers along. Measured
//! on an open 100,000-document index, this saves about 2.5 MB and three threads at idle
//! against a resident writer, for a few milliseconds per write.
//!
//! The reader reloads only after our own commits, so a write is visible when it returns and
//! no file watcher runs. A lock file held from `open` keeps a second process out, as the
//! resident writer's lock would. Writes and searches run on tokio's blocking pool.
//!
//! The index is derived data: one written with another schema (an older version) is deleted
//! and started afresh on open, and the caller rebuilds it from the store.

mod edge_ngram;
mod query;
mod read;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use bioshadock_core::ports::search::{SearchHits, SearchIndex};
use bioshadock_core::query::SearchQuery;
use bioshadock_core::{Audience, Container, PortError, PortResult, RepoName};
use tantivy::directory::{Directory, DirectoryLock, Lock, MmapDirectory};
use tantivy::indexer::IndexWriterOptions;
use tantivy::schema::TantivyDocument;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyError, Term};
use tracing::instrument;

use self::schema::{Fields, register_tokenizers};

/// The indexing arena: tantivy's minimum (it refuses less). Pages are taken as documents
/// arrive, and a segment is flushed when the arena is nearly full.
const WRITER_MEMORY_BUDGET: usize = 15_000_000;
/// Decompressed doc-store blocks kept per segment. Hits only read the stored id, a few bytes
/// per document, so a small cache serves a page of hits without holding memory at idle.
const DOC_STORE_CACHE_BLOCKS: usize = 4;
/// Held for the life of a [`TantivySearch`]: one process per index directory.
const PROCESS_LOCK: &str = ".bioshadock-search.lock";

/// A tantivy index of containers, implementing [`SearchIndex`].
#[derive(Clone)]
pub struct TantivySearch {
    inner: Arc<Inner>,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Serialises writes: tantivy allows one writer at a time.
    writing: Mutex<()>,
    _process_lock: DirectoryLock,
}

impl TantivySearch {
    /// Opens the index in `dir`, creating the directory and an empty index if needed.
    ///
    /// An index written with another schema or by an incompatible tantivy is deleted with a
    /// warning and replaced by an empty one: it is derived data, and `bioshadock serve`
    /// rebuilds an empty index from the store. Fails with [`PortError::Unavailable`] when
    /// another process holds the index.
    pub fn open(dir: &Path) -> PortResult<Self> {
        let shown = dir.display();
        std::fs::create_dir_all(dir).map_err(|e| {
            PortError::Unavailable(format!(
                "cannot create the search index directory {shown}: {e}"
            ))
        })?;
        let (schema, fields) = Fields::schema();
        let directory = MmapDirectory::open(dir).map_err(PortError::backend)?;
        // Locked before the index is even read: files are only ever deleted under our lock,
        // never under a process still using them.
        let lock = Lock {
            filepath: PathBuf::from(PROCESS_LOCK),
            is_blocking: false,
        };
        let process_lock = directory.acquire_lock(&lock).map_err(|e| {
            PortError::Unavailable(format!(
                "the search index in {shown} is in use by another process ({e})"
            ))
        })?;
        let index = match Index::open_or_create(directory.clone(), schema.clone()) {
            Ok(index) => index,
            Err(e @ (TantivyError::SchemaError(_) | TantivyError::IncompatibleIndex(_))) => {
                tracing::warn!(
                    dir = %shown,
                    error = %e,
                    "the search index was written by another version; starting an empty one, \
                     to be rebuilt from the store"
                );
                remove_index_files(dir)?;
                Index::open_or_create(directory, schema).map_err(PortError::backend)?
            }
            Err(e) => return Err(PortError::backend(e)),
        };
        register_tokenizers(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .try_into()
            .map_err(PortError::backend)?;
        let inner = Inner {
            index,
            reader,
            fields,
            writing: Mutex::new(()),
            _process_lock: process_lock,
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

/// Deletes the files of the tantivy index in `dir`: its meta files and its segment files
/// (`<32 hex digits>.<ext>`, and `<32 hex digits>.<opstamp>.del`). Anything else someone put
/// in the directory, and the lock files, stay.
fn remove_index_files(dir: &Path) -> PortResult<()> {
    let cannot = |e: std::io::Error| {
        PortError::Unavailable(format!(
            "cannot clear the old search index in {}: {e}",
            dir.display()
        ))
    };
    for entry in std::fs::read_dir(dir).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let segment_file = name.len() > 33
            && name.as_bytes()[32] == b'.'
            && name.bytes().take(32).all(|b| b.is_ascii_hexdigit());
        if segment_file || name == "meta.json" || name == ".managed.json" {
            match std::fs::remove_file(entry.path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(cannot(e)),
                _ => {}
            }
        }
    }
    Ok(())
}

impl Inner {
    /// Applies `ops` with a fresh writer, commits, and reloads the reader. On failure the
    /// writer is dropped uncommitted, which discards the whole batch.
    fn write(&self, ops: impl FnOnce(&mut IndexWriter) -> tantivy::Result<()>) -> PortResult<()> {
        // The guard protects no data, so a panic in an earlier write leaves nothing to repair.
        let _one_writer = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let options = IndexWriterOptions::builder()
            .num_worker_threads(1)
            .num_merge_threads(1)
            .memory_budget_per_thread(WRITER_MEMORY_BUDGET)
            .build();
        let mut writer = self
            .index
            .writer_with_options(options)
            .map_err(PortError::backend)?;
        ops(&mut writer).map_err(PortError::backend)?;
        writer.commit().map_err(PortError::backend)?;
        // Merges keep the segment count low; a failed one loses nothing that was committed.
        if let Err(e) = writer.wait_merging_threads() {
            tracing::warn!(error = %e, "search index merge failed; the write is committed");
        }
        self.reader.reload().map_err(PortError::backend)
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
