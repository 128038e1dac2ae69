//! Batteries included: `serve` starts a Distribution registry of its own (`registry.spawn`),
//! configured for this portal, supervised (restarted with back-off when it dies, stopped with
//! the portal), behind the registry front. Then `serve` alone is enough for `docker push`.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bioshadock_core::config::{Config, DEFAULT_REGISTRY_URL, Spawn, reachable_locally};
use bioshadock_core::registry_gc::REGISTRY_DIR;
use bioshadock_core::tokens::CERTIFICATE_FILE;
use futures::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio_util::codec::{FramedRead, LinesCodec};
use tokio_util::sync::CancellationToken;

/// Where the front listens when the registry is spawned and `registry.front_listen` is empty.
const DEFAULT_FRONT: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 5000);
/// The binaries tried on PATH, in order: Debian's package, then upstream's name.
const BINARIES: [&str; 2] = ["docker-registry", "registry"];
/// Restart back-off: doubling from the first to the last, back to the first after a child
/// that ran for [`HEALTHY_RUN`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const HEALTHY_RUN: Duration = Duration::from_secs(60);
/// A stopped registry has this long after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Longest registry log line forwarded whole; longer ones are cut.
const MAX_LOG_LINE: usize = 16 * 1024;
/// The generated configuration and the running child's pid, in `data_dir/registry`.
pub(crate) const CONFIG_FILE: &str = "config.yml";
const PID_FILE: &str = "registry.pid";

/// A registry to spawn: the binary, its files, its private address and the front's.
#[derive(Debug, Clone)]
pub struct SpawnPlan {
    binary: PathBuf,
    /// `data_dir/registry`: the generated configuration, the pid file, the images.
    dir: PathBuf,
    private: SocketAddr,
    pub front: SocketAddr,
}

impl SpawnPlan {
    fn config_file(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join(PID_FILE)
    }

    /// `registry.url` for the portal, the builder and the front: the private address.
    pub fn private_url(&self) -> String {
        format!("http://{}", self.private)
    }
}

/// Whether this `serve` spawns the registry, and how. `None`: it runs as before (saying why in
/// one line when a registry would have been spawned but for a missing binary).
pub fn plan(config: &Config) -> Result<Option<SpawnPlan>> {
    let registry = &config.registry;
    if registry.spawn == Spawn::Never {
        return Ok(None);
    }
    let binary = match find_binary(&registry.binary) {
        Some(binary) => binary,
        None if !registry.binary.is_empty() => {
            bail!(
                "registry.binary `{}` is not an executable file",
                registry.binary
            )
        }
        None if registry.spawn == Spawn::Always => bail!(
            "registry.spawn = true, but no Distribution registry binary was found on PATH \
             (Debian: apt-get install docker-registry; or set registry.binary)"
        ),
        None => {
            tracing::info!(
                "no Distribution registry found, so `docker push` needs one started by hand \
                 (see the README); install one (Debian: apt-get install docker-registry) and \
                 `serve` starts and fronts it itself"
            );
            return Ok(None);
        }
    };
    let front = registry.front_listen().unwrap_or(DEFAULT_FRONT);
    if registry.spawn == Spawn::Auto {
        if registry.url.trim_end_matches('/') != DEFAULT_REGISTRY_URL {
            tracing::debug!("registry.url is set: the registry there is used, none is spawned");
            return Ok(None);
        }
        if TcpListener::bind(front).is_err() {
            tracing::info!(
                "{front} is taken (a registry started by hand?): using it as registry.url; \
                 set registry.spawn = true to spawn one anyway"
            );
            return Ok(None);
        }
    }
    let private = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .context("cannot find a free loopback port for the spawned registry")?;
    Ok(Some(SpawnPlan {
        binary,
        dir: config.data_dir.join(REGISTRY_DIR),
        private,
        front,
    }))
}

/// `registry.binary` when set (a path, or a name on PATH), else the first of [`BINARIES`].
pub(crate) fn find_binary(configured: &str) -> Option<PathBuf> {
    let candidates: Vec<&str> = if configured.is_empty() {
        BINARIES.to_vec()
    } else {
        vec![configured]
    };
    candidates.into_iter().find_map(|name| {
        if name.contains('/') {
            return is_executable(Path::new(name)).then(|| PathBuf::from(name));
        }
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|candidate| is_executable(candidate))
        })
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Points `config` at the spawned registry: `registry.url` is its private address, and the
/// front listens where users push.
pub fn apply(config: &mut Config, plan: &SpawnPlan) {
    config.registry.url = plan.private_url();
    config.registry.front_listen = plan.front.to_string();
}

/// Writes the registry's configuration (storage under `data_dir/registry/storage`,
/// notifications to this portal's own listener) and starts supervising it until `stop`.
pub fn start(
    config: &Config,
    plan: SpawnPlan,
    notification_secret: &str,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    std::fs::create_dir_all(&plan.dir)
        .with_context(|| format!("cannot create {}", plan.dir.display()))?;
    let root = super::registry::absolute(&plan.dir.join("storage"))?;
    let certificate = super::registry::absolute(&config.secrets_dir().join(CERTIFICATE_FILE))?;
    // The registry notifies the portal on its own listener.
    let portal = reachable_locally(config.web.listen);
    let yaml = super::registry::render(
        config,
        &plan.private.to_string(),
        &root,
        &certificate,
        notification_secret,
        Some(&format!("http://{portal}")),
    );
    write_private(&plan.config_file(), &yaml)?;
    stop_leftover(&plan);
    tracing::info!(
        binary = %plan.binary.display(),
        registry = %plan.private,
        storage = %root.display(),
        "starting the registry (its configuration: {})",
        plan.config_file().display()
    );
    Ok(tokio::spawn(supervise(plan, stop)))
}

/// The configuration holds the notification secret: readable by this user only. Written
/// through a temporary file and a rename, so that a registry (re)starting at that moment, or a
/// failed write, never leaves half a configuration (`registry-gc` rewrites it under a live one).
pub(crate) fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("yml.tmp");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// A registry a previous run left behind (the portal was killed without a chance to stop it)
/// is stopped, if the pid file names a process still running with our configuration.
fn stop_leftover(plan: &SpawnPlan) {
    if let Some(pid) = running_registry(&plan.dir) {
        tracing::warn!(pid, "stopping the registry a previous run left running");
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// The registry spawned in `dir` (`data_dir/registry`), if it runs: the pid file names a
/// process whose command line names this directory's configuration (a pid file alone could
/// name a reused pid).
pub(crate) fn running_registry(dir: &Path) -> Option<i32> {
    let pid = std::fs::read_to_string(dir.join(PID_FILE))
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())?;
    let config = dir.join(CONFIG_FILE).display().to_string();
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&config))
        .then_some(pid)
}

/// Runs the registry, restarting it with back-off when it exits, until `stop`.
async fn supervise(plan: SpawnPlan, stop: CancellationToken) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        let mut child = match launch(&plan) {
            Ok(child) => child,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the registry");
                if wait_or_stop(&stop, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        tokio::select! {
            status = child.wait() => {
                let _ = std::fs::remove_file(plan.pid_file());
                if started.elapsed() >= HEALTHY_RUN {
                    backoff = FIRST_BACKOFF;
                }
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                tracing::warn!(%status, "the registry stopped; restarting it in {backoff:?}");
                if wait_or_stop(&stop, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            () = stop.cancelled() => {
                terminate(&mut child).await;
                let _ = std::fs::remove_file(plan.pid_file());
                return;
            }
        }
    }
}

/// Sleeps for `delay`; true if `stop` came first.
async fn wait_or_stop(stop: &CancellationToken, delay: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = stop.cancelled() => true,
    }
}

/// Starts one registry process, its output forwarded to the log (`registry` target), its pid
/// written down for the next run and for operators.
fn launch(plan: &SpawnPlan) -> Result<Child> {
    let mut child = Command::new(&plan.binary)
        .arg("serve")
        .arg(plan.config_file())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run {}", plan.binary.display()))?;
    if let Some(pid) = child.id() {
        let _ = std::fs::write(plan.pid_file(), format!("{pid}\n"));
        tracing::info!(pid, "the registry is running");
    }
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(forward_log(stdout));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward_log(stderr));
    }
    Ok(child)
}

/// Forwards the registry's log lines with the `registry` target: its errors as warnings, the
/// rest at debug (Distribution logs every request at info, which would drown the portal's own).
async fn forward_log(output: impl tokio::io::AsyncRead + Unpin) {
    let mut lines = FramedRead::new(output, LinesCodec::new_with_max_length(MAX_LOG_LINE));
    while let Some(line) = lines.next().await {
        match line {
            Ok(line) if is_error(&line) => tracing::warn!(target: "registry", "{line}"),
            Ok(line) => tracing::debug!(target: "registry", "{line}"),
            // A line past the limit is dropped; the codec goes on with the next.
            Err(tokio_util::codec::LinesCodecError::MaxLineLengthExceeded) => {
                tracing::debug!(target: "registry", "(a log line over {MAX_LOG_LINE} bytes)");
            }
            Err(_) => break,
        }
    }
}

/// An error of the registry itself. Its request log says `level=error` for every 4xx too (a
/// client asking whether a blob exists, as every push does), which is not news.
fn is_error(line: &str) -> bool {
    ["level=error", "level=fatal", "level=panic"]
        .iter()
        .any(|level| line.contains(level))
        && !line.contains("msg=\"response completed with error\"")
}

/// SIGTERM, then SIGKILL after [`STOP_GRACE`].
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            tracing::info!("the registry stopped");
            return;
        }
    }
    let _ = child.kill().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_told_apart() {
        assert!(is_error(
            r#"time="x" level=error msg="failed to write blob""#
        ));
        assert!(!is_error(
            r#"time="x" level=error msg="response completed with error" err.code="blob unknown""#
        ));
        assert!(is_error(
            r#"time="x" level=fatal msg="listen tcp: address in use""#
        ));
        assert!(!is_error(r#"time="x" level=info msg="response completed""#));
    }

    #[test]
    fn a_configured_binary_must_be_executable() {
        assert_eq!(find_binary("/bin/sh"), Some(PathBuf::from("/bin/sh")));
        let plain = tempfile::NamedTempFile::new().unwrap();
        let path = plain.path().to_str().unwrap().to_owned();
        assert_eq!(
            find_binary(&path),
            None,
            "a file without execute permission"
        );
        assert_eq!(find_binary("sh").map(|p| p.ends_with("sh")), Some(true));
        assert_eq!(find_binary("no-such-binary-here"), None);
    }
}
