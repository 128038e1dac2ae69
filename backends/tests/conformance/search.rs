//! The search conformance suite against the embedded tantivy index, plus what only an
//! on-disk index can show: documents survive closing and reopening the directory.

use std::sync::{Arc, Mutex};

use bioshadock_backends::tantivy_search::TantivySearch;
use bioshadock_core::conformance::{container, search};
use bioshadock_core::ports::search::SearchIndex;
use bioshadock_core::query::SearchQuery;
use bioshadock_core::{Audience, Visibility};
use tempfile::TempDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tantivy_passes_the_search_suite() {
    // Every index's directory lives until the suite ends.
    let dirs: Arc<Mutex<Vec<TempDir>>> = Arc::default();
    search::run_all(|| {
        let dirs = Arc::clone(&dirs);
        async move {
            let dir = tempfile::tempdir().expect("temp dir");
            let index = TantivySearch::open(dir.path()).expect("open index");
            dirs.lock().expect("not poisoned").push(dir);
            Arc::new(index) as Arc<dyn SearchIndex>
        }
    })
    .await;
}

#[tokio::test]
async fn reopening_keeps_documents() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = TantivySearch::open(dir.path()).expect("open index");
    index
        .upsert(&[container("lab/samtools", Visibility::Public, 1)])
        .await
        .expect("upsert");
    drop(index);

    let index = TantivySearch::open(dir.path()).expect("reopen index");
    assert_eq!(index.doc_count().await.expect("doc_count"), 1);
    let query = SearchQuery::parse("samtools").expect("query");
    let hits = index
        .search(&query, &Audience::Public, 0, 10)
        .await
        .expect("search");
    assert_eq!(hits.total, 1);
    assert_eq!(hits.ids[0].as_str(), "lab/samtools");
    // The reopened index takes writes too: the writer lock was released on drop.
    index
        .upsert(&[container("lab/bwa", Visibility::Public, 2)])
        .await
        .expect("upsert");
    assert_eq!(index.doc_count().await.expect("doc_count"), 2);
}

#[tokio::test]
async fn a_second_open_of_a_busy_index_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _first = TantivySearch::open(dir.path()).expect("open index");
    let second = TantivySearch::open(dir.path());
    assert!(
        matches!(second, Err(bioshadock_core::PortError::Unavailable(_))),
        "a second writer on the same directory must be refused"
    );
}

#[tokio::test]
async fn an_index_with_another_schema_reopens_empty() {
    use tantivy::schema::{STORED, STRING, Schema};
    use tantivy::{Index, TantivyDocument};

    let dir = tempfile::tempdir().expect("temp dir");
    let stray = dir.path().join("notes.txt");
    std::fs::write(&stray, "not ours").expect("write");
    {
        // An index written by some other version: one field, one document.
        let mut builder = Schema::builder();
        let id = builder.add_text_field("id", STRING | STORED);
        let index = Index::create_in_dir(dir.path(), builder.build()).expect("create old index");
        let mut writer = index.writer(15_000_000).expect("writer");
        let mut doc = TantivyDocument::default();
        doc.add_text(id, "lab/old");
        writer.add_document(doc).expect("add");
        writer.commit().expect("commit");
        writer.wait_merging_threads().expect("merge");
    }

    let index = TantivySearch::open(dir.path()).expect("an old layout is replaced, not an error");
    assert_eq!(
        index.doc_count().await.expect("doc_count"),
        0,
        "starts empty"
    );
    index
        .upsert(&[container("lab/samtools", Visibility::Public, 1)])
        .await
        .expect("upsert");
    drop(index);
    assert!(stray.exists(), "files that are not the index's stay");

    let index = TantivySearch::open(dir.path()).expect("reopen");
    assert_eq!(
        index.doc_count().await.expect("doc_count"),
        1,
        "the new index persists"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    assert!(
        leftovers.iter().filter(|n| n.ends_with(".store")).count() <= 1,
        "the old segments were deleted: {leftovers:?}"
    );
}
