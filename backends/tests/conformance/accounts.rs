//! The accounts suite on SQLite, plus what only a shared database file can show: the
//! `user` commands' connection (`open_accounts`) and the server's see each other's writes.

use std::sync::Arc;

use bioshadock_backends::sqlite::SqliteStore;
use bioshadock_backends::{open_accounts, open_backends};
use bioshadock_core::accounts::{Role, User, UserName};
use bioshadock_core::config::Config;
use bioshadock_core::conformance;

use crate::store::{Dirs, fresh_pool};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_accounts_conform() {
    let dirs = Dirs::default();
    conformance::accounts::run_all(|| {
        let dirs = dirs.clone();
        async move { Arc::new(SqliteStore::new(fresh_pool(&dirs).await)) }
    })
    .await;
}

#[tokio::test]
async fn accounts_open_beside_a_running_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::load(None).expect("default config");
    config.data_dir = dir.path().join("data");
    let server = open_backends(&config).await.expect("open_backends");
    // No data_dir lock, no search index: this works while the server holds both.
    let accounts = open_accounts(&config).await.expect("open_accounts");
    let alice = User::new(UserName::parse("alice").expect("valid"), Role::Admin);
    accounts
        .users
        .create_user(&alice, "hash")
        .await
        .expect("create_user");
    assert_eq!(
        server.users.get_user(&alice.name).await.expect("get_user"),
        alice,
        "the server sees a user added by the command line"
    );
    accounts.close().await;
    server.close().await;
}
