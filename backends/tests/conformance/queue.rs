//! The queue suite on SQLite.

use std::sync::Arc;

use bioshadock_backends::sqlite::SqliteQueue;
use bioshadock_core::conformance;
use bioshadock_core::ports::queue::JobQueue;

use crate::store::{Dirs, fresh_pool};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_queue_conforms() {
    let dirs = Dirs::default();
    conformance::queue::run_all(|| {
        let dirs = dirs.clone();
        async move { Arc::new(SqliteQueue::new(fresh_pool(&dirs).await)) as Arc<dyn JobQueue> }
    })
    .await;
}
