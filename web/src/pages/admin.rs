//! The admin users page: list users, create one, change roles, disable and re-enable.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::accounts::{Role, Scope, User, UserName};
use serde::Deserialize;

use super::viewer::{Nav, Viewer, login_redirect};
use super::{PageError, render};
use crate::api::admin::{change_user, create_user};
use crate::error::ApiError;
use crate::state::AppState;

struct UserRow {
    name: String,
    role: String,
    disabled: bool,
    created: String,
    is_self: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct AdminUsersPage {
    nav: Nav,
    csrf: String,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    role: Option<String>,
    disabled: Option<String>,
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    if viewer.signed_in().is_none() {
        return Ok(login_redirect("/admin"));
    }
    viewer
        .principal
        .require_admin(Scope::Read)
        .map_err(ApiError::from)?;
    Ok(render(
        StatusCode::OK,
        &users_page(&state, &viewer, None).await?,
    ))
}

pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewUserForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    viewer
        .principal
        .require_admin(Scope::Push)
        .map_err(ApiError::from)?;
    let outcome = match UserName::parse(form.name.trim()) {
        Ok(name) => {
            let role = Role::parse(&form.role).unwrap_or(Role::User);
            create_user(&state, &User::new(name, role), &form.password).await
        }
        Err(e) => Err(ApiError::bad_request(format!("user name: {e}"))),
    };
    finish(&state, &viewer, outcome).await
}

pub async fn change(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let actor = viewer
        .principal
        .require_admin(Scope::Push)
        .map_err(ApiError::from)?;
    let name = UserName::parse(&name)
        .map_err(|_| ApiError::not_found(format!("there is no user `{name}`")))?;
    let role = match form.role.as_deref() {
        None => None,
        Some(raw) => Some(Role::parse(raw).ok_or_else(|| ApiError::bad_request("unknown role"))?),
    };
    let disabled = form.disabled.as_deref().map(|d| d == "true");
    let outcome = change_user(&state, actor, &name, role, disabled)
        .await
        .map(drop);
    finish(&state, &viewer, outcome).await
}

async fn finish(
    state: &AppState,
    viewer: &Viewer,
    outcome: Result<(), ApiError>,
) -> Result<Response, PageError> {
    match outcome {
        Ok(()) => Ok(Redirect::to("/admin").into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let status = e.status;
            Ok(render(
                status,
                &users_page(state, viewer, Some(e.message)).await?,
            ))
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn users_page(
    state: &AppState,
    viewer: &Viewer,
    error: Option<String>,
) -> Result<AdminUsersPage, PageError> {
    let me = viewer.nav.user.clone().unwrap_or_default();
    let users = state.users.list_users().await?;
    Ok(AdminUsersPage {
        nav: viewer.nav.clone(),
        csrf: viewer.nav.csrf.clone(),
        users: users
            .into_iter()
            .map(|u| UserRow {
                is_self: u.name.as_str() == me,
                name: u.name.to_string(),
                role: u.role.as_str().to_owned(),
                disabled: u.disabled,
                created: u.created_at.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        error,
    })
}
