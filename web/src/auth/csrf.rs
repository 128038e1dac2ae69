//! CSRF protection for forms: a random token per session, embedded in every form and checked
//! on every state-changing post. (The JSON API needs no token: it takes only
//! `application/json` bodies, which a cross-site form cannot send, and the session cookie is
//! SameSite=Lax.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::caller::session_unavailable;
use crate::error::ApiError;

const CSRF_KEY: &str = "csrf";

/// This session's token, created on first use.
pub(crate) async fn token(session: &Session) -> Result<String, ApiError> {
    if let Some(token) = session
        .get::<String>(CSRF_KEY)
        .await
        .map_err(|e| session_unavailable(&e))?
    {
        return Ok(token);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    session
        .insert(CSRF_KEY, &token)
        .await
        .map_err(|e| session_unavailable(&e))?;
    Ok(token)
}

/// Refuses a post whose token is missing or not this session's.
pub(crate) async fn verify(session: &Session, submitted: &str) -> Result<(), ApiError> {
    let expected = session
        .get::<String>(CSRF_KEY)
        .await
        .map_err(|e| session_unavailable(&e))?;
    let valid = expected.is_some_and(|expected| {
        !submitted.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
    });
    if valid {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "csrf",
            "this form has expired or did not come from this site; reload the page and try again",
        ))
    }
}
