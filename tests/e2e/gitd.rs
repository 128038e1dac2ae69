//! A real git server for builder tests: `git daemon` serving repositories made in a temp dir
//! (the product refuses `file://` sources, so tests clone over `git://` like users would).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::support::free_port;

/// `git daemon` on a free port; killed on drop.
pub struct GitDaemon {
    child: Child,
    port: u16,
    base: TempDir,
}

impl GitDaemon {
    pub fn start() -> Self {
        let base = TempDir::new().unwrap();
        let port = free_port();
        let child = Command::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.path().display()))
            .arg(base.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, base }
    }

    /// A new repository `name` with one commit of `files` on branch `main`.
    pub fn repo(&self, name: &str, files: &[(&str, &str)]) -> Repo {
        let dir = self.base.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let repo = Repo {
            dir,
            url: format!("git://127.0.0.1:{}/{name}", self.port),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.commit(files, "first commit");
        repo
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A repository served by a [`GitDaemon`].
pub struct Repo {
    dir: PathBuf,
    /// `git://127.0.0.1:PORT/name`
    pub url: String,
}

impl Repo {
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.org"])
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Writes `files` and commits them; returns the commit id.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, content) in files {
            let path = self.dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }
}
