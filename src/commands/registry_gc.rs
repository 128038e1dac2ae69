//! `bioshadock registry-gc`: Distribution's garbage collection, run safely.
//!
//! Distribution frees the space of deleted and overwritten images only when its collector runs
//! (`registry garbage-collect`), and that is only safe while nothing is pushed: a blob uploaded
//! during the mark phase and referenced afterwards would be deleted. So, for the registry that
//! `serve` spawned, this command restarts it in read-only mode (pulls keep working, pushes are
//! refused), collects, and always restarts it read-write again; `serve`'s supervisor does the
//! restarting, re-reading the configuration each time. For any other registry it prints the
//! steps for the operator and changes nothing.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bioshadock_core::config::{Config, DEFAULT_REGISTRY_URL, Spawn, reachable_locally};
use bioshadock_core::registry_gc::{LastGc, REGISTRY_DIR, record_path};
use chrono::{SubsecRound as _, Utc};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::registry::{parse, read_only, without_read_only};
use super::spawn::{CONFIG_FILE, find_binary, running_registry, write_private};

/// How long the registry has to answer again after a restart: `serve`'s supervisor waits up
/// to 30 s before restarting a registry that keeps exiting.
const RESTART_WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);
/// The most of each of garbage-collect's output streams kept: their end, where the summary and
/// the errors are (it names every blob it marks, so it grows with the registry).
const MAX_OUTPUT: usize = 64 * 1024;
/// Lines of garbage-collect's output an error message quotes.
const ERROR_LINES: usize = 5;
/// Held while a collection runs, so that two of them do not restart the registry in turn.
const GC_LOCK_FILE: &str = ".gc.lock";
/// Where Distribution's filesystem driver keeps repositories, under the storage root; until the
/// first push it does not exist, and garbage-collect fails on it.
const REPOSITORIES: &str = "docker/registry/v2/repositories";

/// What to tell an operator whose registry `serve` does not run.
const STEPS: &str = "\
To collect its garbage safely (this frees the space of deleted and overwritten images):

1. Put the registry in read-only mode: in its config.yml (/etc/docker/registry/config.yml
   by default), add under `storage:`

     storage:
       maintenance:
         readonly:
           enabled: true

   and restart it. Pulls keep working; pushes are refused until step 3.

2. Run the collector on the same configuration (add --dry-run first to see what it would
   delete):

     registry garbage-collect --delete-untagged /etc/docker/registry/config.yml

   Debian's package: docker-registry garbage-collect --delete-untagged /etc/docker/registry/config.yml
   In the registry:2 image: docker exec CONTAINER registry garbage-collect --delete-untagged /etc/docker/registry/config.yml

3. Remove the `maintenance` lines again and restart the registry.
";

/// `registry-gc [--dry-run] [--timeout-secs N]`.
pub async fn run(config: Config, dry_run: bool, timeout: Duration) -> Result<()> {
    let dir = config.data_dir.join(REGISTRY_DIR);
    if let Some(reason) = not_spawned_here(&config, &dir) {
        println!("{reason}, so registry-gc changes nothing.\n\n{STEPS}");
        return Ok(());
    }
    let binary = find_binary(&config.registry.binary).context(
        "no Distribution registry binary found (registry.binary, or docker-registry or \
         registry on PATH) to run garbage-collect with",
    )?;
    let registry = Spawned::read(&config.data_dir)?;
    if !registry.storage.join(REPOSITORIES).is_dir() {
        println!(
            "Nothing to collect: nothing was ever pushed to the registry ({} holds no \
             repositories).",
            registry.storage.display()
        );
        return Ok(());
    }
    if dry_run {
        return dry_run_only(&registry, &binary, timeout).await;
    }
    let _only_one = lock_exclusively(&dir.join(GC_LOCK_FILE), "another registry-gc is running")?;
    match running_registry(&dir) {
        Some(pid) if !supervised(pid) => bail!(
            "the registry (pid {pid}) runs without the `bioshadock serve` that started it (left \
             over from a killed serve?): nothing would restart it; start `bioshadock serve` \
             (which replaces it) and run registry-gc again"
        ),
        Some(pid) => collect_live(&registry, &binary, pid, timeout).await,
        None => collect_idle(&registry, &binary, timeout).await,
    }
}

/// Why the registry is not one `serve` spawned in this `data_dir`, if it is not.
fn not_spawned_here(config: &Config, dir: &Path) -> Option<String> {
    let registry = &config.registry;
    if registry.spawn == Spawn::Never {
        return Some(format!(
            "registry.spawn is false: the registry at {} is not one `bioshadock serve` runs",
            registry.url
        ));
    }
    // As in spawn::plan: with `auto`, a registry.url of its own means an external registry.
    if registry.spawn == Spawn::Auto && registry.url.trim_end_matches('/') != DEFAULT_REGISTRY_URL {
        return Some(format!(
            "registry.url is {}: that registry is not one `bioshadock serve` runs",
            registry.url
        ));
    }
    let config_file = dir.join(CONFIG_FILE);
    (!config_file.exists()).then(|| {
        format!(
            "`bioshadock serve` never spawned a registry here ({} does not exist)",
            config_file.display()
        )
    })
}

/// The registry `serve` spawned: its configuration (both ways) and what it names.
struct Spawned {
    data_dir: PathBuf,
    dir: PathBuf,
    config_file: PathBuf,
    /// The configuration as `serve` wrote it (without a read-only block a killed run left).
    normal: String,
    read_only: String,
    /// Where it answers (`http.addr`), reached from here.
    addr: SocketAddr,
    /// Its images (`storage.filesystem.rootdirectory`).
    storage: PathBuf,
}

impl Spawned {
    fn read(data_dir: &Path) -> Result<Self> {
        let dir = data_dir.join(REGISTRY_DIR);
        let config_file = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_file)
            .with_context(|| format!("cannot read {}", config_file.display()))?;
        let normal = without_read_only(&text);
        let read_only =
            read_only(&normal).with_context(|| format!("in {}", config_file.display()))?;
        let parsed = parse(&normal)?;
        let addr = parsed["http"]["addr"]
            .as_str()
            .context("the registry configuration has no http.addr")?;
        let addr = listen_address(addr)?;
        let storage = parsed["storage"]["filesystem"]["rootdirectory"]
            .as_str()
            .context("the registry configuration has no storage.filesystem.rootdirectory")?;
        Ok(Self {
            data_dir: data_dir.to_owned(),
            dir,
            config_file,
            normal,
            read_only,
            addr,
            storage: PathBuf::from(storage),
        })
    }
}

/// `http.addr` as an address to call: `:5000` and `0.0.0.0:5000` are reached on loopback.
fn listen_address(addr: &str) -> Result<SocketAddr> {
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_owned()
    };
    let parsed: SocketAddr = full.parse().with_context(|| {
        format!("the registry's http.addr `{addr}` is not an IP address and port")
    })?;
    Ok(reachable_locally(parsed))
}

/// `--dry-run`: what garbage-collect would delete; the registry is left alone (nothing is
/// deleted, so pushes meanwhile do no harm).
async fn dry_run_only(registry: &Spawned, binary: &Path, timeout: Duration) -> Result<()> {
    let usage = disk_usage(&registry.storage).await?;
    let output = garbage_collect(binary, &registry.config_file, true, timeout).await?;
    print!("{}", output.stdout);
    println!(
        "\nDry run: nothing was deleted and the registry was left as it was. Its storage ({}) \
         uses {}.",
        registry.storage.display(),
        human(usage)
    );
    Ok(())
}

/// The registry runs under `serve`: read-only, collect, read-write again.
async fn collect_live(
    registry: &Spawned,
    binary: &Path,
    pid: i32,
    timeout: Duration,
) -> Result<()> {
    let before = disk_usage(&registry.storage).await?;
    write_private(&registry.config_file, &registry.read_only)
        .context("cannot put the registry in read-only mode")?;
    // From here on the normal configuration goes back whatever happens; the explicit restore
    // below also restarts the registry, the guard only covers what cannot (a panic).
    let guard = ConfigGuard::new(registry);
    println!(
        "Restarting the registry (pid {pid}) in read-only mode: pulls keep working, pushes are \
         refused until it is done."
    );
    let collected = tokio::select! {
        result = read_only_phase(registry, binary, pid, timeout) => result,
        signal = interrupted() => Err(anyhow!("interrupted by {signal}")),
    };
    // A second signal stops the wait, not the restoring: the normal configuration is written
    // at the first poll of `restore` (hence `biased`), and the supervisor restarts with it.
    let restored = tokio::select! {
        biased;
        result = guard.restore() => result,
        signal = interrupted() => Err(anyhow!(
            "interrupted by {signal} while waiting for the registry to restart read-write"
        )),
    };
    let after = disk_usage(&registry.storage).await?;
    let ok = collected.is_ok() && restored.is_ok();
    finish(registry, before, after, ok)?;
    outcome(collected, restored)
}

/// The part that runs read-only: wait for the restarted registry, then collect.
async fn read_only_phase(
    registry: &Spawned,
    binary: &Path,
    pid: i32,
    timeout: Duration,
) -> Result<()> {
    restart(registry, Some(pid))
        .await
        .context("the registry did not come back in read-only mode")?;
    let output = garbage_collect(binary, &registry.config_file, false, timeout).await?;
    if let Some(line) = output
        .stdout
        .lines()
        .find(|line| line.contains("blobs marked"))
    {
        println!("garbage-collect: {}", line.trim());
    }
    Ok(())
}

/// No registry runs: `serve` is stopped (or runs without a spawned registry), so collect
/// directly, keeping `serve` from starting meanwhile.
async fn collect_idle(registry: &Spawned, binary: &Path, timeout: Duration) -> Result<()> {
    // `serve` holds `data_dir/.lock` (the embedded backends' lock) while it runs: held here,
    // it keeps a `serve` from starting a registry in the middle of the collection.
    let _no_serve = lock_exclusively(
        &registry.data_dir.join(".lock"),
        "`bioshadock serve` is running here, but its registry is not up (restarting after a \
         failure?); run registry-gc again once it answers",
    )?;
    println!(
        "No registry is running on {} (`bioshadock serve` is stopped): collecting directly.",
        registry.storage.display()
    );
    let before = disk_usage(&registry.storage).await?;
    let collected = garbage_collect(binary, &registry.config_file, false, timeout).await;
    if let Ok(output) = &collected
        && let Some(line) = output
            .stdout
            .lines()
            .find(|line| line.contains("blobs marked"))
    {
        println!("garbage-collect: {}", line.trim());
    }
    let after = disk_usage(&registry.storage).await?;
    finish(registry, before, after, collected.is_ok())?;
    collected.map(|_| ())
}

/// Prints the summary and records it for the admin page.
fn finish(registry: &Spawned, before: u64, after: u64, ok: bool) -> Result<()> {
    println!(
        "Registry storage {}:\n  before     {}\n  after      {}\n  reclaimed  {}",
        registry.storage.display(),
        human(before),
        human(after),
        // Never negative: pushes during a failed run may have added some.
        human(before.saturating_sub(after))
    );
    let record = LastGc {
        finished_at: Utc::now().trunc_subsecs(0),
        bytes_before: before,
        bytes_after: after,
        ok,
    };
    let path = record_path(&registry.data_dir);
    write_record(&path, &record).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes the record through a temporary file and a rename, so that the admin page never
/// reads half of one; mode 0600 like everything under `data_dir`.
fn write_record(path: &Path, record: &LastGc) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut json = serde_json::to_vec_pretty(record)?;
    json.push(b'\n');
    let temporary = path.with_extension("json.tmp");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| file.write_all(&json))?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// One error that says what failed and in which state the registry was left.
fn outcome(collected: Result<()>, restored: Result<()>) -> Result<()> {
    match (collected, restored) {
        (Ok(()), Ok(())) => {
            println!("The registry is read-write again.");
            Ok(())
        }
        (Err(e), Ok(())) => {
            Err(e.context("garbage collection failed (the registry is read-write again)"))
        }
        (collected, Err(e)) => {
            let first = collected
                .err()
                .map(|c| format!("garbage collection failed ({c:#}), and "))
                .unwrap_or_default();
            // Restarting serve is the way out in every case: it rewrites the configuration.
            Err(e.context(format!(
                "{first}the registry may still be read-only: restarting `bioshadock serve` \
                 writes its configuration afresh and restarts it"
            )))
        }
    }
}

/// Writes the normal configuration back when dropped, unless [`ConfigGuard::restore`] did it.
struct ConfigGuard<'a> {
    registry: &'a Spawned,
    armed: bool,
}

impl<'a> ConfigGuard<'a> {
    fn new(registry: &'a Spawned) -> Self {
        Self {
            registry,
            armed: true,
        }
    }

    /// The normal configuration back (before the first await), and a registry running it.
    async fn restore(mut self) -> Result<()> {
        write_private(&self.registry.config_file, &self.registry.normal)?;
        self.armed = false;
        println!("Restarting the registry in read-write mode.");
        // Whatever runs now was started read-only (or is in the middle of restarting, and
        // then reads the normal configuration anyway).
        restart(self.registry, running_registry(&self.registry.dir)).await
    }
}

impl Drop for ConfigGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = write_private(&self.registry.config_file, &self.registry.normal);
        }
    }
}

/// Stops `running` (if any) for `serve`'s supervisor to start it again with the configuration
/// now on disk, and waits until the new process answers.
async fn restart(registry: &Spawned, running: Option<i32>) -> Result<()> {
    if let Some(pid) = running {
        // Gone already is fine: the supervisor starts the next one either way.
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .context("cannot build an HTTP client")?;
    let deadline = Instant::now() + RESTART_WAIT;
    loop {
        // Another pid: the old process may still answer while it shuts down.
        if let Some(pid) = running_registry(&registry.dir)
            && Some(pid) != running
            && answers(&client, registry.addr).await
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "no registry answered at {} within {} s (is `bioshadock serve` still running?)",
                registry.addr,
                RESTART_WAIT.as_secs()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the registry at `addr` is up: `GET /v2/` answers 200, or 401 with token auth on.
async fn answers(client: &reqwest::Client, addr: SocketAddr) -> bool {
    client
        .get(format!("http://{addr}/v2/"))
        .send()
        .await
        .is_ok_and(|r| matches!(r.status().as_u16(), 200 | 401))
}

/// Whether `pid`'s parent is a `bioshadock serve`, whose supervisor restarts it.
fn supervised(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so after the last `)`.
    let parent = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|ppid| ppid.parse::<i32>().ok());
    parent
        .and_then(|ppid| std::fs::read(format!("/proc/{ppid}/cmdline")).ok())
        .is_some_and(|cmdline| cmdline.split(|b| *b == 0).any(|arg| arg == b"serve"))
}

/// The first of SIGINT and SIGTERM: the collection stops, the registry is still restored.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

/// An exclusive lock on `path` (created if needed), released when the file is dropped or the
/// process ends; `busy` says why it is taken.
fn lock_exclusively(path: &Path, busy: &str) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!("{busy}"),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow!(e).context(format!("cannot lock {}", path.display())))
        }
    }
}

/// What garbage-collect printed (each stream's end, at most [`MAX_OUTPUT`] bytes).
struct GcOutput {
    stdout: String,
}

/// `BINARY garbage-collect [--dry-run] --delete-untagged CONFIG`, stopped after `timeout`.
async fn garbage_collect(
    binary: &Path,
    config_file: &Path,
    dry_run: bool,
    timeout: Duration,
) -> Result<GcOutput> {
    let mut command = Command::new(binary);
    command.arg("garbage-collect");
    if dry_run {
        command.arg("--dry-run");
    }
    command
        .arg("--delete-untagged")
        .arg(config_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let stdout = child
        .stdout
        .take()
        .context("garbage-collect has no output")?;
    let stderr = child
        .stderr
        .take()
        .context("garbage-collect has no output")?;
    let finished = tokio::time::timeout(timeout, async {
        tokio::join!(tail(stdout), tail(stderr), child.wait())
    })
    .await;
    let Ok((stdout, stderr, status)) = finished else {
        let _ = child.kill().await;
        bail!(
            "garbage-collect did not finish within {} s and was stopped (--timeout-secs)",
            timeout.as_secs()
        );
    };
    let status = status.context("cannot wait for garbage-collect")?;
    if !status.success() {
        let said = if stderr.trim().is_empty() {
            &stdout
        } else {
            &stderr
        };
        bail!(
            "{} garbage-collect failed ({status}): {}",
            binary.display(),
            last_lines(said, ERROR_LINES)
        );
    }
    Ok(GcOutput { stdout })
}

/// Reads `output` to its end, keeping its last [`MAX_OUTPUT`] bytes, from a line start.
async fn tail(mut output: impl AsyncRead + Unpin) -> String {
    let mut kept = Vec::new();
    let mut cut = false;
    let mut chunk = [0u8; 8192];
    loop {
        match output.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&chunk[..n]);
                if kept.len() > MAX_OUTPUT {
                    kept.drain(..kept.len() - MAX_OUTPUT);
                    cut = true;
                }
            }
        }
    }
    if cut && let Some(newline) = kept.iter().position(|b| *b == b'\n') {
        kept.drain(..=newline);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The last `n` non-empty lines of `text`, joined with ` / ` (errors are one line).
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

/// Disk usage of the tree at `root` in bytes, as `du` counts it (allocated blocks, files and
/// directories, symlinks not followed); 0 when it does not exist yet (nothing pushed).
async fn disk_usage(root: &Path) -> Result<u64> {
    let root = root.to_owned();
    tokio::task::spawn_blocking(move || walk(&root))
        .await
        .context("the disk usage walk stopped")?
}

fn walk(root: &Path) -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut pending = vec![root.to_owned()];
    while let Some(path) = pending.pop() {
        let metadata = match std::fs::symlink_metadata(&path) {
            Ok(metadata) => metadata,
            // Gone meanwhile (an upload finished, the collector deleted it): nothing to count.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        total += metadata.blocks() * 512;
        if metadata.is_dir() {
            let entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot list {}", path.display()));
                }
            };
            for entry in entries {
                let entry = entry.with_context(|| format!("cannot list {}", path.display()))?;
                pending.push(entry.path());
            }
        }
    }
    Ok(total)
}

/// `12.3 MiB (12897484 bytes)`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    // Precision is not the point: the exact count follows.
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {} ({bytes} bytes)", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_what_the_admin_page_reads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(REGISTRY_DIR)).unwrap();
        let record = LastGc {
            finished_at: Utc::now().trunc_subsecs(0),
            bytes_before: 3000,
            bytes_after: 1000,
            ok: true,
        };
        write_record(&record_path(dir.path()), &record).unwrap();
        let read = bioshadock_core::registry_gc::read_last_gc(dir.path());
        assert_eq!(read, Some(record));
        let raw: serde_json::Value =
            serde_json::from_slice(&std::fs::read(record_path(dir.path())).unwrap()).unwrap();
        let finished = raw["finished_at"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(finished).is_ok(),
            "{finished}"
        );
        assert_eq!(raw["ok"], true);
    }

    #[test]
    fn sizes_read_for_people_and_keep_the_exact_count() {
        assert_eq!(human(0), "0 bytes");
        assert_eq!(human(1023), "1023 bytes");
        assert_eq!(human(1536), "1.5 KiB (1536 bytes)");
        assert_eq!(human(5 * 1024 * 1024), "5.0 MiB (5242880 bytes)");
    }

    #[test]
    fn listen_addresses_are_reached_on_loopback() {
        assert_eq!(
            listen_address("127.0.0.1:5001").unwrap(),
            "127.0.0.1:5001".parse().unwrap()
        );
        assert_eq!(
            listen_address(":5000").unwrap(),
            "127.0.0.1:5000".parse().unwrap()
        );
        assert_eq!(
            listen_address("0.0.0.0:5000").unwrap(),
            "127.0.0.1:5000".parse().unwrap()
        );
        assert!(listen_address("registry:5000").is_err());
    }

    #[test]
    fn error_messages_quote_the_last_lines() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b / c");
        assert_eq!(last_lines("only", 5), "only");
        assert_eq!(last_lines("", 5), "");
    }

    #[tokio::test]
    async fn output_is_kept_from_its_end_within_the_bound() {
        let long: String = (0..20_000).map(|n| format!("line {n}\n")).collect();
        let kept = tail(long.as_bytes()).await;
        assert!(kept.len() <= MAX_OUTPUT);
        assert!(kept.starts_with("line "), "cut at a line start");
        assert!(kept.ends_with("line 19999\n"));
        assert_eq!(tail(&b"short\n"[..]).await, "short\n");
    }

    #[test]
    fn disk_usage_counts_what_is_there_and_zero_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(walk(&dir.path().join("missing")).unwrap(), 0);
        let empty = walk(dir.path()).unwrap();
        std::fs::create_dir(dir.path().join("blobs")).unwrap();
        std::fs::write(dir.path().join("blobs/data"), vec![7u8; 100_000]).unwrap();
        assert!(walk(dir.path()).unwrap() >= empty + 100_000);
    }

    #[test]
    fn only_a_spawned_registry_with_its_configuration_is_collected_here() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load(None).unwrap();
        config.data_dir = dir.path().to_owned();
        let registry_dir = dir.path().join(REGISTRY_DIR);

        config.registry.spawn = Spawn::Never;
        let reason = not_spawned_here(&config, &registry_dir).unwrap();
        assert!(reason.contains("registry.spawn is false"), "{reason}");

        config.registry.spawn = Spawn::Auto;
        config.registry.url = "https://registry.lab.org".into();
        let reason = not_spawned_here(&config, &registry_dir).unwrap();
        assert!(reason.contains("registry.lab.org"), "{reason}");

        config.registry.url = DEFAULT_REGISTRY_URL.into();
        let reason = not_spawned_here(&config, &registry_dir).unwrap();
        assert!(reason.contains("never spawned"), "{reason}");

        std::fs::create_dir(&registry_dir).unwrap();
        std::fs::write(registry_dir.join(CONFIG_FILE), "version: 0.1\n").unwrap();
        assert_eq!(not_spawned_here(&config, &registry_dir), None);
        // `true` spawns whatever registry.url says (serve overrides it).
        config.registry.spawn = Spawn::Always;
        config.registry.url = "https://registry.lab.org".into();
        assert_eq!(not_spawned_here(&config, &registry_dir), None);
    }
}
