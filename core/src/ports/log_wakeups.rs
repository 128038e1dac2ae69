//! Wake-ups for live logs: whoever appends to a build's log (or changes its status) says so,
//! and every live-log stream of that build wakes at once instead of polling the store.
//!
//! A wake-up carries no data, only "look again": the store stays the one source of the lines,
//! so a lost or coalesced wake-up costs latency, never a line. The streams keep a slow poll
//! for that case. In process memory in embedded mode, on Redis pub/sub in distributed mode
//! (a builder process appends, the web processes follow).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use super::builds::{Build, BuildStore, Finish, LogLine, NewBuild};
use crate::{PortResult, RepoName};

/// Wake-ups of one build, as they come; several close together may arrive as one. Ends only
/// if the adapter stops (the subscriber then falls back on polling).
pub type Wakeups = BoxStream<'static, ()>;

/// Publishes and delivers "build N has news".
#[async_trait]
pub trait LogWakeups: Send + Sync {
    /// Wakes every current subscriber of `build_id`, in this process or (distributed) any
    /// other. Best effort: an error is only worth a log line, the subscribers' poll catches up.
    async fn notify(&self, build_id: i64) -> PortResult<()>;

    /// Wake-ups of `build_id` notified from now on. Dropping the stream unsubscribes.
    async fn subscribe(&self, build_id: i64) -> PortResult<Wakeups>;
}

/// A build store that notifies after every change a live log shows: appended lines, start,
/// finish. Wraps whichever store is configured, so the builder, the web's cancel and tests all
/// wake the streams without knowing about them.
pub struct WakingBuildStore {
    inner: Arc<dyn BuildStore>,
    wakeups: Arc<dyn LogWakeups>,
}

impl WakingBuildStore {
    pub fn new(inner: Arc<dyn BuildStore>, wakeups: Arc<dyn LogWakeups>) -> Self {
        Self { inner, wakeups }
    }

    async fn wake(&self, id: i64) {
        // Best effort by contract: the streams' slow poll covers a lost wake-up.
        let _ = self.wakeups.notify(id).await;
    }
}

#[async_trait]
impl BuildStore for WakingBuildStore {
    async fn create(&self, build: NewBuild) -> PortResult<Build> {
        self.inner.create(build).await
    }

    async fn get(&self, id: i64) -> PortResult<Build> {
        self.inner.get(id).await
    }

    async fn list(&self, container: &RepoName, limit: usize) -> PortResult<Vec<Build>> {
        self.inner.list(container, limit).await
    }

    async fn live(&self) -> PortResult<Vec<Build>> {
        self.inner.live().await
    }

    async fn start(&self, id: i64, worker: &str, at: DateTime<Utc>) -> PortResult<Build> {
        let build = self.inner.start(id, worker, at).await?;
        self.wake(id).await;
        Ok(build)
    }

    async fn set_revision(&self, id: i64, revision: &str) -> PortResult<()> {
        self.inner.set_revision(id, revision).await
    }

    async fn set_args(
        &self,
        id: i64,
        args: &std::collections::BTreeMap<String, String>,
    ) -> PortResult<()> {
        self.inner.set_args(id, args).await
    }

    async fn set_dockerfile(
        &self,
        id: i64,
        dockerfile: &super::builds::BuiltDockerfile,
    ) -> PortResult<()> {
        self.inner.set_dockerfile(id, dockerfile).await
    }

    async fn dockerfile(&self, id: i64) -> PortResult<Option<super::builds::BuiltDockerfile>> {
        self.inner.dockerfile(id).await
    }

    async fn set_descriptor(
        &self,
        id: i64,
        descriptor: &super::builds::BuiltDescriptor,
    ) -> PortResult<()> {
        self.inner.set_descriptor(id, descriptor).await
    }

    async fn descriptor(&self, id: i64) -> PortResult<Option<super::builds::BuiltDescriptor>> {
        self.inner.descriptor(id).await
    }

    async fn finish(&self, id: i64, finish: Finish) -> PortResult<Build> {
        let build = self.inner.finish(id, finish).await?;
        self.wake(id).await;
        Ok(build)
    }

    async fn append_log(&self, id: i64, lines: &[String]) -> PortResult<u64> {
        let count = self.inner.append_log(id, lines).await?;
        if !lines.is_empty() {
            self.wake(id).await;
        }
        Ok(count)
    }

    async fn log(&self, id: i64, after: u64, limit: usize) -> PortResult<Vec<LogLine>> {
        self.inner.log(id, after, limit).await
    }

    async fn log_tail(&self, id: i64, upto: u64, max_bytes: usize) -> PortResult<Vec<LogLine>> {
        self.inner.log_tail(id, upto, max_bytes).await
    }

    async fn delete_for_container(&self, container: &RepoName) -> PortResult<u64> {
        self.inner.delete_for_container(container).await
    }
}
