//! How builds are stored: the source's two columns, the row a read decodes, and the cap on a
//! stored log line.

use bioshadock_core::ports::builds::{Build, BuildSource, BuildStatus};
use bioshadock_core::{PortResult, RepoName, TagName};

use crate::sqlite::{corrupt, from_millis};

/// The longest log line stored, in bytes, ellipsis included. A build step can print a
/// megabyte on one line (a minified file, a progress bar without newlines); the log page only
/// needs its start.
pub(super) const MAX_LINE_BYTES: usize = 8 * 1024;
const ELLIPSIS: &str = "…";

/// `source_kind` and `source` of a build source.
pub(super) fn source_columns(source: &BuildSource) -> (&'static str, &str) {
    match source {
        BuildSource::Git(git) => ("git", git),
        BuildSource::Dockerfile(text) => ("dockerfile", text),
    }
}

/// A line as stored: whole if it fits in [`MAX_LINE_BYTES`], otherwise cut at the last char
/// boundary that leaves room for "…", then "…".
pub(super) fn capped(line: &str) -> std::borrow::Cow<'_, str> {
    if line.len() <= MAX_LINE_BYTES {
        return line.into();
    }
    let mut end = MAX_LINE_BYTES - ELLIPSIS.len();
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS}", &line[..end]).into()
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
}

impl BuildRow {
    pub(super) fn into_build(self) -> PortResult<Build> {
        let id = self.id;
        let source = match self.source_kind.as_str() {
            "git" => BuildSource::Git(self.source),
            "dockerfile" => BuildSource::Dockerfile(self.source),
            other => return Err(corrupt(format!("build {id} source kind {other}"))),
        };
        Ok(Build {
            id,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_kept_whole() {
        assert_eq!(capped(""), "");
        let full = "x".repeat(MAX_LINE_BYTES);
        assert_eq!(capped(&full), full, "a line of exactly the cap is kept");
    }

    #[test]
    fn long_lines_are_cut_at_a_char_boundary() {
        let ascii = "x".repeat(MAX_LINE_BYTES + 1);
        let cut = capped(&ascii);
        assert_eq!(cut.len(), MAX_LINE_BYTES);
        assert!(cut.ends_with(ELLIPSIS));
        assert!(ascii.starts_with(cut.trim_end_matches(ELLIPSIS)));

        // 4-byte chars: the cut never splits one, and the result stays within the cap.
        for pad in 0..4 {
            let line = format!("{}{}", "a".repeat(pad), "🦀".repeat(MAX_LINE_BYTES));
            let cut = capped(&line);
            assert!(cut.len() <= MAX_LINE_BYTES && cut.len() > MAX_LINE_BYTES - 8);
            assert!(cut.ends_with(ELLIPSIS));
            assert!(line.starts_with(cut.strip_suffix(ELLIPSIS).unwrap()));
        }
    }
}
