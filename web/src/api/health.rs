//! Health, readiness and metrics for operators.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bioshadock_core::Audience;
use bioshadock_core::query::SearchQuery;
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
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

/// One backend's answer to a readiness probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackendCheck {
    /// `ok` or `unavailable`.
    #[schema(example = "ok")]
    status: &'static str,
    /// How long it took to answer.
    latency_ms: u64,
}

/// What the builder of this process reports (`present: false` in `bioshadock web`).
#[derive(Debug, Serialize, ToSchema)]
pub struct BuilderReadiness {
    present: bool,
    /// The Docker Engine's version while it answers.
    engine: Option<String>,
    /// Why builds cannot run now.
    problem: Option<String>,
    running: usize,
    concurrency: usize,
}

/// Whether this process can serve: every backend answers. The builder is reported, not
/// required (the portal works without an engine; builds wait in the queue).
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    ready: bool,
    /// `store`, `search`, `queue` and `coordination`.
    backends: std::collections::BTreeMap<&'static str, BackendCheck>,
    builder: BuilderReadiness,
}

async fn timed<T, E>(probe: impl std::future::Future<Output = Result<T, E>>) -> BackendCheck {
    let started = std::time::Instant::now();
    let result = probe.await;
    BackendCheck {
        status: word(&result),
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Readiness for load balancers and orchestrators: each backend with its latency, and this
/// process's builder. 200 when every backend answers, 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (store, search, queue, coordination) = tokio::join!(
        timed(state.store.ping()),
        timed(state.search.doc_count()),
        timed(state.queue.queued_count()),
        timed(state.coordination.failures("readiness-probe")),
    );
    let backends = std::collections::BTreeMap::from([
        ("store", store),
        ("search", search),
        ("queue", queue),
        ("coordination", coordination),
    ]);
    let ready = backends.values().all(|b| b.status == "ok");
    let builder = state.builder.status.get();
    let readiness = Readiness {
        ready,
        backends,
        builder: BuilderReadiness {
            present: builder.present,
            engine: builder.engine_version,
            problem: builder.problem,
            running: builder.running,
            concurrency: builder.concurrency,
        },
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

/// Prometheus metrics in the text exposition format.
///
/// Open to anyone unless `web.metrics_token` is set; an open `/metrics` counts public
/// containers only, so that it tells an anonymous caller nothing the catalogue would not.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 401, description = "`web.metrics_token` is set and the request does not carry it", body = ErrorBody)))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let audience = match &state.settings.metrics_token {
        None => Audience::Public,
        Some(token) if bearer_matches(&headers, token) => Audience::Everyone,
        Some(_) => {
            let mut response = ApiError::unauthorized(
                "`/metrics` needs `Authorization: Bearer TOKEN` (web.metrics_token)",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    };
    let everything = SearchQuery::parse("").expect("the empty query parses");
    let (containers, indexed, queued) = tokio::join!(
        state.store.count(&audience),
        state.search.search(&everything, &audience, 0, 1),
        state.queue.queued_count()
    );
    let indexed = indexed.map(|hits| hits.total);
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
        .into_response()
}

/// Whether the request carries `Authorization: Bearer TOKEN`, compared in constant time.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::auth::bearer_credentials)
        .unwrap_or_default();
    bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}
