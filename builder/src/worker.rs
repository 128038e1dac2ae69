//! The worker loop: leases build jobs when a slot is free and an engine answers, runs each
//! under supervision (heartbeats, cancel, timeout, shutdown), records how it ended, and
//! cleans up the engine whatever happened.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bioshadock_core::PortError;
use bioshadock_core::builder_status::BuilderStatus;
use bioshadock_core::events::{ActorKind, Credential, Event, EventActor, EventKind};
use bioshadock_core::model::now;
use bioshadock_core::orgs::OrgName;
use bioshadock_core::ports::accounts::UserStore;
use bioshadock_core::ports::builds::{Build, BuildStatus, BuildStore, Finish};
use bioshadock_core::ports::events::EventStore;
use bioshadock_core::ports::orgs::OrgStore;
use bioshadock_core::ports::queue::{Job, JobQueue, Outcome};
use bioshadock_core::ports::rules::RuleStore;
use bioshadock_core::ports::store::ContainerStore;
use bioshadock_core::tokens::TokenIssuer;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::docker::Engine;
use crate::log_sink::LogSink;
use crate::pipeline::{Ended, Failure, Leftovers, Pipeline, say};
use crate::recovery;
use crate::settings::BuilderSettings;

/// How long to wait for an engine that does not answer before asking again.
const ENGINE_RETRY: Duration = Duration::from_secs(10);
/// How long an answer of the engine is trusted before asking again.
const ENGINE_RECHECK: Duration = Duration::from_secs(5);
/// How long a stopped build's blocking work (clone, checkout, archive) may take to notice the
/// stop flag. It polls the flag at every file and transfer step, so it normally ends at once;
/// only a git server that stalls without sending anything keeps libgit2 from asking.
const BLOCKING_GRACE: Duration = Duration::from_secs(30);
/// How often running builds look for a cancel in the store.
const CANCEL_CHECK: Duration = Duration::from_millis(500);

/// What a builder needs from the rest of Bioshadock.
#[derive(Clone)]
pub struct WorkerPorts {
    pub queue: Arc<dyn JobQueue>,
    pub builds: Arc<dyn BuildStore>,
    /// The requester, their organisations and the container, to check again when a build starts that the
    /// requester may still push to it.
    pub users: Arc<dyn UserStore>,
    pub orgs: Arc<dyn OrgStore>,
    /// The access rules, which the requester is decided with as on the web.
    pub rules: Arc<dyn RuleStore>,
    pub containers: Arc<dyn ContainerStore>,
    /// The event stream: builds starting and ending are recorded there.
    pub events: Arc<dyn EventStore>,
    pub tokens: Arc<TokenIssuer>,
    /// Opens the build secrets (the installation's `sealing.key`, as the portal's).
    pub sealing: Arc<bioshadock_core::sealed::SealingKey>,
    /// Notified when a build is queued in this process, so an idle worker starts at once.
    pub wake: Arc<Notify>,
    pub status: Arc<BuilderStatus>,
}

/// Why a running build was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancelled,
    TimedOut,
    Shutdown,
    LeaseLost,
}

/// Runs builds until `shutdown` fires, then lets running ones finish for the grace period and
/// interrupts the rest. Returns when every build task has ended.
pub async fn run(ports: WorkerPorts, settings: BuilderSettings, shutdown: CancellationToken) {
    let settings = Arc::new(settings);
    ports.status.update(|s| {
        s.present = true;
        s.concurrency = settings.concurrency;
    });
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    // Fires after the grace period: builds still running are stopped then.
    let hard_stop = CancellationToken::new();
    let reaper = tokio::spawn(recovery::reap_periodically(
        ports.clone(),
        settings.lease / 3,
        shutdown.clone(),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    let mut engine: Option<Arc<Engine>> = None;
    let mut engine_checked = None;
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let Some(ready) = ready_engine(&mut engine, &mut engine_checked, &ports.status).await
        else {
            drop(permit);
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(ENGINE_RETRY) => continue,
            }
        };
        match ports.queue.lease(&settings.worker, settings.lease).await {
            Ok(Some(job)) => {
                let supervisor = Supervisor {
                    ports: ports.clone(),
                    settings: settings.clone(),
                    engine: ready,
                    hard_stop: hard_stop.clone(),
                };
                tasks.spawn(async move {
                    supervisor.run_job(job).await;
                    drop(permit);
                });
            }
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = ports.wake.notified() => {},
                    () = tokio::time::sleep(settings.poll) => {},
                }
            }
            Err(e) => {
                drop(permit);
                tracing::warn!(error = %e, "cannot take a build from the queue");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(settings.poll * 5) => {},
                }
            }
        }
        // Reap finished tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
    }
    if !tasks.is_empty() {
        tracing::info!(
            running = tasks.len(),
            grace_secs = settings.shutdown_grace.as_secs(),
            "waiting for running builds before shutting down"
        );
        if tokio::time::timeout(settings.shutdown_grace, drain(&mut tasks))
            .await
            .is_err()
        {
            tracing::warn!("the shutdown grace period ended: interrupting running builds");
            hard_stop.cancel();
            drain(&mut tasks).await;
        }
    }
    reaper.abort();
    ports.status.update(|s| s.present = false);
}

async fn drain(tasks: &mut tokio::task::JoinSet<()>) {
    while tasks.join_next().await.is_some() {}
}

/// The engine, connected and answering, or `None` (with the reason published) when it is not.
async fn ready_engine(
    engine: &mut Option<Arc<Engine>>,
    checked: &mut Option<tokio::time::Instant>,
    status: &BuilderStatus,
) -> Option<Arc<Engine>> {
    // A worker polling the queue often need not ask the engine as often.
    if let (Some(current), Some(at)) = (engine.as_ref(), *checked)
        && at.elapsed() < ENGINE_RECHECK
    {
        return Some(current.clone());
    }
    *checked = None;
    if engine.is_none() {
        match Engine::connect() {
            Ok(connected) => *engine = Some(Arc::new(connected)),
            Err(e) => {
                publish_problem(status, format!("cannot connect to the Docker Engine: {e}"));
                return None;
            }
        }
    }
    let current = engine.clone()?;
    match current.ping().await {
        Ok(version) => {
            let was_down = status.get().engine_version.is_none();
            status.update(|s| {
                s.engine_version = Some(version.clone());
                s.problem = None;
            });
            if was_down {
                tracing::info!(version, "the builder reached the Docker Engine");
            }
            *checked = Some(tokio::time::Instant::now());
            Some(current)
        }
        Err(e) => {
            publish_problem(
                status,
                format!(
                    "the Docker Engine does not answer ({e}); builds stay queued until it does"
                ),
            );
            None
        }
    }
}

fn publish_problem(status: &BuilderStatus, problem: String) {
    if status.get().problem.as_deref() != Some(problem.as_str()) {
        tracing::warn!("{problem}");
    }
    status.update(|s| {
        s.engine_version = None;
        s.problem = Some(problem);
    });
}

/// Runs one leased job.
struct Supervisor {
    ports: WorkerPorts,
    settings: Arc<BuilderSettings>,
    engine: Arc<Engine>,
    hard_stop: CancellationToken,
}

impl Supervisor {
    /// Records `kind` for `build` in the event stream, by the builder, as an event of the
    /// container's organisation when it has one; a failure is logged (the build goes on).
    async fn record(&self, build: &Build, kind: EventKind, summary: String) {
        let actor = EventActor {
            kind: ActorKind::System,
            name: "builder".to_owned(),
            credential: Credential::None,
            client: None,
            request_id: None,
        };
        let mut event = Event::new(kind, format!("build:{}", build.id), actor, summary);
        let namespace = build.container.namespace();
        if let Ok(org) = OrgName::parse(namespace)
            && self.ports.orgs.get_org(&org).await.is_ok()
        {
            event = event.in_org(namespace);
        }
        if let Err(e) = self.ports.events.append(&event, now()).await {
            tracing::error!(build = build.id, error = %e, "an event could not be recorded");
        }
    }

    async fn run_job(self, job: Job) {
        let Some(build) = self.claim(&job).await else {
            return;
        };
        self.ports.status.update(|s| s.running += 1);
        tracing::info!(build = build.id, container = %build.container, tag = %build.tag, "build started");
        let summary = format!(
            "build {} of {}:{} for {} started on {}",
            build.id, build.container, build.tag, build.requested_by, self.settings.worker
        );
        self.record(&build, EventKind::BuildStarted, summary).await;
        let (status, reason, digest) = self.supervise(&build).await;
        let finish = Finish {
            status,
            reason: reason.clone(),
            digest,
            at: now(),
        };
        // The record first, then the job: if we die in between, the reaper finds a leased job
        // whose build already ended and leaves the build alone.
        match self.ports.builds.finish(build.id, finish).await {
            Ok(_) => {
                let summary = format!(
                    "build {} of {}:{} ended: {}{}",
                    build.id,
                    build.container,
                    build.tag,
                    status.as_str(),
                    reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
                self.record(&build, EventKind::BuildFinished, summary).await;
            }
            // A cancel (or the reaper) got there first; its status stands.
            Err(PortError::Conflict(_)) => {}
            Err(e) => {
                tracing::error!(build = build.id, error = %e, "cannot record how the build ended")
            }
        }
        let outcome = if matches!(status, BuildStatus::Success | BuildStatus::Skipped) {
            Outcome::Done
        } else {
            Outcome::Failed
        };
        match self
            .ports
            .queue
            .complete(job.id, &self.settings.worker, outcome)
            .await
        {
            Ok(()) | Err(PortError::Conflict(_)) => {}
            Err(e) => tracing::warn!(build = build.id, error = %e, "cannot complete the build job"),
        }
        self.ports.status.update(|s| {
            s.running = s.running.saturating_sub(1);
            *s.ended.entry(status.as_str()).or_default() += 1;
        });
        tracing::info!(
            build = build.id,
            status = status.as_str(),
            reason = reason.as_deref().unwrap_or(""),
            "build ended"
        );
    }

    /// The build behind `job`, marked running; `None` (and the job ended) when there is
    /// nothing to run.
    async fn claim(&self, job: &Job) -> Option<Build> {
        // The web enqueues first and records the build right after: give it a moment.
        let mut build = None;
        for _ in 0..40 {
            match self.ports.builds.get(job.id).await {
                Ok(found) => {
                    build = Some(found);
                    break;
                }
                Err(PortError::NotFound) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => {
                    tracing::warn!(job = job.id, error = %e, "cannot read the build record");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        let started = match build {
            Some(build) if build.status == BuildStatus::Queued => self
                .ports
                .builds
                .start(build.id, &self.settings.worker, now())
                .await
                .ok(),
            _ => None,
        };
        if started.is_none() {
            // No record (its request failed half-way), or it was cancelled meanwhile.
            let _ = self
                .ports
                .queue
                .complete(job.id, &self.settings.worker, Outcome::Failed)
                .await;
        }
        started
    }

    /// Runs the pipeline until it ends or something stops it; then cleans up.
    async fn supervise(&self, build: &Build) -> (BuildStatus, Option<String>, Option<String>) {
        let sink = LogSink::start(self.ports.builds.clone(), build.id, build.log_lines);
        let log = sink.sender();
        let stop_flag = Arc::new(AtomicBool::new(false));
        let leftovers = Arc::new(Mutex::new(Leftovers::default()));
        let blocking = TaskTracker::new();
        let pipeline = Pipeline {
            engine: self.engine.clone(),
            store: self.ports.builds.clone(),
            users: self.ports.users.clone(),
            orgs: self.ports.orgs.clone(),
            rules: self.ports.rules.clone(),
            containers: self.ports.containers.clone(),
            tokens: self.ports.tokens.clone(),
            sealing: self.ports.sealing.clone(),
            settings: self.settings.clone(),
            stop: stop_flag.clone(),
            blocking: blocking.clone(),
            leftovers: leftovers.clone(),
        };
        let result = tokio::select! {
            result = pipeline.run(build, &log) => Ok(result),
            stop = self.stopped(build) => Err(stop),
        };
        stop_flag.store(true, Ordering::Relaxed);
        // The build is over only when its threads are: a clone left running after a cancel
        // would go on filling the disk.
        blocking.close();
        if tokio::time::timeout(BLOCKING_GRACE, blocking.wait())
            .await
            .is_err()
        {
            tracing::error!(
                build = build.id,
                "the build's clone or archive did not stop within {} s of being told to",
                BLOCKING_GRACE.as_secs()
            );
        }
        let (status, reason, digest) = match result {
            Ok(Ok(Ended::Pushed(digest))) => (BuildStatus::Success, None, Some(digest)),
            Ok(Ok(Ended::Skipped(why))) => (BuildStatus::Skipped, Some(why), None),
            Ok(Err(Failure(reason))) => (BuildStatus::Failed, Some(reason), None),
            Err(Stop::Cancelled) => (BuildStatus::Cancelled, Some("cancelled".to_owned()), None),
            Err(Stop::TimedOut) => (
                BuildStatus::Failed,
                Some(format!(
                    "the build took longer than {} seconds (builder.timeout_secs) and was stopped",
                    self.settings.timeout.as_secs()
                )),
                None,
            ),
            Err(Stop::Shutdown) => (
                BuildStatus::Interrupted,
                Some("the builder shut down while this build ran".to_owned()),
                None,
            ),
            Err(Stop::LeaseLost) => (
                BuildStatus::Interrupted,
                Some(
                    "this builder lost its lease on the build (it did not answer in time)"
                        .to_owned(),
                ),
                None,
            ),
        };
        match (&status, &reason) {
            (BuildStatus::Success, _) => say(&log, "build succeeded".to_owned()).await,
            (_, Some(reason)) => say(&log, format!("build {}: {reason}", status.as_str())).await,
            _ => {}
        }
        self.clean_up(&leftovers).await;
        drop(log);
        sink.close().await;
        (status, reason, digest)
    }

    /// Resolves when the build must stop: cancelled in the store, past its timeout, the
    /// shutdown grace ended, or the lease lost. Renews the lease meanwhile.
    async fn stopped(&self, build: &Build) -> Stop {
        let deadline = tokio::time::Instant::now() + self.settings.timeout;
        let mut check = tokio::time::interval(CANCEL_CHECK);
        let mut last_beat = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return Stop::TimedOut,
                () = self.hard_stop.cancelled() => return Stop::Shutdown,
                _ = check.tick() => {}
            }
            if let Ok(current) = self.ports.builds.get(build.id).await
                && current.status == BuildStatus::Cancelled
            {
                return Stop::Cancelled;
            }
            if last_beat.elapsed() >= self.settings.heartbeat {
                last_beat = tokio::time::Instant::now();
                match self
                    .ports
                    .queue
                    .heartbeat(build.id, &self.settings.worker, self.settings.lease)
                    .await
                {
                    Ok(()) => {}
                    // The job was cancelled (or reaped): whoever did it recorded why.
                    Err(PortError::Conflict(_) | PortError::NotFound) => {
                        return match self.ports.builds.get(build.id).await {
                            Ok(b) if b.status == BuildStatus::Cancelled => Stop::Cancelled,
                            _ => Stop::LeaseLost,
                        };
                    }
                    Err(e) => tracing::warn!(build = build.id, error = %e, "heartbeat failed"),
                }
            }
        }
    }

    /// Removes the build's image and smoke-test containers from the engine: pushed images
    /// live in the registry, and a builder must not fill its disk.
    async fn clean_up(&self, leftovers: &Mutex<Leftovers>) {
        let Leftovers { images, containers } =
            std::mem::take(&mut *leftovers.lock().unwrap_or_else(|e| e.into_inner()));
        for name in containers {
            self.engine.remove_container(&name).await;
        }
        for image in images {
            self.engine.remove_image(&image).await;
        }
    }
}
