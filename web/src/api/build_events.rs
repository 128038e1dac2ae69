//! The live log: a build's log as server-sent events, following it while it runs.
//!
//! A stream wakes when lines are appended or the status changes (the `LogWakeups` port), with
//! a slow poll as fallback; on every wake and poll it re-checks that the caller may still see
//! the build, and ends when they may not. Streams are capped in all and per client address
//! (429 beyond), and one without news for `web.live_log_idle_secs` ends: the browser's
//! `EventSource` reconnects by itself and resumes after the last line it got
//! (`Last-Event-ID`), so a queued build's page keeps following at no cost meanwhile.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use bioshadock_core::permissions::Principal;
use bioshadock_core::ports::builds::{Build, BuildStatus};
use bioshadock_core::ports::log_wakeups::Wakeups;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio::time::Instant;
use utoipa::IntoParams;

use super::builds::status_event;
use super::grammar::BuildPath;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, ClientAddr};
use crate::live_log::Slot;
use crate::services::builds;
use crate::state::AppState;

/// Lines sent per read of the store.
const LINES_PER_READ: usize = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowQuery {
    /// Start after this line number (the `Last-Event-ID` header wins when both are given).
    #[param(value_type = u64, required = false, minimum = 0, maximum = 18446744073709551615_u64)]
    after: Option<u64>,
}

/// The build's log as server-sent events, live.
///
/// Each line is a `message` event whose id is its line number, so a reconnecting
/// `EventSource` resumes where it stopped. `status` events carry the build (as JSON) when its
/// status changes; a final `end` event carries it once the build has ended and every line was
/// sent, and the stream closes. A stream also closes, without `end`, when the caller may no
/// longer see the build, or after `web.live_log_idle_secs` without news (reconnect with
/// `Last-Event-ID` to go on).
#[utoipa::path(get, path = "/build/{build}/events", tag = "builds",
    security((), ("apikey" = []), ("bearer" = []), ("basic" = [])),
    params(BuildPath, FollowQuery),
    responses(
        (status = 200, description = "text/event-stream", content_type = "text/event-stream", body = String),
        (status = 404, description = "No such build", body = ErrorBody),
        (status = 429, description = "Too many live logs open, in all or from this address", body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    build: Result<Path<i64>, PathRejection>,
    ApiQuery(query): ApiQuery<FollowQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Path(build_id) = build.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let build = builds::visible_build(&state, &caller, build_id).await?;
    let slot = state.live_logs.take(client, &state.settings.live_log)?;
    // Subscribed before the first read, so a line appended in between wakes the stream.
    let wakeups = match state.log_wakeups.subscribe(build_id).await {
        Ok(wakeups) => Some(wakeups),
        Err(e) => {
            tracing::warn!(build = build_id, error = %e, "live log without wake-ups: polling");
            None
        }
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let idle = state.settings.live_log.idle;
    let follow = Follow {
        poll: state.settings.live_log.poll,
        idle,
        idle_until: Instant::now() + idle,
        state,
        caller,
        id: build_id,
        after: resume.or(query.after).unwrap_or(0),
        last_status: None,
        pending: VecDeque::new(),
        done: false,
        first: Some(build),
        wakeups,
        _slot: slot,
    };
    let stream = futures::stream::unfold(follow, |mut follow| async move {
        follow.next().await.map(|event| (Ok(event), follow))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The state of one live-log stream.
struct Follow {
    state: AppState,
    caller: Principal,
    id: i64,
    after: u64,
    last_status: Option<BuildStatus>,
    pending: VecDeque<Event>,
    done: bool,
    /// The build as read when the stream opened (saves one read).
    first: Option<Build>,
    /// `None` when the wake-ups are unavailable: the stream polls alone.
    wakeups: Option<Wakeups>,
    poll: Duration,
    idle: Duration,
    /// When the stream ends unless something happens first.
    idle_until: Instant,
    /// This stream's place under the caps, freed when the stream is dropped.
    _slot: Slot,
}

impl Follow {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            // Access first, on every look: a container turned private (or deleted) ends the
            // stream. Then the status, then the lines: a build seen as ended has all its lines.
            let build = match self.first.take() {
                Some(build) => build,
                None => builds::visible_build(&self.state, &self.caller, self.id)
                    .await
                    .ok()?,
            };
            self.look(&build).await?;
            if !self.pending.is_empty() {
                self.idle_until = Instant::now() + self.idle;
                continue;
            }
            if !self.wait().await {
                return None;
            }
        }
    }

    /// Queues the events of what changed since the last look. `None` if the store fails.
    async fn look(&mut self, build: &Build) -> Option<()> {
        let mut got_lines = false;
        if build.log_lines > self.after {
            let lines = self
                .state
                .builds
                .log(self.id, self.after, LINES_PER_READ)
                .await
                .ok()?;
            got_lines = !lines.is_empty();
            for line in lines {
                self.after = line.seq;
                self.pending.push_back(
                    Event::default()
                        .id(line.seq.to_string())
                        .data(line.text.replace(['\r', '\n'], " ")),
                );
            }
        }
        if self.last_status != Some(build.status) {
            self.last_status = Some(build.status);
            if !build.status.is_final() {
                self.pending.push_back(status_event("status", build));
            }
        }
        if build.status.is_final() && !got_lines {
            self.pending.push_back(status_event("end", build));
            self.done = true;
        }
        Some(())
    }

    /// Waits for a wake-up or the next poll; false once the stream has been idle too long.
    async fn wait(&mut self) -> bool {
        let poll = tokio::time::sleep(self.poll);
        let idle = tokio::time::sleep_until(self.idle_until);
        match &mut self.wakeups {
            Some(wakeups) => tokio::select! {
                woke = wakeups.next() => {
                    if woke.is_none() {
                        self.wakeups = None; // the adapter stopped: poll from now on
                    }
                    true
                }
                () = poll => true,
                () = idle => false,
            },
            None => tokio::select! {
                () = poll => true,
                () = idle => false,
            },
        }
    }
}
