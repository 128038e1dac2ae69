//! Caps on what a checkout may write, checked from the tree before anything is written.
//!
//! A "git bomb" is tiny to fetch (the same blob or tree referenced a million times) and
//! enormous once checked out. The commit's tree is walked first, counting files and summing
//! their sizes as read from the object headers (the blobs are not inflated), and the walk stops
//! at the first cap crossed, so refusing a bomb costs about as much as the caps allow.

use git2::{ObjectType, Repository, Tree, TreeWalkMode, TreeWalkResult};

use super::GitError;
use super::redact::Secret;

/// The most a checkout may hold.
#[derive(Debug, Clone, Copy)]
pub struct CheckoutLimits {
    /// Total size of the files, in bytes (`builder.max_context_mb`).
    pub max_bytes: u64,
    /// Number of files and symlinks (`builder.max_context_files`).
    pub max_files: u64,
}

impl CheckoutLimits {
    /// The most one fetch may receive: twice the checkout's size, which a depth-1 fetch (a
    /// compressed pack) stays well under, leaving room for the history a commit id or a
    /// comparison needs.
    pub fn max_fetch_bytes(&self) -> u64 {
        self.max_bytes.saturating_mul(2)
    }
}

/// Walks `tree` and refuses it when it holds more than `limits` allow; polls `cancelled` at
/// every entry.
pub(super) fn check_tree(
    repo: &Repository,
    tree: &Tree<'_>,
    limits: CheckoutLimits,
    secret: &Secret,
    cancelled: &dyn Fn() -> bool,
) -> Result<(), GitError> {
    let odb = repo.odb().map_err(|e| secret.failed(e))?;
    let mut files = 0u64;
    let mut bytes = 0u64;
    let mut stopped: Option<GitError> = None;
    let walked = tree.walk(TreeWalkMode::PreOrder, |_, entry| {
        if cancelled() {
            stopped = Some(GitError::Cancelled);
            return TreeWalkResult::Abort;
        }
        // Trees are walked into; commits are submodules, which are not checked out.
        if entry.kind() != Some(ObjectType::Blob) {
            return TreeWalkResult::Ok;
        }
        files += 1;
        if files > limits.max_files {
            stopped = Some(GitError::TooManyFiles {
                max: limits.max_files,
            });
            return TreeWalkResult::Abort;
        }
        match odb.read_header(entry.id()) {
            Ok((size, _)) => bytes = bytes.saturating_add(size as u64),
            Err(e) => {
                stopped = Some(secret.failed(e));
                return TreeWalkResult::Abort;
            }
        }
        if bytes > limits.max_bytes {
            stopped = Some(GitError::TooLarge {
                max_mb: limits.max_bytes / (1 << 20),
            });
            return TreeWalkResult::Abort;
        }
        TreeWalkResult::Ok
    });
    if let Some(error) = stopped {
        return Err(error);
    }
    walked.map_err(|e| secret.failed(e))
}
