//! The CSRF token of the sign-in form, without a session.
//!
//! Every other form belongs to a signed-in session and keeps its token there; an anonymous
//! visitor of `/login` has no session, and must not get one (a stored row per anonymous page
//! view lets anyone fill the session table). So the login form's token is a signed
//! double-submit: a random nonce in a short-lived cookie scoped to `/login`, and in the form
//! `HMAC(key, nonce)`. A page elsewhere can neither read the cookie nor compute the token; the
//! HMAC also defeats a cookie planted from a sibling host, which could set a nonce but not its
//! signature.
//!
//! The key is derived from the registry notification secret, which every `web` process of an
//! installation already shares (the registry posts to any of them), so a form served by one
//! process is accepted by another.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use rand::RngCore;
use subtle::ConstantTimeEq;

use super::cookies::cookie_value;
use super::purpose_key::PurposeKey;

/// The cookie holding the nonce.
pub(crate) const COOKIE: &str = "bioshadock_login";
/// An hour to fill in the form.
const MAX_AGE_SECS: u32 = 3600;
/// Nonces are 32 random bytes, 43 characters of base64; anything else is not ours.
const NONCE_LEN: usize = 43;

pub(crate) struct LoginCsrf {
    key: PurposeKey,
    secure: bool,
}

/// The token for a page, and the cookie to set when the visitor had no valid nonce yet.
pub(crate) struct Issued {
    pub token: String,
    pub set_cookie: Option<HeaderValue>,
}

impl LoginCsrf {
    /// `shared_secret`: the installation's notification secret; `secure`: whether the portal
    /// is served over https (the cookie then gets `Secure`).
    pub fn new(shared_secret: &str, secure: bool) -> Self {
        Self {
            key: PurposeKey::derive("bioshadock login form", shared_secret),
            secure,
        }
    }

    fn sign(&self, nonce: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.key.mac(nonce.as_bytes()).finalize().into_bytes())
    }

    /// The token for the visitor's nonce, minting a nonce (and its cookie) if they have none.
    pub fn issue(&self, headers: &HeaderMap) -> Issued {
        if let Some(nonce) = nonce_in(headers) {
            return Issued {
                token: self.sign(&nonce),
                set_cookie: None,
            };
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let nonce = URL_SAFE_NO_PAD.encode(bytes);
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE}={nonce}; Path=/login; Max-Age={MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}"
        );
        Issued {
            token: self.sign(&nonce),
            set_cookie: HeaderValue::from_str(&cookie).ok(),
        }
    }

    /// Whether `submitted` is the token of the nonce the request's cookie carries.
    pub fn verify(&self, headers: &HeaderMap, submitted: &str) -> bool {
        nonce_in(headers).is_some_and(|nonce| {
            !submitted.is_empty()
                && bool::from(self.sign(&nonce).as_bytes().ct_eq(submitted.as_bytes()))
        })
    }

    /// The header that removes the nonce after sign-in.
    pub fn clear_cookie(&self) -> HeaderValue {
        HeaderValue::from_static(
            "bioshadock_login=; Path=/login; Max-Age=0; HttpOnly; SameSite=Lax",
        )
    }
}

/// The nonce of the request's `bioshadock_login` cookie, if well-formed.
fn nonce_in(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE)
        .map(str::to_owned)
        .filter(|nonce| {
            nonce.len() == NONCE_LEN
                && nonce
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    fn with_cookie(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
        headers
    }

    #[test]
    fn a_token_fits_only_its_own_nonce_and_key() {
        let csrf = LoginCsrf::new("shared secret", false);
        let issued = csrf.issue(&HeaderMap::new());
        let headers = with_cookie(issued.set_cookie.as_ref().unwrap());
        assert!(csrf.verify(&headers, &issued.token));
        assert!(!csrf.verify(&headers, ""));
        assert!(!csrf.verify(&headers, "forged"));
        assert!(!csrf.verify(&HeaderMap::new(), &issued.token), "no cookie");
        let other = csrf.issue(&HeaderMap::new());
        assert!(
            !csrf.verify(&headers, &other.token),
            "another nonce's token"
        );
        let elsewhere = LoginCsrf::new("another installation", false);
        assert!(!elsewhere.verify(&headers, &issued.token));
        // A second page view reuses the nonce: two tabs both work.
        let again = csrf.issue(&headers);
        assert!(again.set_cookie.is_none());
        assert_eq!(again.token, issued.token);
    }
}
