//! Cloning a build's git source with libgit2, and locating the build context inside the
//! checkout.
//!
//! Everything here is blocking (libgit2 is): the worker runs it in `spawn_blocking`. The URL a
//! user gave may carry credentials (`https://user:token@host/...`); they are used for the fetch
//! but never appear in a log line or an error, which both end up in the build log that other
//! people can read.

mod changes;
mod fetch;
mod limits;
mod redact;

use std::io;
use std::path::{Component, Path, PathBuf};

use bioshadock_core::git::GitSource;
use git2::Repository;

pub use changes::{Changes, MAX_HISTORY_DEPTH, changed_since};
use fetch::{
    FETCHED_REF, FetchError, Plan, fetch, fetch_commit, fetch_error, list_remote, plan,
    report_received,
};
pub use limits::CheckoutLimits;
use redact::Secret;

/// Why a git source could not be cloned or used, in words meant for the build log.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The URL is not one builds may use (re-checked here: a local path would read the builder's
    /// own disk).
    #[error("{0}")]
    InvalidSource(String),
    /// The server could not be contacted, or refused to serve the repository.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server wants credentials that the URL does not carry (or rejected those it carries).
    #[error(
        "{url} asks for credentials: make the repository public, or put read-only credentials in the URL"
    )]
    AuthRequired { url: String },
    /// The repository has no branch at all.
    #[error("{url} is empty: it has no branch to build")]
    EmptyRepository { url: String },
    /// The requested branch, tag or commit does not exist on the server.
    #[error("the ref `{reference}` was not found in {url}")]
    RefNotFound { url: String, reference: String },
    /// An abbreviated commit id matches several objects.
    #[error("the commit id `{reference}` is ambiguous in {url}: give more of its characters")]
    AmbiguousRef { url: String, reference: String },
    /// The fetch or checkout failed after the server was reached.
    #[error("cloning {url} failed: {reason}")]
    Failed { url: String, reason: String },
    /// The commit holds more files than `builder.max_context_files`.
    #[error(
        "the repository has more than {max} files (builder.max_context_files): build from a smaller repository"
    )]
    TooManyFiles { max: u64 },
    /// The commit's files add up to more than `builder.max_context_mb`.
    #[error(
        "the repository's files add up to more than {max_mb} MiB (builder.max_context_mb): build from a smaller repository"
    )]
    TooLarge { max_mb: u64 },
    /// The server sent more than a fetch may receive (twice `builder.max_context_mb`).
    #[error(
        "the git server sent more than {max_mb} MiB (twice builder.max_context_mb): build from a smaller repository"
    )]
    FetchTooLarge { max_mb: u64 },
    /// `cancelled()` turned true while cloning.
    #[error("the clone was cancelled")]
    Cancelled,
    /// The requested sub-directory leaves the checkout (`..`, an absolute path, a symlink out).
    #[error("the sub-directory `{0}` points outside the repository")]
    SubdirOutside(String),
    /// The requested sub-directory does not exist in the checkout.
    #[error("the sub-directory `{0}` does not exist in the repository")]
    SubdirMissing(String),
    /// The requested sub-directory is a file.
    #[error("`{0}` is not a directory in the repository")]
    SubdirNotADirectory(String),
    /// The context directory has no `Dockerfile` (the string names the place, for the message).
    #[error("there is no Dockerfile {0}")]
    NoDockerfile(String),
    /// The builder's own disk failed (creating or reading the checkout directory).
    #[error("cannot use the checkout directory: {0}")]
    Local(#[source] io::Error),
}

/// Clones `source.url` into the empty (or not yet existing) directory `into` and checks out
/// `source.reference`: a branch, a tag, a full `refs/...` name, or a full or abbreviated commit
/// id; the remote's default branch when absent. Returns the full id of the commit checked out.
///
/// Branches and tags are fetched alone with depth 1, because a build only needs the tree; a
/// commit id that no branch or tag points at needs the history, so all branches and tags are
/// fetched in full and the id is looked up in them. A server that refuses a shallow fetch gets
/// a full one.
///
/// The commit's tree is checked against `limits` before anything is written (see
/// [`limits`]).
///
/// `log` receives a few human lines (not one per object); `cancelled` is polled during the
/// transfer, the tree check, the checkout's planning (once per file) and between steps, and
/// the clone stops with [`GitError::Cancelled`] once it returns true.
pub fn clone_source(
    source: &GitSource,
    into: &Path,
    limits: CheckoutLimits,
    log: &mut dyn FnMut(String),
    cancelled: &dyn Fn() -> bool,
) -> Result<String, GitError> {
    // Re-validate: this function is the one that touches the disk, so it does not rely on every
    // caller having parsed the source.
    GitSource::parse(&source.url).map_err(|e| GitError::InvalidSource(e.to_string()))?;
    let secret = Secret::new(&source.url);
    let url = secret.shown_url.clone();
    let reference = source.reference.as_deref().filter(|r| !r.is_empty());
    log(match reference {
        Some(r) => format!("Cloning {url} (ref {r})"),
        None => format!("Cloning {url} (default branch)"),
    });
    check_cancelled(cancelled)?;

    std::fs::create_dir_all(into).map_err(GitError::Local)?;
    let repo = Repository::init(into).map_err(|e| secret.failed(e))?;
    // An anonymous remote is not written to `.git/config`, so the credentials in the URL are
    // never stored on disk next to the checkout.
    let mut remote = repo
        .remote_anonymous(&source.url)
        .map_err(|e| secret.failed(e))?;

    let (heads, default_branch) = list_remote(&mut remote, &secret, cancelled)?;
    let plan = plan(reference, &heads, default_branch.as_deref(), &url)?;

    let commit_id = match plan {
        Plan::Ref(name) => {
            let refspec = format!("+{name}:{FETCHED_REF}");
            let max_bytes = limits.max_fetch_bytes();
            match fetch(
                &mut remote,
                &[refspec.as_str()],
                1,
                max_bytes,
                log,
                cancelled,
            ) {
                Ok(()) => {}
                Err(e @ FetchError::TooLarge { .. }) => {
                    return Err(fetch_error(e, &secret, cancelled));
                }
                Err(e) if e.is_auth() => return Err(fetch_error(e, &secret, cancelled)),
                Err(e) => {
                    check_cancelled(cancelled)?;
                    log(format!(
                        "The server refused a shallow fetch ({}); fetching the full history",
                        secret.scrub(&e.message())
                    ));
                    fetch(
                        &mut remote,
                        &[refspec.as_str()],
                        0,
                        max_bytes,
                        log,
                        cancelled,
                    )
                    .map_err(|e| fetch_error(e, &secret, cancelled))?;
                }
            }
            report_received(&remote, log);
            repo.find_reference(FETCHED_REF)
                .and_then(|r| r.peel_to_commit())
                .map_err(|e| secret.failed(e))?
                .id()
        }
        Plan::Commit(id) => fetch_commit(
            &repo,
            &mut remote,
            &id,
            limits.max_fetch_bytes(),
            &secret,
            log,
            cancelled,
        )?,
    };

    check_cancelled(cancelled)?;
    let commit = repo.find_commit(commit_id).map_err(|e| secret.failed(e))?;
    let tree = commit.tree().map_err(|e| secret.failed(e))?;
    limits::check_tree(&repo, &tree, limits, &secret, cancelled)?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.force();
    // libgit2 asks before writing each file; `false` aborts the checkout. (Its progress
    // callback cannot abort, but the tree check above bounds the work that follows.)
    checkout
        .notify_on(git2::CheckoutNotificationType::UPDATED)
        .notify(|_, _, _, _, _| !cancelled());
    repo.checkout_tree(tree.as_object(), Some(&mut checkout))
        .and_then(|()| repo.set_head_detached(commit_id))
        .map_err(|e| {
            if cancelled() {
                GitError::Cancelled
            } else {
                secret.failed(e)
            }
        })?;
    // An abort from the notify callback comes back as success (libgit2 returns the
    // callback's positive value, which git2 does not count as an error): ask again.
    check_cancelled(cancelled)?;
    let summary = commit
        .summary()
        .ok()
        .flatten()
        .unwrap_or_default()
        .trim()
        .to_owned();
    log(format!("Checked out {commit_id} ({summary})"));
    Ok(commit_id.to_string())
}

/// When the commit checked out in `checkout` was made (its committer time), if it can be read.
pub fn commit_time(checkout: &Path) -> Option<chrono::DateTime<chrono::Utc>> {
    let repo = Repository::open(checkout).ok()?;
    let commit = repo.head().ok()?.peel_to_commit().ok()?;
    chrono::DateTime::from_timestamp(commit.time().seconds(), 0)
}

/// The build context directory: `checkout` itself or its `subdir`. It must exist, be a
/// directory, stay inside the checkout once symlinks are followed (a `sub -> /etc` link or a
/// `..` is refused), not be inside `.git`, and hold a `Dockerfile`.
pub fn context_dir(checkout: &Path, subdir: Option<&str>) -> Result<PathBuf, GitError> {
    let root = checkout.canonicalize().map_err(GitError::Local)?;
    let subdir = subdir
        .map(|s| s.trim_end_matches('/'))
        .filter(|s| !s.is_empty());
    let dir = match subdir {
        None => root.clone(),
        Some(sub) => {
            let relative = Path::new(sub);
            let escapes = relative.components().any(|c| match c {
                Component::Normal(part) => part == ".git",
                Component::CurDir => false,
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => true,
            });
            if escapes {
                return Err(GitError::SubdirOutside(sub.to_owned()));
            }
            let dir = match root.join(relative).canonicalize() {
                Ok(dir) => dir,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(GitError::SubdirMissing(sub.to_owned()));
                }
                Err(e) => return Err(GitError::Local(e)),
            };
            // Canonical paths on both sides: a symlink anywhere along the way has been
            // followed, so this compares where the files really are.
            let inside = dir.strip_prefix(&root).ok();
            if inside.is_none_or(|rest| rest.components().any(|c| c.as_os_str() == ".git")) {
                return Err(GitError::SubdirOutside(sub.to_owned()));
            }
            if !dir.is_dir() {
                return Err(GitError::SubdirNotADirectory(sub.to_owned()));
            }
            dir
        }
    };
    let place = match subdir {
        Some(sub) => format!("in the sub-directory `{sub}`"),
        None => "at the root of the repository".to_owned(),
    };
    match dir.join("Dockerfile").canonicalize() {
        Ok(file) if file.starts_with(&root) && file.is_file() => Ok(dir),
        Ok(file) if !file.starts_with(&root) => Err(GitError::NoDockerfile(format!(
            "{place} (it is a link to outside the repository)"
        ))),
        _ => Err(GitError::NoDockerfile(place)),
    }
}

fn check_cancelled(cancelled: &dyn Fn() -> bool) -> Result<(), GitError> {
    if cancelled() {
        Err(GitError::Cancelled)
    } else {
        Ok(())
    }
}
