//! `GET /v2/token` (Docker's token flow) and `POST /v2/token` (its OAuth2 form), per
//! docs/registry-protocol.md: Basic credentials are a password or an API key; no credentials
//! means anonymous; the token grants what was asked for, intersected with what the caller may
//! do. `offline_token=true` (or `access_type=offline`) also returns a refresh token: an API key
//! labelled for the `docker login` it came from, listed and revocable on the account page.

use axum::Json;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bioshadock_core::PortError;
use bioshadock_core::accounts::{KeySecret, Scope, Scopes};
use bioshadock_core::permissions::Principal;
use bioshadock_core::tokens::{ResourceAccess, SCOPE_LIST_PATTERN, grant, parse_scopes};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::auth::password_check;
use crate::auth::{Presented, authenticate_key, authenticate_robot, decode_basic, is_robot_name};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiForm, ClientAddr};
use crate::services::keys::mint_key;
use crate::state::AppState;

/// What the token service answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The registry token (a JWT), under both names clients use.
    token: String,
    access_token: String,
    /// Seconds the token is valid (at least 60).
    expires_in: u64,
    issued_at: DateTime<Utc>,
    /// Only when a refresh token was asked for (`offline_token=true`): store it instead of the
    /// password. Revocable from the account page.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// The query of `GET /v2/token`, as Distribution and Docker send it.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; the handler reads repeated `scope`s itself
pub struct TokenQuery {
    /// Must be the configured `registry.service` (the document a portal serves names it).
    #[param(value_type = String, required = false)]
    service: Option<String>,
    /// `repository:NAME:pull,push`, `registry:catalog:*`; repeatable, and one value may hold
    /// several scopes apart by spaces. Actions: pull, push, delete, `*`.
    #[param(required = false, schema_with = scope_list_schema)]
    scope: Option<Vec<String>>,
    /// The user name the client thinks it is; must match the credentials.
    account: Option<String>,
    /// `true` to also receive a refresh token.
    #[param(value_type = bool, required = false)]
    offline_token: Option<bool>,
    #[param(value_type = String, required = false)]
    client_id: Option<String>,
}

/// The `scope` parameters: strings of [`SCOPE_LIST_PATTERN`].
fn scope_list_schema() -> ArrayBuilder {
    ArrayBuilder::new().items(scope_schema())
}

fn scope_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(SCOPE_LIST_PATTERN))
        .examples(["repository:lab/samtools:pull,push"])
}

fn grant_type_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["password", "refresh_token"]))
}

/// A token for the registry.
#[utoipa::path(get, path = "/v2/token", tag = "registry", params(TokenQuery),
    security((), ("basic" = [])),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "Malformed scope or unknown service", body = ErrorBody),
        (status = 401, description = "Bad credentials", body = ErrorBody),
        (status = 429, description = "Too many failed password attempts", body = ErrorBody)))]
pub async fn get_token(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut service = None;
    let mut scopes = Vec::new();
    let mut account = None;
    let mut offline = false;
    let mut client_id = None;
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "service" => service = Some(value.into_owned()),
            "scope" => scopes.push(value.into_owned()),
            "account" => account = Some(value.into_owned()),
            "offline_token" => match value.as_ref() {
                "true" => offline = true,
                "false" => offline = false,
                _ => {
                    return respond(Err(ApiError::bad_request(
                        "`offline_token` is `true` or `false`",
                    )));
                }
            },
            "client_id" => client_id = Some(value.into_owned()),
            _ => {}
        }
    }
    let result = async {
        let credentials = basic_credentials(&headers)?;
        let request = TokenRequest {
            service,
            scopes,
            account,
            offline,
            client_id,
        };
        issue(&state, address, credentials, request).await
    }
    .await;
    respond(result)
}

/// The OAuth2 form of `POST /v2/token`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OAuthForm {
    /// `password` or `refresh_token`.
    #[schema(schema_with = grant_type_schema)]
    grant_type: String,
    /// Must be the configured `registry.service` (the document a portal serves names it).
    service: Option<String>,
    client_id: Option<String>,
    /// Space-separated scopes.
    #[schema(schema_with = scope_schema)]
    scope: Option<String>,
    /// `offline` to also receive a refresh token (password grant).
    access_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
}

/// A token for the registry, OAuth2 style (password and refresh-token grants).
#[utoipa::path(post, path = "/v2/token", tag = "registry",
    request_body(content = OAuthForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "Unsupported grant, malformed scope or unknown service", body = ErrorBody),
        (status = 401, description = "Bad credentials", body = ErrorBody),
        (status = 429, description = "Too many failed password attempts", body = ErrorBody)))]
pub async fn post_token(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiForm(form): ApiForm<OAuthForm>,
) -> Response {
    let result = async {
        let (credentials, offline) = match form.grant_type.as_str() {
            "password" => (
                Some((
                    form.username.unwrap_or_default(),
                    form.password.unwrap_or_default(),
                )),
                form.access_type.as_deref() == Some("offline"),
            ),
            // The refresh token is an API key; it comes back unchanged (Docker keeps the
            // first one it got and breaks if it is rotated).
            "refresh_token" => (
                Some((
                    form.username.unwrap_or_default(),
                    form.refresh_token.unwrap_or_default(),
                )),
                true,
            ),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported grant_type `{other}`; use password or refresh_token"
                )));
            }
        };
        let request = TokenRequest {
            service: form.service,
            scopes: form.scope.into_iter().collect(),
            account: None,
            offline,
            client_id: form.client_id,
        };
        issue(&state, address, credentials, request).await
    }
    .await;
    respond(result)
}

struct TokenRequest {
    service: Option<String>,
    scopes: Vec<String>,
    account: Option<String>,
    offline: bool,
    client_id: Option<String>,
}

async fn issue(
    state: &AppState,
    address: Option<std::net::IpAddr>,
    credentials: Option<(String, String)>,
    request: TokenRequest,
) -> Result<TokenResponse, ApiError> {
    let tokens = &state.registry.tokens;
    if let Some(service) = &request.service
        && service != tokens.service()
    {
        return Err(ApiError::bad_request(format!(
            "unknown service `{service}`: this portal issues tokens for `{}` (registry.service)",
            tokens.service()
        )));
    }
    let scopes = parse_scopes(request.scopes.iter().map(String::as_str))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    // With an access token, docker names the account `oauth2`, not the person it stands for.
    let by_access_token = credentials
        .as_ref()
        .is_some_and(|(user, _)| user == crate::auth::openid::ACCESS_TOKEN_USER);
    let (principal, presented_key) = match credentials {
        None => (Principal::Anonymous, None),
        Some((user, secret)) => authenticate(state, address, &user, &secret).await?,
    };
    let principal = crate::auth::rules::with_rules(state, principal, address).await?;
    if let (Some(account), Some(name)) = (&request.account, principal.subject())
        && !account.is_empty()
        && account != name
        && !(by_access_token && account == crate::auth::openid::ACCESS_TOKEN_USER)
    {
        return Err(ApiError::unauthorized(
            "`account` does not match the credentials",
        ));
    }
    let mut access = Vec::with_capacity(scopes.len());
    // A private installation grants anonymous callers nothing (docker then asks for a login).
    let admitted = principal.admitted(state.settings.anonymous).is_ok();
    for scope in scopes.iter().filter(|_| admitted) {
        let container = match scope.repository() {
            Some(name) => match state.store.get(&name).await {
                Ok(c) => Some(c),
                Err(PortError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        access.extend(grant(&principal, scope, container.as_ref()));
    }
    let refresh_token = match (request.offline, principal.actor()) {
        (true, Some(actor)) => Some(match presented_key {
            Some(key) => key,
            None => refresh_key(state, actor, request.client_id.as_deref()).await?,
        }),
        _ => None,
    };
    let subject = principal.subject().unwrap_or_default().to_owned();
    log_grant(&subject, &access);
    record_writes(state, &principal, &access).await;
    let issued = tokens.mint(&subject, access).map_err(|e| {
        tracing::error!(error = %e, "minting a registry token failed");
        ApiError::internal()
    })?;
    Ok(TokenResponse {
        access_token: issued.token.clone(),
        token: issued.token,
        expires_in: issued.expires_in,
        issued_at: issued.issued_at,
        refresh_token,
    })
}

/// A new API key standing for a `docker login`: what the client stores instead of the password.
async fn refresh_key(
    state: &AppState,
    actor: &bioshadock_core::permissions::Actor,
    client_id: Option<&str>,
) -> Result<String, ApiError> {
    let client: String = client_id
        .unwrap_or("docker")
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect();
    let label = format!("registry login ({client})");
    let scopes: Scopes = [Scope::Read, Scope::Push].into_iter().collect();
    Ok(mint_key(state, actor, &label, scopes, None).await?.secret)
}

/// The principal behind Basic credentials: an API key, or a password (throttled like the
/// login form, and checked with argon2 only when not verified lately). Also returns the key
/// itself when one was used, to hand back as the refresh token.
async fn authenticate(
    state: &AppState,
    address: Option<std::net::IpAddr>,
    user: &str,
    secret: &str,
) -> Result<(Principal, Option<String>), ApiError> {
    if user == crate::auth::openid::ACCESS_TOKEN_USER {
        // `docker login -u oauth2 -p ACCESS_TOKEN`: the provider vouches for the token.
        let principal = crate::auth::openid::access_token_principal(state, secret, address).await?;
        return Ok((principal, None));
    }
    if is_robot_name(user) {
        // Robots hand back no refresh token: the client keeps sending the robot's token.
        return Ok((authenticate_robot(state, user, secret).await?, None));
    }
    if KeySecret::parse(secret).is_some() {
        let presented = if user.is_empty() {
            Presented::bare(secret)
        } else {
            Presented::for_user(user, secret)
        };
        let principal = authenticate_key(state, presented).await?;
        return Ok((principal, Some(secret.to_owned())));
    }
    let principal =
        password_check::principal(state, user, secret, address, StatusCode::TOO_MANY_REQUESTS)
            .await?;
    Ok((principal, None))
}

/// Basic `user:secret` from the Authorization header, if any.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || ApiError::unauthorized("malformed Basic credentials");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::unauthorized(
            "the token service takes Basic credentials (user and password or API key)",
        ));
    }
    decode_basic(encoded).ok_or_else(malformed).map(Some)
}

/// A token that lets its holder push or delete is an event of each repository it names (pulls
/// are not: they change nothing).
async fn record_writes(
    state: &AppState,
    principal: &bioshadock_core::permissions::Principal,
    access: &[ResourceAccess],
) {
    use bioshadock_core::events::EventKind;
    for entry in access {
        let writes: Vec<&str> = entry
            .actions
            .iter()
            .map(String::as_str)
            .filter(|a| matches!(*a, "push" | "delete" | "*"))
            .collect();
        if writes.is_empty() {
            continue;
        }
        let Ok(id) = bioshadock_core::RepoName::parse(&entry.name) else {
            continue;
        };
        let summary = format!("token granting {}", entry.actions.join(","));
        crate::services::events::record_on_container(
            state,
            principal,
            EventKind::RegistryToken,
            &id,
            id.to_string(),
            summary,
        )
        .await;
    }
}

fn log_grant(subject: &str, access: &[ResourceAccess]) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        let granted: Vec<String> = access
            .iter()
            .map(|a| format!("{}:{}:{}", a.kind, a.name, a.actions.join(",")))
            .collect();
        tracing::debug!(subject, ?granted, "registry token issued");
    }
}

/// The token, or the error with a Basic challenge on 401 (clients retry with credentials).
fn respond(result: Result<TokenResponse, ApiError>) -> Response {
    match result {
        Ok(token) => {
            let mut response = Json(token).into_response();
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(error) => {
            let unauthorized = error.status == StatusCode::UNAUTHORIZED;
            let mut response = error.into_response();
            if unauthorized {
                response.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"bioshadock\""),
                );
            }
            response
        }
    }
}
