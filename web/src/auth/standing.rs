//! A signed-in principal's organisations, loaded with every request that authenticates: the
//! permission rules decide with them, and a removal from an organisation or a team therefore
//! counts from the next request on, in every process.

use bioshadock_core::orgs::Memberships;
use bioshadock_core::permissions::Principal;

use crate::error::ApiError;
use crate::state::AppState;

/// `principal` with its user's organisation standing (anonymous stays as it is).
pub(crate) async fn with_memberships(
    state: &AppState,
    principal: Principal,
) -> Result<Principal, ApiError> {
    let Some(actor) = principal.actor() else {
        return Ok(principal);
    };
    let orgs = state.orgs.orgs_of(&actor.user.name).await?;
    let memberships = Memberships::of(&actor.user.name, &orgs);
    Ok(principal.with_memberships(memberships))
}
