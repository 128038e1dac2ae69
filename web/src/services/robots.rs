//! Robot accounts of a user or an organisation on behalf of a caller: create (the token shown
//! once), list, change, give a new token, delete. A user manages their own robots; an
//! organisation's admins and owners manage its robots; site admins manage any.

use bioshadock_core::accounts::{Scope, UserName};
use bioshadock_core::model;
use bioshadock_core::orgs::OrgName;
use bioshadock_core::permissions::Principal;
use bioshadock_core::robots::{
    MAX_EXPIRY_DAYS, MAX_ROBOTS_PER_OWNER, Robot, RobotName, RobotPermission, RobotToken,
};
use bioshadock_core::{MemberName, PortError};
use chrono::{DateTime, Duration, Utc};

use super::events;
use crate::error::ApiError;
use crate::services::{containers, orgs};
use crate::state::AppState;
use bioshadock_core::events::{Event, EventKind};

/// Whose robots: a user's own, or an organisation's.
#[derive(Debug, Clone)]
pub enum Owner {
    User(UserName),
    Org(String),
}

impl Owner {
    fn name(&self) -> &str {
        match self {
            Self::User(user) => user.as_str(),
            Self::Org(org) => org,
        }
    }
}

/// A robot just created or given a new token, with the token: shown this once.
#[derive(Debug)]
pub struct WithToken {
    pub robot: Robot,
    pub token: String,
}

/// What a new robot may do.
#[derive(Debug)]
pub struct NewRobot {
    pub name: String,
    pub permission: RobotPermission,
    /// Names within the owner's namespace; none: every repository of the owner.
    pub repositories: Vec<String>,
    pub expires_in_days: Option<u32>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct RobotChanges {
    pub permission: Option<RobotPermission>,
    pub repositories: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

/// The owner's robots, by name.
pub async fn list(
    state: &AppState,
    caller: &Principal,
    owner: &Owner,
) -> Result<Vec<Robot>, ApiError> {
    may_manage(state, caller, owner).await?;
    Ok(state.robots.list_robots(owner.name()).await?)
}

/// Records `kind` on robot `name`, as an event of its organisation when an organisation
/// owns it.
async fn record(
    state: &AppState,
    caller: &Principal,
    owner: &Owner,
    kind: EventKind,
    name: &RobotName,
    summary: String,
) {
    let mut event = Event::new(
        kind,
        format!("robot:{name}"),
        events::actor_of(caller),
        summary,
    );
    if let Owner::Org(org) = owner {
        event = event.in_org(org.as_str());
    }
    events::record(state, event).await;
}

pub async fn create(
    state: &AppState,
    caller: &Principal,
    owner: &Owner,
    new: NewRobot,
) -> Result<WithToken, ApiError> {
    let creator = may_manage(state, caller, owner).await?;
    let name = RobotName::new(owner.name(), &new.name)
        .map_err(|e| ApiError::bad_request(format!("robot name: {e}")))?;
    let repositories = Robot::repositories(owner.name(), new.repositories)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let now = model::now();
    let robot = Robot {
        name,
        permission: new.permission,
        repositories,
        created_by: creator,
        created_at: now,
        expires_at: expiry(now, new.expires_in_days)?,
        disabled: false,
    };
    if state.robots.list_robots(owner.name()).await?.len() >= MAX_ROBOTS_PER_OWNER {
        return Err(ApiError::conflict(format!(
            "`{}` already has {MAX_ROBOTS_PER_OWNER} robots: delete one first",
            owner.name()
        )));
    }
    let token = RobotToken::generate();
    match state.robots.create_robot(&robot, &token.hash()).await {
        Ok(()) => {}
        Err(PortError::Conflict(_)) => {
            return Err(ApiError::conflict(format!(
                "a robot `{}` already exists",
                robot.name
            )));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(robot = %robot.name, by = %robot.created_by, "robot created");
    let summary = format!("created, {} access", robot.permission.as_str());
    record(
        state,
        caller,
        owner,
        EventKind::RobotCreated,
        &robot.name,
        summary,
    )
    .await;
    Ok(WithToken {
        robot,
        token: token.expose().to_owned(),
    })
}

/// Replaces a robot's token (the old one stops working at once).
pub async fn new_token(
    state: &AppState,
    caller: &Principal,
    owner: &Owner,
    name: &str,
    expires_in_days: Option<u32>,
) -> Result<WithToken, ApiError> {
    may_manage(state, caller, owner).await?;
    let (mut robot, _) = find(state, owner, name).await?;
    robot.expires_at = expiry(model::now(), expires_in_days)?;
    let token = RobotToken::generate();
    state
        .robots
        .set_robot_token(&robot.name, &token.hash(), robot.expires_at)
        .await
        .map_err(|e| gone(e, name))?;
    tracing::info!(robot = %robot.name, "robot token replaced");
    let summary = "a new token".to_owned();
    record(
        state,
        caller,
        owner,
        EventKind::RobotChanged,
        &robot.name,
        summary,
    )
    .await;
    Ok(WithToken {
        robot,
        token: token.expose().to_owned(),
    })
}

pub async fn update(
    state: &AppState,
    caller: &Principal,
    owner: &Owner,
    name: &str,
    changes: RobotChanges,
) -> Result<Robot, ApiError> {
    may_manage(state, caller, owner).await?;
    let (mut robot, _) = find(state, owner, name).await?;
    if let Some(permission) = changes.permission {
        robot.permission = permission;
    }
    if let Some(repositories) = changes.repositories {
        robot.repositories = Robot::repositories(owner.name(), repositories)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    if let Some(disabled) = changes.disabled {
        robot.disabled = disabled;
    }
    state
        .robots
        .update_robot(&robot)
        .await
        .map_err(|e| gone(e, name))?;
    tracing::info!(robot = %robot.name, disabled = robot.disabled, "robot changed");
    let summary = format!(
        "{} access{}",
        robot.permission.as_str(),
        if robot.disabled { ", disabled" } else { "" }
    );
    record(
        state,
        caller,
        owner,
        EventKind::RobotChanged,
        &robot.name,
        summary,
    )
    .await;
    Ok(robot)
}

pub async fn delete(
    state: &AppState,
    caller: &Principal,
    owner: &Owner,
    name: &str,
) -> Result<(), ApiError> {
    may_manage(state, caller, owner).await?;
    let (robot, _) = find(state, owner, name).await?;
    // Its memberships go first: should this fail, the robot is still there to delete again.
    let member = MemberName::parse(robot.name.as_str()).map_err(ApiError::from)?;
    containers::remove_member_from_namespace(state, robot.name.owner(), &member).await?;
    state
        .robots
        .delete_robot(&robot.name)
        .await
        .map_err(|e| gone(e, name))?;
    tracing::info!(robot = %robot.name, "robot deleted");
    let summary = "deleted".to_owned();
    record(
        state,
        caller,
        owner,
        EventKind::RobotDeleted,
        &robot.name,
        summary,
    )
    .await;
    Ok(())
}

/// The caller's user name when they may manage `owner`'s robots: the user themselves, an
/// admin or owner of the organisation, or a site admin.
async fn may_manage(
    state: &AppState,
    caller: &Principal,
    owner: &Owner,
) -> Result<UserName, ApiError> {
    let actor = caller.require(Scope::Push)?;
    let allowed = match owner {
        Owner::User(user) => *user == actor.user.name || caller.is_admin(),
        Owner::Org(org) => orgs::get(state, caller, org).await?.1.manage,
    };
    if allowed {
        Ok(actor.user.name.clone())
    } else {
        Err(ApiError::forbidden(
            "forbidden",
            "only the organisation's admins and owners manage its robots",
        ))
    }
}

async fn find(state: &AppState, owner: &Owner, name: &str) -> Result<(Robot, String), ApiError> {
    let full = RobotName::new(owner.name(), name).map_err(|_| unknown(owner, name))?;
    state
        .robots
        .find_robot(&full)
        .await
        .map_err(|e| gone(e, &full.to_string()))
}

fn expiry(now: DateTime<Utc>, days: Option<u32>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match days {
        None => Ok(None),
        Some(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => {
            Ok(Some(now + Duration::days(i64::from(days))))
        }
        Some(_) => Err(ApiError::bad_request(format!(
            "`expires_in_days` must be between 1 and {MAX_EXPIRY_DAYS}"
        ))),
    }
}

fn unknown(owner: &Owner, name: &str) -> ApiError {
    ApiError::not_found(format!("`{}` has no robot `{name}`", owner.name()))
}

fn gone(error: PortError, name: &str) -> ApiError {
    match error {
        PortError::NotFound => ApiError::not_found(format!("there is no robot `{name}`")),
        e => e.into(),
    }
}

/// The organisation owner of robots named in a path, checked to exist (404 otherwise).
pub fn org_owner(org: &str) -> Result<Owner, ApiError> {
    OrgName::parse(org).map_err(|_| orgs::unknown(org))?;
    Ok(Owner::Org(org.to_owned()))
}
