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

use axum::http::StatusCode;
use bioshadock_core::PortError;
use bioshadock_core::accounts::{
    Scopes, Source, User, UserName, VerifyMemory, decoy_hash, hash_password, needs_rehash,
    verify_password_in,
};
use bioshadock_core::permissions::{Credential, Principal};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::services;
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
    /// The password is right for this enabled user, whose stored hash it matched (for a
    /// directory account: the placeholder stored in place of a hash).
    Valid { user: User, hash: String },
    /// Wrong user name or password (unknown and disabled users look the same).
    Wrong,
    /// Refused by the throttle: try again in this many seconds.
    Throttled(u64),
    /// The password is right, but this account may not sign in this way; the reason.
    Refused(String),
}

/// Checks `password` for the user `name`, throttled, cached, and bounded: against the stored
/// hash for a local account, by the directory for a directory account or a name unknown here
/// (when a directory is configured). A directory that cannot be reached is an error
/// ([`ApiError::directory_unavailable`]), not a wrong password.
pub(crate) async fn check(
    state: &AppState,
    name: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Result<Verdict, ApiError> {
    let verdict = verdict(state, name, password, address).await?;
    record(state, name, &verdict).await;
    Ok(verdict)
}

/// Sign-ins with a password, in the event stream: who signed in, and who failed (the name as
/// typed, never the password); throttled attempts are the throttle's to count.
async fn record(state: &AppState, name: &str, verdict: &Verdict) {
    use crate::services::events;
    use bioshadock_core::events::{ActorKind, Credential, Event, EventKind};
    let mut actor = events::request_actor(
        ActorKind::Anonymous,
        "anonymous".to_owned(),
        Credential::Password,
    );
    let (kind, summary) = match verdict {
        Verdict::Valid { user, .. } => {
            actor.kind = ActorKind::User;
            actor.name = user.name.to_string();
            (
                EventKind::SignedIn,
                format!("with a password ({})", user.source),
            )
        }
        Verdict::Wrong => (
            EventKind::SignInFailed,
            "wrong user name or password".to_owned(),
        ),
        Verdict::Refused(reason) => (EventKind::SignInFailed, reason.clone()),
        Verdict::Throttled(_) => return,
    };
    let event = Event::new(kind, format!("user:{name}"), actor, summary);
    events::record(state, event).await;
}

async fn verdict(
    state: &AppState,
    name: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Result<Verdict, ApiError> {
    let stored = match UserName::parse(name) {
        Ok(parsed) => match state.users.get_credentials(&parsed).await {
            Ok((user, hash)) if !user.disabled => Some((user, hash)),
            // A disabled account is never asked about elsewhere: it looks unknown.
            Ok(_) => return check_local(state, name, password, address, None).await,
            Err(PortError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    match stored {
        Some((user, hash)) if user.source.is_local() => {
            check_local(state, name, password, address, Some((user, hash))).await
        }
        Some((user, hash)) if user.source == Source::Ldap => {
            check_in_directory(state, name, password, address, Some((user, hash))).await
        }
        // An OpenID Connect account has no password anywhere it could be checked: it looks
        // like an unknown name.
        Some(_) => check_local(state, name, password, address, None).await,
        None if state.directory.is_some() => {
            check_in_directory(state, name, password, address, None).await
        }
        None => check_local(state, name, password, address, None).await,
    }
}

/// A local account's password, against its stored hash (`None`: an unknown or disabled name,
/// which costs the same hash as a wrong password, so timing does not tell which names exist).
async fn check_local(
    state: &AppState,
    name: &str,
    password: &str,
    address: Option<IpAddr>,
    stored: Option<(User, String)>,
) -> Result<Verdict, ApiError> {
    if let Some((user, hash)) = &stored
        && state.passwords.verified(name, password, hash)
    {
        return Ok(local_sign_in_allowed(state, user.clone(), hash.clone()));
    }
    if let Some(refused) = attempt(state, name, address).await {
        return Ok(refused);
    }
    let hash = stored
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |(_, hash)| hash.clone());
    let matches = state.verifiers.verify(password, hash).await?;
    match stored {
        Some((user, hash)) if matches => {
            state.throttle.succeeded(name).await;
            let hash = upgrade(state, &user, password, hash).await;
            state.passwords.remember(name, password, &hash);
            Ok(local_sign_in_allowed(state, user, hash))
        }
        _ => failed(state, address).await,
    }
}

/// With `auth.local_sign_in = false`, only administrators use a local password (a
/// break-glass account); told only to whoever knows the password.
fn local_sign_in_allowed(state: &AppState, user: User, hash: String) -> Verdict {
    if state.settings.local_sign_in || user.is_admin() {
        Verdict::Valid { user, hash }
    } else {
        Verdict::Refused(
            "signing in with a local password is turned off here: use your institutional \
             account, or an API key"
                .into(),
        )
    }
}

/// A directory account's password (or a name unknown here, which the directory may know),
/// by a bind; the account is created, and its role and teams follow the directory's groups.
async fn check_in_directory(
    state: &AppState,
    name: &str,
    password: &str,
    address: Option<IpAddr>,
    known: Option<(User, String)>,
) -> Result<Verdict, ApiError> {
    let Some(directory) = &state.directory else {
        // A directory account whose directory is no longer configured.
        return check_local(state, name, password, address, None).await;
    };
    if let Some((user, hash)) = &known
        && state.passwords.verified(name, password, hash)
    {
        return match super::directory::vouched(state, user.clone()).await {
            Ok(user) => Ok(Verdict::Valid {
                user,
                hash: hash.clone(),
            }),
            Err(_) => Ok(Verdict::Wrong),
        };
    }
    if let Some(refused) = attempt(state, name, address).await {
        return Ok(refused);
    }
    let identity = match directory
        .sign_in
        .directory
        .authenticate(name, password)
        .await
    {
        Ok(Some(identity)) => identity,
        Ok(None) => return failed(state, address).await,
        Err(PortError::Unavailable(detail)) => {
            tracing::warn!(%detail, "a directory sign-in could not be checked");
            return Err(ApiError::directory_unavailable());
        }
        Err(e) => return Err(e.into()),
    };
    state.throttle.succeeded(name).await;
    let user = match services::identities::admit(state, &identity, &directory.sign_in.mapping).await
    {
        Ok(Some(user)) => user,
        Ok(None) => return failed(state, address).await,
        Err(e) if e.status == StatusCode::FORBIDDEN => return Ok(Verdict::Refused(e.message)),
        Err(e) => return Err(e),
    };
    directory.record(user.name.as_str(), true);
    let hash = match known {
        Some((_, hash)) => hash,
        None => services::identities::NO_LOCAL_PASSWORD.to_owned(),
    };
    state.passwords.remember(name, password, &hash);
    Ok(Verdict::Valid { user, hash })
}

/// Counts an attempt for `name` before its password is checked (so parallel guesses cannot
/// slip through); `Some` when the throttle refuses it.
async fn attempt(state: &AppState, name: &str, address: Option<IpAddr>) -> Option<Verdict> {
    let wait = state.throttle.attempt(name).await.err()?;
    tracing::warn!(user = %name, ?address, "sign-in throttled: too many attempts for this user");
    Some(Verdict::Throttled(wait))
}

/// A wrong password: counted against the client's address.
async fn failed(state: &AppState, address: Option<IpAddr>) -> Result<Verdict, ApiError> {
    match state.throttle.failed(address).await {
        Ok(()) => Ok(Verdict::Wrong),
        Err(wait) => {
            tracing::warn!(
                ?address,
                "sign-in throttled: too many failures from this address"
            );
            Ok(Verdict::Throttled(wait))
        }
    }
}

/// The principal behind a user name and password sent with a request (the registry token
/// service's and the API's Basic credentials): all the user's scopes, organisations loaded.
/// A throttled attempt is answered with `throttled_status`: 429 for the token service (docker
/// shows it), 401 for the API, where a refused credential is a 401 whatever the reason.
pub(crate) async fn principal(
    state: &AppState,
    name: &str,
    password: &str,
    address: Option<IpAddr>,
    throttled_status: StatusCode,
) -> Result<Principal, ApiError> {
    match check(state, name, password, address).await? {
        Verdict::Valid { user, .. } => {
            let principal = Principal::user(user, Scopes::all(), Credential::Password);
            super::with_memberships(state, principal).await
        }
        Verdict::Wrong => Err(ApiError::unauthorized("incorrect user name or password")),
        Verdict::Refused(reason) => Err(ApiError::forbidden("sign_in_refused", reason)),
        Verdict::Throttled(wait) => Err(ApiError {
            status: throttled_status,
            code: "throttled",
            message: format!("too many failed attempts; try again in {wait} seconds"),
        }),
    }
}
