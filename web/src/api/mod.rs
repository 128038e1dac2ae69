//! The JSON API. Every handler carries `#[utoipa::path]` and is registered through
//! `OpenApiRouter`, so the router and the OpenAPI document cannot drift apart.

pub(crate) mod containers;
mod health;
pub(crate) mod paging;
pub(crate) mod search;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::ApiDoc;
use crate::state::AppState;

/// The API routes together with their OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(containers::all))
        .routes(routes!(containers::latest))
        .routes(routes!(search::search_get, search::search_post))
        .routes(routes!(containers::one))
        .routes(routes!(containers::tags))
        .routes(routes!(health::healthz))
        .routes(routes!(health::metrics))
}
