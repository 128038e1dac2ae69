//! GA4GH Tool Registry Service 2.0.1, read-only, under `/ga4gh/trs/v2/`: the catalogue as
//! workflow engines (Nextflow, Snakemake, Galaxy, cwltool) look tools up.
//!
//! A tool is a container; its id is `namespace/name`, sent in paths percent-encoded as one
//! segment (`lab%2Fsamtools`); its versions are its tags, each with its image (pull name,
//! manifest digest, size) and, when the builder built it, the Dockerfile it was built from.
//! Only what the caller may see is listed or found: the same audience as every other path.
//! Bodies keep strictly to the specification's fields (`model`), and errors are its `Error`.

mod descriptors;
mod model;
mod tools;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

/// Where TRS lives, as the specification's `servers` entry says.
pub const BASE: &str = "/ga4gh/trs/v2";

pub fn routes() -> Router<AppState> {
    let tool = "/tools/{id}";
    let version = "/tools/{id}/versions/{version_id}";
    let routes = Router::new()
        .route("/service-info", get(tools::service_info))
        .route("/toolClasses", get(tools::tool_classes))
        .route("/tools", get(tools::list))
        .route(tool, get(tools::one))
        .route(&format!("{tool}/versions"), get(tools::versions))
        .route(version, get(tools::version))
        .route(
            &format!("{version}/containerfile"),
            get(tools::containerfile),
        )
        .route(
            &format!("{version}/{{type}}/descriptor"),
            get(descriptors::primary),
        )
        .route(
            &format!("{version}/{{type}}/descriptor/{{*relative_path}}"),
            get(descriptors::relative),
        )
        .route(
            &format!("{version}/{{type}}/tests"),
            get(descriptors::tests),
        )
        .route(
            &format!("{version}/{{type}}/files"),
            get(descriptors::files),
        )
        // Anything else under the base, such as an id whose `/` was not encoded, is the
        // specification's 404 `Error`, not the portal's HTML page.
        .route("/{*rest}", get(unknown));
    Router::new().nest(BASE, routes)
}

/// Anything else under the base: an id sent with its `/` unencoded is redirected to the
/// encoded form (`tools/lab/samtools/versions` → `tools/lab%2Fsamtools/versions`), so clients
/// that do not encode still arrive; the rest is the specification's 404 `Error`, not the
/// portal's HTML page.
async fn unknown(Path(rest): Path<String>, RawQuery(query): RawQuery) -> Response {
    let mut segments = rest.split('/');
    if let (Some("tools"), Some(namespace), Some(name)) =
        (segments.next(), segments.next(), segments.next())
        && bioshadock_core::RepoName::parse(&format!("{namespace}/{name}")).is_ok()
    {
        let mut target = format!("{BASE}/tools/{namespace}%2F{name}");
        for segment in segments {
            target.push('/');
            target.push_str(&encode_segment(segment));
        }
        if let Some(query) = query {
            target.push('?');
            target.push_str(&query);
        }
        return Redirect::permanent(&target).into_response();
    }
    TrsError::not_found(
        "no such TRS resource; tool ids are `namespace/name` sent as one path segment, \
         with the `/` percent-encoded (`/tools/lab%2Fsamtools`)",
    )
    .into_response()
}

/// A decoded path segment encoded again (the redirect target must be a valid URI path).
fn encode_segment(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A TRS failure: the status and the specification's `Error` body.
#[derive(Debug)]
pub struct TrsError(ApiError);

impl TrsError {
    fn not_found(message: impl Into<String>) -> Self {
        Self(ApiError::not_found(message))
    }
}

impl From<ApiError> for TrsError {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl From<bioshadock_core::PortError> for TrsError {
    fn from(err: bioshadock_core::PortError) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for TrsError {
    fn into_response(self) -> Response {
        let status: StatusCode = self.0.status;
        let body = model::Error {
            code: status.as_u16(),
            message: self.0.message,
        };
        (status, Json(body)).into_response()
    }
}
