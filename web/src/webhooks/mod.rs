//! Outgoing webhooks at work: the dispatcher follows the event stream and writes a delivery
//! for every hook that wants an event (the outbox), and the sender makes the signed requests,
//! retrying with back-off. One portal process at a time does both (the coordination lock is
//! the lease); a process that dies mid-batch loses nothing: the cursor moves only after the
//! deliveries are written, and a delivery is written once (its id is `HOOK.EVENT_ID`).
//!
//! The hooks and their API are `services::webhooks`; the rules (scopes, filters, signature,
//! back-off) are `core::webhooks`.

mod dispatch;
pub mod payload;
pub(crate) mod send;

use std::time::Duration;

use crate::state::AppState;

/// The lock held while a batch is dispatched and sent.
const LOCK: &str = "webhooks";
/// Held at most this long should its holder die: longer than a batch can take (a batch of
/// [`send::BATCH`] requests, [`send::CONCURRENCY`] at a time, each bounded by its timeout).
const LOCK_TTL: Duration = Duration::from_secs(120);
/// How often the stream and the due deliveries are looked at.
const TICK: Duration = Duration::from_secs(1);
/// Finished deliveries are kept this long in the log.
const KEEP_DELIVERIES: chrono::Duration = chrono::Duration::days(30);

/// Starts the dispatcher and sender of this process.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let holder = crate::state::lock_holder();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_prune: Option<tokio::time::Instant> = None;
        loop {
            ticks.tick().await;
            match state.coordination.try_lock(LOCK, holder, LOCK_TTL).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the webhooks lock");
                    continue;
                }
            }
            if let Err(e) = dispatch::follow_the_stream(&state).await {
                tracing::warn!(error = %e, "turning events into webhook deliveries failed");
            }
            if let Err(e) = send::send_due(&state).await {
                tracing::warn!(error = %e, "sending webhook deliveries failed");
            }
            if last_prune.is_none_or(|at| at.elapsed() > Duration::from_secs(86_400)) {
                last_prune = Some(tokio::time::Instant::now());
                let cutoff = bioshadock_core::model::now() - KEEP_DELIVERIES;
                match state.webhooks.prune_deliveries(cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(n, "deleted old webhook deliveries"),
                    Err(e) => tracing::warn!(error = %e, "deleting old webhook deliveries failed"),
                }
            }
            if let Err(e) = state.coordination.unlock(LOCK, holder).await {
                tracing::warn!(error = %e, "cannot release the webhooks lock");
            }
        }
    })
}
