//! Extractors whose rejections are the API's JSON errors instead of axum's plain text.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bioshadock_core::RepoName;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON object body; a malformed one is a 400/415/413 JSON error.
///
/// Read as JSON as its schema in the OpenAPI document reads it, not as serde would: the body
/// must be an object (serde would take an array for a struct), and a whole number written
/// `2.0` is the integer 2 (JSON Schema's `integer`; serde would refuse it).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(mut value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|rejection: JsonRejection| {
                body_rejection(rejection.status(), rejection.body_text())
            })?;
        if !value.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        whole_numbers_as_integers(&mut value);
        serde_json::from_value(value)
            .map(Self)
            .map_err(|e| ApiError::bad_request(format!("the body does not fit: {e}")))
    }
}

/// Rewrites every number with no fractional part (`2.0`, `1e3`) as an integer, where it fits.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && float.fract() == 0.0
            {
                // Both bounds are exact powers of two, so the comparisons are exact.
                if (0.0..18_446_744_073_709_551_616.0).contains(&float) {
                    *number = (float as u64).into();
                } else if (-9_223_372_036_854_775_808.0..0.0).contains(&float) {
                    *number = (float as i64).into();
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        serde_json::Value::Object(fields) => {
            fields.values_mut().for_each(whole_numbers_as_integers)
        }
        _ => {}
    }
}

/// A URL-encoded form body (the OAuth2 token request); a malformed one is a 400/415/413 JSON
/// error like [`ApiJson`]'s.
pub struct ApiForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(value)| Self(value))
            .map_err(|rejection: FormRejection| {
                body_rejection(rejection.status(), rejection.body_text())
            })
    }
}

/// A body extractor's rejection as the API's JSON error. axum answers 422 for a well-formed
/// body of the wrong shape; the contract says bad input is 400, whatever its kind.
fn body_rejection(status: StatusCode, message: String) -> ApiError {
    ApiError {
        status: match status {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        },
        code: "bad_request",
        message,
    }
}

/// Query parameters; unparsable values are a 400 JSON error naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| ApiError::bad_request(rejection.body_text()))
    }
}

#[derive(Deserialize)]
struct IdSegments {
    namespace: String,
    name: String,
}

/// The `{namespace}/{name}` of a route, validated as a repository name (400 if invalid).
pub struct ContainerId(pub RepoName);

impl<S: Send + Sync> FromRequestParts<S> for ContainerId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(segments) = Path::<IdSegments>::from_request_parts(parts, state)
            .await
            .map_err(|rejection: PathRejection| ApiError::bad_request(rejection.body_text()))?;
        let id = RepoName::parse(&format!("{}/{}", segments.namespace, segments.name))?;
        Ok(Self(id))
    }
}

/// The client's address, when the server knows it (not in in-process tests).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}
