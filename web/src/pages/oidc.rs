//! Signing in through an OpenID Connect provider: `/auth/oidc/{id}/login` sends the browser to
//! the provider with a fresh `state`, `nonce` and PKCE challenge (kept in the flow cookie, see
//! `auth::oidc_flow`); `/auth/oidc/{id}/callback` checks what comes back, has the provider's
//! token endpoint turn the code into a verified ID token, and signs the person in.
//!
//! Every refusal ends on the sign-in page with a sentence, and ends the flow: a callback is
//! taken once.

use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::ports::openid::OpenIdError;
use serde::Deserialize;

use super::PageError;
use super::login::sign_in_page;
use super::viewer::Viewer;
use crate::auth::OpenIdSignIn;
use crate::auth::oidc_flow::Flow;
use crate::auth::redirect::same_site_path;
use crate::services::identities;
use crate::state::AppState;

/// The longest `code`, `state` or `iss` taken from a callback.
const MAX_PARAM_LEN: usize = 2048;

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// Sends the browser to provider `id`.
pub async fn start(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let next = same_site_path(&query.map(|q| q.0.next).unwrap_or_default());
    if viewer.principal.actor().is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let Some(sign_in) = state.openid.find(&id) else {
        return Err(unknown_provider(&id));
    };
    let authorization = match sign_in.provider.authorization().await {
        Ok(authorization) => authorization,
        Err(e) => return Ok(provider_failed(&state, &headers, sign_in, &e, next)),
    };
    let flow = Flow {
        provider: sign_in.id.as_str().to_owned(),
        state: authorization.state,
        nonce: authorization.nonce,
        pkce_verifier: authorization.pkce_verifier,
        next,
        expires: 0,
    };
    let Some(cookie) = state.openid.cookies.seal(flow) else {
        return Err(PageError(crate::error::ApiError::internal()));
    };
    let mut response = Redirect::to(&authorization.url).into_response();
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}

/// Where provider `id` sends the browser back.
pub async fn callback(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let flow = state.openid.cookies.open(&headers);
    let mut response = match (flow, state.openid.find(&id), query) {
        (Some(flow), Some(sign_in), Ok(Query(query))) if flow.provider == id => {
            finish(&state, &viewer, &headers, sign_in, flow, query).await?
        }
        (_, None, _) => return Err(unknown_provider(&id)),
        _ => refused(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            "This sign-in has expired or was not started here. Please start again.".into(),
            "/".into(),
        ),
    };
    response
        .headers_mut()
        .append(SET_COOKIE, state.openid.cookies.clear());
    Ok(response)
}

async fn finish(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    sign_in: &OpenIdSignIn,
    flow: Flow,
    query: CallbackQuery,
) -> Result<Response, PageError> {
    let next = same_site_path(&flow.next);
    let bad = |why: &str| {
        tracing::info!(provider = %sign_in.id.as_str(), why, "an OpenID Connect callback was refused");
        refused(
            state,
            headers,
            StatusCode::BAD_REQUEST,
            format!("This sign-in cannot be completed: {why}. Please start again."),
            next.clone(),
        )
    };
    if let Some(error) = &query.error {
        // The provider's own error code (the person declined, say): shown only when it is a
        // plain code, never as markup or a long text.
        let code = Some(error.as_str())
            .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .unwrap_or("error");
        return Ok(refused(
            state,
            headers,
            StatusCode::FORBIDDEN,
            format!("{} did not sign you in ({code}).", sign_in.display_name),
            next,
        ));
    }
    let too_long = |v: &Option<String>| v.as_ref().is_some_and(|v| v.len() > MAX_PARAM_LEN);
    if too_long(&query.code) || too_long(&query.state) || too_long(&query.iss) {
        return Ok(bad("the answer is malformed"));
    }
    if !query
        .state
        .as_deref()
        .is_some_and(|s| flow.state_matches(s))
    {
        return Ok(bad("its state does not match"));
    }
    // RFC 9207: an `iss` that is not this provider's is a mix-up with another provider.
    if query
        .iss
        .as_deref()
        .is_some_and(|iss| iss != sign_in.issuer)
    {
        return Ok(bad("the answer comes from another issuer"));
    }
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(bad("the provider sent no code"));
    };
    let found = match sign_in
        .provider
        .exchange(code, &flow.pkce_verifier, &flow.nonce)
        .await
    {
        Ok(found) => found,
        Err(OpenIdError::Refused(why)) => {
            tracing::info!(provider = %sign_in.id.as_str(), %why, "an OpenID Connect sign-in was refused");
            return Ok(refused(
                state,
                headers,
                StatusCode::BAD_REQUEST,
                format!(
                    "{} did not confirm this sign-in ({why}). Please start again.",
                    sign_in.display_name
                ),
                next,
            ));
        }
        Err(e) => return Ok(provider_failed(state, headers, sign_in, &e, next)),
    };
    let user = match identities::admit_openid(state, sign_in, &found).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return Ok(refused(
                state,
                headers,
                StatusCode::FORBIDDEN,
                "This account is disabled.".into(),
                next,
            ));
        }
        Err(e) if e.status.is_client_error() => {
            return Ok(refused(state, headers, e.status, e.message, next));
        }
        Err(e) => return Err(PageError(e)),
    };
    viewer
        .sign_in(user.name.as_str(), identities::NO_LOCAL_PASSWORD)
        .await?;
    tracing::info!(user = %user.name, source = %user.source, "signed in");
    Ok(Redirect::to(&next).into_response())
}

fn unknown_provider(id: &str) -> PageError {
    PageError(crate::error::ApiError::not_found(format!(
        "there is no sign-in provider `{id}`"
    )))
}

fn provider_failed(
    state: &AppState,
    headers: &HeaderMap,
    sign_in: &OpenIdSignIn,
    error: &OpenIdError,
    next: String,
) -> Response {
    tracing::warn!(provider = %sign_in.id.as_str(), %error, "an OpenID Connect provider failed");
    refused(
        state,
        headers,
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "{} cannot be reached right now. Try again shortly, or sign in another way.",
            sign_in.display_name
        ),
        next,
    )
}

fn refused(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: String,
    next: String,
) -> Response {
    sign_in_page(
        state,
        headers,
        status,
        String::new(),
        next,
        Some(error),
        false,
    )
}
