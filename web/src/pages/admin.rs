//! The admin page: list users, create one, change roles, disable and re-enable; and the
//! registry panel (last reconciliation, the registry self-check); the builder panel (the
//! Docker Engine it reaches, the builds queued and running).

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::accounts::{Role, Scope, User, UserName};
use bioshadock_core::builder_status::BuilderState;
use bioshadock_core::model::now;
use bioshadock_core::tokens::CERTIFICATE_FILE;
use serde::Deserialize;

use super::builds::BuildRow;
use super::viewer::{Nav, Viewer, login_redirect};
use super::{PageError, render};
use crate::error::ApiError;
use crate::registry::check::{Target, check};
use crate::services::users::{change_user, create_user};
use crate::state::AppState;

struct UserRow {
    name: String,
    role: String,
    disabled: bool,
    created: String,
    is_self: bool,
    /// `local`, `ldap` or `oidc:ID`.
    source: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct AdminUsersPage {
    nav: Nav,
    csrf: String,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    error: Option<String>,
    /// "3 minutes ago, 12 repositories", or `None` before the first successful reconciliation.
    last_sync: Option<String>,
    /// The registry self-check's findings, `(problem, text)`, after "Check the registry".
    findings: Option<Vec<(bool, String)>>,
    builder: BuilderState,
    /// Builds queued or running, oldest first.
    live_builds: Vec<BuildRow>,
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
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
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
            let user = User::new(name, role);
            create_user(&state, &viewer.principal, &user, &form.password).await
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

/// "Check the registry": the same self-check as `bioshadock registry-check`, shown on the page.
pub async fn check_registry(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    viewer
        .principal
        .require_admin(Scope::Read)
        .map_err(ApiError::from)?;
    let registry = &state.registry;
    let certificate = format!("{CERTIFICATE_FILE} under the portal's data_dir");
    let target = Target {
        registry_url: &registry.registry_url,
        public_url: &state.settings.public_url,
        certificate: &certificate,
        tokens: &registry.tokens,
    };
    let findings = check(&target).await;
    let mut page = users_page(&state, &viewer, None).await?;
    page.findings = Some(
        findings
            .iter()
            .map(|f| (f.is_problem(), f.text().to_owned()))
            .collect(),
    );
    Ok(render(StatusCode::OK, &page))
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
    let at = now();
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
                source: u.source.to_string(),
            })
            .collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        error,
        last_sync: state.sync.last().map(|last| {
            format!(
                "{}, {} repositor{} ({} ms)",
                super::format::ago(last.at),
                last.repositories,
                if last.repositories == 1 { "y" } else { "ies" },
                last.duration.as_millis()
            )
        }),
        findings: None,
        builder: state.builder.status.get(),
        live_builds: state
            .builds
            .live()
            .await?
            .iter()
            .map(|b| BuildRow::new(b, at))
            .collect(),
    })
}
