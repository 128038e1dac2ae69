//! Base-image rebuilds: when a tag of this catalogue gets a new image, the containers whose
//! last build of a tag used it as a `FROM` (or `COPY --from=`) image, and that opted in, are
//! rebuilt — the same commit, the same tag, as their owner, through the usual queue.
//!
//! The dependencies are read from what builds recorded: each opted-in container's newest
//! successful build of each tag, its Dockerfile and its arguments (the builder reads them
//! alike). A base named by digest never changes and counts for nothing. Guards:
//! - at most `builder.base_rebuild_fanout` containers per new image; the rest are recorded as
//!   over the limit;
//! - a dependent that the base is itself built on (directly or through others) is not rebuilt,
//!   and the decision says which cycle; without it, two images built on each other would
//!   rebuild each other forever.
//!
//! Every decision is in the dependent's decision log, with `provider: base_image`.

use std::collections::{BTreeMap, BTreeSet};

use bioshadock_core::base_images::{portal_images, split_reference};
use bioshadock_core::events::{EventKind, Recorded};
use bioshadock_core::model::now;
use bioshadock_core::ports::builds::{Build, BuildSource};
use bioshadock_core::triggers::{Decision, Origin, Outcome};
use bioshadock_core::{PortError, PortResult, RepoName};

use super::builds::{self, Queueing};
use super::{containers, stream};
use crate::state::AppState;

/// `namespace/name:tag`: a node of the dependency graph.
type Image = String;

/// One tag of a container, and the build that last made it.
#[derive(Debug, Clone)]
pub struct Dependent {
    pub container: RepoName,
    pub owner: String,
    pub build: Build,
}

impl Dependent {
    fn image(&self) -> Image {
        format!("{}:{}", self.container, self.build.tag)
    }
}

/// The dependency graph of the opted-in containers: for each base image, what was built on
/// it; and for each built image, its bases.
#[derive(Debug, Default)]
pub struct Dependencies {
    built_on: BTreeMap<Image, Vec<Dependent>>,
    bases_of: BTreeMap<Image, BTreeSet<Image>>,
}

impl Dependencies {
    /// Whether `image` is built on `dependent`, directly or through other images: the
    /// dependent's rebuild would then rebuild `image` again.
    fn is_built_on(&self, image: &Image, dependent: &Image) -> Option<Vec<Image>> {
        // A depth-first walk down the bases, keeping the path for the reason.
        let mut stack = vec![vec![image.clone()]];
        let mut seen = BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = path.last().cloned().unwrap_or_default();
            for base in self.bases_of.get(&last).into_iter().flatten() {
                let mut next = path.clone();
                next.push(base.clone());
                if base == dependent {
                    return Some(next);
                }
                if seen.insert(base.clone()) {
                    stack.push(next);
                }
            }
        }
        None
    }
}

/// How long the list of opted-in containers is kept before the catalogue is read again
/// (a change of this process's build settings drops it at once).
const FOLLOWERS_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The containers that follow their base images, `(id, owner)`, read from the catalogue at
/// most every [`FOLLOWERS_TTL`]: every new digest asks, and most catalogues have few. A change
/// of this process's build settings makes the next ask read again (a generation count, so a
/// read under way when the change is saved does not keep the old list).
#[derive(Default)]
pub struct Followers {
    generation: std::sync::atomic::AtomicU64,
    known: tokio::sync::Mutex<Option<Known>>,
}

/// The list as read, with when and at which generation.
struct Known {
    read: std::time::Instant,
    generation: u64,
    list: Vec<(RepoName, String)>,
}

impl Followers {
    async fn opted_in(&self, state: &AppState) -> PortResult<Vec<(RepoName, String)>> {
        use std::sync::atomic::Ordering;
        let generation = self.generation.load(Ordering::SeqCst);
        let mut known = self.known.lock().await;
        if let Some(k) = known.as_ref()
            && k.generation == generation
            && k.read.elapsed() < FOLLOWERS_TTL
        {
            return Ok(k.list.clone());
        }
        let list = containers::every(state, |c| {
            c.policy.build.rebuild_on_base.then_some((c.id, c.owner))
        })
        .await?;
        *known = Some(Known {
            read: std::time::Instant::now(),
            generation,
            list: list.clone(),
        });
        Ok(list)
    }

    /// A container's build settings changed: the next ask reads the catalogue again.
    pub fn forget(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many times this process's build settings changed: the scheduler reads the
    /// schedules again when it moves.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Reads the dependency graph from the catalogue and the build records.
pub async fn dependencies(state: &AppState) -> PortResult<Dependencies> {
    let hosts = vec![state.settings.pull_host.to_ascii_lowercase()];
    let mut graph = Dependencies::default();
    for (id, owner) in state.followers.opted_in(state).await? {
        for build in builds::newest_success_per_tag(state, &id)
            .await?
            .into_values()
        {
            let Some(dockerfile) = state.builds.dockerfile(build.id).await? else {
                continue;
            };
            // A Dockerfile the builder refused never built; nothing to follow.
            let Ok(images) = portal_images(&dockerfile.text, &hosts, &build.options.args) else {
                continue;
            };
            let dependent = Dependent {
                container: id.clone(),
                owner: owner.clone(),
                build,
            };
            for found in images {
                let (path, tag) = split_reference(&found.reference, &hosts[0]);
                if tag.starts_with("sha256:") {
                    continue;
                }
                let base = format!("{}:{tag}", path.to_ascii_lowercase());
                graph
                    .bases_of
                    .entry(dependent.image())
                    .or_default()
                    .insert(base.clone());
                graph
                    .built_on
                    .entry(base)
                    .or_default()
                    .push(dependent.clone());
            }
        }
    }
    Ok(graph)
}

/// A tag of `base` got a new image: queues the rebuilds of the containers built on it and
/// records each decision. Returns the decisions.
pub async fn base_changed(
    state: &AppState,
    base: &RepoName,
    tag: &str,
) -> PortResult<Vec<Decision>> {
    let graph = dependencies(state).await?;
    let image = format!("{base}:{tag}");
    let mut dependents = graph.built_on.get(&image).cloned().unwrap_or_default();
    // One rebuild per tag of each container, in a stable order.
    dependents.sort_by_key(Dependent::image);
    dependents.dedup_by_key(|d| d.image());
    let mut decisions = Vec::new();
    let mut queued = 0;
    for dependent in &dependents {
        let mut decision = Decision {
            at: now(),
            container: dependent.container.to_string(),
            trigger: None,
            provider: Origin::BaseImage,
            reference: Some(format!("base image {image} changed")),
            commit: dependent.build.revision.clone(),
            outcome: Outcome::Failed,
            reason: String::new(),
            builds: Vec::new(),
        };
        if let Some(cycle) = graph.is_built_on(&image, &dependent.image()) {
            decision.outcome = Outcome::Ignored;
            decision.reason = format!(
                "not rebuilt: {} is built on {image} and {image} on it ({}), which would rebuild them in turn forever",
                dependent.image(),
                cycle.join(" → ")
            );
        } else if queued >= state.settings.base_rebuild_fanout {
            decision.outcome = Outcome::OverLimit;
            decision.reason = format!(
                "{image} changed, but more than {} containers are built on it \
                 (builder.base_rebuild_fanout): {} was not rebuilt",
                state.settings.base_rebuild_fanout,
                dependent.image()
            );
        } else {
            rebuild(state, dependent, &image, &mut decision).await;
            if matches!(decision.outcome, Outcome::Queued | Outcome::Deduplicated) {
                queued += 1;
            }
        }
        let decision = decision.bounded();
        if let Err(e) = state.triggers.record_decision(&decision).await {
            tracing::error!(error = %e, container = %decision.container, "a base-image decision could not be recorded");
        }
        decisions.push(decision);
    }
    Ok(decisions)
}

/// Queues the dependent's tag again, from the commit its last build built.
async fn rebuild(state: &AppState, dependent: &Dependent, image: &str, decision: &mut Decision) {
    let git_ref = match &dependent.build.source {
        BuildSource::Git(_) => dependent.build.revision.as_deref(),
        BuildSource::Dockerfile(_) => None,
    };
    let tag = dependent.build.tag.as_str();
    let at = git_ref
        .map(|sha| format!(" at {}", &sha[..sha.len().min(7)]))
        .unwrap_or_default();
    let say = |queueing: Queueing<'_>| match queueing {
        Queueing::Queued => format!("{image} changed: rebuilding {tag}{at}"),
        Queueing::AlreadyQueued => format!("{image} changed: {tag} is already queued"),
        Queueing::NotQueued(why) => format!("{image} changed; not rebuilt: {why}"),
    };
    let extras = builds::Extras::default();
    let id = &dependent.container;
    builds::queue_as_owner(
        state,
        &dependent.owner,
        id,
        tag,
        git_ref,
        &extras,
        decision,
        say,
    )
    .await;
}

/// The stream consumer that rebuilds on new base images: its cursor's name, and its lock.
const CONSUMER: &str = "base-rebuilds";
/// Held at most this long should its holder die: longer than a look can take.
const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(300);
/// How often the stream is looked at.
const TICK: std::time::Duration = std::time::Duration::from_secs(2);

/// Rebuilds on the new images the event stream has recorded since this consumer's cursor
/// (`tag.pushed`, written before the registry's notification is acknowledged), then moves the
/// cursor past them: a portal that dies between the notification and the rebuilds leaves them
/// to the next look, of any portal. A cursor never set starts at the end of the stream (an
/// installation does not rebuild on its old pushes). The opted-in containers (a walk of the
/// catalogue, kept a minute) are looked up only for a batch that holds a push, so a quiet
/// catalogue costs a read of the stream's end per look.
pub async fn follow_the_stream(state: &AppState) -> PortResult<()> {
    for _ in 0..stream::READS_PER_LOOK {
        let Some(cursor) = state.events.cursor(CONSUMER).await? else {
            let end = stream::newest(state).await?;
            state.events.set_cursor(CONSUMER, end.unwrap_or(0)).await?;
            return Ok(());
        };
        let batch = stream::batch_after(state, cursor).await?;
        let pushed = batch
            .events
            .iter()
            .any(|recorded| recorded.event.kind == EventKind::TagPushed);
        if pushed && !state.followers.opted_in(state).await?.is_empty() {
            for recorded in &batch.events {
                on_event(state, recorded).await?;
            }
        }
        let Some(last) = batch.events.last() else {
            break;
        };
        state.events.set_cursor(CONSUMER, last.id).await?;
        if !batch.full {
            break;
        }
    }
    Ok(())
}

/// A `tag.pushed` event (`namespace/name:tag`, a new digest) rebuilds what is built on it.
/// Handled again after a crash, it finds the rebuilds already queued (deduplicated).
async fn on_event(state: &AppState, recorded: &Recorded) -> PortResult<()> {
    if recorded.event.kind != EventKind::TagPushed {
        return Ok(());
    }
    let Some((repository, tag)) = recorded.event.target.rsplit_once(':') else {
        return Ok(());
    };
    let Ok(base) = RepoName::parse(repository) else {
        return Ok(());
    };
    match base_changed(state, &base, tag).await {
        Ok(decisions) if !decisions.is_empty() => {
            tracing::info!(base = %base, tag, n = decisions.len(), "base image changed");
            Ok(())
        }
        Ok(_) | Err(PortError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Follows the stream every [`TICK`], in one process at a time across a distributed
/// installation (the coordination lock).
pub fn spawn_follower(state: AppState) -> tokio::task::JoinHandle<()> {
    let holder = crate::state::lock_holder();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match state
                .coordination
                .try_lock(CONSUMER, holder, LOCK_TTL)
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the base rebuilds lock");
                    continue;
                }
            }
            if let Err(e) = follow_the_stream(&state).await {
                tracing::warn!(error = %e, "cannot rebuild on base image changes (tried again)");
            }
            if let Err(e) = state.coordination.unlock(CONSUMER, holder).await {
                tracing::warn!(error = %e, "cannot release the base rebuilds lock");
            }
        }
    })
}
