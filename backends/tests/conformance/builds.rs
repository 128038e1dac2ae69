//! The build-record suite on SQLite.

use std::sync::Arc;

use bioshadock_backends::sqlite::SqliteBuildStore;
use bioshadock_core::conformance;
use bioshadock_core::ports::builds::BuildStore;

use crate::store::{Dirs, fresh_pool};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_builds_conform() {
    let dirs = Dirs::default();
    conformance::builds::run_all(|| {
        let dirs = dirs.clone();
        async move {
            Arc::new(SqliteBuildStore::new(fresh_pool(&dirs).await)) as Arc<dyn BuildStore>
        }
    })
    .await;
}
