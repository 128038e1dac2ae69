//! The user page: profile, containers, API keys (created here, shown once, revoked here).

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::accounts::{Scope, Scopes};
use bioshadock_core::permissions::Actor;
use serde::Deserialize;

use super::format::{Card, ago};
use super::orgs::{RobotRow, SettingsForm, robot_act, robot_form};
use super::viewer::{Nav, Viewer, login_redirect};
use super::{PageError, render};
use crate::services::keys::{mint_key, revoke};
use crate::services::orgs;
use crate::services::robots::{self, Owner};
use crate::state::AppState;

struct KeyRow {
    id: String,
    label: String,
    scopes: String,
    created: String,
    expires: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    nav: Nav,
    csrf: String,
    name: String,
    role: String,
    cards: Vec<Card>,
    keys: Vec<KeyRow>,
    /// A key just created, shown this once.
    new_key: Option<String>,
    /// The user's organisations and their role in each.
    orgs: Vec<(String, &'static str)>,
    robots: Vec<RobotRow>,
    /// Where the robot forms post.
    robot_base: String,
    /// A robot token just made, shown this once: (robot, token).
    new_token: Option<(String, String)>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    read: Option<String>,
    #[serde(default)]
    build: Option<String>,
    #[serde(default)]
    push: Option<String>,
    #[serde(default)]
    expires_in_days: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    let Some(actor) = viewer.signed_in() else {
        return Ok(login_redirect("/account"));
    };
    let page = user_page(&state, &viewer, actor, Shown::default()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// What the account page shows once after a change.
#[derive(Default)]
struct Shown {
    new_key: Option<String>,
    new_token: Option<(String, String)>,
    error: Option<String>,
}

/// `POST /account/orgs`: a new organisation, its settings next.
pub async fn create_org(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let Some(actor) = viewer.signed_in() else {
        return Ok(login_redirect("/account"));
    };
    let name = form.name.trim();
    match orgs::create(&state, &viewer.principal, name, &form.description).await {
        Ok(org) => Ok(Redirect::to(&format!("/org/{}/settings", org.name)).into_response()),
        Err(e) if e.status.is_client_error() => {
            let shown = Shown {
                error: Some(e.message),
                ..Shown::default()
            };
            let page = user_page(&state, &viewer, actor, shown).await?;
            Ok(render(e.status, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

/// `POST /account/robots`: a new robot of the user's, its token shown once.
pub async fn create_robot(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let Some(actor) = viewer.signed_in() else {
        return Ok(login_redirect("/account"));
    };
    let owner = Owner::User(actor.user.name.clone());
    let created = match robot_form(&form) {
        Ok(new) => robots::create(&state, &viewer.principal, &owner, new).await,
        Err(e) => Err(e),
    };
    robot_outcome(
        &state,
        &viewer,
        actor,
        created.map(|w| Some((w.robot.name.to_string(), w.token))),
    )
    .await
}

/// `POST /account/robots/{robot}/{action}`: a new token, disable, enable, delete.
pub async fn robot_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((robot, action)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let Some(actor) = viewer.signed_in() else {
        return Ok(login_redirect("/account"));
    };
    let owner = Owner::User(actor.user.name.clone());
    let outcome = robot_act(&state, &viewer.principal, &owner, &robot, &action).await;
    robot_outcome(&state, &viewer, actor, outcome).await
}

async fn robot_outcome(
    state: &AppState,
    viewer: &Viewer,
    actor: &Actor,
    outcome: Result<Option<(String, String)>, crate::error::ApiError>,
) -> Result<Response, PageError> {
    let (status, shown) = match outcome {
        Ok(None) => return Ok(Redirect::to("/account#robots").into_response()),
        Ok(Some(token)) => (
            StatusCode::CREATED,
            Shown {
                new_token: Some(token),
                ..Shown::default()
            },
        ),
        Err(e) if e.status.is_client_error() => (
            e.status,
            Shown {
                error: Some(e.message),
                ..Shown::default()
            },
        ),
        Err(e) => return Err(PageError(e)),
    };
    let page = user_page(state, viewer, actor, shown).await?;
    Ok(render(status, &page))
}

pub async fn create_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewKeyForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let Some(actor) = viewer.signed_in() else {
        return Ok(login_redirect("/account"));
    };
    let scopes: Scopes = [
        (form.read.is_some(), Scope::Read),
        (form.build.is_some(), Scope::Build),
        (form.push.is_some(), Scope::Push),
    ]
    .into_iter()
    .filter_map(|(on, scope)| on.then_some(scope))
    .collect();
    let expires = match form.expires_in_days.trim() {
        "" => Ok(None),
        days => days.parse::<u32>().map(Some),
    };
    let outcome = match expires {
        Ok(expires) => mint_key(&state, actor, &form.label, scopes, expires).await,
        Err(_) => Err(crate::error::ApiError::bad_request(
            "expiry must be a number of days",
        )),
    };
    let (status, new_key, error) = match outcome {
        Ok(created) => (StatusCode::CREATED, Some(created.secret), None),
        Err(e) if e.status.is_client_error() => (e.status, None, Some(e.message)),
        Err(e) => return Err(PageError(e)),
    };
    let shown = Shown {
        new_key,
        error,
        ..Shown::default()
    };
    let page = user_page(&state, &viewer, actor, shown).await?;
    Ok(render(status, &page))
}

pub async fn revoke_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let Some(actor) = viewer.signed_in() else {
        return Ok(login_redirect("/account"));
    };
    revoke(&state, actor, &id).await?;
    Ok(Redirect::to("/account#keys").into_response())
}

async fn user_page(
    state: &AppState,
    viewer: &Viewer,
    actor: &Actor,
    shown: Shown,
) -> Result<UserPage, PageError> {
    let name = actor.user.name.clone();
    let query = bioshadock_core::query::SearchQuery::parse(&format!("namespace:{name}"))
        .map_err(crate::error::ApiError::from)?;
    let hits = state
        .search
        .search(&query, &viewer.principal.audience(), 0, 100)
        .await?;
    let containers = state.store.get_many(&hits.ids).await?;
    let keys = state.keys.list_keys(&name).await?;
    let orgs = state
        .orgs
        .orgs_of(&name)
        .await?
        .into_iter()
        .filter_map(|org| {
            let role = org.role_of(&name)?.as_str();
            Some((org.name.to_string(), role))
        })
        .collect();
    let robots = state.robots.list_robots(name.as_str()).await?;
    let date = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d").to_string();
    Ok(UserPage {
        nav: viewer.nav.clone(),
        csrf: viewer.nav.csrf.clone(),
        name: name.to_string(),
        role: actor.user.role.as_str().to_owned(),
        cards: containers.iter().map(Card::new).collect(),
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                scopes: k.scopes.to_list().replace(',', ", "),
                created: date(k.created_at),
                expires: k.expires_at.map_or_else(|| "never".to_owned(), date),
                last_used: k.last_used_at.map_or_else(|| "never".to_owned(), ago),
                revoked: k.revoked,
                label: k.label,
                id: k.id,
            })
            .collect(),
        new_key: shown.new_key,
        orgs,
        robots: robots.into_iter().map(RobotRow::new).collect(),
        robot_base: "/account/robots".to_owned(),
        new_token: shown.new_token,
        error: shown.error,
    })
}
