//! Creating users and changing their role or standing, for the admin API and the admin page.

use bioshadock_core::PortError;
use bioshadock_core::accounts::{Role, User, UserName, hash_password};
use bioshadock_core::events::{Event, EventActor, EventKind};
use bioshadock_core::permissions::{Actor, Principal};

use super::events;

use crate::error::ApiError;
use crate::state::AppState;

/// Creates `user` with `password` (hashed with argon2 off the async threads), for the
/// administrator `by`.
pub async fn create_user(
    state: &AppState,
    by: &Principal,
    user: &User,
    password: &str,
) -> Result<(), ApiError> {
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    match state.users.create_user(user, &hash).await {
        Ok(()) => {
            tracing::info!(user = %user.name, role = user.role.as_str(), "user created");
            let summary = format!("created, {}", user.role.as_str());
            record(state, events::actor_of(by), &user.name, summary).await;
            Ok(())
        }
        Err(PortError::Conflict(_)) => Err(ApiError::conflict(format!(
            "user `{}` already exists",
            user.name
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Applies role and disabled changes. Admins cannot demote or disable themselves, so an
/// installation cannot lose its last way in by accident.
pub async fn change_user(
    state: &AppState,
    actor: &Actor,
    name: &UserName,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<User, ApiError> {
    if *name == actor.user.name
        && (role.is_some_and(|r| r != Role::Admin) || disabled == Some(true))
    {
        return Err(ApiError::forbidden(
            "forbidden",
            "you cannot demote or disable yourself; ask another admin",
        ));
    }
    let not_found = |e: PortError| match e {
        PortError::NotFound => unknown_user(name.as_str()),
        e => e.into(),
    };
    if let Some(role) = role {
        state.users.set_role(name, role).await.map_err(not_found)?;
    }
    if let Some(disabled) = disabled {
        state
            .users
            .set_disabled(name, disabled)
            .await
            .map_err(not_found)?;
    }
    state.key_cache.forget_user(name.as_str());
    let user = state.users.get_user(name).await.map_err(not_found)?;
    tracing::info!(user = %name, role = user.role.as_str(), disabled = user.disabled, "user changed");
    let summary = format!(
        "{}{}",
        user.role.as_str(),
        if user.disabled { ", disabled" } else { "" }
    );
    record(state, events::actor_of_user(actor), name, summary).await;
    Ok(user)
}

/// An administrator's change to an account, in the event stream.
async fn record(state: &AppState, actor: EventActor, name: &UserName, summary: String) {
    let event = Event::new(
        EventKind::UserChanged,
        format!("user:{name}"),
        actor,
        summary,
    );
    events::record(state, event).await;
}

/// The answer for a user that does not exist.
pub fn unknown_user(name: &str) -> ApiError {
    ApiError::not_found(format!("there is no user `{name}`"))
}
