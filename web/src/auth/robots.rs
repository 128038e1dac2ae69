//! Verifying a robot account's credentials: its name (`owner+name`) and token. Nothing is
//! cached, so disabling or deleting a robot, or deleting its organisation or disabling its
//! user, stops it at its next request in every process.

use bioshadock_core::accounts::UserName;
use bioshadock_core::orgs::OrgName;
use bioshadock_core::permissions::Principal;
use bioshadock_core::robots::{RobotName, RobotToken};
use bioshadock_core::{PortError, model};

use crate::error::ApiError;
use crate::state::AppState;

/// Whether a Basic user name names a robot (`+` is in no user name).
pub(crate) fn is_robot_name(user: &str) -> bool {
    user.contains('+')
}

/// The robot `name` presenting `token`, or 401.
pub(crate) async fn authenticate_robot(
    state: &AppState,
    name: &str,
    token: &str,
) -> Result<Principal, ApiError> {
    let invalid = || ApiError::unauthorized("invalid robot name or token");
    let name = RobotName::parse(name).map_err(|_| invalid())?;
    let token = RobotToken::parse(token).ok_or_else(invalid)?;
    let (robot, hash) = match state.robots.find_robot(&name).await {
        Ok(found) => found,
        Err(PortError::NotFound) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    if !token.matches(&hash) {
        return Err(invalid());
    }
    if robot.disabled {
        return Err(ApiError::unauthorized("this robot account is disabled"));
    }
    if !robot.is_usable(model::now()) {
        return Err(ApiError::unauthorized("this robot's token has expired"));
    }
    if !owner_stands(state, name.owner()).await? {
        return Err(ApiError::unauthorized(
            "this robot's owner no longer exists or is disabled",
        ));
    }
    Ok(Principal::robot(robot))
}

/// Whether the robot's owner still exists: an organisation, or an enabled user.
async fn owner_stands(state: &AppState, owner: &str) -> Result<bool, ApiError> {
    let org = OrgName::parse(owner).map_err(|_| ApiError::internal())?;
    match state.orgs.get_org(&org).await {
        Ok(_) => return Ok(true),
        Err(PortError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let user = UserName::parse(owner).map_err(|_| ApiError::internal())?;
    match state.users.get_user(&user).await {
        Ok(user) => Ok(!user.disabled),
        Err(PortError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
