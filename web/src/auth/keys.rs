//! Verifying a presented API key: one indexed lookup and a SHA-256, never a password hash.
//!
//! Verified keys are remembered for a few seconds so that a script hammering the API does not
//! pay two database reads per request; revoking a key or changing its user drops the entry
//! at once in this process (other processes of a distributed deployment notice within
//! [`CACHE_TTL`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bioshadock_core::accounts::{ApiKey, KeySecret, User};
use bioshadock_core::permissions::{Credential, Principal};
use bioshadock_core::{PortError, model};

use super::{authenticate_robot, is_robot_name};
use crate::error::ApiError;
use crate::state::AppState;

/// How long a verified key is trusted without asking the store again.
const CACHE_TTL: Duration = Duration::from_secs(5);
/// Bounds the cache; past it, expired entries go, then everything.
const CACHE_CAPACITY: usize = 10_000;
/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// A key as the request presented it; the secret never reaches a log.
pub(crate) struct Presented {
    key: String,
    /// The user name of Basic credentials, which must own the key.
    user: Option<String>,
    /// The client's address, which a password check counts failures against.
    address: Option<std::net::IpAddr>,
}

impl Presented {
    pub fn bare(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            user: None,
            address: None,
        }
    }

    pub fn for_user(user: &str, key: &str) -> Self {
        Self {
            key: key.to_owned(),
            user: Some(user.to_owned()),
            address: None,
        }
    }

    /// The same credentials, sent from `address`.
    pub fn from(mut self, address: Option<std::net::IpAddr>) -> Self {
        self.address = address;
        self
    }
}

struct Cached {
    key: ApiKey,
    user: User,
    at: Instant,
}

/// Recently verified keys, by the hash of the full key.
#[derive(Default)]
pub(crate) struct KeyCache {
    entries: Mutex<HashMap<String, Cached>>,
}

impl KeyCache {
    fn get(&self, hash: &str) -> Option<(ApiKey, User)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(hash)
            .filter(|c| c.at.elapsed() < CACHE_TTL)
            .map(|c| (c.key.clone(), c.user.clone()))
    }

    fn put(&self, hash: String, key: ApiKey, user: User) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_CAPACITY {
            entries.retain(|_, c| c.at.elapsed() < CACHE_TTL);
            if entries.len() >= CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            hash,
            Cached {
                key,
                user,
                at: Instant::now(),
            },
        );
    }

    /// Notes a use recorded at `at`, so cached hits do not record it again.
    fn mark_used(&self, hash: &str, at: chrono::DateTime<chrono::Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cached) = entries.get_mut(hash) {
            cached.key.last_used_at = Some(at);
        }
    }

    /// Forgets every key of `user` (a key revoked, the user disabled or their role changed).
    pub fn forget_user(&self, user: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, c| c.user.name.as_str() != user);
    }
}

/// The principal behind a presented key, or a 401 saying why not. Basic credentials whose
/// user name is a robot's (`owner+name`) carry that robot's token instead of a key.
pub(crate) async fn authenticate_key(
    state: &AppState,
    presented: Presented,
) -> Result<Principal, ApiError> {
    if let Some(robot) = presented.user.as_deref().filter(|u| is_robot_name(u)) {
        return authenticate_robot(state, robot, &presented.key).await;
    }
    let Some(secret) = KeySecret::parse(&presented.key) else {
        // Basic credentials with a password rather than a key: checked like the sign-in
        // form's (throttled, by the directory for its accounts).
        return match &presented.user {
            Some(user) if user == super::openid::ACCESS_TOKEN_USER => {
                super::openid::access_token_principal(state, &presented.key, presented.address)
                    .await
            }
            Some(user) if !presented.key.is_empty() => {
                super::password_check::principal(
                    state,
                    user,
                    &presented.key,
                    presented.address,
                    axum::http::StatusCode::UNAUTHORIZED,
                )
                .await
            }
            _ => Err(ApiError::unauthorized("invalid API key")),
        };
    };
    let hash = secret.hash();
    let (key, user) = match state.key_cache.get(&hash) {
        Some(hit) => hit,
        None => {
            let (key, user) = verify(state, &secret).await?;
            state.key_cache.put(hash.clone(), key.clone(), user.clone());
            (key, user)
        }
    };
    let now = model::now();
    if key.revoked {
        return Err(ApiError::unauthorized("this API key has been revoked"));
    }
    if !key.is_usable(now) {
        return Err(ApiError::unauthorized("this API key has expired"));
    }
    if presented.user.is_some_and(|u| u != user.name.as_str()) {
        return Err(ApiError::unauthorized(
            "the user name does not match the API key",
        ));
    }
    if user.disabled {
        return Err(ApiError::unauthorized("this account is disabled"));
    }
    let user = super::directory::vouched(state, user).await?;
    if key.last_used_at.is_none_or(|at| now - at > TOUCH_EVERY) {
        state.key_cache.mark_used(&hash, now);
        touch_later(state, &key.id, now);
    }
    let principal = Principal::user(
        user,
        key.scopes,
        Credential::ApiKey {
            id: key.id,
            expires_at: key.expires_at,
        },
    );
    super::with_memberships(state, principal).await
}

async fn verify(state: &AppState, secret: &KeySecret) -> Result<(ApiKey, User), ApiError> {
    let invalid = || ApiError::unauthorized("invalid API key");
    let (key, stored_hash) = match state.keys.find_key(secret.id()).await {
        Ok(found) => found,
        Err(PortError::NotFound) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    if !secret.matches(&stored_hash) {
        return Err(invalid());
    }
    let user = match state.users.get_user(&key.user).await {
        Ok(user) => user,
        Err(PortError::NotFound) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    Ok((key, user))
}

/// Records the use in the background: the request does not wait for a write.
fn touch_later(state: &AppState, id: &str, now: chrono::DateTime<chrono::Utc>) {
    let keys = state.keys.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        if let Err(e) = keys.touch_key(&id, now).await {
            tracing::debug!(error = %e, "could not record an API key's last use");
        }
    });
}
