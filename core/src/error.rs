//! Backend-neutral errors returned by every port, so callers never see a database type.

use std::error::Error as StdError;

/// What went wrong behind a port, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The thing asked for does not exist.
    #[error("not found")]
    NotFound,
    /// The write collides with existing state (duplicate id, lost lease, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend cannot be reached right now; retrying later may work.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// Any other backend failure. The source is for logs, never for clients.
    #[error("backend error: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl PortError {
    /// Wraps any backend error.
    pub fn backend(err: impl StdError + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(err))
    }
}

pub type PortResult<T> = Result<T, PortError>;
