//! Which files changed between an earlier commit and the one checked out: what a push trigger's
//! path filter needs when the git server's payload did not list them.
//!
//! The checkout holds the pushed commit alone (a depth-1 fetch), so the earlier commit must be
//! fetched too. Servers that serve any commit by id (GitHub, GitLab, Gitea, git with
//! `uploadpack.allowReachableSHA1InWant`) send it alone; the others (a plain `git daemon`)
//! answer "not our ref", and then the pushed branch's history is deepened, at most
//! [`MAX_HISTORY_DEPTH`] commits, until it holds the earlier commit. Whatever cannot be told
//! within those bounds is [`Changes::Unknown`], and the caller builds: one build too many is
//! better than a change never built.

use std::collections::BTreeSet;
use std::path::Path;

use bioshadock_core::git::{GitSource, short_commit};
use bioshadock_core::triggers::{MAX_CHANGED_PATHS, is_commit_id};
use git2::{Oid, Repository};

use super::fetch::{fetch, list_remote};
use super::redact::Secret;
use super::{CheckoutLimits, GitError, check_cancelled};

/// Commits of the pushed branch fetched, at most, when looking for the earlier commit in its
/// history: a push rarely holds more, and a stranger's repository cannot make the builder
/// fetch an unbounded history for a comparison.
pub const MAX_HISTORY_DEPTH: i32 = 200;

/// Where the earlier commit lands when it is fetched alone.
const SINCE_REF: &str = "refs/bioshadock/since";
/// Where the pushed branch's deepened history lands otherwise.
const HISTORY_REF: &str = "refs/bioshadock/history";

/// What changed since the earlier commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// The paths added, modified, deleted or renamed (both names), relative to the root.
    Known(BTreeSet<String>),
    /// Why it cannot be told (the earlier commit is out of reach, too many files changed).
    Unknown(String),
}

/// The files that differ between commit `since` and the commit checked out in `checkout`
/// (which [`super::clone_source`] made from `source`).
///
/// Blocking, like the clone: `log` gets a line or two, `cancelled` is polled during fetches,
/// and no fetch receives more than `limits` allow ([`CheckoutLimits::max_fetch_bytes`]).
pub fn changed_since(
    source: &GitSource,
    checkout: &Path,
    since: &str,
    limits: CheckoutLimits,
    log: &mut dyn FnMut(String),
    cancelled: &dyn Fn() -> bool,
) -> Result<Changes, GitError> {
    let secret = Secret::new(&source.url);
    if !is_commit_id(since) {
        return Ok(Changes::Unknown(format!("`{since}` is not a commit id")));
    }
    let since_id = Oid::from_str(since).map_err(|e| secret.failed(e))?;
    let repo = Repository::open(checkout).map_err(|e| secret.failed(e))?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|e| secret.failed(e))?;
    if head.id() == since_id {
        return Ok(Changes::Known(BTreeSet::new()));
    }
    if repo.find_commit(since_id).is_err() {
        log(format!(
            "Fetching {since} to compare the pushed commit with it"
        ));
        let max_bytes = limits.max_fetch_bytes();
        let wanted = (since_id, head.id());
        fetch_since(&repo, source, &secret, wanted, max_bytes, log, cancelled)?;
    }
    check_cancelled(cancelled)?;
    let Ok(earlier) = repo.find_commit(since_id) else {
        return Ok(Changes::Unknown(format!(
            "{} is neither served alone by the git server nor among the last \
             {MAX_HISTORY_DEPTH} commits of the pushed branch",
            short_commit(since)
        )));
    };
    let old_tree = earlier.tree().map_err(|e| secret.failed(e))?;
    let new_tree = head.tree().map_err(|e| secret.failed(e))?;
    let diff = repo
        .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), None)
        .map_err(|e| secret.failed(e))?;
    if diff.deltas().len() > MAX_CHANGED_PATHS {
        return Ok(Changes::Unknown(format!(
            "more than {MAX_CHANGED_PATHS} files changed"
        )));
    }
    let mut changed = BTreeSet::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            // Paths git cannot give as UTF-8 cannot match a pattern either: they are skipped.
            if let Some(path) = file.path().and_then(Path::to_str) {
                changed.insert(path.to_owned());
            }
        }
    }
    Ok(Changes::Known(changed))
}

/// Brings commit `since` into `repo`: alone if the server serves it by id, else by deepening
/// the history of the branches whose tip is `head`. Leaves it absent when neither reaches it.
fn fetch_since(
    repo: &Repository,
    source: &GitSource,
    secret: &Secret,
    (since, head): (Oid, Oid),
    max_bytes: u64,
    log: &mut dyn FnMut(String),
    cancelled: &dyn Fn() -> bool,
) -> Result<(), GitError> {
    // An anonymous remote, as for the clone: the URL's credentials never reach `.git/config`.
    let mut remote = repo
        .remote_anonymous(&source.url)
        .map_err(|e| secret.failed(e))?;
    let alone = format!("+{since}:{SINCE_REF}");
    if fetch(&mut remote, &[alone.as_str()], 1, max_bytes, log, cancelled).is_ok() {
        return Ok(());
    }
    check_cancelled(cancelled)?;
    let (heads, _) = list_remote(&mut remote, secret, cancelled)?;
    let Some((branch, _)) = heads
        .iter()
        .find(|(name, id)| *id == head && name.starts_with("refs/heads/"))
    else {
        log("The pushed commit is no longer a branch's tip: its history is not fetched".to_owned());
        return Ok(());
    };
    let refspec = format!("+{branch}:{HISTORY_REF}");
    log(format!(
        "The server does not serve {} alone; fetching up to {MAX_HISTORY_DEPTH} commits of history",
        short_commit(&since.to_string())
    ));
    match fetch(
        &mut remote,
        &[refspec.as_str()],
        MAX_HISTORY_DEPTH,
        max_bytes,
        log,
        cancelled,
    ) {
        Ok(()) => Ok(()),
        Err(_) if cancelled() => Err(GitError::Cancelled),
        // Not being able to compare is not a failed build: the caller builds.
        Err(e) => {
            log(format!(
                "Fetching the history failed: {}",
                secret.scrub(&e.message())
            ));
            Ok(())
        }
    }
}
