//! The caps on live-log streams: at most so many open at once in all, and per client address.
//! A stream holds a [`Slot`] for as long as it is open; dropping it (the stream ended or the
//! client went away) gives the place back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::StatusCode;

use crate::error::ApiError;
use crate::state::LiveLogSettings;

/// The streams open now.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    inner: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Only addresses with at least one stream: the map is bounded by the total cap.
    per_client: HashMap<IpAddr, usize>,
}

/// One open stream's place; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
    client: Option<IpAddr>,
}

impl Slots {
    fn open(&self) -> MutexGuard<'_, Open> {
        // Each change is one step under the lock: the counts stay consistent after a panic.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for one more stream from `client` (unknown in in-process tests: then only the
    /// total counts), or 429 when either cap is reached.
    pub(crate) fn take(
        self: &Arc<Self>,
        client: Option<IpAddr>,
        caps: &LiveLogSettings,
    ) -> Result<Slot, ApiError> {
        let mut open = self.open();
        if open.total >= caps.max_streams {
            return Err(too_many(format!(
                "the server follows {} live logs already (web.live_log_max_streams); try again later",
                caps.max_streams
            )));
        }
        if let Some(ip) = client {
            let mine = open.per_client.entry(ip).or_default();
            if *mine >= caps.max_streams_per_client {
                return Err(too_many(format!(
                    "{} live logs are open from your address already \
                     (web.live_log_max_streams_per_client); close some",
                    caps.max_streams_per_client
                )));
            }
            *mine += 1;
        }
        open.total += 1;
        Ok(Slot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open();
        open.total = open.total.saturating_sub(1);
        if let Some(ip) = self.client
            && let Some(mine) = open.per_client.get_mut(&ip)
        {
            *mine -= 1;
            if *mine == 0 {
                open.per_client.remove(&ip);
            }
        }
    }
}

fn too_many(message: String) -> ApiError {
    ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "too_many_streams",
        message,
    }
}
