//! A build's log on its way to the store: lines arrive on a channel from the clone, the build,
//! the smoke tests and the push, and are appended in small batches so a browser following the
//! log sees them within a fraction of a second without one write per line.

use std::sync::Arc;
use std::time::Duration;

use bioshadock_core::ports::builds::BuildStore;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Lines waiting in the channel before senders wait for the store.
const CHANNEL: usize = 4096;
/// Most lines in one append.
const BATCH: usize = 256;
/// How long a line may wait for others before it is written.
const LINGER: Duration = Duration::from_millis(100);
/// More lines than this per build are dropped (a runaway `RUN` must not fill the disk).
const MAX_LINES: u64 = 50_000;

/// The writing end, handed to every step of a build.
pub type LogSender = mpsc::Sender<String>;

/// The task appending a build's lines to the store.
pub struct LogSink {
    sender: LogSender,
    task: JoinHandle<()>,
}

impl LogSink {
    /// Starts appending to build `id`, whose log already has `existing` lines.
    pub fn start(store: Arc<dyn BuildStore>, id: i64, existing: u64) -> Self {
        let (sender, receiver) = mpsc::channel(CHANNEL);
        let task = tokio::spawn(write_lines(store, id, existing, receiver));
        Self { sender, task }
    }

    pub fn sender(&self) -> LogSender {
        self.sender.clone()
    }

    /// Writes what is still buffered and stops; returns once every line sent before is
    /// stored (or could not be).
    pub async fn close(self) {
        drop(self.sender);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the build log writer panicked");
        }
    }
}

async fn write_lines(
    store: Arc<dyn BuildStore>,
    id: i64,
    mut written: u64,
    mut receiver: mpsc::Receiver<String>,
) {
    let mut batch: Vec<String> = Vec::with_capacity(BATCH);
    let mut truncated = false;
    loop {
        // Wait for the first line, then gather more for up to LINGER.
        let Some(first) = receiver.recv().await else {
            break;
        };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(line)) => batch.push(line),
                Ok(None) | Err(_) => break,
            }
        }
        if truncated {
            batch.clear();
            continue;
        }
        let room = MAX_LINES.saturating_sub(written) as usize;
        if batch.len() > room {
            batch.truncate(room.saturating_sub(1));
            batch.push(format!(
                "[bioshadock] the log passed {MAX_LINES} lines; the rest is not kept"
            ));
            truncated = true;
        }
        match store.append_log(id, &batch).await {
            Ok(count) => written = count,
            Err(e) => tracing::warn!(build = id, error = %e, "cannot store build log lines"),
        }
        batch.clear();
    }
}
