//! Extractors whose rejections are the API's JSON errors instead of axum's plain text.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bioshadock_core::RepoName;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; a malformed one is a 400/415/413 JSON error.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(|rejection: JsonRejection| ApiError {
                // axum answers 422 for well-formed JSON of the wrong shape; the contract says
                // bad input is 400, whatever its kind.
                status: match rejection.status() {
                    StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
                    other => other,
                },
                code: "bad_request",
                message: rejection.body_text(),
            })
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
