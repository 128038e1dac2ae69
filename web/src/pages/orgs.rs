//! Organisation pages: `/org/{org}` (its description, the containers the viewer may see, its
//! members and teams for its members) and `/org/{org}/settings` (members, teams, robots and the
//! description, for its admins and owners). Every change goes through
//! [`crate::services::orgs`] and [`crate::services::robots`], as the API's do.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::accounts::UserName;
use bioshadock_core::orgs::{OrgRole, Organisation, Permission, TeamName};
use bioshadock_core::permissions::OrgRights;
use bioshadock_core::robots::RobotPermission;
use serde::Deserialize;

use super::format::Card;
use super::viewer::{Nav, Viewer, login_redirect};
use super::{PageError, render};
use crate::error::ApiError;
use crate::services::orgs::{self, Change};
use crate::services::paging::{MAX_PER_PAGE, Paging};
use crate::services::robots::{self, NewRobot, RobotChanges};
use crate::services::search::search_containers;
use crate::state::AppState;

struct MemberRow {
    user: String,
    role: &'static str,
}

struct GrantRow {
    name: String,
    permission: &'static str,
}

struct TeamRow {
    name: String,
    permission: &'static str,
    members: Vec<String>,
    repositories: Vec<GrantRow>,
}

pub(super) struct RobotRow {
    pub(super) name: String,
    pub(super) short: String,
    pub(super) permission: &'static str,
    pub(super) repositories: String,
    pub(super) expires: String,
    pub(super) disabled: bool,
}

impl RobotRow {
    pub(super) fn new(r: bioshadock_core::robots::Robot) -> Self {
        Self {
            short: r.name.short().to_owned(),
            name: r.name.to_string(),
            permission: r.permission.as_str(),
            repositories: if r.repositories.is_empty() {
                "all".to_owned()
            } else {
                r.repositories.join(", ")
            },
            expires: r
                .expires_at
                .map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d").to_string()),
            disabled: r.disabled,
        }
    }
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    nav: Nav,
    name: String,
    description_html: String,
    cards: Vec<Card>,
    rights: OrgRights,
    members: Vec<MemberRow>,
    teams: Vec<TeamRow>,
}

#[derive(Template)]
#[template(path = "org_settings.html")]
struct SettingsPage {
    nav: Nav,
    csrf: String,
    name: String,
    description: String,
    own: bool,
    members: Vec<MemberRow>,
    teams: Vec<TeamRow>,
    robots: Vec<RobotRow>,
    /// Where the robot forms post.
    robot_base: String,
    /// A robot token just made, shown this once: (robot, token).
    new_token: Option<(String, String)>,
    error: Option<String>,
}

/// The public page of an organisation.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
) -> Result<Response, PageError> {
    let (org, rights) = orgs::get(&state, &viewer.principal, &org).await?;
    let first_hundred = Paging::new(None, Some(MAX_PER_PAGE), MAX_PER_PAGE)?;
    let (_, containers) = search_containers(
        &state,
        &viewer.principal,
        &format!("namespace:{}", org.name),
        first_hundred,
    )
    .await?;
    let (members, teams) = if rights.see_members {
        (member_rows(&org), team_rows(&org))
    } else {
        (Vec::new(), Vec::new())
    };
    let page = OrgPage {
        nav: viewer.nav.clone(),
        description_html: crate::markdown::render(&org.description),
        name: org.name.to_string(),
        cards: containers.iter().map(Card::new).collect(),
        rights,
        members,
        teams,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The settings page of an organisation, for its admins and owners.
pub async fn settings(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
) -> Result<Response, PageError> {
    if viewer.signed_in().is_none() {
        return Ok(login_redirect(&format!("/org/{org}/settings")));
    }
    settings_page(&state, &viewer, &org, StatusCode::OK, None, None).await
}

async fn settings_page(
    state: &AppState,
    viewer: &Viewer,
    org: &str,
    status: StatusCode,
    new_token: Option<(String, String)>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let (org, rights) = orgs::get(state, &viewer.principal, org).await?;
    if !rights.manage {
        return Err(PageError(ApiError::forbidden(
            "forbidden",
            "only the organisation's admins and owners change its settings",
        )));
    }
    let owner = robots::org_owner(org.name.as_str())?;
    let robots = robots::list(state, &viewer.principal, &owner).await?;
    let page = SettingsPage {
        nav: viewer.nav.clone(),
        csrf: viewer.nav.csrf.clone(),
        name: org.name.to_string(),
        description: org.description.clone(),
        own: rights.own,
        members: member_rows(&org),
        teams: team_rows(&org),
        robot_base: format!("/org/{}/settings/robots", org.name),
        robots: robots.into_iter().map(RobotRow::new).collect(),
        new_token,
        error,
    };
    Ok(render(status, &page))
}

fn member_rows(org: &Organisation) -> Vec<MemberRow> {
    org.members
        .iter()
        .map(|m| MemberRow {
            user: m.user.to_string(),
            role: m.role.as_str(),
        })
        .collect()
}

fn team_rows(org: &Organisation) -> Vec<TeamRow> {
    org.teams
        .iter()
        .map(|t| TeamRow {
            name: t.name.to_string(),
            permission: t.permission.as_str(),
            members: t.members.iter().map(ToString::to_string).collect(),
            repositories: t
                .repositories
                .iter()
                .map(|r| GrantRow {
                    name: r.name.clone(),
                    permission: r.permission.as_str(),
                })
                .collect(),
        })
        .collect()
}

/// Every settings form: its CSRF token and whichever fields it has.
#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    permission: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    repositories: String,
    #[serde(default)]
    expires_in_days: String,
}

/// `POST /org/{org}/settings/{action}`: one change from the settings page.
pub async fn change(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, action)): Path<(String, String)>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    if viewer.signed_in().is_none() {
        return Ok(login_redirect(&format!("/org/{org}/settings")));
    }
    let outcome = match action.as_str() {
        "describe" => Ok(Change::Describe(form.description.replace("\r\n", "\n"))),
        "member" => user(&form.user).and_then(|u| Ok(Change::SetMember(u, role(&form.role)?))),
        "team" => {
            team(&form.name).and_then(|t| Ok(Change::AddTeam(t, permission(&form.permission)?)))
        }
        _ => Err(ApiError::not_found(format!(
            "nothing at `/org/{org}/settings/{action}`"
        ))),
    };
    apply(&state, &viewer, &org, outcome).await
}

/// `POST /org/{org}/settings/members/{user}/remove`.
pub async fn remove_member(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, member)): Path<(String, String)>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let change = user(&member).map(Change::RemoveMember);
    apply(&state, &viewer, &org, change).await
}

/// `POST /org/{org}/settings/teams/{team}/{action}`: a team's permission, members,
/// repositories, or its deletion.
pub async fn team_change(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, team_name, action)): Path<(String, String, String)>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let change = team(&team_name).and_then(|t| match action.as_str() {
        "permission" => Ok(Change::SetTeamPermission(t, permission(&form.permission)?)),
        "delete" => Ok(Change::RemoveTeam(t)),
        "add-member" => Ok(Change::SetTeamMember(t, user(form.user.trim())?, true)),
        "remove-member" => Ok(Change::SetTeamMember(t, user(&form.user)?, false)),
        "repository" => {
            let chosen = match form.permission.as_str() {
                "default" => None,
                other => Some(permission(other)?),
            };
            Ok(Change::SetTeamRepository(
                t,
                form.name.trim().to_owned(),
                chosen,
            ))
        }
        _ => Err(ApiError::not_found("no such team action")),
    });
    apply(&state, &viewer, &org, change).await
}

/// `POST /org/{org}/settings/robots`: a new robot, its token shown once.
pub async fn create_robot(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    if viewer.signed_in().is_none() {
        return Ok(login_redirect(&format!("/org/{org}/settings")));
    }
    let owner = robots::org_owner(&org)?;
    let created = match robot_form(&form) {
        Ok(new) => robots::create(&state, &viewer.principal, &owner, new).await,
        Err(e) => Err(e),
    };
    let shown = created.map(|w| Some((w.robot.name.to_string(), w.token)));
    robot_outcome(&state, &viewer, &org, shown).await
}

/// `POST /org/{org}/settings/robots/{robot}/{action}`: a new token, disable, enable, delete.
pub async fn robot_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, robot, action)): Path<(String, String, String)>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    if viewer.signed_in().is_none() {
        return Ok(login_redirect(&format!("/org/{org}/settings")));
    }
    let owner = robots::org_owner(&org)?;
    let outcome = robot_act(&state, &viewer.principal, &owner, &robot, &action).await;
    robot_outcome(&state, &viewer, &org, outcome).await
}

/// One robot button of a page: `token` (a new token, returned to be shown once), `disable`,
/// `enable` or `delete`.
pub(super) async fn robot_act(
    state: &AppState,
    principal: &bioshadock_core::permissions::Principal,
    owner: &robots::Owner,
    robot: &str,
    action: &str,
) -> Result<Option<(String, String)>, ApiError> {
    match action {
        "token" => robots::new_token(state, principal, owner, robot, None)
            .await
            .map(|w| Some((w.robot.name.to_string(), w.token))),
        "delete" => robots::delete(state, principal, owner, robot)
            .await
            .map(|()| None),
        "disable" | "enable" => {
            let changes = RobotChanges {
                disabled: Some(action == "disable"),
                ..RobotChanges::default()
            };
            robots::update(state, principal, owner, robot, changes)
                .await
                .map(|_| None)
        }
        _ => Err(ApiError::not_found("no such robot action")),
    }
}

/// The settings page after a robot change: with a token to show once, back to the robots, or
/// with the refusal.
async fn robot_outcome(
    state: &AppState,
    viewer: &Viewer,
    org: &str,
    outcome: Result<Option<(String, String)>, ApiError>,
) -> Result<Response, PageError> {
    match outcome {
        Ok(Some(token)) => {
            settings_page(state, viewer, org, StatusCode::CREATED, Some(token), None).await
        }
        Ok(None) => Ok(Redirect::to(&format!("/org/{org}/settings#robots")).into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            settings_page(state, viewer, org, e.status, None, Some(e.message)).await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// `POST /org/{org}/delete`: delete an empty organisation (its owners).
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    match orgs::delete(&state, &viewer.principal, &org).await {
        Ok(()) => Ok(Redirect::to("/account").into_response()),
        Err(e) if e.status == StatusCode::CONFLICT => {
            settings_page(&state, &viewer, &org, e.status, None, Some(e.message)).await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Applies a change and goes back to the settings page; a refusal the viewer can fix is shown
/// there with its status.
async fn apply(
    state: &AppState,
    viewer: &Viewer,
    org: &str,
    change: Result<Change, ApiError>,
) -> Result<Response, PageError> {
    let result = match change {
        Ok(change) => orgs::apply(state, &viewer.principal, org, change)
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    match result {
        // A member who left may no longer see the settings.
        Ok(()) => Ok(Redirect::to(&format!("/org/{org}/settings")).into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            settings_page(state, viewer, org, e.status, None, Some(e.message)).await
        }
        Err(e) => Err(PageError(e)),
    }
}

pub(super) fn robot_form(form: &SettingsForm) -> Result<NewRobot, ApiError> {
    let permission = match form.permission.as_str() {
        "read" => RobotPermission::Read,
        "write" => RobotPermission::Write,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown permission `{other}`"
            )));
        }
    };
    let expires_in_days = match form.expires_in_days.trim() {
        "" => None,
        days => Some(
            days.parse()
                .map_err(|_| ApiError::bad_request("expiry must be a number of days"))?,
        ),
    };
    Ok(NewRobot {
        name: form.name.trim().to_owned(),
        permission,
        repositories: form
            .repositories
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        expires_in_days,
    })
}

fn user(raw: &str) -> Result<UserName, ApiError> {
    let raw = raw.trim();
    UserName::parse(raw).map_err(|e| ApiError::bad_request(format!("user `{raw}`: {e}")))
}

fn team(raw: &str) -> Result<TeamName, ApiError> {
    let raw = raw.trim();
    TeamName::parse(raw).map_err(|e| ApiError::bad_request(format!("team `{raw}`: {e}")))
}

fn role(raw: &str) -> Result<OrgRole, ApiError> {
    match raw {
        "owner" => Ok(OrgRole::Owner),
        "admin" => Ok(OrgRole::Admin),
        "member" => Ok(OrgRole::Member),
        other => Err(ApiError::bad_request(format!("unknown role `{other}`"))),
    }
}

fn permission(raw: &str) -> Result<Permission, ApiError> {
    match raw {
        "none" => Ok(Permission::None),
        "read" => Ok(Permission::Read),
        "write" => Ok(Permission::Write),
        "admin" => Ok(Permission::Admin),
        other => Err(ApiError::bad_request(format!(
            "unknown permission `{other}`"
        ))),
    }
}
