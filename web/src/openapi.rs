//! The OpenAPI document (generated from the handlers) and the offline Swagger UI.

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

mod shared;

/// Where the document is served.
pub const SPEC_PATH: &str = "/api/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bioshadock API",
        description = "The container catalogue of a research lab: browse, search, manage and \
                       build containers. Container ids are repository names, `namespace/name`. \
                       Authenticate with an API key: `?apikey=KEY`, `Authorization: Bearer KEY`, \
                       or Basic `user:KEY`. Errors are `{\"error\": \"...\", \"code\": \"...\"}`.",
        license(name = "MIT")
    ),
    tags(
        (name = "containers", description = "Reading the catalogue"),
        (name = "search", description = "Full-text search with `field:value` filters"),
        (name = "builds", description = "Building images from git or a Dockerfile: hooks, history, logs"),
        (name = "account", description = "The caller's profile and API keys"),
        (name = "admin", description = "Account administration (admins)"),
        (name = "organisations", description = "Organisations: shared namespaces with members, roles and teams"),
        (name = "retention", description = "Tag retention: policies per container and organisation, their dry run, on-demand runs"),
        (name = "webhooks", description = "Signed outgoing webhooks per container, organisation or installation, with delivery logs"),
        (name = "robots", description = "Robot accounts (`owner+name`): tokens for machines, to pull, push and read"),
        (name = "registry", description = "The Docker registry's token service and notification receiver"),
        (name = "operations", description = "Health and metrics"),
    ),
    // Not a response of any route: what webhooks POST to their receivers.
    components(schemas(
        crate::webhooks::payload::WebhookPayload,
        crate::webhooks::payload::BuildRef,
        crate::webhooks::payload::Links
    )),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The three ways to present an API key.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apikey",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("apikey"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The complete document, as `bioshadock openapi` prints it (a portal serves it with its own
/// registry service name: [`for_installation`]).
pub fn document() -> utoipa::openapi::OpenApi {
    finish(crate::api::routes().into_openapi())
}

/// The routes' operations, plus the responses that come from what they share rather than from
/// their handlers ([`shared_responses`]).
pub(crate) fn finish(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    shared::add_responses(&mut spec);
    spec
}

/// The served document: `service` of the token service can only be this portal's
/// `registry.service`, so the document says which.
pub(crate) fn for_installation(
    mut spec: utoipa::openapi::OpenApi,
    service: &str,
) -> utoipa::openapi::OpenApi {
    shared::name_the_service(&mut spec, service);
    spec
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
