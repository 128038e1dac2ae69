//! A trigger's path filter, applied by the builder: when the git server's payload did not list
//! the changed files, the build carries the commit its tag was last built from, and is skipped
//! if no file changed since then matches the trigger's paths.

use std::path::Path;
use std::sync::atomic::Ordering;

use bioshadock_core::git::GitSource;
use bioshadock_core::ports::builds::Build;
use bioshadock_core::triggers::rules::any_path_matches;

use super::{Failure, Pipeline, say};
use crate::git::{self, Changes, GitError};
use crate::log_sink::LogSender;

/// Changed files named in a skipped build's reason, at most.
const NAMED_IN_REASON: usize = 5;
/// Characters of one file name in the reason, at most (the repository's author chose them).
const NAME_CHARS: usize = 120;
/// Characters of the whole reason, at most.
const REASON_CHARS: usize = 1000;

/// `text` without control characters (git allows a newline in a file name), cut to `max`.
fn printable(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

impl Pipeline {
    /// Why the build is not needed, if it is not: it asked to be built only if a file matching
    /// its paths changed since an earlier commit, and none did. Whatever cannot be told (the
    /// earlier commit is out of reach, the comparison failed) builds.
    pub(super) async fn unchanged(
        &self,
        build: &Build,
        source: &GitSource,
        checkout: &Path,
        log: &LogSender,
    ) -> Result<Option<String>, Failure> {
        let Some(filter) = build.options.only_if_changed.clone() else {
            return Ok(None);
        };
        let since = filter.since.clone();
        let stop = self.stop.clone();
        let lines = log.clone();
        let limits = self.checkout_limits();
        let (source, checkout) = (source.clone(), checkout.to_owned());
        let compared = self
            .blocking
            .spawn_blocking(move || {
                let mut forward = |line: String| {
                    let _ = lines.blocking_send(line);
                };
                let cancelled = || stop.load(Ordering::Relaxed);
                git::changed_since(&source, &checkout, &since, limits, &mut forward, &cancelled)
            })
            .await
            .map_err(|e| Failure(format!("the comparison stopped unexpectedly: {e}")))?;
        let short = bioshadock_core::git::short_commit(&filter.since);
        let changed = match compared {
            Ok(Changes::Known(changed)) => changed,
            Ok(Changes::Unknown(why)) => {
                say(
                    log,
                    format!("cannot tell what changed since {short} ({why}): building"),
                )
                .await;
                return Ok(None);
            }
            Err(GitError::Cancelled) => return Err(GitError::Cancelled.into()),
            Err(e) => {
                say(log, format!("cannot compare with {short} ({e}): building")).await;
                return Ok(None);
            }
        };
        if any_path_matches(&filter.paths, &changed) {
            say(
                log,
                format!(
                    "{} file(s) changed since {short}, some of them under the trigger's paths: building",
                    changed.len()
                ),
            )
            .await;
            return Ok(None);
        }
        let why = if changed.is_empty() {
            format!(
                "nothing changed since {short}, which {} was last built from",
                build.tag
            )
        } else {
            let named: Vec<String> = changed
                .iter()
                .take(NAMED_IN_REASON)
                .map(|name| printable(name, NAME_CHARS))
                .collect();
            let more = changed.len().saturating_sub(NAMED_IN_REASON);
            format!(
                "no file changed since {short}, which {} was last built from, matches the \
                 trigger's paths ({}): changed {}{}",
                build.tag,
                filter.paths.join(", "),
                named.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        };
        Ok(Some(printable(&why, REASON_CHARS)))
    }
}
