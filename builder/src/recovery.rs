//! No build is left `running` without a live worker: leases that stopped being renewed are
//! reaped and their builds marked interrupted, and a single-process server recovers its own
//! builds at start-up.

use std::time::Duration;

use bioshadock_core::PortError;
use bioshadock_core::model::now;
use bioshadock_core::ports::builds::{BuildStatus, Finish};
use bioshadock_core::ports::queue::JobState;
use tokio_util::sync::CancellationToken;

use crate::worker::WorkerPorts;

/// Reaps expired leases every `every` until `shutdown`.
pub async fn reap_periodically(ports: WorkerPorts, every: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let reason = "its builder stopped answering (no heartbeat) while the build ran";
        if let Err(e) = reap(&ports, now(), reason).await {
            tracing::warn!(error = %e, "reaping expired build leases failed");
        }
    }
}

/// Interrupts the builds of leases that ended before `before`; returns how many.
async fn reap(
    ports: &WorkerPorts,
    before: chrono::DateTime<chrono::Utc>,
    reason: &str,
) -> Result<usize, PortError> {
    let reaped = ports.queue.reap_expired(before).await?;
    let mut interrupted = 0;
    for job in reaped {
        if interrupt(ports, job.id, reason).await {
            interrupted += 1;
        }
    }
    Ok(interrupted)
}

/// Marks build `id` interrupted unless it already ended; true if it was changed.
async fn interrupt(ports: &WorkerPorts, id: i64, reason: &str) -> bool {
    let finish = Finish {
        status: BuildStatus::Interrupted,
        reason: Some(reason.to_owned()),
        digest: None,
        at: now(),
    };
    match ports.builds.finish(id, finish).await {
        Ok(_) => {
            tracing::warn!(build = id, "build interrupted: {reason}");
            true
        }
        Err(PortError::Conflict(_) | PortError::NotFound) => false,
        Err(e) => {
            tracing::error!(build = id, error = %e, "cannot mark the build interrupted");
            false
        }
    }
}

/// For a server whose queue and store belong to it alone (`serve` on the embedded
/// backends): every lease still held is a previous run's, whose process is gone, so its
/// builds are interrupted now rather than when the lease would expire. Returns how many.
pub async fn recover_own_builds(ports: &WorkerPorts) -> Result<usize, PortError> {
    let far_future = now() + chrono::Duration::days(36_500);
    let reason = "the server stopped while this build ran";
    let mut interrupted = reap(ports, far_future, reason).await?;
    // A build marked running whose job is no longer leased (a crash between the two writes).
    for build in ports.builds.live().await? {
        if build.status != BuildStatus::Running {
            continue;
        }
        let orphaned = match ports.queue.get(build.id).await {
            Ok(job) => job.state != JobState::Leased,
            Err(PortError::NotFound) => true,
            Err(e) => return Err(e),
        };
        if orphaned && interrupt(ports, build.id, reason).await {
            interrupted += 1;
        }
    }
    Ok(interrupted)
}
