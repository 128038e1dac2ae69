//! The build-record port: every build's state, timings, outcome and log.
//!
//! A build's id is the id of the queue job that carries it (the web enqueues first, then
//! records the build under the job's id), so a deduplicated enqueue leads straight to the
//! existing build. State changes are guarded: each names the states it may start from and
//! answers `Conflict` otherwise, so a cancel and a worker finishing at the same moment cannot
//! both win.

use async_trait::async_trait;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::{PortResult, RepoName, TagName};

/// The queue's job kind for builds: the portal enqueues them, builders lease them.
pub const BUILD_JOB: &str = "build";

/// Where a build stands. `Queued` and `Running` are live; the rest are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildStatus {
    Queued,
    Running,
    Success,
    Failed,
    Cancelled,
    /// Its worker died or was shut down while it ran.
    Interrupted,
    /// Not built: a trigger's path filter matched no file changed since the last build (the
    /// builder found out by comparing the commits; its reason says which).
    Skipped,
}

impl BuildStatus {
    pub const ALL: [BuildStatus; 7] = [
        Self::Queued,
        Self::Running,
        Self::Success,
        Self::Failed,
        Self::Cancelled,
        Self::Interrupted,
        Self::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the build has ended (nothing will change it again).
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// What a build builds from, fixed when it is queued (later edits of the container do not
/// change a queued build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildSource {
    /// A git source as the user wrote it: `URL`, `URL#ref` or `URL#ref:subdir` (validated).
    Git(String),
    /// A Dockerfile pasted in the portal; the build context holds only it.
    Dockerfile(String),
}

/// How a build is made beyond its source, fixed when it is queued.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildOptions {
    /// Build arguments (`ARG` values), as queued: `{tag}` is already substituted, `{sha}` is
    /// too when the commit was known; the builder records them again resolved
    /// ([`BuildStore::set_args`]) once it has cloned.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// Build from scratch: reuse no layer of an earlier build.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
    /// Build only when a file matching these paths changed since an earlier commit; the
    /// builder compares the two (a push trigger's path filter, when the payload did not list
    /// the changed files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if_changed: Option<ChangeFilter>,
}

/// "Only if a file matching `paths` changed since commit `since`" (see
/// [`BuildOptions::only_if_changed`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeFilter {
    /// The commit the tag was last built from (full hex id).
    pub since: String,
    /// The trigger's path patterns (`core::triggers::rules`).
    pub paths: Vec<String>,
}

impl BuildOptions {
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// A build to record, under the id of the job that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBuild {
    pub id: i64,
    pub container: RepoName,
    pub tag: TagName,
    /// The user who asked for it.
    pub requested_by: String,
    pub source: BuildSource,
    pub options: BuildOptions,
    pub queued_at: DateTime<Utc>,
}

/// A recorded build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub id: i64,
    pub container: RepoName,
    pub tag: TagName,
    pub requested_by: String,
    pub source: BuildSource,
    pub options: BuildOptions,
    pub status: BuildStatus,
    /// Why it failed, was cancelled or interrupted, in a sentence for the top of the page.
    pub reason: Option<String>,
    /// The git commit built, once cloned.
    pub revision: Option<String>,
    /// The pushed manifest's digest, on success.
    pub digest: Option<String>,
    /// The worker running it (or that last ran it).
    pub worker: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// How many log lines are stored.
    pub log_lines: u64,
}

impl Build {
    /// Seconds from start to end (or to `now` while running).
    pub fn duration_secs(&self, now: DateTime<Utc>) -> Option<f64> {
        let started = self.started_at?;
        let ended = self.finished_at.unwrap_or(now);
        Some((ended - started).num_milliseconds().max(0) as f64 / 1000.0)
    }
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// A final status.
    pub status: BuildStatus,
    pub reason: Option<String>,
    pub digest: Option<String>,
    pub at: DateTime<Utc>,
}

/// One stored log line; `seq` counts from 1 in the order lines were appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub seq: u64,
    pub text: String,
}

/// Longest log line a store keeps, in bytes, mark included: a build step can print a megabyte on
/// one line (a minified file, a progress bar without newlines); the log page only needs its start.
pub const MAX_LOG_LINE_BYTES: usize = 8 * 1024;
/// What ends a cut line.
pub const CUT_MARK: &str = "…";

/// Lines read per step when [`BuildStore::log_tail`] walks back from the end of a log: with
/// lines of at most [`MAX_LOG_LINE_BYTES`], one step holds at most 1 MiB whatever the budget.
const TAIL_STEP: u64 = 128;

/// A log line as every store keeps it: whole if it fits in [`MAX_LOG_LINE_BYTES`], otherwise
/// cut at the last char boundary that leaves room for [`CUT_MARK`], then the mark.
pub fn stored_line(line: &str) -> std::borrow::Cow<'_, str> {
    if line.len() <= MAX_LOG_LINE_BYTES {
        return line.into();
    }
    let mut end = MAX_LOG_LINE_BYTES - CUT_MARK.len();
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT_MARK}", &line[..end]).into()
}

/// The longest Dockerfile a build records (a larger one is built, and recorded cut here).
pub const MAX_RECORDED_DOCKERFILE: usize = 256 * 1024;

/// The Dockerfile a build built, as its source held it (before base images were pinned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltDockerfile {
    /// Its path in the source (`Dockerfile`, `tools/samtools/Dockerfile`).
    pub path: String,
    pub text: String,
}

/// The workflow descriptor a build fetched with its source (the container's `descriptor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltDescriptor {
    /// Its TRS type name (`CWL`, `WDL`, …).
    pub kind: String,
    /// Its path in the source, or the URL it was fetched from.
    pub origin: String,
    pub text: String,
}

/// Build records and their logs.
#[async_trait]
pub trait BuildStore: Send + Sync {
    /// Records a queued build. `Conflict` if the id is taken.
    async fn create(&self, build: NewBuild) -> PortResult<Build>;

    /// One build. `NotFound` if absent.
    async fn get(&self, id: i64) -> PortResult<Build>;

    /// The builds of a container, newest first, at most `limit`.
    async fn list(&self, container: &RepoName, limit: usize) -> PortResult<Vec<Build>>;

    /// Builds in a live state (`Queued` or `Running`), oldest first: for start-up recovery
    /// and the admin page.
    async fn live(&self) -> PortResult<Vec<Build>>;

    /// Queued → running on `worker`. `Conflict` if it is not queued (e.g. cancelled).
    async fn start(&self, id: i64, worker: &str, at: DateTime<Utc>) -> PortResult<Build>;

    /// Records the commit being built (while running).
    async fn set_revision(&self, id: i64, revision: &str) -> PortResult<()>;

    /// Records the build arguments as the builder resolved them (while running; again
    /// replaces them). `Conflict` if the build is not running, `NotFound` if absent.
    async fn set_args(&self, id: i64, args: &BTreeMap<String, String>) -> PortResult<()>;

    /// Records the Dockerfile being built (while running; again replaces it). `Conflict` if
    /// the build is not running, `NotFound` if absent.
    async fn set_dockerfile(&self, id: i64, dockerfile: &BuiltDockerfile) -> PortResult<()>;

    /// The Dockerfile the build recorded, if it recorded one. `NotFound` if the build is
    /// absent. Deleted with the build.
    async fn dockerfile(&self, id: i64) -> PortResult<Option<BuiltDockerfile>>;

    /// Records the workflow descriptor this running build fetched, replacing an earlier one.
    /// `NotFound` if absent, `Conflict` unless running.
    async fn set_descriptor(&self, id: i64, descriptor: &BuiltDescriptor) -> PortResult<()>;

    /// The descriptor the build recorded, if any. `NotFound` if the build is absent.
    async fn descriptor(&self, id: i64) -> PortResult<Option<BuiltDescriptor>>;

    /// Queued or running → a final status. `Conflict` if it had already ended, `NotFound`
    /// if absent. `finish.status` must be final.
    async fn finish(&self, id: i64, finish: Finish) -> PortResult<Build>;

    /// Appends lines to the build's log, in order, and returns the new line count.
    /// `NotFound` if the build is absent.
    async fn append_log(&self, id: i64, lines: &[String]) -> PortResult<u64>;

    /// Log lines with `seq > after`, in order, at most `limit`.
    async fn log(&self, id: i64, after: u64, limit: usize) -> PortResult<Vec<LogLine>>;

    /// The end of a log: the last lines with `seq <= upto`, in order, as many as fit in
    /// `max_bytes` counting each line's text and a newline. `upto` is normally the build's
    /// [`Build::log_lines`], so the tail matches the record it is shown with; an absent build
    /// has an empty tail.
    ///
    /// Walks back from `upto` in small steps of [`BuildStore::log`] (seqs count 1, 2, 3… with
    /// no gaps), so it never holds much more than `max_bytes` however long the log is; both
    /// stores read a step as one range of their `(build, seq)` index.
    async fn log_tail(&self, id: i64, upto: u64, max_bytes: usize) -> PortResult<Vec<LogLine>> {
        let mut newest_first = Vec::new();
        let mut used = 0;
        let mut end = upto;
        'steps: while end > 0 {
            let start = end.saturating_sub(TAIL_STEP);
            let step = self.log(id, start, (end - start) as usize).await?;
            if step.is_empty() {
                break;
            }
            for line in step.into_iter().rev() {
                used += line.text.len() + 1;
                if used > max_bytes {
                    break 'steps;
                }
                newest_first.push(line);
            }
            end = start;
        }
        newest_first.reverse();
        Ok(newest_first)
    }

    /// Deletes every build (and log) of a container, when the container is deleted, so a
    /// later container of the same name does not inherit them. Returns how many.
    async fn delete_for_container(&self, container: &RepoName) -> PortResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_kept_whole() {
        assert_eq!(stored_line(""), "");
        let full = "x".repeat(MAX_LOG_LINE_BYTES);
        assert_eq!(
            stored_line(&full),
            full,
            "a line of exactly the cap is kept"
        );
    }

    #[test]
    fn long_lines_are_cut_at_a_char_boundary() {
        let ascii = "x".repeat(MAX_LOG_LINE_BYTES + 1);
        let cut = stored_line(&ascii);
        assert_eq!(cut.len(), MAX_LOG_LINE_BYTES);
        assert!(cut.ends_with(CUT_MARK));
        assert!(ascii.starts_with(cut.trim_end_matches(CUT_MARK)));

        // 4-byte chars: the cut never splits one, and the result stays within the cap.
        for pad in 0..4 {
            let line = format!("{}{}", "a".repeat(pad), "🦀".repeat(MAX_LOG_LINE_BYTES));
            let cut = stored_line(&line);
            assert!(cut.len() <= MAX_LOG_LINE_BYTES && cut.len() > MAX_LOG_LINE_BYTES - 8);
            assert!(cut.ends_with(CUT_MARK));
            assert!(line.starts_with(cut.strip_suffix(CUT_MARK).unwrap()));
        }
    }
}
