//! Accounts vouched for by an identity provider: created at their first sign-in, and their
//! role and team memberships made to follow the provider's groups on every sign-in and
//! every re-check.

use bioshadock_core::PortError;
use bioshadock_core::accounts::{Role, User};
use bioshadock_core::identity::{GroupMapping, OrgTeams, VerifiedIdentity, name_candidates};
use bioshadock_core::orgs::{OrgName, Organisation};
use bioshadock_core::ports::openid::OpenIdIdentity;

use crate::auth::OpenIdSignIn;

use crate::error::ApiError;
use crate::state::AppState;

/// The password hash stored for accounts whose password lives elsewhere: not a PHC string,
/// so no password ever matches it, and the local sign-in path never accepts one.
pub const NO_LOCAL_PASSWORD: &str = "!external";

/// How often a save of an organisation is retried when another change won the race.
const SAVE_ATTEMPTS: usize = 5;

/// The account `identity` signs in as, created on first sight: `Ok(None)` when that account
/// is disabled. A name held by an account of another source is refused, never merged.
pub async fn admit(
    state: &AppState,
    identity: &VerifiedIdentity,
    mapping: &GroupMapping,
) -> Result<Option<User>, ApiError> {
    let name = identity.account_name().map_err(|e| {
        tracing::warn!(name = %identity.username, source = %identity.source, "a directory name is not a valid account name");
        ApiError::forbidden(
            "invalid_account_name",
            format!("your directory name cannot be an account name here ({e}); ask an administrator"),
        )
    })?;
    let user = match state.users.get_user(&name).await {
        Ok(user) => user,
        Err(PortError::NotFound) => {
            let role = mapping.role(&identity.groups).unwrap_or(Role::User);
            let user = User::from_source(name.clone(), role, identity.source.clone());
            match state.users.create_user(&user, NO_LOCAL_PASSWORD).await {
                Ok(()) => {
                    tracing::info!(user = %name, source = %user.source, role = role.as_str(), "account created at its first sign-in");
                }
                // Created meanwhile by another sign-in of the same user: theirs is as good.
                Err(PortError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            state.users.get_user(&name).await.map_err(|e| match e {
                // The name is an organisation's.
                PortError::NotFound => taken(&name.to_string()),
                e => e.into(),
            })?
        }
        Err(e) => return Err(e.into()),
    };
    if user.source != identity.source {
        tracing::warn!(user = %name, has = %user.source, signing_in = %identity.source, "a sign-in collides with an account of another source");
        return Err(taken(name.as_str()));
    }
    if user.disabled {
        return Ok(None);
    }
    follow(state, user, identity, mapping).await.map(Some)
}

/// The account of the person an OpenID Connect provider vouched for: found by the provider's
/// id of them (`sub`), or created at their first sign-in under the first free variant of
/// their name (`anna`, `anna-2`, …), so that an existing account of that name, local or not,
/// is never taken over. `Ok(None)` when the account is disabled.
pub async fn admit_openid(
    state: &AppState,
    sign_in: &OpenIdSignIn,
    found: &OpenIdIdentity,
) -> Result<Option<User>, ApiError> {
    let identity = &found.identity;
    let user = match state
        .users
        .find_user_by_subject(&identity.source, &found.subject)
        .await
    {
        Ok(user) => user,
        Err(PortError::NotFound) => match create_openid_account(state, sign_in, found).await? {
            Some(user) => user,
            None => return Ok(None),
        },
        Err(e) => return Err(e.into()),
    };
    if user.disabled {
        return Ok(None);
    }
    let user = follow(state, user, identity, &sign_in.mapping).await?;
    // The provider vouched for the person (its sign-in flow, or an access token it issued).
    let actor = super::events::request_actor(
        bioshadock_core::events::ActorKind::User,
        user.name.to_string(),
        bioshadock_core::events::Credential::AccessToken,
    );
    let event = bioshadock_core::events::Event::new(
        bioshadock_core::events::EventKind::SignedIn,
        format!("user:{}", user.name),
        actor,
        format!("through OpenID Connect ({})", sign_in.id.as_str()),
    );
    super::events::record(state, event).await;
    Ok(Some(user))
}

async fn create_openid_account(
    state: &AppState,
    sign_in: &OpenIdSignIn,
    found: &OpenIdIdentity,
) -> Result<Option<User>, ApiError> {
    let identity = &found.identity;
    if !sign_in.allowed_domains.is_empty() && !domain_allowed(sign_in, found) {
        tracing::info!(provider = %sign_in.id.as_str(), "a first sign-in from a domain that may not create accounts");
        return Err(ApiError::forbidden(
            "domain_not_allowed",
            format!(
                "accounts signing in through {} are for verified e-mail addresses at {}",
                sign_in.display_name,
                sign_in.allowed_domains.join(", ")
            ),
        ));
    }
    let role = sign_in.mapping.role(&identity.groups).unwrap_or(Role::User);
    for name in name_candidates(&identity.username) {
        let user = User {
            subject: Some(found.subject.clone()),
            ..User::from_source(name.clone(), role, identity.source.clone())
        };
        match state.users.create_user(&user, NO_LOCAL_PASSWORD).await {
            Ok(()) => {
                tracing::info!(user = %name, source = %user.source, role = role.as_str(), "account created at its first sign-in");
                return Ok(Some(user));
            }
            Err(PortError::Conflict(_)) => {
                // The name is taken, or the same person's first sign-in won a race.
                match state
                    .users
                    .find_user_by_subject(&identity.source, &found.subject)
                    .await
                {
                    Ok(user) => return Ok(Some(user)),
                    Err(PortError::NotFound) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(
        "no free account name is left for this sign-in; ask an administrator",
    ))
}

/// Whether the identity's e-mail address is verified and in one of the allowed domains.
fn domain_allowed(sign_in: &OpenIdSignIn, found: &OpenIdIdentity) -> bool {
    let Some(email) = &found.identity.email else {
        return false;
    };
    let Some((_, domain)) = email.rsplit_once('@') else {
        return false;
    };
    found.email_verified
        && sign_in
            .allowed_domains
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(domain))
}

fn taken(name: &str) -> ApiError {
    ApiError::forbidden(
        "account_name_taken",
        format!(
            "the name `{name}` belongs to an account that does not come from this directory; \
             ask an administrator"
        ),
    )
}

/// Makes `user`'s role and teams what the provider's groups say, and returns the user as they
/// are now.
pub async fn follow(
    state: &AppState,
    mut user: User,
    identity: &VerifiedIdentity,
    mapping: &GroupMapping,
) -> Result<User, ApiError> {
    if let Some(role) = mapping.role(&identity.groups)
        && role != user.role
    {
        state.users.set_role(&user.name, role).await?;
        tracing::info!(user = %user.name, from = user.role.as_str(), to = role.as_str(), "role follows the directory");
        user.role = role;
        state.key_cache.forget_user(user.name.as_str());
    }
    for (org, teams) in mapping.teams(&identity.groups) {
        follow_in_org(state, &user, &org, &teams).await?;
    }
    Ok(user)
}

/// One organisation's mapped teams, saved with a retry when another change got there first.
async fn follow_in_org(
    state: &AppState,
    user: &User,
    org_name: &OrgName,
    teams: &OrgTeams,
) -> Result<(), ApiError> {
    for _ in 0..SAVE_ATTEMPTS {
        let mut org = match state.orgs.get_org(org_name).await {
            Ok(org) => org,
            Err(PortError::NotFound) if teams.wanted.is_empty() => return Ok(()),
            Err(PortError::NotFound) => match create_mapped_org(state, org_name).await? {
                Some(org) => org,
                None => return Ok(()),
            },
            Err(e) => return Err(e.into()),
        };
        let changed = org
            .follow_directory(&user.name, &teams.mapped, &teams.wanted)
            .map_err(|e| {
                tracing::warn!(org = %org_name, user = %user.name, error = %e, "a directory team mapping cannot be applied");
                ApiError::from(e)
            })?;
        if !changed {
            return Ok(());
        }
        match state.orgs.save_org(&org).await {
            Ok(()) => {
                tracing::info!(org = %org_name, user = %user.name, "teams follow the directory");
                return Ok(());
            }
            Err(PortError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(
        "the organisation kept changing; sign in again",
    ))
}

/// Creates an organisation a team mapping names, owned by the first enabled local
/// administrator (an organisation always has an owner; a directory user is never made one by
/// a mapping). `None` when there is no such administrator.
async fn create_mapped_org(
    state: &AppState,
    name: &OrgName,
) -> Result<Option<Organisation>, ApiError> {
    let owner = state
        .users
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.is_admin() && !u.disabled && u.source.is_local());
    let Some(owner) = owner else {
        tracing::warn!(org = %name, "a team mapping names a missing organisation and no local administrator exists to own it; skipped");
        return Ok(None);
    };
    let org = Organisation::new(
        name.clone(),
        "Created for the directory's team mapping.".into(),
        owner.name,
    )?;
    match state.orgs.create_org(&org).await {
        Ok(()) => tracing::info!(org = %name, "organisation created for a team mapping"),
        Err(PortError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    match state.orgs.get_org(name).await {
        Ok(org) => Ok(Some(org)),
        // A user holds the name.
        Err(PortError::NotFound) => {
            tracing::warn!(org = %name, "a team mapping names an organisation that is a user's name; skipped");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
