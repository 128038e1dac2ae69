//! What an OpenID Connect sign-in must remember between sending the browser to the provider
//! and its return to the callback: the provider, `state`, `nonce`, the PKCE verifier and where
//! to go next. Kept in a short-lived cookie scoped to `/auth/oidc/`, signed with a key every
//! `web` process of the installation shares (so any of them can take the callback), rather
//! than in a session: an anonymous visitor gets no session row.
//!
//! The cookie is signed, not encrypted: it holds nothing its own browser may not see. It is
//! HttpOnly and SameSite=Lax (the provider's redirect back is a top-level navigation, which
//! carries it), lives 10 minutes, and is cleared by the callback whatever the outcome, so a
//! flow is used once.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::cookies::cookie_value;
use super::purpose_key::PurposeKey;

pub(crate) const COOKIE: &str = "bioshadock_oidc";
/// Ten minutes to get through the provider's pages.
const MAX_AGE_SECS: i64 = 600;
/// A cookie longer than this is not ours.
const MAX_COOKIE_LEN: usize = 4096;

/// One sign-in in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Flow {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// A same-site path (checked when the flow started).
    pub next: String,
    /// Unix seconds after which the flow is refused.
    pub expires: i64,
}

impl Flow {
    /// Whether `state` (from the callback) is this flow's, compared in constant time.
    pub fn state_matches(&self, state: &str) -> bool {
        bool::from(self.state.as_bytes().ct_eq(state.as_bytes()))
    }
}

pub(crate) struct FlowCookies {
    key: PurposeKey,
    secure: bool,
}

impl FlowCookies {
    /// `shared_secret`: the installation's notification secret (as for the sign-in form's
    /// token); `secure`: whether the portal is served over https.
    pub fn new(shared_secret: &str, secure: bool) -> Self {
        Self {
            key: PurposeKey::derive("bioshadock oidc flow", shared_secret),
            secure,
        }
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        self.key.mac(payload.as_bytes())
    }

    /// The `Set-Cookie` value that starts `flow` (its `expires` is set here).
    pub fn seal(&self, mut flow: Flow) -> Option<HeaderValue> {
        flow.expires = chrono::Utc::now().timestamp() + MAX_AGE_SECS;
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&flow).ok()?);
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={payload}.{signature}; Path=/auth/oidc/; Max-Age={MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}"
        ))
        .ok()
    }

    /// The flow the request's cookie carries, if it is ours, intact and not expired.
    pub fn open(&self, headers: &HeaderMap) -> Option<Flow> {
        let value = cookie_value(headers, COOKIE)?;
        if value.len() > MAX_COOKIE_LEN {
            return None;
        }
        let (payload, signature) = value.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.mac(payload).verify_slice(&signature).ok()?;
        let flow: Flow = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (flow.expires > chrono::Utc::now().timestamp()).then_some(flow)
    }

    /// The header that ends the flow.
    pub fn clear(&self) -> HeaderValue {
        HeaderValue::from_static(
            "bioshadock_oidc=; Path=/auth/oidc/; Max-Age=0; HttpOnly; SameSite=Lax",
        )
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    fn flow() -> Flow {
        Flow {
            provider: "keycloak".into(),
            state: "s".repeat(43),
            nonce: "n".repeat(43),
            pkce_verifier: "v".repeat(43),
            next: "/account".into(),
            expires: 0,
        }
    }

    fn request_with(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
        headers
    }

    #[test]
    fn a_flow_comes_back_only_intact_and_from_this_installation() {
        let cookies = FlowCookies::new("shared", false);
        let sealed = cookies.seal(flow()).unwrap();
        assert!(sealed.to_str().unwrap().contains("HttpOnly; SameSite=Lax"));
        let opened = cookies.open(&request_with(&sealed)).unwrap();
        assert_eq!(opened.state, flow().state);
        assert!(opened.state_matches(&"s".repeat(43)));
        assert!(!opened.state_matches("other"));

        let elsewhere = FlowCookies::new("another installation", false);
        assert_eq!(elsewhere.open(&request_with(&sealed)), None);

        // A tampered payload (another `next`) with the old signature.
        let text = sealed
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let (name_payload, signature) = text.split_once('.').unwrap();
        let payload = name_payload.split_once('=').unwrap().1;
        let mut tampered = flow();
        tampered.next = "//evil.example".into();
        tampered.expires = opened.expires;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tampered).unwrap());
        assert_ne!(payload, forged_payload);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={forged_payload}.{signature}")).unwrap(),
        );
        assert_eq!(cookies.open(&headers), None);
        assert_eq!(cookies.open(&HeaderMap::new()), None);
    }

    #[test]
    fn an_expired_flow_is_refused() {
        let cookies = FlowCookies::new("shared", false);
        let mut old = flow();
        old.expires = chrono::Utc::now().timestamp() - 1;
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&old).unwrap());
        let signature = URL_SAFE_NO_PAD.encode(cookies.mac(&payload).finalize().into_bytes());
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={payload}.{signature}")).unwrap(),
        );
        assert_eq!(cookies.open(&headers), None);
    }
}
