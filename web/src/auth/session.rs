//! Browser sessions: tower-sessions on the configured session store.
//!
//! Cookies are HttpOnly and SameSite=Lax, `Secure` when the portal's public URL is https or
//! when a proxy tells us the request came over https (`X-Forwarded-Proto`). The session id
//! is rotated at login and the session flushed at logout.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::middleware::Next;
use axum::response::Response;
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time::Duration;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};

/// The session key holding the signed-in user's name.
pub(crate) const USER_KEY: &str = "user";
/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "bioshadock_session";
/// A session unused for this long ends.
const IDLE_TIMEOUT: Duration = Duration::days(7);

/// Any session store behind an `Arc`, so the backend is chosen at run time.
#[derive(Clone)]
pub struct DynSessionStore(pub Arc<dyn SessionStore>);

impl std::fmt::Debug for DynSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DynSessionStore")
    }
}

#[async_trait]
impl SessionStore for DynSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.0.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.0.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(id).await
    }
}

/// The session layer for the whole router.
pub(crate) fn layer(
    store: Arc<dyn SessionStore>,
    public_url: &str,
) -> SessionManagerLayer<DynSessionStore> {
    SessionManagerLayer::new(DynSessionStore(store))
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(public_url.starts_with("https://"))
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(IDLE_TIMEOUT))
}

/// Marks the session cookie `Secure` when a proxy says the client used https, even if the
/// portal itself was configured with an http public URL.
pub(crate) async fn secure_behind_https_proxy(request: Request, next: Next) -> Response {
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let mut response = next.run(request).await;
    if https {
        let cookies: Vec<HeaderValue> = response
            .headers_mut()
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| {
                let text = value.to_str().unwrap_or_default();
                if text.starts_with(COOKIE_NAME) && !text.contains("; Secure") {
                    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(value.clone())
                } else {
                    value.clone()
                }
            })
            .collect();
        let headers = response.headers_mut();
        headers.remove(SET_COOKIE);
        for cookie in cookies {
            headers.append(SET_COOKIE, cookie);
        }
    }
    response
}
