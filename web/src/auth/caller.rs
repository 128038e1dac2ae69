//! The `Caller` extractor: the principal behind a request.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bioshadock_core::PortError;
use bioshadock_core::accounts::Scopes;
use bioshadock_core::permissions::{Credential, Principal};
use serde::Deserialize;
use tower_sessions::Session;

use super::keys::{Presented, authenticate_key};
use super::rules::with_rules;
use super::session::{STAMP_KEY, USER_KEY, credential_stamp};
use super::{csrf, origin};
use crate::error::ApiError;
use crate::state::AppState;

/// The principal making the request. A presented API key wins over the session cookie; a key
/// that is presented but not valid is a 401, never a silent fall-back to anonymous.
pub(crate) struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = client_ip(parts);
        if let Some(presented) = presented_key(parts)? {
            let principal = authenticate_key(state, presented.from(ip)).await?;
            return with_rules(state, principal, ip).await.map(Self);
        }
        let Ok(session) = Session::from_request_parts(parts, state).await else {
            Principal::Anonymous.admitted(state.settings.anonymous)?;
            return with_rules(state, Principal::Anonymous, ip).await.map(Self);
        };
        let principal = session_principal(state, &session).await?;
        if principal.actor().is_some() && !origin::is_safe(&parts.method) {
            require_same_site(parts, state, &session).await?;
        }
        principal.admitted(state.settings.anonymous)?;
        with_rules(state, principal, ip).await.map(Self)
    }
}

/// The principal behind an API key, for the hook URLs a script or another site calls: the
/// session cookie is ignored, so a link elsewhere cannot rebuild (and overwrite) a tag with a
/// signed-in visitor's rights.
pub(crate) struct KeyCaller(pub Principal);

impl FromRequestParts<AppState> for KeyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match presented_key(parts)? {
            Some(presented) => {
                let principal = authenticate_key(state, presented.from(client_ip(parts))).await?;
                with_rules(state, principal, client_ip(parts))
                    .await
                    .map(Self)
            }
            None => Err(ApiError::unauthorized(
                "this hook takes an API key: `?apikey=KEY`, `Authorization: Bearer KEY` or Basic `user:KEY`",
            )),
        }
    }
}

/// The client's address, as the listener saw it.
pub(crate) fn client_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(addr)| addr.ip())
}

/// Refuses a state-changing request authenticated by the session cookie unless it provably
/// came from our own pages (see [`origin`]).
async fn require_same_site(
    parts: &Parts,
    state: &AppState,
    session: &Session,
) -> Result<(), ApiError> {
    match origin::provenance(&parts.headers, &state.settings.public_url) {
        origin::Provenance::SameOrigin => Ok(()),
        origin::Provenance::CrossSite => Err(cross_site()),
        origin::Provenance::Unknown => match origin::presented_token(parts) {
            Some(token) => csrf::verify(session, token).await,
            None => Err(cross_site()),
        },
    }
}

fn cross_site() -> ApiError {
    ApiError::forbidden(
        "csrf",
        "this request did not come from this site: send it from the portal's pages, with the \
         session's token in `X-CSRF-Token`, or authenticate with an API key",
    )
}

/// The signed-in user of a browser session, or anonymous. A user disabled since they signed
/// in is signed out here.
pub(crate) async fn session_principal(
    state: &AppState,
    session: &Session,
) -> Result<Principal, ApiError> {
    let name = session
        .get::<String>(USER_KEY)
        .await
        .map_err(|e| session_unavailable(&e))?;
    let Some(name) = name.and_then(|n| bioshadock_core::accounts::UserName::parse(&n).ok()) else {
        return Ok(Principal::Anonymous);
    };
    let stamp = session
        .get::<String>(STAMP_KEY)
        .await
        .map_err(|e| session_unavailable(&e))?;
    match state.users.get_credentials(&name).await {
        Ok((user, hash))
            if !user.disabled && stamp.is_some_and(|s| s == credential_stamp(&hash)) =>
        {
            let user = match super::directory::vouched(state, user).await {
                Ok(user) => user,
                // No longer in the directory: signed out.
                Err(e) if e.status == axum::http::StatusCode::UNAUTHORIZED => {
                    session.flush().await.map_err(|e| session_unavailable(&e))?;
                    return Ok(Principal::Anonymous);
                }
                Err(e) => return Err(e),
            };
            let principal = Principal::user(user, Scopes::all(), Credential::Session);
            super::with_memberships(state, principal).await
        }
        // Disabled, deleted, or signed in with a password that has changed since.
        Ok(_) | Err(PortError::NotFound) => {
            session.flush().await.map_err(|e| session_unavailable(&e))?;
            Ok(Principal::Anonymous)
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn session_unavailable(error: &tower_sessions::session::Error) -> ApiError {
    tracing::warn!(error = %error, "session store unavailable");
    ApiError::unavailable()
}

#[derive(Deserialize)]
struct ApikeyParam {
    apikey: Option<String>,
}

/// The API key a request presents, if any, in one of the three accepted places. A request
/// that presents two (a header and `?apikey=`) is refused rather than judged by one of them:
/// a valid header must not vouch for a query key nobody checked.
fn presented_key(parts: &Parts) -> Result<Option<Presented>, ApiError> {
    let from_query = query_key(parts)?;
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(from_query.map(|key| Presented::bare(&key)));
    };
    if from_query.is_some() {
        return Err(ApiError::bad_request(
            "present one credential: an Authorization header or `?apikey=`, not both",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not readable"))?;
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Some(Presented::bare(credentials)))
    } else if scheme.eq_ignore_ascii_case("basic") {
        let (user, key) = decode_basic(credentials)
            .ok_or_else(|| ApiError::unauthorized("malformed Basic credentials"))?;
        Ok(Some(Presented::for_user(&user, &key)))
    } else {
        Err(ApiError::unauthorized(
            "unsupported Authorization scheme; use Bearer KEY or Basic user:KEY",
        ))
    }
}

/// The `apikey` query parameter, if the query has one.
fn query_key(parts: &Parts) -> Result<Option<String>, ApiError> {
    let query = parts.uri.query().unwrap_or_default();
    if !query.contains("apikey") {
        return Ok(None);
    }
    let param: ApikeyParam = serde_urlencoded::from_str(query)
        .map_err(|_| ApiError::bad_request("the query string is malformed"))?;
    Ok(param.apikey)
}

/// `user:secret` from the base64 part of a Basic Authorization header; `None` if malformed.
pub(crate) fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, secret) = decoded.split_once(':')?;
    Some((user.to_owned(), secret.to_owned()))
}
