//! The organisations, robots and access-rules suites on SQLite.

use std::sync::Arc;

use bioshadock_backends::sqlite::SqliteStore;
use bioshadock_core::conformance;

use crate::store::{Dirs, fresh_pool};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_orgs_conform() {
    let dirs = Dirs::default();
    conformance::orgs::run_all(|| {
        let dirs = dirs.clone();
        async move { Arc::new(SqliteStore::new(fresh_pool(&dirs).await)) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_robots_conform() {
    let dirs = Dirs::default();
    conformance::robots::run_all(|| {
        let dirs = dirs.clone();
        async move { Arc::new(SqliteStore::new(fresh_pool(&dirs).await)) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_rules_conform() {
    let dirs = Dirs::default();
    conformance::rules::run_all(|| {
        let dirs = dirs.clone();
        async move { Arc::new(SqliteStore::new(fresh_pool(&dirs).await)) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_events_conform() {
    let dirs = Dirs::default();
    conformance::events::run_all(|| {
        let dirs = dirs.clone();
        async move { Arc::new(SqliteStore::new(fresh_pool(&dirs).await)) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_webhooks_conform() {
    let dirs = Dirs::default();
    conformance::webhooks::run_all(|| {
        let dirs = dirs.clone();
        async move { Arc::new(SqliteStore::new(fresh_pool(&dirs).await)) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_triggers_conform() {
    let dirs = Dirs::default();
    conformance::triggers::run_all(|| {
        let dirs = dirs.clone();
        async move { Arc::new(SqliteStore::new(fresh_pool(&dirs).await)) }
    })
    .await;
}
