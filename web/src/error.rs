//! The API's one error type: every failure becomes `{"error": "...", "code": "..."}` with the
//! right status. 4xx carry a message for the caller; 5xx a generic one while the detail goes
//! to the log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bioshadock_core::PortError;
use bioshadock_core::names::NameError;
use bioshadock_core::orgs::OrgError;
use bioshadock_core::permissions::Denied;
use bioshadock_core::query::QueryError;
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence for the caller.
    pub error: String,
    /// A stable machine-readable code, e.g. `not_found`, `bad_request`.
    pub code: &'static str,
}

/// An API failure.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: what.into(),
        }
    }

    /// No credentials, or credentials that do not hold.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
        }
    }

    /// Known caller, not allowed.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code,
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
        }
    }

    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "internal error; the server log has the details".into(),
        }
    }

    pub fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: "a backend is unavailable; try again shortly".into(),
        }
    }
}

impl ApiError {
    /// The identity provider (the LDAP directory) cannot answer: its users cannot sign in
    /// now, local accounts still can.
    pub fn directory_unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "directory_unavailable",
            message: "the directory cannot be reached, so directory accounts cannot sign in \
                      right now; try again shortly"
                .into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = ErrorBody {
            error: self.message,
            code: self.code,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // Bearer, not Basic: a browser must not pop up a password dialog for the API.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"bioshadock\""),
            );
        }
        response
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::NotSignedIn => Self::unauthorized(denied.to_string()),
            Denied::MissingScope(_) => Self::forbidden("insufficient_scope", denied.to_string()),
            Denied::Forbidden(message) => Self::forbidden("forbidden", message),
        }
    }
}

impl From<PortError> for ApiError {
    fn from(err: PortError) -> Self {
        match err {
            PortError::NotFound => Self::not_found("not found"),
            PortError::Conflict(msg) => Self {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: msg,
            },
            PortError::Unavailable(detail) => {
                tracing::warn!(%detail, "backend unavailable");
                Self::unavailable()
            }
            PortError::Backend(source) => {
                tracing::error!(error = %source, "backend error");
                Self::internal()
            }
        }
    }
}

impl From<NameError> for ApiError {
    fn from(err: NameError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_name",
            message: err.to_string(),
        }
    }
}

impl From<OrgError> for ApiError {
    fn from(err: OrgError) -> Self {
        match err {
            OrgError::NoSuchTeam(_) => Self::not_found(err.to_string()),
            OrgError::DescriptionTooLong => Self::bad_request(err.to_string()),
            OrgError::NotAMember(_)
            | OrgError::TeamExists(_)
            | OrgError::LastOwner
            | OrgError::TooMany { .. } => Self::conflict(err.to_string()),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(err: QueryError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_query",
            message: err.to_string(),
        }
    }
}
