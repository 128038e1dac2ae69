//! `bioshadock migrate --to FILE [--force]`: copies everything from the configured backends to
//! those of FILE (typically embedded → distributed): users with their password hashes, API
//! keys (hashes, scopes, revocation), organisations with their members and teams, robot accounts
//! (token hashes), the access rules, containers
//! with tags, members and labels, build records
//! with their logs. The target's search index is rebuilt from its store, and its queue's ids
//! continue after the copied builds'. Then both sides are read back and compared: counts and
//! SHA-256 checksums per kind.
//!
//! A non-empty target is refused unless `--force`; with it, the copy is idempotent (what is
//! already there is brought in line, nothing is duplicated), so an interrupted run can simply
//! be run again. Web sessions are not copied (users sign in again). Builds still queued or
//! running are copied as interrupted: their jobs belong to the old queue.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bioshadock_backends::{Backends, open_backends};
use bioshadock_core::accounts::{ApiKey, User};
use bioshadock_core::catalogue::stream_containers;
use bioshadock_core::config::Config;
use bioshadock_core::orgs::Organisation;
use bioshadock_core::ports::builds::{Build, BuildStatus, BuildStore, Finish, LogLine, NewBuild};
use bioshadock_core::ports::events::MAX_EVENTS_PER_READ;
use bioshadock_core::robots::Robot;
use bioshadock_core::{Audience, Container, PortError, PortResult, catalogue};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};

/// Builds of one container read at once; more than this are not kept per container anyway.
const MAX_BUILDS: usize = 100_000;
/// Log lines per read and write.
const LOG_PAGE: usize = 1000;
/// Why a live build arrives interrupted.
const MIGRATED_LIVE: &str = "it was queued or running when the catalogue was migrated; build again";

pub async fn run(config: Config, to: &Path, force: bool) -> Result<()> {
    let target_config = Config::load(Some(to))
        .with_context(|| format!("cannot use {} as the target configuration", to.display()))?;
    if !config.is_distributed()
        && !target_config.is_distributed()
        && std::path::absolute(&config.data_dir)? == std::path::absolute(&target_config.data_dir)?
    {
        bail!("the target is the same data_dir as the source; nothing to do");
    }
    let source = super::backends(&config).await?;
    let target = open_backends(&target_config)
        .await
        .context("cannot open the target backends")?;
    let target_empty = target.users.count_users().await? == 0
        && target.store.count(&Audience::Everyone).await? == 0;
    if !target_empty && !force {
        bail!(
            "the target already holds users or containers; run again with --force to copy \
             over them (it is safe to repeat: nothing is duplicated)"
        );
    }
    let pending = pending_deliveries(&source).await?;
    let users = copy_users(&source, &target).await?;
    let keys = copy_keys(&source, &target, &users).await?;
    let orgs = copy_orgs(&source, &target).await?;
    let robots = copy_robots(&source, &target, &users).await?;
    copy_rules(&source, &target).await?;
    let events = copy_events(&source, &target).await?;
    let hooks = copy_webhooks(&source, &target, &pending).await?;
    let pending = pending.len();
    let containers = copy_containers(&source, &target).await?;
    let (triggers, decisions) = copy_triggers(&source, &target, &containers).await?;
    let (builds, lines, last_id) = copy_builds(&source, &target, &containers).await?;
    target.queue.reserve_ids_through(last_id).await?;
    let indexed = catalogue::reindex(target.store.clone(), target.search.as_ref()).await?;
    println!(
        "copied {} users, {keys} API keys, {orgs} organisations, {robots} robots, {} containers, \
         {builds} builds ({lines} log lines), {events} events, {hooks} webhooks ({pending} \
         deliveries pending), {triggers} push triggers ({decisions} decisions); indexed \
         {indexed} containers",
        users.len(),
        containers.len()
    );
    verify(&source, &target).await?;
    source.close().await;
    target.close().await;
    Ok(())
}

/// Replaces the target's event stream by the source's, in order (the target numbers them
/// afresh): repeating the copy never duplicates an event.
async fn copy_events(source: &Backends, target: &Backends) -> Result<usize> {
    let everything = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    target.events.prune(everything).await?;
    let mut copied = 0;
    let mut after = 0;
    loop {
        let page = source.events.read_after(after, MAX_EVENTS_PER_READ).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for recorded in &page {
            target.events.append(&recorded.event, recorded.at).await?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// Deliveries still pending in the source carried over, at most: one read of the outbox. A
/// source with more is refused rather than have the rest lost silently.
const MAX_PENDING_COPIED: usize = bioshadock_core::ports::webhooks::MAX_DELIVERIES_PER_READ;

/// The source's webhook deliveries still pending (not yet sent, or being retried), which the
/// target is to send; refused, before anything is copied, when there are too many to carry.
async fn pending_deliveries(source: &Backends) -> Result<Vec<bioshadock_core::webhooks::Delivery>> {
    // Every pending delivery is due within a day: a week ahead finds them all.
    let horizon = bioshadock_core::model::now() + chrono::Duration::days(7);
    let pending = source.webhooks.due(horizon, MAX_PENDING_COPIED).await?;
    if pending.len() >= MAX_PENDING_COPIED {
        bail!(
            "the source has {MAX_PENDING_COPIED} or more webhook deliveries pending: start it \
             again to let them be sent (or delete the hooks that keep failing), then migrate"
        );
    }
    Ok(pending)
}

/// Copies the webhooks (their secrets stay sealed: the target needs the same `sealing.key`),
/// and starts the target's dispatcher after the copied events, so history is not sent again.
/// The `pending` deliveries are carried over, to be sent by the target: what the source had to
/// send is not lost. Returns how many hooks.
async fn copy_webhooks(
    source: &Backends,
    target: &Backends,
    pending: &[bioshadock_core::webhooks::Delivery],
) -> Result<usize> {
    let hooks = source.webhooks.hooks().await?;
    for hook in &hooks {
        match target.webhooks.create_hook(hook).await {
            Ok(()) | Err(PortError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let filter = bioshadock_core::events::EventFilter::default();
    if let Some(newest) = target.events.query(&filter, None, 1).await?.first() {
        target.webhooks.set_cursor(newest.id).await?;
    }
    for delivery in pending {
        // Stored unless already there: copying again does not send twice.
        target.webhooks.add_delivery(delivery).await?;
    }
    Ok(hooks.len())
}

/// Copies each container's push triggers (their secrets stay sealed, like the webhooks') and
/// its decision log, oldest first so that it reads the same. A log already in the target is
/// left as it is, so copying again does not repeat it. Returns (triggers, decisions).
async fn copy_triggers(
    source: &Backends,
    target: &Backends,
    containers: &[Container],
) -> Result<(usize, usize)> {
    use bioshadock_core::ports::triggers::MAX_DECISIONS_PER_READ;
    let (mut triggers, mut decisions) = (0, 0);
    for container in containers {
        let id = container.id.as_str();
        for trigger in source.triggers.triggers_of(id).await? {
            match target.triggers.create_trigger(&trigger).await {
                Ok(()) | Err(PortError::Conflict(_)) => triggers += 1,
                Err(e) => return Err(e.into()),
            }
        }
        if !target.triggers.decisions(id, 1).await?.is_empty() {
            continue;
        }
        let mut log = source
            .triggers
            .decisions(id, MAX_DECISIONS_PER_READ)
            .await?;
        log.reverse();
        for decision in &log {
            target.triggers.record_decision(decision).await?;
        }
        decisions += log.len();
    }
    Ok((triggers, decisions))
}

async fn copy_users(source: &Backends, target: &Backends) -> Result<Vec<User>> {
    let users = source.users.list_users().await?;
    for user in &users {
        let (_, hash) = source.users.get_credentials(&user.name).await?;
        match target.users.create_user(user, &hash).await {
            Ok(()) => {}
            // Already there (a second run): bring it in line.
            Err(PortError::Conflict(_)) => {
                target.users.set_password(&user.name, &hash).await?;
                target.users.set_role(&user.name, user.role).await?;
                target.users.set_disabled(&user.name, user.disabled).await?;
            }
            Err(e) => return Err(e.into()),
        }
        let immutable = source.users.namespace_immutable(&user.name).await?;
        target
            .users
            .set_namespace_immutable(&user.name, immutable.as_ref())
            .await?;
    }
    Ok(users)
}

/// Organisations whole, with their members, teams and repository permissions; a second run
/// replaces what an earlier one copied.
async fn copy_orgs(source: &Backends, target: &Backends) -> Result<usize> {
    let orgs = source.orgs.list_orgs().await?;
    for org in &orgs {
        match target.orgs.create_org(org).await {
            Ok(()) => {}
            Err(PortError::Conflict(_)) => {
                let current = target.orgs.get_org(&org.name).await.with_context(|| {
                    format!(
                        "`{}` is a user in the target, an organisation here",
                        org.name
                    )
                })?;
                let replacement = Organisation {
                    version: current.version,
                    ..org.clone()
                };
                target.orgs.save_org(&replacement).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(orgs.len())
}

/// Every robot of every user and organisation, with its token's hash; a second run brings
/// what an earlier one copied in line.
async fn copy_robots(source: &Backends, target: &Backends, users: &[User]) -> Result<usize> {
    let robots = all_robots(source, users).await?;
    for (robot, hash) in &robots {
        match target.robots.create_robot(robot, hash).await {
            Ok(()) => {}
            Err(PortError::Conflict(_)) => {
                target.robots.update_robot(robot).await?;
                target
                    .robots
                    .set_robot_token(&robot.name, hash, robot.expires_at)
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(robots.len())
}

/// The access rules document as written (an empty one is left alone).
async fn copy_rules(source: &Backends, target: &Backends) -> Result<()> {
    let rules = source.rules.get_rules().await?;
    if rules.version == 0 {
        return Ok(());
    }
    let current = target.rules.get_rules().await?;
    if current.source != rules.source {
        target
            .rules
            .put_rules(&rules.source, current.version)
            .await?;
    }
    Ok(())
}

/// Every robot with its token's hash, by owner (users, then organisations) and name.
async fn all_robots(side: &Backends, users: &[User]) -> Result<Vec<(Robot, String)>> {
    let mut owners: Vec<String> = users.iter().map(|u| u.name.to_string()).collect();
    owners.extend(
        side.orgs
            .list_orgs()
            .await?
            .into_iter()
            .map(|o| o.name.to_string()),
    );
    let mut robots = Vec::new();
    for owner in owners {
        for robot in side.robots.list_robots(&owner).await? {
            robots.push(side.robots.find_robot(&robot.name).await?);
        }
    }
    Ok(robots)
}

async fn copy_keys(source: &Backends, target: &Backends, users: &[User]) -> Result<usize> {
    let mut copied = 0;
    for user in users {
        for key in source.keys.list_keys(&user.name).await? {
            let (key, hash) = source.keys.find_key(&key.id).await?;
            match target.keys.create_key(&key, &hash).await {
                Ok(()) => {}
                Err(PortError::Conflict(_)) => {
                    if key.revoked {
                        target.keys.revoke_key(&key.user, &key.id).await?;
                    }
                    if let Some(at) = key.last_used_at {
                        target.keys.touch_key(&key.id, at).await?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
            copied += 1;
        }
    }
    Ok(copied)
}

async fn copy_containers(source: &Backends, target: &Backends) -> Result<Vec<Container>> {
    let containers: Vec<Container> = stream_containers(source.store.clone(), Audience::Everyone)
        .try_collect()
        .await?;
    // `put` replaces: copying again converges on the source.
    for batch in containers.chunks(200) {
        target.store.put_many(batch).await?;
    }
    Ok(containers)
}

/// Copies every build and its log; returns (builds, log lines, highest build id).
async fn copy_builds(
    source: &Backends,
    target: &Backends,
    containers: &[Container],
) -> Result<(usize, u64, i64)> {
    let (mut builds, mut lines, mut last_id) = (0, 0, 0);
    for container in containers {
        let mut history = source.builds.list(&container.id, MAX_BUILDS).await?;
        history.reverse();
        for build in history {
            last_id = last_id.max(build.id);
            builds += 1;
            match target.builds.get(build.id).await {
                Ok(existing) if existing.log_lines >= build.log_lines => continue,
                Ok(_) => {
                    // A half-copied build (an interrupted run): copy it again from scratch.
                    bail!(
                        "build {} is only partly in the target (an earlier run stopped while \
                         copying it); delete it there and run again",
                        build.id
                    );
                }
                Err(PortError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            lines += copy_build(source, target, &build).await?;
        }
    }
    Ok((builds, lines, last_id))
}

/// Recreates `build` through the port's own transitions, with the source's times.
async fn copy_build(source: &Backends, target: &Backends, build: &Build) -> Result<u64> {
    let id = build.id;
    target
        .builds
        .create(NewBuild {
            id,
            container: build.container.clone(),
            tag: build.tag.clone(),
            requested_by: build.requested_by.clone(),
            source: build.source.clone(),
            options: build.options.clone(),
            queued_at: build.queued_at,
        })
        .await?;
    if let Some(started) = build.started_at {
        let worker = build.worker.as_deref().unwrap_or("migrated");
        target.builds.start(id, worker, started).await?;
        if let Some(revision) = &build.revision {
            target.builds.set_revision(id, revision).await?;
        }
        // What the build recorded of its source, while it is running again here.
        if let Some(dockerfile) = source.builds.dockerfile(id).await? {
            target.builds.set_dockerfile(id, &dockerfile).await?;
        }
        if let Some(descriptor) = source.builds.descriptor(id).await? {
            target.builds.set_descriptor(id, &descriptor).await?;
        }
    }
    let mut copied = 0;
    let mut pages = std::pin::pin!(log_pages(source.builds.clone(), id));
    while let Some(page) = pages.try_next().await? {
        let texts: Vec<String> = page.into_iter().map(|l| l.text).collect();
        copied += texts.len() as u64;
        target.builds.append_log(id, &texts).await?;
    }
    target.builds.finish(id, migrated_finish(build)).await?;
    Ok(copied)
}

/// A build's log, a page at a time (a log can be long: it is never read whole).
fn log_pages(
    builds: Arc<dyn BuildStore>,
    id: i64,
) -> impl futures::Stream<Item = PortResult<Vec<LogLine>>> {
    futures::stream::try_unfold(0, move |after| {
        let builds = builds.clone();
        async move {
            let page = builds.log(id, after, LOG_PAGE).await?;
            Ok(page.last().map(|last| last.seq).map(|next| (page, next)))
        }
    })
}

/// How a build ends in the target: as it ended, or interrupted if it was still live.
fn migrated_finish(build: &Build) -> Finish {
    if build.status.is_final() {
        Finish {
            status: build.status,
            reason: build.reason.clone(),
            digest: build.digest.clone(),
            at: build.finished_at.unwrap_or(build.queued_at),
        }
    } else {
        Finish {
            status: BuildStatus::Interrupted,
            reason: Some(MIGRATED_LIVE.to_owned()),
            digest: None,
            at: bioshadock_core::model::now(),
        }
    }
}

/// Reads both sides back and compares counts and checksums of every kind.
async fn verify(source: &Backends, target: &Backends) -> Result<()> {
    let (mine, theirs) = (checksums(source).await?, checksums(target).await?);
    for ((kind, count, sum), (_, target_count, target_sum)) in mine.iter().zip(&theirs) {
        if count != target_count || sum != target_sum {
            bail!(
                "verification failed for {kind}: {count} in the source, {target_count} in the \
                 target (checksums {sum} vs {target_sum}); the target differs — run again with --force"
            );
        }
        println!("verified {count} {kind} (sha256 {})", &sum[..16]);
    }
    Ok(())
}

/// (kind, count, checksum) for users, keys, organisations, robots, access rules, containers,
/// builds with their logs, push triggers and events. Live builds
/// count as interrupted, as they are copied.
async fn checksums(side: &Backends) -> Result<Vec<(&'static str, usize, String)>> {
    let mut users = side.users.list_users().await?;
    users.sort_by(|a, b| a.name.cmp(&b.name));
    let mut user_sum = Sha256::new();
    let mut keys: Vec<(ApiKey, String)> = Vec::new();
    for user in &users {
        let (_, hash) = side.users.get_credentials(&user.name).await?;
        let immutable = side.users.namespace_immutable(&user.name).await?;
        user_sum.update(serde_json::to_vec(&(
            user.name.as_str(),
            user.role.as_str(),
            user.disabled,
            user.created_at.timestamp_millis(),
            hash,
            // Where the account signs in, and its provider's id of the person.
            user.source.to_string(),
            user.subject.as_deref(),
            // Their namespace's immutability default.
            immutable,
        ))?);
        for key in side.keys.list_keys(&user.name).await? {
            keys.push(side.keys.find_key(&key.id).await?);
        }
    }
    keys.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let mut key_sum = Sha256::new();
    for (key, hash) in &keys {
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        key_sum.update(serde_json::to_vec(&(
            &key.id,
            key.user.as_str(),
            &key.label,
            scopes,
            key.created_at.timestamp_millis(),
            key.expires_at.map(|t| t.timestamp_millis()),
            key.revoked,
            hash,
        ))?);
    }
    let mut containers: Vec<Container> = stream_containers(side.store.clone(), Audience::Everyone)
        .try_collect()
        .await?;
    containers.sort_by(|a, b| a.id.cmp(&b.id));
    let mut container_sum = Sha256::new();
    let mut build_sum = Sha256::new();
    let mut build_count = 0;
    let mut trigger_sum = Sha256::new();
    let mut trigger_count = 0;
    for container in &mut containers {
        container.members.sort();
        container_sum.update(serde_json::to_vec(&*container)?);
        let mut triggers = side.triggers.triggers_of(container.id.as_str()).await?;
        triggers.sort_by(|a, b| a.id.cmp(&b.id));
        for trigger in &triggers {
            trigger_sum.update(serde_json::to_vec(trigger)?);
            trigger_count += 1;
        }
        let mut history = side.builds.list(&container.id, MAX_BUILDS).await?;
        history.sort_by_key(|b| b.id);
        for build in history {
            build_count += 1;
            let end = migrated_finish(&build);
            let reason = if build.status.is_final() {
                end.reason
            } else {
                Some(MIGRATED_LIVE.into())
            };
            build_sum.update(serde_json::to_vec(&(
                build.id,
                build.container.as_str(),
                build.tag.as_str(),
                &build.requested_by,
                end.status.as_str(),
                reason,
                &build.revision,
                &build.digest,
                build.queued_at.timestamp_millis(),
                build.started_at.map(|t| t.timestamp_millis()),
                build.log_lines,
            ))?);
            let mut pages = std::pin::pin!(log_pages(side.builds.clone(), build.id));
            while let Some(page) = pages.try_next().await? {
                for line in page {
                    build_sum.update(line.text.as_bytes());
                    build_sum.update(b"\n");
                }
            }
        }
    }
    let mut org_sum = Sha256::new();
    let orgs = side.orgs.list_orgs().await?;
    for org in &orgs {
        // The version counts saves on each side; what an organisation holds is the rest.
        org_sum.update(serde_json::to_vec(&Organisation {
            version: 0,
            ..org.clone()
        })?);
    }
    let mut robot_sum = Sha256::new();
    let robots = all_robots(side, &users).await?;
    for robot in &robots {
        robot_sum.update(serde_json::to_vec(robot)?);
    }
    let mut event_sum = Sha256::new();
    let mut event_count = 0;
    let mut after = 0;
    loop {
        let page = side.events.read_after(after, MAX_EVENTS_PER_READ).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for recorded in &page {
            // Ids are the target's own; the time and the event are what must match.
            event_sum.update(serde_json::to_vec(&(recorded.at, &recorded.event))?);
            event_count += 1;
        }
    }
    let rules = side.rules.get_rules().await?.source;
    let hex = |sum: Sha256| hex::encode(sum.finalize());
    let rules_sum = hex(Sha256::new_with_prefix(rules.as_bytes()));
    Ok(vec![
        ("users", users.len(), hex(user_sum)),
        ("API keys", keys.len(), hex(key_sum)),
        ("organisations", orgs.len(), hex(org_sum)),
        ("robots", robots.len(), hex(robot_sum)),
        (
            "access-rule documents",
            usize::from(!rules.is_empty()),
            rules_sum,
        ),
        ("containers", containers.len(), hex(container_sum)),
        ("builds", build_count, hex(build_sum)),
        ("push triggers", trigger_count, hex(trigger_sum)),
        ("events", event_count, hex(event_sum)),
    ])
}
