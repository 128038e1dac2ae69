//! Signing in and out.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::viewer::{Nav, Viewer};
use super::{PageError, render};
use crate::auth::password_check::{self, Verdict};
use crate::auth::redirect::same_site_path;
use crate::extract::ClientAddr;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Nav,
    csrf: String,
    name: String,
    next: String,
    error: Option<String>,
    /// No accounts exist yet: tell the newcomer how to make the first one.
    first_run: bool,
    /// Directory users sign in with this form too.
    directory: bool,
    /// `auth.local_sign_in`.
    local_sign_in: bool,
    /// A button per OpenID Connect provider: `(id, display name, its start URL)`. Links, not
    /// forms: the start answers with a redirect to the provider, which the pages' CSP
    /// (`form-action 'self'`) would block after a form submission.
    providers: Vec<(String, String, String)>,
}

/// The sign-in page with `error` (a refused attempt, a provider that failed), answered with
/// `status`, keeping the visitor's form token (and setting its cookie when they had none).
pub(super) fn sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    name: String,
    next: String,
    error: Option<String>,
    first_run: bool,
) -> Response {
    let issued = state.login_csrf.issue(headers);
    let page = LoginPage {
        nav: Nav::default(),
        csrf: issued.token,
        name,
        error,
        first_run,
        directory: state.directory.is_some(),
        local_sign_in: state.settings.local_sign_in,
        providers: state
            .openid
            .all()
            .iter()
            .map(|p| {
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                let id = p.id.as_str().to_owned();
                let start = format!("/auth/oidc/{id}/login?next={next}");
                (id, p.display_name.clone(), start)
            })
            .collect(),
        next,
    };
    let mut response = render(status, &page);
    if let Some(cookie) = issued.set_cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn form(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    query: Result<axum::extract::Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let next = same_site_path(&query.map(|q| q.0.next).unwrap_or_default());
    if viewer.principal.actor().is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    // No session for an anonymous visitor: the form's token rides on a signed cookie.
    let first_run = state.users.count_users().await? == 0;
    Ok(sign_in_page(
        &state,
        &headers,
        StatusCode::OK,
        String::new(),
        next,
        None,
        first_run,
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    if !state.login_csrf.verify(&headers, &form.csrf) {
        crate::auth::csrf::verify(&viewer.session, &form.csrf).await?;
    }
    let next = same_site_path(&form.next);
    let name = form.name.trim().to_owned();
    // A refused attempt renders the form again: with the same cookie-bound token, and still
    // no session.
    let refuse = |status: StatusCode, error: String| {
        sign_in_page(
            &state,
            &headers,
            status,
            name.clone(),
            next.clone(),
            Some(error),
            false,
        )
    };
    // A sign-in asks afresh, never from what a docker login left in the cache: a directory
    // account's groups are read again now.
    state.passwords.forget(&name);
    let verdict = match password_check::check(&state, &name, &form.password, address).await {
        Ok(verdict) => verdict,
        Err(e) if e.code == "directory_unavailable" => {
            return Ok(refuse(StatusCode::SERVICE_UNAVAILABLE, e.message));
        }
        Err(e) => return Err(e.into()),
    };
    match verdict {
        Verdict::Valid { user, hash } => {
            // The account's own name: a directory user may have typed theirs in capitals.
            viewer.sign_in(user.name.as_str(), &hash).await?;
            tracing::info!(user = %user.name, source = %user.source, "signed in");
            let mut response = Redirect::to(&next).into_response();
            response
                .headers_mut()
                .append(SET_COOKIE, state.login_csrf.clear_cookie());
            Ok(response)
        }
        Verdict::Throttled(wait) => Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins. Try again in {} minutes.",
                wait.div_ceil(60)
            ),
        )),
        Verdict::Refused(reason) => {
            tracing::info!(user = %name, ?address, %reason, "sign-in refused");
            Ok(refuse(StatusCode::FORBIDDEN, reason))
        }
        Verdict::Wrong => {
            tracing::info!(user = %name, ?address, "failed sign-in");
            Ok(refuse(
                StatusCode::UNAUTHORIZED,
                "Wrong user name or password.".into(),
            ))
        }
    }
}

pub async fn logout(viewer: Viewer, Form(form): Form<CsrfForm>) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    viewer
        .session
        .flush()
        .await
        .map_err(|e| PageError(crate::auth::session_unavailable(&e)))?;
    Ok(Redirect::to("/").into_response())
}
