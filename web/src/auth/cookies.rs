//! Reading a cookie of a request, for the cookies the portal sets itself beside the session's
//! (the sign-in form's nonce, the OpenID Connect flow).

use axum::http::{HeaderMap, header};

/// The value of the request's cookie `name`, from any of its `Cookie` headers.
pub(crate) fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value)
}
