//! The search conformance suite against Elasticsearch: a real server when
//! `BIOSHADOCK_TEST_ELASTICSEARCH_URL` is set, otherwise the noida-db stand-in of docs/testing.md,
//! started for each test on a free port and killed when the test ends. Every index gets a
//! unique name and is deleted afterwards, so runs against a real cluster leave nothing behind.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bioshadock_backends::elastic::ElasticSearch;
use bioshadock_core::conformance::{container, search};
use bioshadock_core::ports::search::SearchIndex;
use bioshadock_core::query::SearchQuery;
use bioshadock_core::{Audience, PortError, Visibility};
use elasticsearch::Elasticsearch;
use elasticsearch::http::transport::Transport;
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts};
use serde_json::json;
use tempfile::TempDir;

const REAL_SERVER: &str = "BIOSHADOCK_TEST_ELASTICSEARCH_URL";
const STAND_IN: &str = "/opt/bioshadock-testsrv/bin/noida-db";

/// The server a test talks to; a stand-in it started is killed on drop.
struct Server {
    url: String,
    stand_in: Option<(Child, TempDir)>,
}

impl Server {
    async fn start() -> Self {
        if let Ok(url) = std::env::var(REAL_SERVER) {
            return Self {
                url,
                stand_in: None,
            };
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = std::fs::File::create(dir.path().join("noida.log")).expect("log file");
        // The launcher is a Python script that runs the server as its child: a process group
        // of their own lets drop kill both.
        let child = Command::new(STAND_IN)
            .args(["start", "--only", "elasticsearch", "--elasticsearch-port"])
            .arg(port.to_string())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {STAND_IN} (see docs/testing.md): {e}"));
        let server = Self {
            url: format!("http://127.0.0.1:{port}"),
            stand_in: Some((child, dir)),
        };
        server.wait_ready().await;
        server
    }

    fn client(&self) -> Elasticsearch {
        Elasticsearch::new(Transport::single_node(&self.url).expect("client"))
    }

    /// Polls `GET /` until the server answers.
    async fn wait_ready(&self) {
        let client = self.client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.info().send().await
                && response.status_code().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the Elasticsearch stand-in did not answer within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some((child, _dir)) = &mut self.stand_in {
            // Only the group this test started, by its id.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A name no other test, run or process uses.
fn unique_index(label: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "bioshadock-test-{label}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_passes_the_search_suite() {
    let server = Server::start().await;
    let opened: Arc<Mutex<Vec<ElasticSearch>>> = Arc::default();
    search::run_all(|| {
        let (url, opened) = (server.url.clone(), Arc::clone(&opened));
        async move {
            let index = ElasticSearch::open(&url, &unique_index("suite"))
                .await
                .expect("open index");
            opened.lock().expect("not poisoned").push(index.clone());
            Arc::new(index) as Arc<dyn SearchIndex>
        }
    })
    .await;
    let opened = std::mem::take(&mut *opened.lock().expect("not poisoned"));
    for index in opened {
        index.drop_index().await.expect("drop index");
    }
}

#[tokio::test]
async fn reopening_keeps_documents() {
    let server = Server::start().await;
    let name = unique_index("reopen");
    let index = ElasticSearch::open(&server.url, &name).await.expect("open");
    index
        .upsert(&[container("lab/samtools", Visibility::Public, 1)])
        .await
        .expect("upsert");
    drop(index);

    let index = ElasticSearch::open(&server.url, &name)
        .await
        .expect("reopen");
    assert_eq!(index.doc_count().await.expect("doc_count"), 1);
    let query = SearchQuery::parse("samtools").expect("query");
    let hits = index
        .search(&query, &Audience::Public, 0, 10)
        .await
        .expect("search");
    assert_eq!(hits.total, 1);
    assert_eq!(hits.ids[0].as_str(), "lab/samtools");
    index.drop_index().await.expect("drop index");
}

#[tokio::test]
async fn an_older_layout_is_replaced_a_newer_or_foreign_one_refused() {
    let server = Server::start().await;
    let client = server.client();

    // Written by a future or past version: another layout number in `_meta`.
    let old = unique_index("old");
    let response = client
        .indices()
        .create(IndicesCreateParts::Index(&old))
        .body(json!({"mappings": {
            "_meta": {"bioshadock_schema": 0},
            "properties": {"id": {"type": "keyword"}},
        }}))
        .send()
        .await
        .expect("create old index");
    assert!(response.status_code().is_success());
    let index = ElasticSearch::open(&server.url, &old)
        .await
        .expect("an old layout is replaced, not an error");
    assert_eq!(index.doc_count().await.expect("doc_count"), 0);
    index
        .upsert(&[container("lab/samtools", Visibility::Public, 1)])
        .await
        .expect("the new layout takes our documents");
    index.drop_index().await.expect("drop index");

    // A newer version's index stays: old processes must not undo an upgrade.
    let newer = unique_index("newer");
    let response = client
        .indices()
        .create(IndicesCreateParts::Index(&newer))
        .body(json!({"mappings": {
            "_meta": {"bioshadock_schema": 1_000},
            "properties": {"id": {"type": "keyword"}},
        }}))
        .send()
        .await
        .expect("create newer index");
    assert!(response.status_code().is_success());
    let refused = ElasticSearch::open(&server.url, &newer).await;
    assert!(
        matches!(&refused, Err(PortError::Unavailable(m)) if m.contains("newer")),
        "a newer layout must be refused, not replaced"
    );
    let response = client
        .indices()
        .delete(IndicesDeleteParts::Index(&[&newer]))
        .send()
        .await
        .expect("delete newer index");
    assert!(
        response.status_code().is_success(),
        "still there, untouched"
    );

    // Someone else's index under the configured name is never touched.
    let foreign = unique_index("foreign");
    let response = client
        .indices()
        .create(IndicesCreateParts::Index(&foreign))
        .send()
        .await
        .expect("create foreign index");
    assert!(response.status_code().is_success());
    let refused = ElasticSearch::open(&server.url, &foreign).await;
    assert!(
        matches!(&refused, Err(PortError::Unavailable(m)) if m.contains(&foreign)),
        "a foreign index must be refused"
    );
    let response = client
        .indices()
        .delete(IndicesDeleteParts::Index(&[&foreign]))
        .send()
        .await
        .expect("delete foreign index");
    assert!(
        response.status_code().is_success(),
        "still there, untouched"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_the_url_stays_secret() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://admin:hunter2@127.0.0.1:{port}");
    let Err(PortError::Unavailable(message)) = ElasticSearch::open(&url, "bioshadock").await else {
        panic!("an unreachable server must be Unavailable");
    };
    assert!(message.contains("search.elasticsearch_url"), "{message}");
    assert!(
        !message.contains("hunter2") && !message.contains(&port.to_string()),
        "the URL stays out of errors: {message}"
    );

    let bad_name = ElasticSearch::open(&url, "Not A Name").await;
    assert!(matches!(bad_name, Err(PortError::Unavailable(_))));
}

/// The two search backends answer alike: the same hits and totals for the same queries and
/// audiences over one catalogue. Free-text hits are compared as sets (Elasticsearch's and
/// tantivy's scores differ); filter-only hits, newest first, in order.
#[tokio::test]
async fn answers_like_the_embedded_index() {
    use bioshadock_backends::tantivy_search::TantivySearch;
    use bioshadock_core::conformance::{labels, member, tag};
    use bioshadock_core::{Access, Container};

    let descriptions = [
        "Aligns sequencing reads to a reference genome",
        "The fastest assembler of them all",
        "Café crème: unicode déscriptions and ÜBER words",
        "variant calling, filtering and annotation",
        "a tool that is not for the faint of heart",
        "wrapper around samtools and bcftools",
        "",
        "sha256 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ];
    let names = [
        "lab/bwa-mem2",
        "lab/spades",
        "other/cafe-tools",
        "other/gatk",
        "bob/private-aligner",
        "lab/samtools-wrapper",
        "deep/samtools",
        "x/py_tools.v2",
    ];
    let mut catalogue: Vec<Container> = Vec::new();
    for (i, (name, description)) in names.iter().zip(descriptions).enumerate() {
        let visibility = if i % 3 == 1 {
            Visibility::Private
        } else {
            Visibility::Public
        };
        let mut c = container(name, visibility, i as i64);
        c.description = description.to_owned();
        if i % 2 == 0 {
            c.tags = vec![tag("1.19--h50ea8bc_0", i as i64), tag("Latest", i as i64)];
            c.labels = labels(&[
                ("org.opencontainers.image.licenses", "GPL-3.0-or-later"),
                ("maintainer", "Jane Doe"),
            ]);
        } else {
            c.tags = vec![tag("nightly", i as i64)];
            c.labels = labels(&[("org.opencontainers.image.licenses", "MIT")]);
            c.members = vec![member("carol", Access::Pull)];
        }
        catalogue.push(c);
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let embedded = TantivySearch::open(dir.path()).expect("open tantivy");
    let server = Server::start().await;
    let elastic = ElasticSearch::open(&server.url, &unique_index("parity"))
        .await
        .expect("open elasticsearch");
    embedded.upsert(&catalogue).await.expect("upsert tantivy");
    elastic
        .upsert(&catalogue)
        .await
        .expect("upsert elasticsearch");

    let queries = [
        "",
        "samtools",
        "SAMtools wrapper",
        "aligning",
        "read genome",
        "the",
        "the aligner",
        "a tool",
        "not",
        "---",
        "café",
        "CRÈME",
        "uber",
        "über",
        "assemblies",
        "assembler fastest",
        "gpl",
        "licenses mit",
        "h50ea8bc",
        "nightly",
        "1",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "sha256",
        "py tools v2",
        "lab/bwa-mem2",
        "name:samtools",
        "name:LAB/SPADES",
        "namespace:lab",
        "namespace:other aligner",
        "owner:bob",
        "tag:latest",
        "tag:1.19--h50ea8bc_0",
        "label.maintainer:\"jane doe\"",
        "label.org.opencontainers.image.licenses:mit",
        "label.org.opencontainers.image.licenses:mit namespace:lab",
        "https://example.org",
        // Prefixes (search as you type): the same words begun, on both backends.
        "samt",
        "sa",
        "s",
        "th",
        "no",
        "ali",
        "sequen",
        "caf",
        "CRÈ",
        "üb",
        "déscr",
        "nigh",
        "h50",
        "gp",
        "lic",
        "sha2",
        "0123456789abcdef0123456789",
        "py to v",
        "lab/bwa-me",
        "other/ca",
        "samt namespace:lab",
        "sam*",
    ];
    let audiences = [
        Audience::Public,
        Audience::User("bob".into()),
        Audience::User("carol".into()),
        Audience::User("Carol".into()),
        Audience::Everyone,
    ];
    let mut non_empty = 0;
    for q in queries {
        let query = SearchQuery::parse(q).expect("parses");
        for who in &audiences {
            let expected = embedded.search(&query, who, 0, 100).await.expect("tantivy");
            let got = elastic.search(&query, who, 0, 100).await.expect("elastic");
            let ids = |hits: &bioshadock_core::ports::search::SearchHits| {
                let mut ids: Vec<String> = hits.ids.iter().map(ToString::to_string).collect();
                if !query.text.is_empty() {
                    ids.sort();
                }
                ids
            };
            assert_eq!(ids(&got), ids(&expected), "hits of {q:?} for {who:?}");
            assert_eq!(got.total, expected.total, "total of {q:?} for {who:?}");
            non_empty += usize::from(got.total > 0);
        }
    }
    assert!(non_empty > 100, "the queries find something: {non_empty}");
    elastic.drop_index().await.expect("drop index");
}
