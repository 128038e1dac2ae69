//! Liveness and metrics for operators.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// The state of each backend.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when every backend answers, else `degraded`.
    #[schema(example = "ok")]
    status: &'static str,
    store: &'static str,
    search: &'static str,
    queue: &'static str,
}

fn word<T, E>(result: &Result<T, E>) -> &'static str {
    if result.is_ok() { "ok" } else { "unavailable" }
}

/// Whether the portal and its backends answer. 200 when all do, 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let (store, search, queue) = tokio::join!(
        state.store.ping(),
        state.search.doc_count(),
        state.queue.queued_count()
    );
    let health = Health {
        status: if store.is_ok() && search.is_ok() && queue.is_ok() {
            "ok"
        } else {
            "degraded"
        },
        store: word(&store),
        search: word(&search),
        queue: word(&queue),
    };
    let status = if health.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (containers, indexed, queued) = tokio::join!(
        state.store.count(&bioshadock_core::Audience::Everyone),
        state.search.doc_count(),
        state.queue.queued_count()
    );
    let uptime = state.started.elapsed().as_secs_f64();
    match state.sync.last() {
        Some(last) => {
            let lag = (chrono::Utc::now() - last.at).num_milliseconds() as f64 / 1000.0;
            state.metrics.registry_sync(
                Some(last.at.timestamp_millis() as f64 / 1000.0),
                lag.max(0.0),
            );
        }
        None => state.metrics.registry_sync(None, uptime),
    }
    state.metrics.builder(&state.builder.status.get());
    let text = state
        .metrics
        .render(containers.ok(), indexed.ok(), queued.ok(), uptime);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
