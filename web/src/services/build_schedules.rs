//! Scheduled builds: each container's cron schedule rebuilds it (tag `latest`, from its
//! source as configured), as its owner, at the occurrence plus the container's own offset
//! within `builder.schedule_spread_secs` — so a hundred containers scheduled for 03:00 do not
//! all start at 03:00. Each scheduled build is recorded in the container's decision log.
//!
//! One process at a time looks (the coordination lock), every [`TICK`], at the span since its
//! previous look, so each occurrence is due once. Like cron, an occurrence missed while no
//! portal ran is not made up for.

use std::time::Duration;

use bioshadock_core::build_settings::{ContainerBuildSettings, Schedule, due, jitter};
use bioshadock_core::model::now;
use bioshadock_core::triggers::{Decision, Origin, Outcome};
use bioshadock_core::{PortResult, RepoName};
use chrono::{DateTime, Utc};

use super::builds::{self, Queueing};
use super::containers;
use crate::state::AppState;

/// How often the scheduler looks.
pub const TICK: Duration = Duration::from_secs(30);
/// How often it reads the catalogue again for schedules. A schedule saved in the process that
/// looks is seen at its next look; one saved in another portal of a distributed installation
/// is seen within this (an occurrence sooner after it is saved may pass unseen).
const RESCAN: Duration = Duration::from_secs(120);
/// The lock that keeps N portals from starting the same scheduled build.
const LOCK: &str = "build-schedules";
/// Held at most this long, should its holder die mid-look.
const LOCK_TTL: Duration = Duration::from_secs(300);
/// The tag scheduled builds produce.
const SCHEDULED_TAG: &str = builds::DEFAULT_TAG;

/// A container with a schedule.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub id: RepoName,
    /// Its owner, whom its scheduled builds run as.
    pub owner: String,
    pub cron: String,
    schedule: Schedule,
}

/// When `id`'s next scheduled build starts, if it has a schedule.
pub fn next_build(
    state: &AppState,
    id: &RepoName,
    settings: &ContainerBuildSettings,
) -> Option<DateTime<Utc>> {
    let schedule = Schedule::parse(settings.schedule.as_deref()?).ok()?;
    let offset = jitter(id, state.settings.schedule_spread);
    let from = now() - offset;
    let next = schedule
        .occurrences(from, from + chrono::Duration::days(400), 1)
        .into_iter()
        .next()?;
    Some(next + offset)
}

/// Every container with a schedule.
pub async fn scheduled(state: &AppState) -> PortResult<Vec<Scheduled>> {
    containers::every(state, |container| {
        let cron = container.policy.build.schedule.clone()?;
        // Checked when saved; one that no longer parses is skipped, not fatal.
        match Schedule::parse(&cron) {
            Ok(schedule) => Some(Scheduled {
                id: container.id,
                owner: container.owner,
                cron,
                schedule,
            }),
            Err(e) => {
                tracing::warn!(id = %container.id, error = %e, "a stored schedule is invalid");
                None
            }
        }
    })
    .await
}

/// Queues the scheduled builds due in `(after, until]` and records each decision. The
/// scheduler calls it with the span since its previous look; tests call it with their own
/// clock.
pub async fn start_due(
    state: &AppState,
    scheduled: &[Scheduled],
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Decision> {
    let mut decisions = Vec::new();
    for container in scheduled {
        let offset = jitter(&container.id, state.settings.schedule_spread);
        let Some(occurrence) = due(&container.schedule, offset, after, until) else {
            continue;
        };
        let decision = start_one(state, container, occurrence).await;
        if let Err(e) = state.triggers.record_decision(&decision).await {
            tracing::error!(error = %e, id = %container.id, "a schedule decision could not be recorded");
        }
        decisions.push(decision);
    }
    decisions
}

/// [`scheduled`] then [`start_due`]: one look, reading the catalogue.
pub async fn run_due(
    state: &AppState,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> PortResult<Vec<Decision>> {
    let scheduled = scheduled(state).await?;
    Ok(start_due(state, &scheduled, after, until).await)
}

async fn start_one(state: &AppState, container: &Scheduled, occurrence: DateTime<Utc>) -> Decision {
    let mut decision = Decision {
        at: now(),
        container: container.id.to_string(),
        trigger: None,
        provider: Origin::Schedule,
        reference: None,
        commit: None,
        outcome: Outcome::Failed,
        reason: String::new(),
        builds: Vec::new(),
    };
    let when = occurrence.format("%Y-%m-%d %H:%M UTC");
    // From scratch: a schedule is there to pick up what changed outside the source (the
    // distribution's security updates), which a cached `RUN apt-get upgrade` would not.
    let extras = builds::Extras {
        no_cache: true,
        ..builds::Extras::default()
    };
    let cron = &container.cron;
    let say = |queueing: Queueing<'_>| match queueing {
        Queueing::Queued => {
            format!("scheduled build of {when} (`{cron}`): building {SCHEDULED_TAG}")
        }
        Queueing::AlreadyQueued => format!("scheduled build of {when} (`{cron}`): already queued"),
        Queueing::NotQueued(why) => format!("scheduled build of {when} not queued: {why}"),
    };
    builds::queue_as_owner(
        state,
        &container.owner,
        &container.id,
        SCHEDULED_TAG,
        None,
        &extras,
        &mut decision,
        say,
    )
    .await;
    decision
}

/// Looks for due scheduled builds every [`TICK`], in one process at a time across a
/// distributed installation.
pub fn spawn_periodic(state: AppState) -> tokio::task::JoinHandle<()> {
    let holder = crate::state::lock_holder();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut previous = now();
        // The schedules as read, with when and at which generation of the build settings.
        let mut known: Option<(tokio::time::Instant, u64, Vec<Scheduled>)> = None;
        loop {
            ticks.tick().await;
            let until = now();
            match state.coordination.try_lock(LOCK, holder, LOCK_TTL).await {
                Ok(true) => {}
                Ok(false) => {
                    // Another process looks; this one starts from here should it take over.
                    previous = until;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the schedule lock");
                    continue;
                }
            }
            let generation = state.followers.generation();
            let stale = known
                .as_ref()
                .is_none_or(|(read, seen, _)| read.elapsed() >= RESCAN || *seen != generation);
            if stale {
                match scheduled(&state).await {
                    Ok(found) => known = Some((tokio::time::Instant::now(), generation, found)),
                    Err(e) => tracing::warn!(error = %e, "cannot read the schedules"),
                }
            }
            if let Some((_, _, scheduled)) = &known {
                let decisions = start_due(&state, scheduled, previous, until).await;
                if !decisions.is_empty() {
                    tracing::info!(n = decisions.len(), "scheduled builds looked at");
                }
            }
            previous = until;
            if let Err(e) = state.coordination.unlock(LOCK, holder).await {
                tracing::debug!(error = %e, "cannot release the schedule lock");
            }
        }
    })
}
