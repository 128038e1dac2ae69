//! The OpenAPI document (generated from the handlers) and the offline Swagger UI.

use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

/// Where the document is served.
pub const SPEC_PATH: &str = "/api/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bioshadock API",
        description = "The container catalogue of a research lab: browse, search, and (soon) build \
                       and manage containers. Container ids are repository names, `namespace/name`. \
                       Errors are `{\"error\": \"...\", \"code\": \"...\"}`.",
        license(name = "MIT")
    ),
    tags(
        (name = "containers", description = "Reading the catalogue"),
        (name = "search", description = "Full-text search with `field:value` filters"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

/// The complete document, as `bioshadock openapi` prints it and `/api/openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    crate::api::routes().into_openapi()
}

/// The document as pretty JSON with a trailing newline (the committed file's format).
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialising the OpenAPI document failed");
        String::from("{}")
    });
    json.push('\n');
    json
}

/// `/api/docs` (Swagger UI, assets compiled in) and `/api/openapi.json`.
pub fn docs_routes(spec: utoipa::openapi::OpenApi) -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/api/docs").url(SPEC_PATH, spec))
}
