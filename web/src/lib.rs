//! Bioshadock's web portal: server-rendered pages, the JSON API, health and metrics.
//!
//! [`router`] builds the whole application from an [`AppState`]; [`serve`] runs it on a
//! listener until a shutdown future resolves, so tests can start it on port 0.

pub mod api;
mod assets;
mod auth;
mod cache;
pub mod error;
mod extract;
mod live_log;
mod markdown;
mod metrics;
mod middleware;
pub mod openapi;
mod pages;
mod redact;
pub mod registry;
pub mod services;
mod state;
mod trs;
pub mod views;
pub mod webhooks;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

pub use auth::{DirectorySignIn, OpenIdSignIn};
pub use registry::RegistryAuth;
pub use state::{AppState, BuilderLink, LiveLogSettings, Ports, WebSettings};

/// The full application: pages, API, docs, assets, behind one middleware stack.
pub fn router(state: AppState) -> Router {
    let (api, spec) = api::routes().split_for_parts();
    let spec = openapi::for_installation(openapi::finish(spec), state.registry.tokens.service());
    let app = Router::new()
        .merge(api)
        .merge(pages::routes())
        .merge(assets::routes())
        .merge(trs::routes())
        .merge(openapi::docs_routes(spec))
        .fallback(pages::not_found);
    middleware::stack(app.with_state(state.clone()), state)
}

/// Serves the application on `listener` until `shutdown` resolves, then finishes in-flight
/// requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The client address feeds login throttling.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
