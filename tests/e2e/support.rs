//! Starting the real binary on a free port with its own data dir, and talking to it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_bioshadock");

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP client; the TLS provider must be chosen before any client is built.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A data dir and the environment that points the binary at it.
pub struct Site {
    pub dir: TempDir,
    pub port: u16,
    /// The port of this site's registry, when it has one (`registry.url` points there).
    pub registry_port: Option<u16>,
    /// More `BIOSHADOCK__…` settings for every command of this site.
    pub env: Vec<(String, String)>,
}

impl Site {
    pub fn new() -> Self {
        Self {
            dir: TempDir::new().unwrap(),
            port: free_port(),
            registry_port: None,
            env: Vec::new(),
        }
    }

    /// The same site with one more environment setting (e.g. `BIOSHADOCK__REGISTRY__…`).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A site whose `registry.url` is a registry on a free port of its own.
    pub fn with_registry() -> Self {
        Self {
            registry_port: Some(free_port()),
            ..Self::new()
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `bioshadock ARGS` with this site's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("BIOSHADOCK__DATA_DIR", self.data_dir())
            .env(
                "BIOSHADOCK__WEB__LISTEN",
                format!("127.0.0.1:{}", self.port),
            )
            .env("BIOSHADOCK__WEB__PUBLIC_URL", self.url(""))
            // Tests start their own registries (`docker-registry` is on PATH here, which would
            // otherwise have `serve` spawn one on the shared port 5000); the spawn tests opt in.
            .env("BIOSHADOCK__REGISTRY__SPAWN", "false")
            .env("RUST_LOG", "warn");
        if let Some(port) = self.registry_port {
            command.env(
                "BIOSHADOCK__REGISTRY__URL",
                format!("http://127.0.0.1:{port}"),
            );
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs a command to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `user add NAME --password-stdin`, asserting it worked.
    pub fn add_user(&self, name: &str, password: &str) {
        use std::io::Write;
        let mut child = self
            .command(&["user", "add", name, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "user add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `seed --containers N`, asserting it worked.
    pub fn seed(&self, n: u32) {
        let out = self.run(&["seed", "--containers", &n.to_string()]);
        assert!(
            out.status.success(),
            "seed failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `serve` and waits until `/healthz` answers.
    pub async fn serve(&self) -> Server {
        self.start_serve(Stdio::inherit()).await
    }

    /// Starts `serve` with its log (standard error) going to `log`, and waits until it is up.
    pub async fn serve_logging_to(&self, log: &Path) -> Server {
        let file = std::fs::File::create(log).unwrap();
        self.start_serve(Stdio::from(file)).await
    }

    async fn start_serve(&self, stderr: Stdio) -> Server {
        let child = self
            .command(&["serve"])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let server = Server { child };
        wait_until_up(&self.url("/healthz")).await;
        server
    }
}

/// The JSON at `url`, fetched with the API key `key` (or none).
pub async fn get_json(url: &str, key: Option<&str>) -> serde_json::Value {
    let mut request = http().get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// `GET path` on `site` with Basic `user:password`.
pub async fn basic_get(site: &Site, path: &str, user: &str, password: &str) -> reqwest::Response {
    http()
        .get(site.url(path))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
}

/// The same, its status.
pub async fn basic_get_status(site: &Site, path: &str, user: &str, password: &str) -> u16 {
    basic_get(site, path, user, password)
        .await
        .status()
        .as_u16()
}

/// Polls `url` until it answers 200, for at most 20 s.
pub async fn wait_until_up(url: &str) {
    let client = http();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A running `serve`; killed when dropped.
pub struct Server {
    child: Child,
}

impl Server {
    /// The process id, to read its memory use from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "serve exited with {exit} on SIGTERM");
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where tests leave screenshots for people to look at.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
