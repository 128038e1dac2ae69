//! Who is looking at a page: the session's user, and what the header shows them.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::permissions::{Actor, Principal};
use tower_sessions::Session;

use super::PageError;
use super::format::encode_query;
use crate::auth::csrf;
use crate::auth::session::{STAMP_KEY, USER_KEY, credential_stamp};
use crate::error::ApiError;
use crate::state::AppState;

/// What the page header needs: the signed-in user (if any) and the CSRF token of the
/// sign-out form. Anonymous visitors get no session and no token.
#[derive(Debug, Clone, Default)]
pub(crate) struct Nav {
    pub user: Option<String>,
    pub admin: bool,
    pub csrf: String,
}

/// The viewer of a page: principal, session and header.
pub(crate) struct Viewer {
    pub principal: Principal,
    pub session: Session,
    pub nav: Nav,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| PageError(ApiError::internal()).into_response())?;
        let principal = crate::auth::session_principal(state, &session)
            .await
            .map_err(|e| PageError(e).into_response())?;
        let ip = crate::auth::client_ip(parts);
        let principal = crate::auth::rules::with_rules(state, principal, ip)
            .await
            .map_err(|e| PageError(e).into_response())?;
        // A private installation sends anonymous visitors to sign in, then back.
        if principal.admitted(state.settings.anonymous).is_err() && parts.uri.path() != "/login" {
            let back = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            return Err(login_redirect(back));
        }
        let nav = match principal.actor() {
            Some(actor) => Nav {
                user: Some(actor.user.name.to_string()),
                admin: principal.is_admin(),
                csrf: csrf::token(&session)
                    .await
                    .map_err(|e| PageError(e).into_response())?,
            },
            None => Nav::default(),
        };
        Ok(Self {
            principal,
            session,
            nav,
        })
    }
}

impl Viewer {
    /// The signed-in actor; pages answer `None` with [`login_redirect`].
    pub fn signed_in(&self) -> Option<&Actor> {
        self.principal.actor()
    }

    /// Checks the CSRF token of a posted form. An anonymous visitor has no session, so no
    /// token to check and nothing a forged post could act with: their post goes on to be
    /// refused (401/404) by the same rules as any anonymous request. (The sign-in form, the
    /// one post that acts for an anonymous visitor, checks its own cookie-bound token.)
    pub async fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        if self.principal.actor().is_none() {
            return Ok(());
        }
        csrf::verify(&self.session, submitted)
            .await
            .map_err(PageError)
    }

    /// Signs `name` in on this session, under a new session id; `password_hash` is the stored
    /// hash the password matched (a later password change ends the session).
    pub async fn sign_in(&self, name: &str, password_hash: &str) -> Result<(), PageError> {
        let unavailable =
            |e: tower_sessions::session::Error| PageError(crate::auth::session_unavailable(&e));
        // A new id at login: a session id planted before login is worthless after it.
        self.session.cycle_id().await.map_err(unavailable)?;
        self.session
            .insert(USER_KEY, name)
            .await
            .map_err(unavailable)?;
        self.session
            .insert(STAMP_KEY, credential_stamp(password_hash))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// The login page, coming back to `path` afterwards.
pub(crate) fn login_redirect(path: &str) -> Response {
    Redirect::to(&format!("/login?next={}", encode_query(path))).into_response()
}
