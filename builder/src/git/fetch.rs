//! Talking to the git server: listing its refs, deciding what to fetch, fetching it.

use std::cell::Cell;
use std::time::{Duration, Instant};

use git2::{AutotagOption, Direction, ErrorCode, FetchOptions, Oid, RemoteCallbacks, Repository};

use super::redact::Secret;
use super::{GitError, check_cancelled};

/// How often a long transfer reports its progress: often enough to show that it is alive,
/// rarely enough that a large repository does not flood the build log.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// The local ref every targeted fetch lands in; one fixed name keeps the peel step uniform for
/// branches, tags and other refs.
pub(super) const FETCHED_REF: &str = "refs/bioshadock/fetched";

/// What to fetch once the server's refs are known.
pub(super) enum Plan {
    /// An advertised ref (`refs/heads/main`, `refs/tags/v1`): fetched alone and shallow.
    Ref(String),
    /// A commit id (full or abbreviated) that no advertised ref points at.
    Commit(String),
}

/// `git ls-remote`: the advertised refs (name, id) and the default branch.
type RemoteRefs = (Vec<(String, Oid)>, Option<String>);

pub(super) fn list_remote(
    remote: &mut git2::Remote<'_>,
    secret: &Secret,
    cancelled: &dyn Fn() -> bool,
) -> Result<RemoteRefs, GitError> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.sideband_progress(|_| !cancelled());
    let connection = remote
        .connect_auth(Direction::Fetch, Some(callbacks), None)
        .map_err(|e| {
            if cancelled() {
                GitError::Cancelled
            } else {
                secret.classify(e)
            }
        })?;
    let heads = connection
        .list()
        .map_err(|e| secret.classify(e))?
        .iter()
        .map(|head| (head.name().to_owned(), head.oid()))
        .collect();
    let default_branch = connection
        .default_branch()
        .ok()
        .and_then(|b| b.as_str().ok().map(str::to_owned));
    drop(connection);
    check_cancelled(cancelled)?;
    Ok((heads, default_branch))
}

/// Decides what to fetch from the advertised refs: branch first, then tag (as `git clone
/// --branch` does), then a commit id.
pub(super) fn plan(
    reference: Option<&str>,
    heads: &[(String, Oid)],
    default_branch: Option<&str>,
    url: &str,
) -> Result<Plan, GitError> {
    let advertised = |name: &str| heads.iter().any(|(n, _)| n == name);
    let Some(reference) = reference else {
        if let Some(branch) = default_branch.filter(|b| advertised(b)) {
            return Ok(Plan::Ref(branch.to_owned()));
        }
        // No symref information: the branch whose tip is HEAD's commit.
        let head = heads.iter().find(|(n, _)| n == "HEAD").map(|(_, id)| *id);
        return heads
            .iter()
            .find(|(n, id)| n.starts_with("refs/heads/") && Some(*id) == head)
            .or_else(|| heads.iter().find(|(n, _)| n.starts_with("refs/heads/")))
            .map(|(n, _)| Plan::Ref(n.clone()))
            .ok_or_else(|| GitError::EmptyRepository {
                url: url.to_owned(),
            });
    };
    let candidates = if reference.starts_with("refs/") {
        vec![reference.to_owned()]
    } else {
        vec![
            format!("refs/heads/{reference}"),
            format!("refs/tags/{reference}"),
        ]
    };
    if let Some(name) = candidates.into_iter().find(|c| advertised(c)) {
        return Ok(Plan::Ref(name));
    }
    let is_commit_id =
        (4..=64).contains(&reference.len()) && reference.chars().all(|c| c.is_ascii_hexdigit());
    if !is_commit_id {
        return Err(GitError::RefNotFound {
            url: url.to_owned(),
            reference: reference.to_owned(),
        });
    }
    let wanted = reference.to_ascii_lowercase();
    // A commit at the tip of a branch or tag (peeled `^{}` entries included) can still be
    // fetched alone and shallow.
    let tip = heads
        .iter()
        .filter(|(n, _)| n.starts_with("refs/heads/") || n.starts_with("refs/tags/"))
        .find(|(_, id)| id.to_string().starts_with(&wanted));
    Ok(match tip {
        Some((name, _)) => Plan::Ref(name.trim_end_matches("^{}").to_owned()),
        None => Plan::Commit(wanted),
    })
}

/// Fetches a commit that is not at the tip of any advertised ref.
pub(super) fn fetch_commit(
    repo: &Repository,
    remote: &mut git2::Remote<'_>,
    id: &str,
    max_bytes: u64,
    secret: &Secret,
    log: &mut dyn FnMut(String),
    cancelled: &dyn Fn() -> bool,
) -> Result<Oid, GitError> {
    if let Some(oid) = Oid::from_str(id).ok().filter(|_| id.len() >= 40) {
        // Some servers (GitHub, git with uploadpack.allowAnySHA1InWant) serve a single commit;
        // most classic ones answer "not our ref", hence the fallback below.
        let refspec = format!("+{oid}:{FETCHED_REF}");
        if fetch(remote, &[refspec.as_str()], 1, max_bytes, log, cancelled).is_ok() {
            report_received(remote, log);
            return Ok(oid);
        }
        check_cancelled(cancelled)?;
    }
    log(format!(
        "Commit {id} is not at the tip of a branch or tag; fetching the full history"
    ));
    let refspecs = [
        "+refs/heads/*:refs/bioshadock/heads/*",
        "+refs/tags/*:refs/bioshadock/tags/*",
    ];
    fetch(remote, &refspecs, 0, max_bytes, log, cancelled)
        .map_err(|e| fetch_error(e, secret, cancelled))?;
    report_received(remote, log);
    let not_found = || GitError::RefNotFound {
        url: secret.shown_url.clone(),
        reference: id.to_owned(),
    };
    match repo.revparse_single(id) {
        Ok(object) => object
            .peel_to_commit()
            .map(|c| c.id())
            .map_err(|_| not_found()),
        Err(e) if e.code() == ErrorCode::Ambiguous => Err(GitError::AmbiguousRef {
            url: secret.shown_url.clone(),
            reference: id.to_owned(),
        }),
        Err(_) => Err(not_found()),
    }
}

pub(super) fn fetch_error(
    e: FetchError,
    secret: &Secret,
    cancelled: &dyn Fn() -> bool,
) -> GitError {
    match e {
        _ if cancelled() => GitError::Cancelled,
        FetchError::TooLarge { max_bytes } => GitError::FetchTooLarge {
            max_mb: max_bytes >> 20,
        },
        FetchError::Git(e) if e.code() == ErrorCode::Auth => secret.classify(e),
        FetchError::Git(e) => secret.failed(e),
    }
}

/// Why a fetch did not complete.
#[derive(Debug)]
pub(super) enum FetchError {
    /// The server sent more than the fetch may receive; the transfer was aborted.
    TooLarge {
        max_bytes: u64,
    },
    Git(git2::Error),
}

impl FetchError {
    /// Whether the server asked for credentials (or refused those given).
    pub(super) fn is_auth(&self) -> bool {
        matches!(self, Self::Git(e) if e.code() == ErrorCode::Auth)
    }

    /// The error's message, for the build log (scrub it first: it may quote the URL).
    pub(super) fn message(&self) -> String {
        match self {
            Self::TooLarge { max_bytes } => format!(
                "the server sent more than {} MiB, twice builder.max_context_mb",
                max_bytes >> 20
            ),
            Self::Git(e) => e.message().to_owned(),
        }
    }
}

/// One fetch with progress reporting, cancellation and a bound on the bytes received:
/// returning `false` from the transfer callback makes libgit2 abort the transfer. A packfile
/// is compressed, so a depth-1 fetch receives less than its commit's files add up to; the
/// bound is there for what a stranger's server could send besides (an endless or padded
/// pack, a history of huge blobs when a commit or a comparison needs the history).
pub(super) fn fetch(
    remote: &mut git2::Remote<'_>,
    refspecs: &[&str],
    depth: i32,
    max_bytes: u64,
    log: &mut dyn FnMut(String),
    cancelled: &dyn Fn() -> bool,
) -> Result<(), FetchError> {
    let last_report = Cell::new(Instant::now());
    let too_large = Cell::new(false);
    let mut callbacks = RemoteCallbacks::new();
    callbacks.transfer_progress(|progress| {
        if cancelled() {
            return false;
        }
        if progress.received_bytes() as u64 > max_bytes {
            too_large.set(true);
            return false;
        }
        if last_report.get().elapsed() >= PROGRESS_EVERY {
            last_report.set(Instant::now());
            log(format!(
                "Receiving objects: {}/{} ({} KiB)",
                progress.received_objects(),
                progress.total_objects(),
                progress.received_bytes() / 1024
            ));
        }
        true
    });
    callbacks.sideband_progress(|_| !cancelled());
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks)
        .depth(depth)
        .download_tags(AutotagOption::None)
        .update_fetchhead(false);
    let fetched = remote.fetch(refspecs, Some(&mut options), None);
    drop(options);
    match fetched {
        Ok(()) => Ok(()),
        Err(_) if too_large.get() => Err(FetchError::TooLarge { max_bytes }),
        Err(e) => Err(FetchError::Git(e)),
    }
}

pub(super) fn report_received(remote: &git2::Remote<'_>, log: &mut dyn FnMut(String)) {
    let stats = remote.stats();
    log(format!(
        "Received {} objects ({} KiB)",
        stats.received_objects(),
        stats.received_bytes() / 1024
    ));
}
