//! How builds are stored: the source's two columns and the row a read decodes.

use bioshadock_core::ports::builds::{Build, BuildSource, BuildStatus};
use bioshadock_core::{PortResult, RepoName, TagName};

use crate::sqlite::{corrupt, from_millis};

/// `source_kind` and `source` of a build source.
pub(super) fn source_columns(source: &BuildSource) -> (&'static str, &str) {
    match source {
        BuildSource::Git(git) => ("git", git),
        BuildSource::Dockerfile(text) => ("dockerfile", text),
    }
}

/// One row of `builds`, in the order of `columns!()`.
#[derive(sqlx::FromRow)]
pub(super) struct BuildRow {
    id: i64,
    container: String,
    tag: String,
    requested_by: String,
    source_kind: String,
    source: String,
    status: String,
    reason: Option<String>,
    revision: Option<String>,
    digest: Option<String>,
    worker: Option<String>,
    queued_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    log_lines: i64,
    options: String,
}

impl BuildRow {
    pub(super) fn into_build(self) -> PortResult<Build> {
        let id = self.id;
        let source = match self.source_kind.as_str() {
            "git" => BuildSource::Git(self.source),
            "dockerfile" => BuildSource::Dockerfile(self.source),
            other => return Err(corrupt(format!("build {id} source kind {other}"))),
        };
        let options = serde_json::from_str(&self.options)
            .map_err(|e| corrupt(format!("build {id} options: {e}")))?;
        Ok(Build {
            id,
            options,
            container: RepoName::parse(&self.container)
                .map_err(|e| corrupt(format!("build {id} container: {e}")))?,
            tag: TagName::parse(&self.tag).map_err(|e| corrupt(format!("build {id} tag: {e}")))?,
            requested_by: self.requested_by,
            source,
            status: BuildStatus::parse(&self.status)
                .ok_or_else(|| corrupt(format!("build {id} status {}", self.status)))?,
            reason: self.reason,
            revision: self.revision,
            digest: self.digest,
            worker: self.worker,
            queued_at: from_millis(self.queued_at)?,
            started_at: self.started_at.map(from_millis).transpose()?,
            finished_at: self.finished_at.map(from_millis).transpose()?,
            log_lines: self.log_lines.max(0) as u64,
        })
    }
}
