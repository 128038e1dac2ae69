//! Which files changed since an earlier commit, against a real `git daemon`: the commit fetched
//! alone where the server allows it, the branch's history deepened where it does not, and
//! "unknown" (so the build goes ahead) beyond the history bound.

use std::collections::BTreeSet;
use std::path::Path;

use bioshadock_builder::git::{
    Changes, CheckoutLimits, MAX_HISTORY_DEPTH, changed_since, clone_source,
};
use bioshadock_core::git::GitSource;

use super::support::{GitDaemon, git};

const ROOMY: CheckoutLimits = CheckoutLimits {
    max_bytes: 1 << 30,
    max_files: 100_000,
};

/// A monorepo: `tools/a` and `tools/b`, each with its Dockerfile.
fn monorepo(base: &Path, name: &str) -> std::path::PathBuf {
    let repo = base.join(name);
    for tool in ["a", "b"] {
        std::fs::create_dir_all(repo.join("tools").join(tool)).unwrap();
        std::fs::write(
            repo.join("tools").join(tool).join("Dockerfile"),
            "FROM scratch\n",
        )
        .unwrap();
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "two tools"]);
    repo
}

fn commit(repo: &Path, file: &str, text: &str) -> String {
    let path = repo.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", &format!("change {file}")]);
    git(repo, &["rev-parse", "HEAD"])
}

/// Clones `url` at its default branch (depth 1, as a build does) and compares with `since`.
fn compare(url: &str, since: &str) -> (Changes, Vec<String>) {
    let into = tempfile::tempdir().unwrap();
    let checkout = into.path().join("checkout");
    let source = GitSource {
        url: url.to_owned(),
        reference: None,
        subdir: None,
    };
    let mut lines = Vec::new();
    clone_source(&source, &checkout, ROOMY, &mut |l| lines.push(l), &|| false).unwrap();
    let changes = changed_since(
        &source,
        &checkout,
        since,
        ROOMY,
        &mut |l| lines.push(l),
        &|| false,
    )
    .unwrap();
    (changes, lines)
}

fn known(paths: &[&str]) -> Changes {
    Changes::Known(
        paths
            .iter()
            .map(|p| (*p).to_owned())
            .collect::<BTreeSet<_>>(),
    )
}

#[test]
fn a_plain_git_daemon_gets_the_history_deepened_to_the_earlier_commit() {
    let daemon = GitDaemon::start();
    let repo = monorepo(daemon.base.path(), "mono");
    let url = daemon.url("mono");
    let built = git(&repo, &["rev-parse", "HEAD"]);
    commit(&repo, "tools/a/README", "one\n");
    commit(&repo, "tools/a/Dockerfile", "FROM scratch\nLABEL v=2\n");

    let (changes, lines) = compare(&url, &built);
    assert_eq!(
        changes,
        known(&["tools/a/Dockerfile", "tools/a/README"]),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("does not serve")
            && l.contains(&format!("up to {MAX_HISTORY_DEPTH} commits"))),
        "a plain daemon refuses a commit by id, so the history is fetched: {lines:?}"
    );

    // A rename names both paths; nothing changed at all is an empty set.
    let before_move = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["mv", "tools/b/Dockerfile", "tools/c-Dockerfile"]);
    git(&repo, &["commit", "-q", "-m", "move"]);
    let (changes, _) = compare(&url, &before_move);
    assert_eq!(
        changes,
        known(&["tools/b/Dockerfile", "tools/c-Dockerfile"])
    );
    let head = git(&repo, &["rev-parse", "HEAD"]);
    assert_eq!(compare(&url, &head).0, known(&[]));
}

#[test]
fn a_server_that_serves_commits_by_id_sends_the_earlier_commit_alone() {
    let daemon = GitDaemon::start();
    let repo = monorepo(daemon.base.path(), "github-like");
    // What GitHub, GitLab and Gitea allow.
    git(&repo, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
    let built = git(&repo, &["rev-parse", "HEAD"]);
    for n in 0..5 {
        commit(&repo, "tools/b/notes", &format!("{n}\n"));
    }
    let (changes, lines) = compare(&daemon.url("github-like"), &built);
    assert_eq!(changes, known(&["tools/b/notes"]), "{lines:?}");
    assert!(
        !lines.iter().any(|l| l.contains("does not serve")),
        "fetched alone: {lines:?}"
    );
}

#[test]
fn beyond_the_history_bound_or_off_the_branch_it_cannot_tell() {
    let daemon = GitDaemon::start();
    let repo = monorepo(daemon.base.path(), "long");
    let built = git(&repo, &["rev-parse", "HEAD"]);
    // One commit more than the bound, made fast with `commit --allow-empty`.
    for n in 0..MAX_HISTORY_DEPTH {
        git(
            &repo,
            &["commit", "-q", "--allow-empty", "-m", &format!("c{n}")],
        );
    }
    let (changes, lines) = compare(&daemon.url("long"), &built);
    assert!(
        matches!(&changes, Changes::Unknown(why) if why.contains(&built[..7])
            && why.contains(&format!("last {MAX_HISTORY_DEPTH} commits"))),
        "{changes:?} {lines:?}"
    );

    // A commit of another repository (or one force-pushed away) is not there at all.
    let stranger = "0123456789abcdef0123456789abcdef01234567";
    assert!(matches!(
        compare(&daemon.url("long"), stranger).0,
        Changes::Unknown(_)
    ));
    // Not a commit id: refused before anything is fetched.
    assert!(matches!(
        compare(&daemon.url("long"), "main; rm -rf /").0,
        Changes::Unknown(why) if why.contains("not a commit id")
    ));
}
