//! The builder's primitives against real parts: `git daemon` for cloning, the Docker Engine for
//! builds and smoke tests, a Distribution registry for pushes. Nothing is mocked; a missing
//! engine fails the tests with a message saying how to start one.

#[path = "engine/changes.rs"]
mod changes;
#[path = "engine/hostile.rs"]
mod hostile;
#[path = "engine/recovery.rs"]
mod recovery;
#[path = "engine/requester.rs"]
mod requester;
#[path = "engine/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

use bioshadock_builder::context::{ContextError, tar_directory, tar_dockerfile};
use bioshadock_builder::docker::{BuildSettings, Engine, EngineError};
use bioshadock_builder::git::{CheckoutLimits, GitError, clone_source, context_dir};
use bioshadock_core::git::GitSource;
use tokio::sync::mpsc;

use support::*;

/// Limits no test repository comes near.
const ROOMY: CheckoutLimits = CheckoutLimits {
    max_bytes: 1 << 30,
    max_files: 100_000,
};

fn source(url: &str, reference: Option<&str>) -> GitSource {
    GitSource {
        url: url.to_owned(),
        reference: reference.map(str::to_owned),
        subdir: None,
    }
}

/// Clones into a fresh temp dir; returns the commit, the log lines and the checkout.
fn clone(
    url: &str,
    reference: Option<&str>,
) -> (Result<String, GitError>, Vec<String>, tempfile::TempDir) {
    let into = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    let result = clone_source(
        &source(url, reference),
        &into.path().join("checkout"),
        ROOMY,
        &mut |line| lines.push(line),
        &|| false,
    );
    (result, lines, into)
}

fn checked_out_file(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("checkout/version.txt")).unwrap()
}

#[test]
fn clones_default_branch_branch_tag_and_commits() {
    let daemon = GitDaemon::start();
    let repo = make_repo(daemon.base.path(), "tools");
    let url = daemon.url("tools");

    let (commit, lines, dir) = clone(&url, None);
    assert_eq!(commit.unwrap(), repo.main);
    assert_eq!(checked_out_file(&dir), "main\n");
    assert_eq!(lines[0], format!("Cloning {url} (default branch)"));
    assert!(
        lines.iter().any(|l| l.starts_with("Received ")),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().unwrap(),
        &format!("Checked out {} (Main work)", repo.main)
    );
    assert!(
        lines.len() <= 5,
        "a few lines, not one per object: {lines:?}"
    );

    let (commit, lines, dir) = clone(&url, Some("feature"));
    assert_eq!(commit.unwrap(), repo.feature);
    assert_eq!(checked_out_file(&dir), "feature\n");
    assert_eq!(lines[0], format!("Cloning {url} (ref feature)"));
    // Shallow: a branch brings its tip commit only.
    let history = git(
        &dir.path().join("checkout"),
        &["rev-list", "--count", "HEAD"],
    );
    assert_eq!(history, "1");

    let (commit, _, dir) = clone(&url, Some("v1"));
    assert_eq!(
        commit.unwrap(),
        repo.first,
        "an annotated tag peels to its commit"
    );
    assert_eq!(checked_out_file(&dir), "first\n");

    // Not at any tip: the full history is fetched and the id looked up in it.
    let (commit, lines, dir) = clone(&url, Some(&repo.second));
    assert_eq!(commit.unwrap(), repo.second);
    assert_eq!(checked_out_file(&dir), "second\n");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("fetching the full history")),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().unwrap(),
        &format!("Checked out {} (Second commit)", repo.second)
    );

    let (commit, _, _) = clone(&url, Some(&repo.second[..8]));
    assert_eq!(commit.unwrap(), repo.second, "abbreviated commit id");

    // The commit of an annotated tag is advertised (peeled): shallow as well.
    let (commit, lines, _) = clone(&url, Some(&repo.first));
    assert_eq!(commit.unwrap(), repo.first);
    assert!(
        !lines.iter().any(|l| l.contains("full history")),
        "{lines:?}"
    );

    // A commit id at a branch tip takes the shallow path.
    let (commit, lines, _) = clone(&url, Some(&repo.feature[..10]));
    assert_eq!(commit.unwrap(), repo.feature);
    assert!(
        !lines.iter().any(|l| l.contains("full history")),
        "{lines:?}"
    );
}

#[test]
fn clone_errors_are_clear_and_hide_credentials() {
    let daemon = GitDaemon::start();
    make_repo(daemon.base.path(), "tools");
    let url = daemon.url("tools");

    let (result, _, _) = clone(&url, Some("no-such-branch"));
    let error = result.unwrap_err();
    assert!(matches!(error, GitError::RefNotFound { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("the ref `no-such-branch` was not found in {url}")
    );

    let (result, _, _) = clone(&url, Some("deadbeef"));
    assert!(
        matches!(result, Err(GitError::RefNotFound { .. })),
        "{result:?}"
    );

    let (result, _, _) = clone(&daemon.url("missing"), None);
    let error = result.unwrap_err();
    assert!(matches!(error, GitError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().starts_with("cannot reach "), "{error}");

    // Credentials in the URL never reach a log line or an error.
    let closed = free_port();
    let secret_url = format!("http://alice:s3cret-token@127.0.0.1:{closed}/repo.git");
    let (result, lines, _) = clone(&secret_url, Some("main"));
    let error = result.unwrap_err();
    assert!(matches!(error, GitError::Unreachable { .. }), "{error:?}");
    let shown = format!("{error} {error:?} {lines:?}");
    assert!(!shown.contains("s3cret-token"), "{shown}");
    assert!(!shown.contains("alice"), "{shown}");
    assert!(
        shown.contains(&format!("http://127.0.0.1:{closed}/repo.git")),
        "{shown}"
    );

    let (result, _, _) = clone("file:///etc", None);
    assert!(
        matches!(result, Err(GitError::InvalidSource(_))),
        "{result:?}"
    );
}

#[test]
fn private_repositories_ask_for_credentials() {
    let server = PrivateHttp::start();
    let (result, _, _) = clone(&format!("http://127.0.0.1:{}/repo.git", server.port), None);
    let error = result.unwrap_err();
    assert!(matches!(error, GitError::AuthRequired { .. }), "{error:?}");
    assert!(
        error.to_string().contains("asks for credentials"),
        "{error}"
    );

    // Credentials in the URL are presented to the server, and shown nowhere.
    let url = format!(
        "http://alice:s3cret-token@127.0.0.1:{}/repo.git",
        server.port
    );
    let (result, lines, _) = clone(&url, None);
    let error = result.unwrap_err();
    assert!(matches!(error, GitError::AuthRequired { .. }), "{error:?}");
    let shown = format!("{error} {error:?} {lines:?}");
    assert!(
        !shown.contains("s3cret-token") && !shown.contains("alice"),
        "{shown}"
    );
    assert!(
        server
            .authorizations
            .lock()
            .unwrap()
            .contains(&"Basic YWxpY2U6czNjcmV0LXRva2Vu".to_owned()),
        "the URL's credentials were used"
    );
}

#[test]
fn clone_stops_when_cancelled() {
    let daemon = GitDaemon::start();
    make_repo(daemon.base.path(), "tools");
    let into = tempfile::tempdir().unwrap();
    // Cancelled once the server has been contacted: the transfer callback sees it.
    let calls = AtomicUsize::new(0);
    let mut lines = Vec::new();
    let result = clone_source(
        &source(&daemon.url("tools"), Some("main")),
        &into.path().join("checkout"),
        ROOMY,
        &mut |line| lines.push(line),
        &|| calls.fetch_add(1, Ordering::SeqCst) >= 2,
    );
    assert!(matches!(result, Err(GitError::Cancelled)), "{result:?}");
    assert!(
        !lines.iter().any(|l| l.starts_with("Checked out")),
        "{lines:?}"
    );
    assert!(!into.path().join("checkout/Dockerfile").exists());
}

#[test]
fn context_dir_stays_inside_the_checkout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("checkout");
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(root.join("sub/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(root.join("file.txt"), "x").unwrap();
    std::fs::write(root.join(".git/Dockerfile"), "FROM scratch\n").unwrap();
    std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
    std::os::unix::fs::symlink("sub", root.join("inside-link")).unwrap();
    std::fs::create_dir_all(root.join("linked-dockerfile")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("linked-dockerfile/Dockerfile")).unwrap();
    let canonical = root.canonicalize().unwrap();

    assert_eq!(context_dir(&root, None).unwrap(), canonical);
    assert_eq!(
        context_dir(&root, Some("sub/")).unwrap(),
        canonical.join("sub")
    );
    assert_eq!(
        context_dir(&root, Some("inside-link")).unwrap(),
        canonical.join("sub"),
        "a link that stays inside is fine"
    );

    let error = |subdir: &str| context_dir(&root, Some(subdir)).unwrap_err();
    for outside in [
        "../x",
        "sub/../../x",
        "/etc",
        "escape",
        "escape/ssl",
        ".git",
    ] {
        let e = error(outside);
        assert!(matches!(e, GitError::SubdirOutside(_)), "{outside}: {e:?}");
        assert_eq!(
            e.to_string(),
            format!("the sub-directory `{outside}` points outside the repository")
        );
    }
    let e = error("missing");
    assert!(matches!(e, GitError::SubdirMissing(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "the sub-directory `missing` does not exist in the repository"
    );
    assert!(matches!(
        error("file.txt"),
        GitError::SubdirNotADirectory(_)
    ));
    let e = error("empty");
    assert!(matches!(e, GitError::NoDockerfile(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "there is no Dockerfile in the sub-directory `empty`"
    );
    let e = error("sub/deeper");
    assert!(e.to_string().contains("`sub/deeper`"), "{e}");
    let e = error("linked-dockerfile");
    assert!(e.to_string().contains("outside the repository"), "{e}");

    std::fs::remove_file(root.join("Dockerfile")).unwrap();
    assert_eq!(
        context_dir(&root, None).unwrap_err().to_string(),
        "there is no Dockerfile at the root of the repository"
    );
}

/// Entry path → (kind, content or link target).
fn read_tar(bytes: &[u8]) -> BTreeMap<String, (char, String)> {
    let mut archive = tar::Archive::new(bytes);
    let mut entries = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let kind = entry.header().entry_type();
        let value = if kind.is_symlink() {
            (
                'l',
                entry
                    .link_name()
                    .unwrap()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            )
        } else if kind.is_dir() {
            ('d', String::new())
        } else {
            let mut content = String::new();
            entry.read_to_string(&mut content).unwrap();
            ('f', content)
        };
        entries.insert(path.trim_end_matches('/').to_owned(), value);
    }
    entries
}

#[test]
fn tar_directory_round_trips_and_refuses_oversize() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let write = |path: &str, content: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    };
    write("Dockerfile", "FROM scratch\n");
    write("src/main.rs", "fn main() {}\n");
    write("src/deep/ér.txt", "accent\n");
    write("debug.log", "noise");
    write("keep.log", "kept");
    write("build/out.o", "binary");
    write(
        ".git/config",
        "[remote] url = https://user:secret@host/repo\n",
    );
    write("sub/.git/HEAD", "ref: refs/heads/main\n");
    write(
        ".dockerignore",
        "# build output\n*.log\n/build\n!keep.log\nDockerfile\n",
    );
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd-link")).unwrap();
    std::os::unix::fs::symlink("src", dir.join("src-link")).unwrap();

    let bytes = tar_directory(dir, 1 << 20, &|| false).unwrap();
    let entries = read_tar(&bytes);
    let names: BTreeSet<&str> = entries.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        ".dockerignore",
        "Dockerfile",
        "keep.log",
        "passwd-link",
        "src",
        "src-link",
        "src/deep",
        "src/deep/ér.txt",
        "src/main.rs",
        "sub",
    ]
    .into();
    assert_eq!(names, expected);
    assert_eq!(entries["src/main.rs"], ('f', "fn main() {}\n".into()));
    assert_eq!(entries["Dockerfile"], ('f', "FROM scratch\n".into()));
    assert_eq!(
        entries["passwd-link"],
        ('l', "/etc/passwd".into()),
        "links are stored, not followed"
    );
    assert_eq!(entries["src-link"], ('l', "src".into()));
    assert_eq!(entries["src/deep"].0, 'd');

    // Deterministic: the same tree gives the same bytes.
    assert_eq!(tar_directory(dir, 1 << 20, &|| false).unwrap(), bytes);

    write("big.bin", &"x".repeat(64 * 1024));
    let error = tar_directory(dir, 32 * 1024, &|| false).unwrap_err();
    assert!(matches!(error, ContextError::TooLarge { .. }), "{error:?}");
    assert!(
        error.to_string().contains("larger than the limit"),
        "{error}"
    );
    assert!(tar_directory(dir, 1 << 20, &|| false).is_ok());

    let single = read_tar(&tar_dockerfile("FROM scratch\nLABEL a=b\n").unwrap());
    assert_eq!(single.len(), 1);
    assert_eq!(
        single["Dockerfile"],
        ('f', "FROM scratch\nLABEL a=b\n".into())
    );
}

fn settings(image: &str) -> BuildSettings {
    BuildSettings {
        image: image.to_owned(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_streams_lines_applies_labels_and_limits() {
    let engine = engine().await;
    let name = unique("bioshadock-test/build");
    let image = format!("{name}:v1");
    let _guard = ImageGuard(image.clone());
    let dockerfile = format!(
        "FROM {BUSYBOX}\n\
         ENV BUILD_ID={name}\n\
         LABEL from.dockerfile=yes\n\
         RUN echo one && echo two\n\
         RUN echo mem=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)\n\
         RUN echo early && sleep 2 && echo late\n"
    );
    let mut settings = settings(&image);
    settings.labels = BTreeMap::from([
        ("org.bioshadock.build".to_owned(), name.clone()),
        ("org.bioshadock.owner".to_owned(), "alice".to_owned()),
    ]);
    // Above 2 GiB on purpose: bollard's own option would not carry it.
    settings.memory_bytes = Some(3 * 1024 * 1024 * 1024);
    settings.cpus = Some(0.5);
    settings.network_mode = Some("none".to_owned());

    let (tx, mut rx) = mpsc::channel(1000);
    let context = tar_dockerfile(&dockerfile).unwrap();
    let build = tokio::spawn({
        let settings = settings.clone();
        async move {
            let engine = Engine::connect().unwrap();
            engine.build(&settings, context, &tx).await
        }
    });
    // Lines arrive while the build runs: "early" is seen two seconds before the step ends.
    let mut lines = Vec::new();
    while let Some(line) = rx.recv().await {
        let early = line == "early";
        lines.push(line);
        if early {
            assert!(
                !build.is_finished(),
                "output is streamed, not delivered at the end"
            );
            break;
        }
    }
    let id = build.await.unwrap().unwrap();
    lines.extend(drain(&mut rx));
    assert!(id.starts_with("sha256:"), "{id}");

    let position = |wanted: &str| {
        lines
            .iter()
            .position(|l| l == wanted)
            .unwrap_or_else(|| panic!("no line `{wanted}` in {lines:#?}"))
    };
    assert!(position("one") < position("two"));
    assert!(position("two") < position("early"));
    assert!(position("early") < position("late"));
    position("mem=3221225472");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Step 1/") && l.ends_with(&format!(": FROM {BUSYBOX}"))),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.contains('\n')));

    let labels = engine.image_labels(&image).await.unwrap();
    assert_eq!(labels["org.bioshadock.build"], name);
    assert_eq!(labels["org.bioshadock.owner"], "alice");
    assert_eq!(labels["from.dockerfile"], "yes");

    engine.remove_image(&image).await;
    let gone = engine.image_labels(&image).await.unwrap_err();
    assert!(matches!(gone, EngineError::ImageNotFound(_)), "{gone:?}");
    engine.remove_image(&image).await; // a second removal is not an error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_appended_to_the_dockerfile_keep_their_exact_values() {
    let engine = engine().await;
    let name = unique("bioshadock-test/labels");
    let image = format!("{name}:v1");
    let _guard = ImageGuard(image.clone());
    let labels = BTreeMap::from([
        (
            "org.opencontainers.image.source".to_owned(),
            "https://git.example.org/a$HOME/b\\c\"d'e".to_owned(),
        ),
        (
            "org.opencontainers.image.revision".to_owned(),
            "0123abcd".to_owned(),
        ),
    ]);
    let dockerfile = format!("FROM {BUSYBOX}\nENV HOME=/root\nRUN true\n");
    let labelled = bioshadock_builder::labels::append_label(&dockerfile, &labels).unwrap();
    let (tx, mut rx) = mpsc::channel(1000);
    engine
        .build(&settings(&image), tar_dockerfile(&labelled).unwrap(), &tx)
        .await
        .unwrap();
    let steps = drain(&mut rx)
        .iter()
        .filter(|l| l.starts_with("Step "))
        .count();
    assert_eq!(steps, 4, "all labels in one step");
    let found = engine.image_labels(&image).await.unwrap();
    for (key, value) in &labels {
        assert_eq!(&found[key], value, "{key}");
    }
    engine.remove_image(&image).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_step_is_a_build_failure() {
    let engine = engine().await;
    let name = unique("bioshadock-test/fails");
    let image = format!("{name}:v1");
    let _guard = ImageGuard(image.clone());
    let (tx, mut rx) = mpsc::channel(1000);
    let context = tar_dockerfile(&format!(
        "FROM {BUSYBOX}\nRUN echo before {name}\nRUN exit 7\n"
    ))
    .unwrap();
    let error = engine
        .build(&settings(&image), context, &tx)
        .await
        .unwrap_err();
    let lines = drain(&mut rx);
    let EngineError::BuildFailed(message) = &error else {
        panic!("expected BuildFailed, got {error:?}");
    };
    assert!(message.contains("non-zero code: 7"), "{message}");
    assert!(!error.is_unavailable());
    assert!(
        lines.iter().any(|l| *l == format!("before {name}")),
        "{lines:#?}"
    );
    assert_eq!(lines.last(), Some(message), "the error ends the log");
    assert!(
        matches!(
            engine.image_labels(&image).await,
            Err(EngineError::ImageNotFound(_))
        ),
        "a failed build tags nothing"
    );
    // The classic builder keeps the steps that succeeded as untagged cache images; this test's
    // are unique to it (the echoed name), so remove them.
    remove_step_images(&lines);

    let context = tar_dockerfile("FROM bioshadock-test/no-such-base:latest\n").unwrap();
    let error = engine
        .build(&settings(&image), context, &tx)
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::BuildFailed(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_build_stops_it() {
    let engine = engine().await;
    let name = unique("bioshadock-test/dropped");
    let image = format!("{name}:v1");
    let _guard = ImageGuard(image.clone());
    let (tx, mut rx) = mpsc::channel(1000);
    let context = tar_dockerfile(&format!(
        "FROM {BUSYBOX}\nRUN echo started {name} && sleep 120\n"
    ))
    .unwrap();
    let settings = settings(&image);
    let build = engine.build(&settings, context, &tx);
    let started = async { while rx.recv().await != Some(format!("started {name}")) {} };
    tokio::select! {
        result = build => panic!("the build should still be sleeping: {result:?}"),
        () = started => {}
    }
    // The connection is closed: the engine stops the step and removes its container.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while containers_running(&name) {
        assert!(
            std::time::Instant::now() < deadline,
            "the build's container is still there 30 s after the build was dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(matches!(
        engine.image_labels(&image).await,
        Err(EngineError::ImageNotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_command_streams_output_and_returns_the_exit_code() {
    let engine = engine().await;
    let container = unique("bioshadock-test-smoke");
    let mut limits = settings(BUSYBOX);
    limits.memory_bytes = Some(64 * 1024 * 1024);
    limits.cpus = Some(1.0);
    let (tx, mut rx) = mpsc::channel(1000);

    let code = engine
        .run_command(
            BUSYBOX,
            &container,
            "echo out-1; echo err-1 >&2; echo out-2; ls /sys/class/net; cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
            &limits,
            &tx,
        )
        .await
        .unwrap();
    assert_eq!(code, 0);
    let lines = drain(&mut rx);
    let position = |wanted: &str| lines.iter().position(|l| l == wanted);
    assert!(
        position("out-1").unwrap() < position("out-2").unwrap(),
        "{lines:?}"
    );
    assert!(
        position("err-1").is_some(),
        "stderr is streamed too: {lines:?}"
    );
    assert!(position("lo").is_some(), "{lines:?}");
    assert!(position("eth0").is_none(), "no network: {lines:?}");
    assert!(
        position("67108864").is_some(),
        "memory limit applied: {lines:?}"
    );
    assert!(!container_exists(&container), "the container is removed");

    let code = engine
        .run_command(BUSYBOX, &container, "echo bye; exit 3", &limits, &tx)
        .await
        .unwrap();
    assert_eq!(code, 3);
    assert_eq!(drain(&mut rx), vec!["bye"]);
    assert!(!container_exists(&container));

    // Removal after an abandoned run, and of something that does not exist.
    let run = engine.run_command(BUSYBOX, &container, "echo started; sleep 60", &limits, &tx);
    let started = async { while rx.recv().await.as_deref() != Some("started") {} };
    tokio::select! {
        _ = run => panic!("the run should still be sleeping"),
        () = started => {}
    }
    assert!(
        container_exists(&container),
        "an abandoned run leaves its container"
    );
    engine.remove_container(&container).await;
    assert!(!container_exists(&container));
    engine.remove_container(&container).await;

    let error = engine
        .run_command(
            "bioshadock-test/no-such-image:latest",
            &container,
            "true",
            &limits,
            &tx,
        )
        .await
        .unwrap_err();
    assert!(!error.is_unavailable(), "{error:?}");
    assert!(!container_exists(&container));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_returns_the_registry_digest() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let engine = engine().await;
    let registry = Registry::start();
    let name = unique("test/push");
    let repository = format!("127.0.0.1:{}/{name}", registry.port);
    let image = format!("{repository}:v1");
    let _guard = ImageGuard(image.clone());
    let (tx, mut rx) = mpsc::channel(1000);
    let context =
        tar_dockerfile(&format!("FROM {BUSYBOX}\nRUN echo {name} > /built-by\n")).unwrap();
    engine.build(&settings(&image), context, &tx).await.unwrap();
    drain(&mut rx);

    let token = "never-shown-token-value";
    let digest = engine.push(&repository, "v1", token, &tx).await.unwrap();
    let lines = drain(&mut rx);
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    assert!(lines.iter().any(|l| l == "Pushed"), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains(token)), "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l == "Preparing" || l == "Waiting"),
        "compact progress: {lines:#?}"
    );

    let response = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/v2/{name}/manifests/v1",
            registry.port
        ))
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["Docker-Content-Digest"]
            .to_str()
            .unwrap(),
        digest
    );

    // A second push of the same image: the layers are already there, same digest.
    let again = engine.push(&repository, "v1", token, &tx).await.unwrap();
    assert_eq!(again, digest);
    assert!(
        drain(&mut rx).iter().any(|l| l == "Layer already exists"),
        "layer status changes are logged"
    );

    let error = engine
        .push(&repository, "no-such-tag", token, &tx)
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::PushFailed(_)), "{error:?}");
    assert!(!error.to_string().contains(token));

    engine.remove_image(&image).await;
    assert!(matches!(
        engine.image_labels(&image).await,
        Err(EngineError::ImageNotFound(_))
    ));
}

/// The worker drives these futures from spawned tasks.
#[test]
fn engine_futures_are_send() {
    fn send<T: Send>(_: T) {}
    let engine = Engine::connect_to("unix:///nonexistent.sock").unwrap();
    let (tx, _rx) = mpsc::channel(1);
    let settings = settings("x:y");
    send(engine.build(&settings, Vec::new(), &tx));
    send(engine.run_command("x:y", "c", "true", &settings, &tx));
    send(engine.push("x", "y", "t", &tx));
    send(engine.image_labels("x"));
    send(engine.remove_container("c"));
    send(engine.remove_image("x"));
    send(engine.ping());
}

#[tokio::test]
async fn engine_down_is_told_apart() {
    let missing = tempfile::tempdir().unwrap();
    let socket = missing.path().join("docker.sock");
    let engine = Engine::connect_to(&format!("unix://{}", socket.display())).unwrap();
    let error = engine.ping().await.unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("cannot reach the Docker Engine"),
        "{error}"
    );
    let (tx, _rx) = mpsc::channel(10);
    let error = engine
        .build(
            &settings("x:y"),
            tar_dockerfile("FROM scratch\n").unwrap(),
            &tx,
        )
        .await
        .unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    engine.remove_image("x:y").await; // cleanup paths never fail

    let closed = free_port();
    let engine = Engine::connect_to(&format!("tcp://127.0.0.1:{closed}")).unwrap();
    assert!(engine.ping().await.unwrap_err().is_unavailable());

    assert!(matches!(
        Engine::connect_to("ssh://somewhere"),
        Err(EngineError::UnsupportedHost(_))
    ));

    let version = support::engine().await.ping().await.unwrap();
    assert!(
        version.chars().next().is_some_and(|c| c.is_ascii_digit()),
        "{version}"
    );
}
