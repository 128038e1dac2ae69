//! Real parts for the builder tests: a `git daemon`, a Distribution registry, the Docker Engine
//! and the local busybox base image. Every guard stops what it started when dropped, so tests
//! clean up even when an assertion fails.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bioshadock_builder::docker::Engine;

/// The base image every test Dockerfile starts from; the end-to-end tests use the same tag.
pub const BUSYBOX: &str = "bioshadock-test/busybox:latest";

/// A name no other test (in this process or another) uses at the same time.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A port nobody listens on right now (the tiny race with other processes is retried by the
/// callers that start servers).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("{what} exited early ({status}); retrying on another port");
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within 20 s");
}

/// A child process killed (and reaped) on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `git daemon` serving the repositories under a temporary directory.
pub struct GitDaemon {
    pub port: u16,
    pub base: tempfile::TempDir,
    _process: Process,
}

impl GitDaemon {
    pub fn start() -> Self {
        let base = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new("git")
                .arg("daemon")
                .arg("--reuseaddr")
                .arg(format!("--base-path={}", base.path().display()))
                .arg("--export-all")
                .arg("--listen=127.0.0.1")
                .arg(format!("--port={port}"))
                .arg(base.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("`git daemon` must be installed (Debian's git)");
            if wait_for_port(port, &mut child, "git daemon") {
                return Self {
                    port,
                    base,
                    _process: Process(child),
                };
            }
        }
        panic!("git daemon could not start");
    }

    /// `git://127.0.0.1:PORT/NAME`.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }
}

/// Runs git in `dir` with a fixed identity; returns its trimmed standard output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The commits of the test repository.
pub struct TestRepo {
    /// First commit, tagged `v1` (annotated).
    pub first: String,
    /// Second commit, on `main` but neither a branch tip nor tagged.
    pub second: String,
    /// Tip of `main`.
    pub main: String,
    /// Tip of `feature`.
    pub feature: String,
}

/// Creates `DIR/NAME` with `first` (tag v1) → `second` → `main`, and `feature` off `first`.
pub fn make_repo(dir: &Path, name: &str) -> TestRepo {
    let repo = dir.join(name);
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(repo.join("version.txt"), "first\n").unwrap();
    git(&repo, &["add", "."]);
    git(
        &repo,
        &["commit", "-q", "-m", "First commit\n\nWith a body."],
    );
    let first = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["tag", "-a", "v1", "-m", "version 1"]);
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(repo.join("version.txt"), "feature\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "Feature work"]);
    let feature = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["checkout", "-q", "main"]);
    std::fs::write(repo.join("version.txt"), "second\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "Second commit"]);
    let second = git(&repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join("version.txt"), "main\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "Main work"]);
    let main = git(&repo, &["rev-parse", "HEAD"]);
    TestRepo {
        first,
        second,
        main,
        feature,
    }
}

/// A plain Distribution registry (no auth) on loopback, with its storage in a temp dir.
pub struct Registry {
    pub port: u16,
    _dir: tempfile::TempDir,
    _process: Process,
}

impl Registry {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                    storage.display()
                ),
            )
            .unwrap();
            let mut child = Command::new("/usr/bin/docker-registry")
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("/usr/bin/docker-registry must be installed (apt docker-registry)");
            if wait_for_port(port, &mut child, "docker-registry") {
                return Self {
                    port,
                    _dir: dir,
                    _process: Process(child),
                };
            }
        }
        panic!("docker-registry could not start");
    }
}

/// The local engine; fails the test with a clear message when it is not running.
pub async fn engine() -> Engine {
    let engine = Engine::connect().expect("DOCKER_HOST is usable");
    if let Err(e) = engine.ping().await {
        panic!(
            "these tests need a running Docker Engine (apt-get install docker.io; dockerd &): {e}"
        );
    }
    ensure_busybox();
    engine
}

/// Makes [`BUSYBOX`] from the host's static busybox if the engine does not have it yet. Another
/// process may build the same tag concurrently; both builds succeed and the tag ends up on an
/// equivalent image.
fn ensure_busybox() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let present = Command::new("docker")
        .args(["image", "inspect", BUSYBOX])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the docker CLI must be installed")
        .success();
    if !present {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(busybox_binary(), dir.path().join("busybox")).unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\",\"--install\",\"-s\",\"/bin\"]\n",
        )
        .unwrap();
        let output = Command::new("docker")
            .args(["build", "-q", "-t", BUSYBOX])
            .arg(dir.path())
            // The CLI has no buildx plugin here; the classic builder needs none.
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "building {BUSYBOX} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    *done = true;
}

fn busybox_binary() -> PathBuf {
    let path = PathBuf::from("/bin/busybox");
    assert!(
        path.exists(),
        "/bin/busybox is missing (apt-get install busybox-static)"
    );
    path
}

/// Whether the engine knows a container by that name.
pub fn container_exists(name: &str) -> bool {
    Command::new("docker")
        .args(["container", "inspect", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Collects what is left in a log channel.
pub fn drain(rx: &mut tokio::sync::mpsc::Receiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    lines
}

/// Removes an image when dropped, whatever the test's outcome.
pub struct ImageGuard(pub String);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["image", "rm", "-f", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Removes the images a build committed for its steps (` ---> ID` after `Running in`), without
/// force, so that images still used elsewhere stay.
pub fn remove_step_images(lines: &[String]) {
    let mut ran = false;
    for line in lines {
        if line.starts_with(" ---> Running in ") {
            ran = true;
        } else if let Some(id) = line.strip_prefix(" ---> ").filter(|_| ran) {
            let _ = Command::new("docker")
                .args(["image", "rm", id])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            ran = false;
        }
    }
}

/// An HTTP server that answers every request with 401 (Basic), like a private repository, and
/// records the `Authorization` headers it was sent.
pub struct PrivateHttp {
    pub port: u16,
    pub authorizations: std::sync::Arc<Mutex<Vec<String>>>,
}

impl PrivateHttp {
    pub fn start() -> Self {
        use std::io::{BufRead, BufReader, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let authorizations = std::sync::Arc::new(Mutex::new(Vec::new()));
        let seen = authorizations.clone();
        // The thread ends with the test process; it holds nothing but the listener.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    if let Some(value) = line.strip_prefix("Authorization: ") {
                        seen.lock().unwrap().push(value.trim().to_owned());
                    }
                    line.clear();
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Self {
            port,
            authorizations,
        }
    }
}

/// Whether some container (running or not) has `needle` in its command.
pub fn containers_running(needle: &str) -> bool {
    let output = Command::new("docker")
        .args(["ps", "-a", "--no-trunc", "--format", "{{.Command}}"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).contains(needle)
}
