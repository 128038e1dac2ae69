//! The accounts and build-record suites on MongoDB: against a real server when
//! `BIOSHADOCK_TEST_MONGODB_URL` is set, otherwise against the nx-27017 stand-in of
//! docs/testing.md, started on a free port for the test and stopped when it ends. Each scenario
//! gets a database of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bioshadock_backends::mongo::accounts::MongoAccounts;
use bioshadock_backends::mongo::builds::MongoBuilds;
use bioshadock_backends::mongo::events::MongoEvents;
use bioshadock_backends::mongo::triggers::MongoTriggers;
use bioshadock_backends::mongo::webhooks::MongoWebhooks;
use bioshadock_core::conformance;
use bioshadock_core::ports::builds::{Build, BuildSource, BuildStore, NewBuild};
use bioshadock_core::{RepoName, TagName};
use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Client, Database, IndexModel};

use crate::mongo::MongoServer;

/// Hands out fresh databases on one server, and drops them at the end on a real server.
struct Databases {
    client: Client,
    prefix: String,
    next: AtomicU32,
    used: std::sync::Mutex<Vec<String>>,
}

impl Databases {
    async fn new(server: &MongoServer, suite: &str) -> Self {
        let client = Client::with_uri_str(server.url())
            .await
            .expect("a MongoDB client");
        Self {
            client,
            prefix: format!("bioshadock_test_{suite}_{}", std::process::id()),
            next: AtomicU32::new(0),
            used: Default::default(),
        }
    }

    fn fresh(&self) -> Database {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}_{n}", self.prefix);
        self.used.lock().expect("lock").push(name.clone());
        self.client.database(&name)
    }

    async fn drop_all(&self) {
        let names = std::mem::take(&mut *self.used.lock().expect("lock"));
        for name in names {
            let _ = self.client.database(&name).drop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongo_accounts_conform() {
    let server = MongoServer::start();
    let dbs = Databases::new(&server, "accounts").await;
    conformance::accounts::run_all(|| async {
        let accounts = MongoAccounts::new(dbs.fresh());
        accounts.ensure_indexes().await.expect("ensure_indexes");
        Arc::new(accounts)
    })
    .await;
    if server.real() {
        dbs.drop_all().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongo_orgs_conform() {
    let server = MongoServer::start();
    let dbs = Databases::new(&server, "orgs").await;
    conformance::orgs::run_all(|| async {
        let accounts = MongoAccounts::new(dbs.fresh());
        // The stand-in matches nothing on a multikey index's array field (docs/testing.md).
        if server.real() {
            accounts.ensure_indexes().await.expect("ensure_indexes");
        }
        Arc::new(accounts)
    })
    .await;
    if server.real() {
        dbs.drop_all().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongo_robots_conform() {
    let server = MongoServer::start();
    let dbs = Databases::new(&server, "robots").await;
    conformance::robots::run_all(|| async {
        let accounts = MongoAccounts::new(dbs.fresh());
        accounts.ensure_indexes().await.expect("ensure_indexes");
        Arc::new(accounts)
    })
    .await;
    if server.real() {
        dbs.drop_all().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongo_rules_conform() {
    let server = MongoServer::start();
    let dbs = Databases::new(&server, "rules").await;
    conformance::rules::run_all(|| async { Arc::new(MongoAccounts::new(dbs.fresh())) }).await;
    if server.real() {
        dbs.drop_all().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongo_events_conform() {
    let server = MongoServer::start();
    let dbs = Databases::new(&server, "events").await;
    conformance::events::run_all(|| async {
        let events = MongoEvents::new(dbs.fresh());
        events.ensure_indexes().await.expect("ensure_indexes");
        Arc::new(events)
    })
    .await;
    if server.real() {
        dbs.drop_all().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongo_builds_conform() {
    let server = MongoServer::start();
    let dbs = Databases::new(&server, "builds").await;
    conformance::builds::run_all(|| async {
        let db = dbs.fresh();
        let builds = MongoBuilds::new(db.clone());
        if server.real() {
            builds.ensure_indexes().await.expect("ensure_indexes");
        } else {
            // Stand-in deviation (docs/testing.md): once a collection has a compound
            // index that includes `_id`, such as `builds`' `{container: 1, _id: -1}`, every
            // insert into it fails ("JSON path error near '_id'"). So on the stand-in the suite
            // runs with only the log's unique index, made here as `ensure_indexes` makes it;
            // with all of `ensure_indexes` it runs against a real engine only.
            let unique = IndexOptions::builder().unique(true).build();
            db.collection::<Document>("build_log")
                .create_index(
                    IndexModel::builder()
                        .keys(doc! { "build": 1, "seq": 1 })
                        .options(unique)
                        .build(),
                )
                .await
                .expect("the log's unique index");
        }
        Arc::new(builds) as Arc<dyn BuildStore>
    })
    .await;
    if server.real() {
        dbs.drop_all().await;
    }
}

/// Builds are ordered by their numeric id, not its digits: 9 < 10 < 100.
///
/// Real engine only. Stand-in deviation (docs/testing.md): nx-27017 sorts integer
/// `_id`s as text (10 < 100 < 9), while other integer fields sort as numbers. The suite's ids
/// all have the same number of digits, so it does not meet this.
#[tokio::test]
async fn mongo_builds_order_by_numeric_id() {
    let server = MongoServer::start();
    if !server.real() {
        eprintln!(
            "skipped: needs BIOSHADOCK_TEST_MONGODB_URL (nx-27017 sorts integer _ids as text)"
        );
        return;
    }
    let dbs = Databases::new(&server, "order").await;
    let builds = MongoBuilds::new(dbs.fresh());
    builds.ensure_indexes().await.expect("ensure_indexes");
    for id in [100, 9, 10] {
        builds
            .create(NewBuild {
                id,
                container: RepoName::parse("lab/tool").expect("valid"),
                tag: TagName::parse("latest").expect("valid"),
                requested_by: "alice".into(),
                source: BuildSource::Git("https://example.org/lab/tool.git".into()),
                options: Default::default(),
                queued_at: chrono::Utc::now(),
            })
            .await
            .expect("create");
    }
    let ids = |list: Vec<Build>| list.into_iter().map(|b| b.id).collect::<Vec<_>>();
    let tool = RepoName::parse("lab/tool").expect("valid");
    assert_eq!(
        ids(builds.list(&tool, 10).await.expect("list")),
        [100, 10, 9]
    );
    assert_eq!(ids(builds.live().await.expect("live")), [9, 10, 100]);
    dbs.drop_all().await;
}

#[tokio::test]
async fn mongo_ensure_indexes_is_idempotent() {
    let server = MongoServer::start();
    let dbs = Databases::new(&server, "indexes").await;
    let db = dbs.fresh();
    for _ in 0..2 {
        MongoAccounts::new(db.clone())
            .ensure_indexes()
            .await
            .expect("accounts indexes");
        MongoBuilds::new(db.clone())
            .ensure_indexes()
            .await
            .expect("build indexes");
    }
    if server.real() {
        dbs.drop_all().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongo_webhooks_conform() {
    let server = MongoServer::start();
    let dbs = Databases::new(&server, "webhooks").await;
    conformance::webhooks::run_all(|| async {
        let webhooks = MongoWebhooks::new(dbs.fresh());
        webhooks.ensure_indexes().await.expect("ensure_indexes");
        Arc::new(webhooks)
    })
    .await;
    if server.real() {
        dbs.drop_all().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongo_triggers_conform() {
    let server = MongoServer::start();
    let dbs = Databases::new(&server, "triggers").await;
    conformance::triggers::run_all(|| async {
        let triggers = MongoTriggers::new(dbs.fresh());
        triggers.ensure_indexes().await.expect("ensure_indexes");
        Arc::new(triggers)
    })
    .await;
    if server.real() {
        dbs.drop_all().await;
    }
}
