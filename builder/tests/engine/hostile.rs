//! Repositories written to hurt the builder: links to devices, oversized control files,
//! "git bombs" and checkouts cancelled half-way. Each must end at once with a clear reason.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bioshadock_builder::context::{
    ContextError, MAX_SMALL_FILE, SmallFileError, read_regular_file, tar_directory,
};
use bioshadock_builder::git::{CheckoutLimits, GitError, clone_source};

use super::support::{GitDaemon, git};
use super::{ROOMY, source};

/// Runs `work` on its own thread and fails the test if it has not ended after 10 s: a guard
/// against a hang (reading `/dev/zero` forever), not a timing assertion.
fn within_10s<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(work());
    });
    result
        .recv_timeout(Duration::from_secs(10))
        .expect("the builder hung on a hostile repository")
}

fn context_with_dockerfile() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    dir
}

#[test]
fn a_dockerignore_linked_to_a_device_or_a_fifo_fails_the_context_at_once() {
    let dir = context_with_dockerfile();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join(".dockerignore")).unwrap();
    let path = dir.path().to_owned();
    let error = within_10s(move || tar_directory(&path, 1 << 20, &|| false).unwrap_err());
    assert!(matches!(error, ContextError::Ignore(_)), "{error:?}");
    assert!(error.to_string().contains("outside"), "{error}");

    // A FIFO inside the context would block the reader forever.
    std::fs::remove_file(dir.path().join(".dockerignore")).unwrap();
    let fifo = dir.path().join("pipe");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("pipe", dir.path().join(".dockerignore")).unwrap();
    let path = dir.path().to_owned();
    let error = within_10s(move || tar_directory(&path, 1 << 20, &|| false).unwrap_err());
    assert!(error.to_string().contains("not a regular file"), "{error}");
}

#[test]
fn dockerignore_and_dockerfile_are_capped_at_1_mib() {
    let dir = context_with_dockerfile();
    let ignore = dir.path().join(".dockerignore");
    // Exactly at the cap: read (comments only, so nothing is excluded).
    let mut at_cap = "#".repeat(MAX_SMALL_FILE as usize - 1);
    at_cap.push('\n');
    std::fs::write(&ignore, &at_cap).unwrap();
    assert!(tar_directory(dir.path(), 4 << 20, &|| false).is_ok());

    std::fs::write(&ignore, "#".repeat(2 << 20)).unwrap();
    let error = tar_directory(dir.path(), 8 << 20, &|| false).unwrap_err();
    assert!(matches!(error, ContextError::Ignore(_)), "{error:?}");
    assert!(
        error.to_string().contains("larger than 1024 KiB"),
        "{error}"
    );

    std::fs::write(dir.path().join("Dockerfile"), "#".repeat(2 << 20)).unwrap();
    let error = read_regular_file(dir.path(), "Dockerfile", MAX_SMALL_FILE).unwrap_err();
    assert!(matches!(error, SmallFileError::TooLarge { .. }), "{error}");
    assert!(
        read_regular_file(dir.path(), "missing", MAX_SMALL_FILE)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_pathological_dockerignore_pattern_does_not_stall_the_archive() {
    let dir = context_with_dockerfile();
    std::fs::write(
        dir.path().join(".dockerignore"),
        "*a*a*a*a*a*a*a*a*a*a*a*a*b\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("a".repeat(60)), "kept").unwrap();
    let path = dir.path().to_owned();
    let bytes = within_10s(move || tar_directory(&path, 1 << 20, &|| false).unwrap());
    assert!(bytes.len() > 1024, "the 60-character file is kept");
}

#[test]
fn the_archive_stops_when_cancelled() {
    let dir = context_with_dockerfile();
    let error = tar_directory(dir.path(), 1 << 20, &|| true).unwrap_err();
    assert!(matches!(error, ContextError::Cancelled), "{error:?}");
}

/// A repository `NAME` under the daemon with `files` small files and one blob of `blob_bytes`.
fn repo_with(daemon: &GitDaemon, name: &str, files: usize, blob_bytes: usize) {
    let repo = daemon.base.path().join(name);
    std::fs::create_dir_all(repo.join("many")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("Dockerfile"), "FROM scratch\n").unwrap();
    for n in 0..files {
        std::fs::write(repo.join(format!("many/f{n}")), format!("{n}\n")).unwrap();
    }
    std::fs::write(repo.join("blob.bin"), vec![0u8; blob_bytes]).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "Files"]);
}

fn clone_with(url: &str, limits: CheckoutLimits) -> (Result<String, GitError>, tempfile::TempDir) {
    let into = tempfile::tempdir().unwrap();
    let result = clone_source(
        &source(url, None),
        &into.path().join("checkout"),
        limits,
        &mut |_| {},
        &|| false,
    );
    (result, into)
}

fn written_files(checkout: &Path) -> usize {
    std::fs::read_dir(checkout)
        .map(|entries| {
            entries
                .filter(|e| e.as_ref().is_ok_and(|e| e.file_name() != ".git"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_checkout_over_the_file_or_size_cap_is_refused_before_it_is_written() {
    let daemon = GitDaemon::start();
    repo_with(&daemon, "many", 60, 10);
    repo_with(&daemon, "big", 1, 2 << 20);

    let limits = CheckoutLimits {
        max_bytes: 1 << 30,
        max_files: 50,
    };
    let (result, dir) = clone_with(&daemon.url("many"), limits);
    let error = result.unwrap_err();
    assert!(
        matches!(error, GitError::TooManyFiles { max: 50 }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("more than 50 files (builder.max_context_files)"),
        "{error}"
    );
    assert_eq!(written_files(&dir.path().join("checkout")), 0);
    // At the cap (60 + Dockerfile + blob.bin = 62 files): checked out.
    let at_cap = CheckoutLimits {
        max_files: 62,
        ..limits
    };
    assert!(clone_with(&daemon.url("many"), at_cap).0.is_ok());

    let limits = CheckoutLimits {
        max_bytes: 1 << 20,
        max_files: 100,
    };
    let (result, dir) = clone_with(&daemon.url("big"), limits);
    let error = result.unwrap_err();
    assert!(
        matches!(error, GitError::TooLarge { max_mb: 1 }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("more than 1 MiB (builder.max_context_mb)"),
        "{error}"
    );
    assert_eq!(written_files(&dir.path().join("checkout")), 0);
}

/// Runs git with `stdin`; returns its trimmed output.
fn git_with_input(dir: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "git {args:?} failed");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_git_bomb_is_refused_without_being_expanded() {
    // Ten names for one blob, ten names for that tree, and so on six times: a million files
    // in a repository of a few KiB.
    let daemon = GitDaemon::start();
    let repo = daemon.base.path().join("bomb");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "--bare"]);
    let blob = git_with_input(&repo, &["hash-object", "-w", "--stdin"], "boom\n");
    let mut entry = format!("100644 blob {blob}");
    for _ in 0..6 {
        let listing: String = (0..10).map(|n| format!("{entry}\tx{n}\n")).collect();
        let tree = git_with_input(&repo, &["mktree"], &listing);
        entry = format!("040000 tree {tree}");
    }
    let tree = entry.rsplit(' ').next().unwrap().to_owned();
    let dockerfile = git_with_input(&repo, &["hash-object", "-w", "--stdin"], "FROM scratch\n");
    let root = git_with_input(
        &repo,
        &["mktree"],
        &format!("100644 blob {dockerfile}\tDockerfile\n040000 tree {tree}\tbomb\n"),
    );
    let commit = git(&repo, &["commit-tree", &root, "-m", "Boom"]);
    git(&repo, &["update-ref", "refs/heads/main", &commit]);
    git(&repo, &["symbolic-ref", "HEAD", "refs/heads/main"]);

    let url = daemon.url("bomb");
    let (result, dir) = within_10s(move || clone_with(&url, ROOMY));
    let error = result.unwrap_err();
    assert!(
        matches!(error, GitError::TooManyFiles { max: 100_000 }),
        "{error:?}"
    );
    assert_eq!(written_files(&dir.path().join("checkout")), 0);
}

#[test]
fn a_cancel_during_the_checkout_stops_it_before_the_files_are_written() {
    let daemon = GitDaemon::start();
    repo_with(&daemon, "slow", 500, 10);
    let into = tempfile::tempdir().unwrap();
    // The fetch is let through; the cancel arrives once the checkout is under way (after
    // the tree check's ~500 polls, during the checkout's per-file questions).
    let fetched = AtomicBool::new(false);
    let polls_after_fetch = AtomicUsize::new(0);
    let result = clone_source(
        &source(&daemon.url("slow"), None),
        &into.path().join("checkout"),
        ROOMY,
        &mut |line| {
            if line.starts_with("Received ") {
                fetched.store(true, Ordering::SeqCst);
            }
        },
        &|| {
            fetched.load(Ordering::SeqCst) && polls_after_fetch.fetch_add(1, Ordering::SeqCst) > 600
        },
    );
    assert!(matches!(result, Err(GitError::Cancelled)), "{result:?}");
    assert!(
        polls_after_fetch.load(Ordering::SeqCst) > 600,
        "the checkout itself was asked"
    );
    assert_eq!(written_files(&into.path().join("checkout")), 0);
}

/// `len` bytes that zlib cannot shrink (xorshift), so a pack holding them is about as large.
fn incompressible(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A repository whose tip is small but whose history holds a 3 MiB incompressible blob, added
/// then deleted; returns the commit before the blob.
fn repo_with_a_heavy_history(daemon: &GitDaemon, name: &str) -> String {
    let repo = daemon.base.path().join(name);
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("Dockerfile"), "FROM scratch\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "light"]);
    let before = git(&repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join("heavy.bin"), incompressible(3 << 20)).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "heavy"]);
    git(&repo, &["rm", "-q", "heavy.bin"]);
    git(&repo, &["commit", "-q", "-m", "light again"]);
    before
}

/// 1 MiB of checkout, so a fetch may receive 2 MiB.
const SMALL: CheckoutLimits = CheckoutLimits {
    max_bytes: 1 << 20,
    max_files: 1000,
};

#[test]
fn a_fetch_stops_once_the_server_has_sent_twice_the_checkout_limit() {
    let daemon = GitDaemon::start();
    let before = repo_with_a_heavy_history(&daemon, "heavy");
    let url = daemon.url("heavy");

    // The tip alone is light: it clones within the limits.
    let (tip, _dir) = clone_with(&url, SMALL);
    assert!(tip.is_ok(), "{tip:?}");

    // A commit no branch points at needs the history, which holds the heavy blob.
    let into = tempfile::tempdir().unwrap();
    let result = clone_source(
        &source(&url, Some(&before)),
        &into.path().join("checkout"),
        SMALL,
        &mut |_| {},
        &|| false,
    );
    let error = result.unwrap_err();
    assert!(
        matches!(error, GitError::FetchTooLarge { max_mb: 2 }),
        "{error:?}"
    );
    assert!(error.to_string().contains("more than 2 MiB"), "{error}");
    // With room, the same clone works: the bound, not the repository, stopped it.
    let (roomy, _dir) = {
        let into = tempfile::tempdir().unwrap();
        let result = clone_source(
            &source(&url, Some(&before)),
            &into.path().join("checkout"),
            ROOMY,
            &mut |_| {},
            &|| false,
        );
        (result, into)
    };
    assert_eq!(roomy.unwrap(), before);
}

#[test]
fn a_comparison_whose_history_is_too_heavy_to_fetch_cannot_tell_and_so_builds() {
    use bioshadock_builder::git::{Changes, changed_since};
    let daemon = GitDaemon::start();
    let before = repo_with_a_heavy_history(&daemon, "heavy-diff");
    let url = daemon.url("heavy-diff");
    let (tip, dir) = clone_with(&url, SMALL);
    tip.unwrap();
    let mut lines = Vec::new();
    let changes = changed_since(
        &source(&url, None),
        &dir.path().join("checkout"),
        &before,
        SMALL,
        &mut |l| lines.push(l),
        &|| false,
    )
    .unwrap();
    assert!(matches!(changes, Changes::Unknown(_)), "{changes:?}");
    assert!(
        lines.iter().any(|l| l.contains("more than 2 MiB")),
        "{lines:?}"
    );
    let changes = changed_since(
        &source(&url, None),
        &dir.path().join("checkout"),
        &before,
        ROOMY,
        &mut |_| {},
        &|| false,
    )
    .unwrap();
    assert_eq!(
        changes,
        Changes::Known(std::collections::BTreeSet::new()),
        "with room: heavy.bin came and went, so nothing changed"
    );
}
