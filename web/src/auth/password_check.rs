//! Checking a user's password, for the sign-in form and the registry token service: the
//! throttle (see [`super::throttle`]), the cache of recently verified passwords (docker sends
//! the password with every token request), and a bound on concurrent argon2 verifications.
//!
//! argon2 costs ~19 MiB and tens of milliseconds per verification by design; without a bound,
//! a burst of parallel guesses (or a busy morning of `docker login`s) hashes them all at once
//! and takes the server's memory with it. Verifications therefore queue for one of a few
//! verifiers, each with working memory allocated once and reused: a legitimate login waits
//! its turn rather than being refused, and the process holds at most
//! [`CONCURRENT_VERIFICATIONS`] × 19 MiB for passwords, however many arrive.

use std::net::IpAddr;
use std::sync::Mutex;

use bioshadock_core::PortError;
use bioshadock_core::accounts::{
    User, UserName, VerifyMemory, decoy_hash, hash_password, needs_rehash, verify_password_in,
};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::state::AppState;

/// argon2 verifications running at once in this process.
pub(crate) const CONCURRENT_VERIFICATIONS: usize = 4;

/// The process's password verifiers: a permit per verifier, and their working memories.
pub(crate) struct Verifiers {
    permits: Semaphore,
    /// Never more than [`CONCURRENT_VERIFICATIONS`]: one is taken only with a permit.
    memories: Mutex<Vec<VerifyMemory>>,
}

impl Default for Verifiers {
    fn default() -> Self {
        Self {
            permits: Semaphore::new(CONCURRENT_VERIFICATIONS),
            memories: Mutex::default(),
        }
    }
}

impl Verifiers {
    /// Whether `password` matches `hash`, once a verifier is free.
    async fn verify(&self, password: &str, hash: String) -> Result<bool, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::unavailable())?;
        let mut memory = self
            .memories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let password = password.to_owned();
        let (matches, memory) = tokio::task::spawn_blocking(move || {
            let matches = verify_password_in(&mut memory, &password, &hash);
            (matches, memory)
        })
        .await
        .map_err(|_| ApiError::internal())?;
        self.memories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(memory);
        Ok(matches)
    }

    /// An argon2id hash of `password`, once a verifier is free (hashing costs what verifying
    /// does).
    async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::unavailable())?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|e| ApiError::bad_request(e.to_string()))
    }
}

/// After a successful check against an imported (bcrypt) hash, stores an argon2id hash of the
/// same password instead and returns it; on any failure the old hash stays and works (the next
/// sign-in tries again).
async fn upgrade(state: &AppState, user: &User, password: &str, hash: String) -> String {
    if !needs_rehash(&hash) {
        return hash;
    }
    let upgraded = match state.verifiers.hash(password).await {
        Ok(upgraded) => upgraded,
        Err(e) => {
            tracing::warn!(user = %user.name, reason = %e.message, "kept an imported password hash");
            return hash;
        }
    };
    match state.users.set_password(&user.name, &upgraded).await {
        Ok(()) => {
            tracing::info!(user = %user.name, "imported password hash replaced by argon2id");
            upgraded
        }
        Err(e) => {
            tracing::warn!(user = %user.name, error = %e, "kept an imported password hash");
            hash
        }
    }
}

/// The outcome of a password check.
pub(crate) enum Verdict {
    /// The password is right for this enabled user, whose stored hash it matched.
    Valid { user: User, hash: String },
    /// Wrong user name or password (unknown and disabled users look the same).
    Wrong,
    /// Refused by the throttle: try again in this many seconds.
    Throttled(u64),
}

/// Checks `password` for the user `name`, throttled, cached, and bounded.
pub(crate) async fn check(
    state: &AppState,
    name: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Result<Verdict, ApiError> {
    let stored = match UserName::parse(name) {
        Ok(parsed) => match state.users.get_credentials(&parsed).await {
            Ok((user, hash)) if !user.disabled => Some((user, hash)),
            Ok(_) | Err(PortError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    if let Some((user, hash)) = &stored
        && state.passwords.verified(name, password, hash)
    {
        return Ok(Verdict::Valid {
            user: user.clone(),
            hash: hash.clone(),
        });
    }
    if let Err(wait) = state.throttle.attempt(name).await {
        tracing::warn!(user = %name, ?address, "sign-in throttled: too many attempts for this user");
        return Ok(Verdict::Throttled(wait));
    }
    // Unknown and disabled users cost the same hash as a wrong password, so timing does not
    // tell which names exist.
    let hash = stored
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |(_, hash)| hash.clone());
    let matches = state.verifiers.verify(password, hash).await?;
    match stored {
        Some((user, hash)) if matches => {
            state.throttle.succeeded(name).await;
            let hash = upgrade(state, &user, password, hash).await;
            state.passwords.remember(name, password, &hash);
            Ok(Verdict::Valid { user, hash })
        }
        _ => match state.throttle.failed(address).await {
            Ok(()) => Ok(Verdict::Wrong),
            Err(wait) => {
                tracing::warn!(
                    ?address,
                    "sign-in throttled: too many failures from this address"
                );
                Ok(Verdict::Throttled(wait))
            }
        },
    }
}
