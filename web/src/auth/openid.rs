//! OpenID Connect providers as the portal uses them: the sign-in buttons and their flow (see
//! `pages::oidc`), and access tokens presented as `docker login -u oauth2 -p TOKEN`, which
//! the provider's userinfo endpoint vouches for.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bioshadock_core::PortError;
use bioshadock_core::accounts::{ProviderId, Scopes, UserName};
use bioshadock_core::identity::GroupMapping;
use bioshadock_core::permissions::{Credential, Principal};
use bioshadock_core::ports::openid::{OpenIdError, OpenIdProvider};
use sha2::{Digest, Sha256};

use super::oidc_flow::FlowCookies;
use crate::error::ApiError;
use crate::services::identities;
use crate::state::AppState;

/// The user name that presents an access token instead of a password.
pub const ACCESS_TOKEN_USER: &str = "oauth2";
/// How long an access token the provider vouched for is taken without asking again, when it is
/// a JWT (less when its `exp` comes sooner).
const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(300);
/// The same for an opaque token, whose expiry the portal cannot see: a revoked or expired one
/// keeps working here at most this long.
const OPAQUE_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(60);
/// Remembered access tokens, at most.
const ACCESS_TOKEN_CAPACITY: usize = 10_000;
/// The longest access token sent to a provider.
const MAX_ACCESS_TOKEN_LEN: usize = 8192;

/// One provider of `[[auth.oidc]]`, and what its groups mean here.
pub struct OpenIdSignIn {
    pub id: ProviderId,
    pub display_name: String,
    /// The issuer URL, which a callback's `iss` must equal (RFC 9207).
    pub issuer: String,
    pub provider: Arc<dyn OpenIdProvider>,
    pub mapping: GroupMapping,
    /// E-mail domains whose verified addresses may create an account; empty: any.
    pub allowed_domains: Vec<String>,
}

/// The configured providers, the flow cookies, and recently vouched-for access tokens.
pub(crate) struct OpenIdProviders {
    providers: Vec<OpenIdSignIn>,
    pub(crate) cookies: FlowCookies,
    /// SHA-256 of an access token → its user and until when the answer stands.
    access_tokens: Mutex<HashMap<[u8; 32], (UserName, Instant)>>,
}

impl OpenIdProviders {
    pub(crate) fn new(providers: Vec<OpenIdSignIn>, cookies: FlowCookies) -> Self {
        Self {
            providers,
            cookies,
            access_tokens: Mutex::default(),
        }
    }

    pub(crate) fn all(&self) -> &[OpenIdSignIn] {
        &self.providers
    }

    pub(crate) fn find(&self, id: &str) -> Option<&OpenIdSignIn> {
        self.providers.iter().find(|p| p.id.as_str() == id)
    }

    fn remembered(&self, token: &[u8; 32]) -> Option<UserName> {
        let tokens = self.access_tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(token)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(user, _)| user.clone())
    }

    fn remember(&self, token: [u8; 32], user: UserName, ttl: Duration) {
        let mut tokens = self.access_tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.len() >= ACCESS_TOKEN_CAPACITY {
            let now = Instant::now();
            tokens.retain(|_, (_, until)| now < *until);
            if tokens.len() >= ACCESS_TOKEN_CAPACITY {
                tokens.clear();
            }
        }
        tokens.insert(token, (user, Instant::now() + ttl));
    }
}

/// The principal an access token stands for: the account of the person the first provider
/// that accepts the token names (created at first use, as at a first sign-in).
pub(crate) async fn access_token_principal(
    state: &AppState,
    token: &str,
    address: Option<IpAddr>,
) -> Result<Principal, ApiError> {
    let openid = &state.openid;
    if openid.all().is_empty() || token.is_empty() || token.len() > MAX_ACCESS_TOKEN_LEN {
        return Err(refused());
    }
    let fingerprint: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let user = match openid.remembered(&fingerprint) {
        Some(name) => state.users.get_user(&name).await.map_err(|e| match e {
            PortError::NotFound => refused(),
            e => e.into(),
        })?,
        None => {
            let (user, ttl) = ask_providers(state, token, address).await?;
            openid.remember(fingerprint, user.name.clone(), ttl);
            user
        }
    };
    if user.disabled {
        return Err(ApiError::unauthorized("this account is disabled"));
    }
    let principal = Principal::user(user, Scopes::all(), Credential::Password);
    super::with_memberships(state, principal).await
}

/// Asks each provider's userinfo endpoint in turn; a wrong token counts as a failed sign-in
/// from `address` (the throttle), a provider that cannot be reached is skipped.
async fn ask_providers(
    state: &AppState,
    token: &str,
    address: Option<IpAddr>,
) -> Result<(bioshadock_core::accounts::User, Duration), ApiError> {
    let mut unavailable = false;
    for sign_in in state.openid.all() {
        match sign_in.provider.user_info(token).await {
            Ok(found) => {
                let user = identities::admit_openid(state, sign_in, &found)
                    .await?
                    .ok_or_else(|| ApiError::unauthorized("this account is disabled"))?;
                return Ok((user, token_lifetime(token)));
            }
            Err(OpenIdError::Refused(_)) => {}
            Err(OpenIdError::Unavailable(detail)) => {
                tracing::warn!(provider = %sign_in.id.as_str(), %detail, "a provider could not check an access token");
                unavailable = true;
            }
        }
    }
    if unavailable {
        return Err(ApiError {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            code: "provider_unavailable",
            message: "the identity provider cannot be reached to check this access token; \
                      try again shortly"
                .into(),
        });
    }
    match state.throttle.failed(address).await {
        Ok(()) => Err(refused()),
        Err(wait) => {
            tracing::warn!(
                ?address,
                "access tokens throttled: too many failures from this address"
            );
            Err(ApiError {
                status: axum::http::StatusCode::TOO_MANY_REQUESTS,
                code: "throttled",
                message: format!("too many failed attempts; try again in {wait} seconds"),
            })
        }
    }
}

fn refused() -> ApiError {
    ApiError::unauthorized("the access token was not accepted by any identity provider")
}

/// How long a vouched-for token is remembered: [`ACCESS_TOKEN_TTL`] or its `exp` when it is a
/// JWT, whichever comes first; [`OPAQUE_ACCESS_TOKEN_TTL`] otherwise. The payload is only read for its expiry, never trusted
/// for anything else (the provider already vouched for the token).
fn token_lifetime(token: &str) -> Duration {
    let expires = token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload.trim_end_matches('='))
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|claims| claims.get("exp").and_then(serde_json::Value::as_i64));
    match expires {
        Some(exp) => {
            let left = exp - chrono::Utc::now().timestamp();
            Duration::from_secs(u64::try_from(left).unwrap_or(0)).min(ACCESS_TOKEN_TTL)
        }
        None => OPAQUE_ACCESS_TOKEN_TTL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt_expiring_in(secs: i64) -> String {
        let claims = serde_json::json!({ "exp": chrono::Utc::now().timestamp() + secs });
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&claims).unwrap());
        format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")
    }

    #[test]
    fn remembered_tokens_never_outlive_their_expiry() {
        assert_eq!(token_lifetime("opaque-token"), OPAQUE_ACCESS_TOKEN_TTL);
        assert!(token_lifetime(&jwt_expiring_in(30)) <= Duration::from_secs(30));
        assert_eq!(token_lifetime(&jwt_expiring_in(-10)), Duration::ZERO);
        assert_eq!(token_lifetime(&jwt_expiring_in(86_400)), ACCESS_TOKEN_TTL);
    }
}
