//! Browser sessions: tower-sessions on the configured session store.
//!
//! Cookies are HttpOnly and SameSite=Lax, `Secure` when the portal's public URL is https or
//! when a proxy tells us the request came over https (`X-Forwarded-Proto`). The session id
//! is rotated at login and the session flushed at logout.
//!
//! The store never sees a session id, only a hash of it ([`HashedIds`]): anyone who can read
//! the sessions table (a backup, another account on the server, the Redis) finds nothing
//! that a cookie could carry.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time::Duration;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};

/// The session key holding the signed-in user's name.
pub(crate) const USER_KEY: &str = "user";
/// The session key holding [`credential_stamp`] of the password the user signed in with.
pub(crate) const STAMP_KEY: &str = "stamp";

/// A short fingerprint of a user's stored password hash, kept in each of their sessions: when
/// the password changes (`bioshadock user passwd`, in any process), the stored hash and so
/// the stamp change, and every session signed in with the old password ends at its next
/// request. No table of a user's sessions is needed, in either backend.
pub(crate) fn credential_stamp(password_hash: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"bioshadock session stamp\0")
        .chain_update(password_hash.as_bytes())
        .finalize();
    hex::encode(&digest[..12])
}

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "bioshadock_session";
/// A session unused for this long ends.
const IDLE_TIMEOUT: Duration = Duration::days(7);

/// Any session store (chosen at run time) seen through a hash of each session id: the cookie
/// carries the id, the store keeps `SHA-256(id)` (128 bits of it) as the record's id.
#[derive(Clone)]
pub struct HashedIds(pub Arc<dyn SessionStore>);

impl std::fmt::Debug for HashedIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashedIds")
    }
}

/// The id under which the session with cookie id `id` is stored. A plain hash suffices (no
/// key): ids are 128 random bits, so there is nothing to guess from the stored value.
pub(crate) fn stored_id(id: &Id) -> Id {
    let digest = Sha256::new()
        .chain_update(b"bioshadock session id\0")
        .chain_update(id.0.to_le_bytes())
        .finalize();
    let mut half = [0u8; 16];
    half.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(half))
}

fn stored(record: &Record) -> Record {
    Record {
        id: stored_id(&record.id),
        ..record.clone()
    }
}

#[async_trait]
impl SessionStore for HashedIds {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let mut row = stored(record);
            let wanted = row.id;
            self.0.create(&mut row).await?;
            if row.id == wanted {
                return Ok(());
            }
            // The backend met an existing row and stored this one under an id of its own,
            // which no cookie hashes to: drop it and draw another cookie id.
            self.0.delete(&row.id).await?;
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0.save(&stored(record)).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self
            .0
            .load(&stored_id(id))
            .await?
            .map(|record| Record { id: *id, ..record }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(&stored_id(id)).await
    }
}

/// The session layer for the whole router.
pub(crate) fn layer(
    store: Arc<dyn SessionStore>,
    public_url: &str,
) -> SessionManagerLayer<HashedIds> {
    SessionManagerLayer::new(HashedIds(store))
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
                if text.starts_with("bioshadock_") && !text.contains("; Secure") {
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
