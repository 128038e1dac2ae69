//! Making the requests: signed, to public addresses only (unless `webhooks.allow_private`),
//! without following redirects, with short timeouts, reading at most 1 KiB of the answer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bioshadock_core::webhooks::{
    Attempt, DELIVERY_HEADER, Delivery, EVENT_HEADER, RESPONSE_EXCERPT_BYTES, SIGNATURE_HEADER,
    Webhook, signature,
};
use bioshadock_core::{PortError, PortResult};
use futures::StreamExt;

use crate::state::AppState;

/// Deliveries sent per look.
pub(super) const BATCH: usize = 32;
/// Requests in flight at once.
pub(super) const CONCURRENCY: usize = 8;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole request, answer included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the deliveries that are due and records each try.
pub(super) async fn send_due(state: &AppState) -> PortResult<()> {
    let now = bioshadock_core::model::now();
    let due = state.webhooks.due(now, BATCH).await?;
    if due.is_empty() {
        return Ok(());
    }
    let hooks: HashMap<String, Webhook> = state
        .webhooks
        .hooks()
        .await?
        .into_iter()
        .map(|h| (h.id.clone(), h))
        .collect();
    let results: Vec<PortResult<()>> = futures::stream::iter(due)
        .map(|delivery| {
            let hook = hooks.get(&delivery.hook).cloned();
            async move { send_one(state, hook, delivery).await }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn send_one(
    state: &AppState,
    hook: Option<Webhook>,
    mut delivery: Delivery,
) -> PortResult<()> {
    // Its hook was deleted since: the delivery went with it.
    let Some(hook) = hook else { return Ok(()) };
    let attempt = attempt(state, &hook, &delivery).await;
    tracing::debug!(
        hook = %hook.id,
        delivery = %delivery.id,
        status = ?attempt.status,
        error = ?attempt.error,
        "webhook delivery tried"
    );
    delivery.record(attempt);
    match state.webhooks.update_delivery(&delivery).await {
        Ok(()) | Err(PortError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// One try of `delivery` to `hook`, now.
pub(crate) async fn attempt(state: &AppState, hook: &Webhook, delivery: &Delivery) -> Attempt {
    let at = bioshadock_core::model::now();
    let started = Instant::now();
    let failed = |error: String| Attempt {
        at,
        status: None,
        duration_ms: elapsed_ms(started),
        response: String::new(),
        error: Some(error),
    };
    let secret = match state.sealing.open(&hook.sealed_secret) {
        Ok(secret) => secret,
        Err(e) => return failed(e.to_string()),
    };
    let (url, address) =
        match resolve_allowed(&hook.url, state.settings.webhooks_allow_private).await {
            Ok(found) => found,
            Err(e) => return failed(e),
        };
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TIMEOUT)
        .user_agent(concat!("Bioshadock-Webhook/", env!("CARGO_PKG_VERSION")))
        // The address just checked is the one connected to: no second lookup to rebind.
        .resolve(&host, address)
        .build();
    let client = match client {
        Ok(client) => client,
        Err(e) => return failed(format!("cannot make an HTTP client: {e}")),
    };
    let timestamp = at.timestamp();
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            SIGNATURE_HEADER,
            signature(&secret, timestamp, delivery.body.as_bytes()),
        )
        .header(DELIVERY_HEADER, &delivery.id)
        .header(EVENT_HEADER, &delivery.event)
        .body(delivery.body.clone())
        .send()
        .await;
    let mut response = match response {
        Ok(response) => response,
        Err(e) => return failed(describe(e)),
    };
    let status = response.status().as_u16();
    let mut excerpt = Vec::new();
    while excerpt.len() < RESPONSE_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    excerpt.truncate(RESPONSE_EXCERPT_BYTES);
    Attempt {
        at,
        status: Some(status),
        duration_ms: elapsed_ms(started),
        response: String::from_utf8_lossy(&excerpt).into_owned(),
        error: None,
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A request error in a sentence, without the URL (it may hold a token in its query).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "no answer in time".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        error.without_url().to_string()
    }
}

/// The URL parsed, and the address to connect to: the first its host resolves to, refused
/// when any of them is not public (unless private addresses are allowed).
pub(crate) async fn resolve_allowed(
    raw: &str,
    allow_private: bool,
) -> Result<(reqwest::Url, SocketAddr), String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("only http and https URLs".to_owned());
    }
    let host = url
        .host_str()
        .ok_or_else(|| "the URL has no host".to_owned())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "the URL has no port".to_owned())?;
    let addresses: Vec<SocketAddr> = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| format!("resolving {host} took too long"))?
    .map_err(|_| format!("cannot resolve {host}"))?
    .collect();
    let address = *addresses
        .first()
        .ok_or_else(|| format!("{host} has no address"))?;
    if !allow_private
        && let Some(private) = addresses
            .iter()
            .find(|a| !bioshadock_core::net::is_public(a.ip()))
    {
        return Err(format!(
            "{host} resolves to {}, a loopback, private or link-local address \
             (webhooks.allow_private)",
            private.ip()
        ));
    }
    Ok((url, address))
}
