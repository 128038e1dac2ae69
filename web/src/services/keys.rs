//! Minting and revoking a user's API keys, for the account API, the account page and the
//! registry token service (which mints a refresh key for `docker login`).

use bioshadock_core::PortError;
use bioshadock_core::accounts::{ApiKey, KeySecret, Scopes};
use bioshadock_core::model;
use bioshadock_core::permissions::Actor;
use chrono::Duration;

use super::events;
use crate::error::ApiError;
use crate::state::AppState;
use bioshadock_core::events::{Event, EventKind};

/// Longest key label.
pub const MAX_LABEL: usize = 100;
/// Longest key lifetime that can be asked for.
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// A key just created, with its secret: the only time the secret exists outside the caller's
/// hands (the store keeps its hash).
#[derive(Debug)]
pub struct MintedKey {
    pub secret: String,
    pub key: ApiKey,
}

/// Creates a key for `actor`. A key-authenticated caller cannot mint a key with scopes its own
/// key lacks.
pub async fn mint_key(
    state: &AppState,
    actor: &Actor,
    label: &str,
    scopes: Scopes,
    expires_in_days: Option<u32>,
) -> Result<MintedKey, ApiError> {
    // Bounded before trimming, so the bound is the one the API's document states.
    let too_long = label.chars().count() > MAX_LABEL;
    let label = label.trim();
    if label.is_empty() || too_long {
        return Err(ApiError::bad_request(format!(
            "a key needs a label of 1 to {MAX_LABEL} characters"
        )));
    }
    if scopes.is_empty() {
        return Err(ApiError::bad_request("a key needs at least one scope"));
    }
    let now = model::now();
    let expires_at = match expires_in_days {
        None => None,
        Some(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => {
            Some(now + Duration::days(i64::from(days)))
        }
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "`expires_in_days` must be between 1 and {MAX_EXPIRY_DAYS}"
            )));
        }
    };
    actor
        .may_mint_key(&scopes, expires_at)
        .map_err(|denied| ApiError::forbidden("insufficient_scope", denied.to_string()))?;
    let secret = KeySecret::generate();
    let key = ApiKey {
        id: secret.id().to_owned(),
        user: actor.user.name.clone(),
        label: label.to_owned(),
        scopes,
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked: false,
    };
    state.keys.create_key(&key, &secret.hash()).await?;
    tracing::info!(user = %key.user, key_id = %key.id, "API key created");
    let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
    let summary = format!("`{}`, scopes {}", key.label, scopes.join(","));
    let event = Event::new(
        EventKind::KeyCreated,
        format!("key:{}", key.id),
        events::actor_of_user(actor),
        summary,
    );
    events::record(state, event).await;
    Ok(MintedKey {
        secret: secret.expose().to_owned(),
        key,
    })
}

/// Revokes one of `actor`'s keys; another user's key is reported as absent. Revoking a revoked
/// key is not an error.
pub async fn revoke(state: &AppState, actor: &Actor, id: &str) -> Result<(), ApiError> {
    let unknown = || ApiError::not_found(format!("you have no key `{id}`"));
    let key = match state.keys.find_key(id).await {
        Ok((key, _hash)) if key.user == actor.user.name => key,
        Ok(_) | Err(PortError::NotFound) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    };
    actor
        .may_revoke_key(&key)
        .map_err(|denied| ApiError::forbidden("insufficient_scope", denied.to_string()))?;
    match state.keys.revoke_key(&actor.user.name, id).await {
        Ok(()) => {}
        Err(PortError::NotFound) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    }
    state.key_cache.forget_user(actor.user.name.as_str());
    tracing::info!(user = %actor.user.name, key_id = %id, "API key revoked");
    let event = Event::new(
        EventKind::KeyRevoked,
        format!("key:{id}"),
        events::actor_of_user(actor),
        format!("`{}` revoked", key.label),
    );
    events::record(state, event).await;
    Ok(())
}
