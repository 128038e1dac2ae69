//! The one middleware stack, built in one place.
//!
//! Outermost first: request id (so every log line of a request carries it) → trace span →
//! metrics (sees the final status, including panics and timeouts) → panic catcher (a panic
//! becomes a generic 500) → timeout → body limit (enforced by the extractors, so the 413 is a JSON error) → security
//! headers on every response → the `Secure` cookie flag behind an https proxy → sessions
//! (loaded lazily: requests that never look at the session cost nothing).

use std::any::Any;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

/// Bodies larger than this are refused with a 413 JSON error by the body extractors.
const BODY_LIMIT: usize = 1024 * 1024;
/// A handler that has not produced a response head by then gets 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Scripts only from our origin; Swagger UI and our pages need nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

pub fn stack(app: Router, state: AppState) -> Router {
    let session_layer = auth::session::layer(state.sessions.clone(), &state.settings.public_url);
    let request_id = HeaderName::from_static("x-request-id");
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ));
    app.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(from_fn(request_facts))
            .layer(TraceLayer::new_for_http().make_span_with(request_span))
            .layer(from_fn_with_state(state, record_metrics))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
            ))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .layer(headers)
            .layer(from_fn(auth::session::secure_behind_https_proxy))
            .layer(session_layer),
    )
}

/// Keeps where the request came from (client address, request id) for the events the
/// services record while serving it.
async fn request_facts(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    let facts = crate::services::events::RequestFacts {
        client: request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|axum::extract::ConnectInfo(address)| address.ip().to_string()),
        request_id: request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    crate::services::events::with_request_facts(facts, next.run(request)).await
}

/// The span every log line of a request carries. Like tower-http's default (method, URI,
/// version, at DEBUG), except that credentials in the query string are redacted.
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %crate::redact::uri_for_log(request.uri()),
        version = ?request.version(),
    )
}

async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}
