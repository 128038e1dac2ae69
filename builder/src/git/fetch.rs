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
    secret: &Secret,
    log: &mut dyn FnMut(String),
    cancelled: &dyn Fn() -> bool,
) -> Result<Oid, GitError> {
    if let Some(oid) = Oid::from_str(id).ok().filter(|_| id.len() >= 40) {
        // Some servers (GitHub, git with uploadpack.allowAnySHA1InWant) serve a single commit;
        // most classic ones answer "not our ref", hence the fallback below.
        let refspec = format!("+{oid}:{FETCHED_REF}");
        if fetch(remote, &[refspec.as_str()], 1, log, cancelled).is_ok() {
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
    fetch(remote, &refspecs, 0, log, cancelled).map_err(|e| fetch_error(e, secret, cancelled))?;
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
    e: git2::Error,
    secret: &Secret,
    cancelled: &dyn Fn() -> bool,
) -> GitError {
    if cancelled() {
        GitError::Cancelled
    } else if e.code() == ErrorCode::Auth {
        secret.classify(e)
    } else {
        secret.failed(e)
    }
}

/// One fetch with progress reporting and cancellation: returning `false` from the transfer
/// callback makes libgit2 abort the transfer.
pub(super) fn fetch(
    remote: &mut git2::Remote<'_>,
    refspecs: &[&str],
    depth: i32,
    log: &mut dyn FnMut(String),
    cancelled: &dyn Fn() -> bool,
) -> Result<(), git2::Error> {
    let last_report = Cell::new(Instant::now());
    let mut callbacks = RemoteCallbacks::new();
    callbacks.transfer_progress(|progress| {
        if cancelled() {
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
    remote.fetch(refspecs, Some(&mut options), None)
}

pub(super) fn report_received(remote: &git2::Remote<'_>, log: &mut dyn FnMut(String)) {
    let stats = remote.stats();
    log(format!(
        "Received {} objects ({} KiB)",
        stats.received_objects(),
        stats.received_bytes() / 1024
    ));
}
