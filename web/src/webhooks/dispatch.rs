//! From the event stream to deliveries.

use std::collections::HashMap;

use bioshadock_core::events::Recorded;
use bioshadock_core::ports::builds::BuildStatus;
use bioshadock_core::webhooks::{Concern, Delivery, HookEvent, Occurrence, Webhook};
use bioshadock_core::{PortError, PortResult};

use super::payload::{self, BuildRef};
use crate::services::stream;
use crate::state::AppState;

/// Writes the deliveries of the events after the cursor, then moves the cursor past them.
pub(super) async fn follow_the_stream(state: &AppState) -> PortResult<()> {
    for _ in 0..stream::READS_PER_LOOK {
        if !follow_once(state).await? {
            break;
        }
    }
    Ok(())
}

/// One batch; true when it was full (more may be waiting).
async fn follow_once(state: &AppState) -> PortResult<bool> {
    let cursor = state.webhooks.cursor().await?;
    let hooks = state.webhooks.hooks().await?;
    if hooks.is_empty() {
        skip_to_the_end(state, cursor).await?;
        return Ok(false);
    }
    let batch = stream::batch_after(state, cursor).await?;
    for recorded in &batch.events {
        deliver(state, &hooks, recorded).await?;
    }
    let Some(last) = batch.events.last() else {
        return Ok(false);
    };
    state.webhooks.set_cursor(last.id).await?;
    Ok(batch.full)
}

/// With no hook, no event is anyone's: the cursor moves to the end of the stream at once
/// (an installation's first hook does not wait for years of history to be read). The end is
/// taken before the hooks are looked at again, so an event recorded after a hook appeared is
/// never skipped.
async fn skip_to_the_end(state: &AppState, cursor: u64) -> PortResult<()> {
    let Some(newest) = stream::newest(state).await? else {
        return Ok(());
    };
    if newest > cursor && state.webhooks.hooks().await?.is_empty() {
        state.webhooks.set_cursor(newest).await?;
    }
    Ok(())
}

/// The deliveries of one event, one per hook that wants it.
async fn deliver(state: &AppState, hooks: &[Webhook], recorded: &Recorded) -> PortResult<()> {
    let Some((occurrence, build)) = occurrence_of(state, recorded).await? else {
        return Ok(());
    };
    let mut bodies: HashMap<bioshadock_core::webhooks::HookFormat, String> = HashMap::new();
    // A hook hears only what happened after it was made.
    for hook in hooks
        .iter()
        .filter(|h| h.created_at <= recorded.at && h.wants(&occurrence))
    {
        let body = bodies
            .entry(hook.format)
            .or_insert_with(|| {
                let built =
                    payload::of_event(&state.settings, &occurrence, recorded, build.clone());
                payload::render(&built, hook.format)
            })
            .clone();
        let delivery = Delivery::new(
            format!("{}.{}", hook.id, recorded.id),
            &hook.id,
            occurrence.event.as_str(),
            Some(recorded.id),
            body,
            bioshadock_core::model::now(),
        );
        match state.webhooks.add_delivery(&delivery).await {
            Ok(_) | Err(PortError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What `recorded` is about, reading a build's record for build events; `None` when hooks do
/// not care.
async fn occurrence_of(
    state: &AppState,
    recorded: &Recorded,
) -> PortResult<Option<(Occurrence, Option<BuildRef>)>> {
    match bioshadock_core::webhooks::concern(recorded) {
        Concern::None => Ok(None),
        Concern::About(occurrence) => Ok(Some((occurrence, None))),
        Concern::Build { id, started } => {
            let Ok(id) = i64::try_from(id) else {
                return Ok(None);
            };
            let build = match state.builds.get(id).await {
                Ok(build) => build,
                Err(PortError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            };
            let event = if started {
                HookEvent::BuildStarted
            } else if build.status == BuildStatus::Skipped {
                // Neither failed nor made an image: its own event, so that a hook hearing
                // `build_started` also hears how it ended.
                HookEvent::BuildSkipped
            } else if build.status == BuildStatus::Success {
                HookEvent::BuildSucceeded
            } else {
                HookEvent::BuildFailed
            };
            let occurrence = Occurrence {
                event,
                repository: build.container.to_string(),
                tag: Some(build.tag.to_string()),
                org: recorded.event.org.clone(),
            };
            let reference = BuildRef {
                id: build.id,
                status: build.status.as_str().to_owned(),
            };
            Ok(Some((occurrence, Some(reference))))
        }
    }
}
