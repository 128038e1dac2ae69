//! An OpenID Connect provider behind the sign-in port (`openidconnect`): discovery, the
//! authorization-code flow with PKCE, ID token verification (signature against the provider's
//! keys, issuer, audience, expiry, nonce) and the userinfo endpoint.
//!
//! HTTP goes through the project's own reqwest (openidconnect's default features would bring a
//! second one): redirects are never followed (a provider's redirect must not turn the portal
//! into a proxy), every request is bounded by `timeout_secs`, and no answer may be larger than
//! [`MAX_RESPONSE_BYTES`]. The provider's metadata and keys are fetched on first use, not at
//! start-up (a provider that is down must not stop the portal), and again after
//! [`METADATA_TTL`] or when a token is signed with a key they do not hold.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bioshadock_core::accounts::{ProviderId, Source};
use bioshadock_core::config::OidcConfig;
use bioshadock_core::identity::{MAX_GROUPS, VerifiedIdentity};
use bioshadock_core::ports::openid::{Authorization, OpenIdError, OpenIdIdentity, OpenIdProvider};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest,
    HttpResponse, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

/// The largest answer taken from a provider (discovery, keys, tokens, userinfo).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// How long discovered metadata and keys are used before they are fetched again.
pub const METADATA_TTL: Duration = Duration::from_secs(600);
/// A sign-in starts with metadata at most this old, so that a provider that went down is
/// reported on the sign-in page rather than by the browser at the provider's address, while a
/// flood of clicks still asks the provider at most once per this interval.
pub const START_FRESHNESS: Duration = Duration::from_secs(2);

/// Every claim beyond the standard ones, so that `groups_claim` and `username_claim` can name
/// any claim.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExtraClaims(HashMap<String, Value>);

impl AdditionalClaims for ExtraClaims {}

type IdFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<IdFields, CoreTokenType>;
type Client = openidconnect::Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// One configured provider.
pub struct OidcProvider {
    config: OidcConfig,
    source: Source,
    redirect: RedirectUrl,
    http: reqwest::Client,
    discovered: Mutex<Option<(Arc<Client>, Instant)>>,
}

/// A failed HTTP exchange with the provider (no body, no token: safe to log).
#[derive(Debug)]
pub struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

impl OidcProvider {
    /// The provider of `config`, whose callback is `{public_url}/auth/oidc/{id}/callback`.
    pub fn new(config: &OidcConfig, public_url: &str) -> Result<Self, String> {
        let id = ProviderId::parse(&config.id)?;
        let redirect = RedirectUrl::new(format!(
            "{}/auth/oidc/{}/callback",
            public_url.trim_end_matches('/'),
            id.as_str()
        ))
        .map_err(|e| format!("the callback URL of provider `{}`: {e}", config.id))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(config.timeout_secs))
            .build()
            .map_err(|e| format!("an HTTP client for provider `{}`: {e}", config.id))?;
        Ok(Self {
            config: config.clone(),
            source: Source::Oidc(id),
            redirect,
            http,
            discovered: Mutex::new(None),
        })
    }

    /// The client built from the provider's discovery document (and keys), fetched again when
    /// older than `max_age`.
    async fn client(&self, max_age: Duration) -> Result<Arc<Client>, OpenIdError> {
        let mut discovered = self.discovered.lock().await;
        if let Some((client, at)) = discovered.as_ref()
            && at.elapsed() < max_age
        {
            return Ok(client.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OpenIdError::Unavailable(format!("bad issuer URL: {e}")))?;
        let http = self.http_client();
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| {
                tracing::warn!(provider = %self.config.id, error = %e, "OpenID Connect discovery failed");
                OpenIdError::Unavailable(format!("discovery failed: {e}"))
            })?;
        let secret = Some(self.config.client_secret.expose().clone())
            .filter(|s| !s.is_empty())
            .map(ClientSecret::new);
        let client = Arc::new(
            Client::from_provider_metadata(
                metadata,
                ClientId::new(self.config.client_id.clone()),
                secret,
            )
            .set_redirect_uri(self.redirect.clone()),
        );
        *discovered = Some((client.clone(), Instant::now()));
        Ok(client)
    }

    /// The HTTP function openidconnect calls: the portal's reqwest, bounded.
    fn http_client(
        &self,
    ) -> impl Fn(
        HttpRequest,
    )
        -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send>>
    + use<> {
        let client = self.http.clone();
        move |request: HttpRequest| {
            let client = client.clone();
            Box::pin(async move { fetch(&client, request).await })
        }
    }

    fn identity_of(&self, facts: Facts) -> Result<OpenIdIdentity, OpenIdError> {
        let username = claim(&facts, &self.config.username_claim)
            .or_else(|| {
                facts
                    .email
                    .clone()
                    .and_then(|e| e.split('@').next().map(str::to_owned))
            })
            .unwrap_or_default();
        let groups = match &self.config.groups_claim {
            Some(name) => groups_in(facts.extra.get(name)),
            None => Vec::new(),
        };
        Ok(OpenIdIdentity {
            subject: facts.subject.clone(),
            email_verified: facts.email_verified,
            identity: VerifiedIdentity {
                source: self.source.clone(),
                username,
                email: facts.email,
                groups,
            },
        })
    }
}

/// The [`Facts`] of an ID token's or a userinfo answer's claims. A macro, because openidconnect
/// gives the two claim types the same getters but no trait to share them through.
macro_rules! facts_of {
    ($claims:expr) => {{
        let claims = &$claims;
        Facts {
            subject: claims.subject().to_string(),
            preferred_username: claims.preferred_username().map(|u| u.to_string()),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            nickname: localized(claims.nickname()),
            name: localized(claims.name()),
            extra: claims.additional_claims().0.clone(),
        }
    }};
}

/// A claim that may come in several languages, in its default one.
fn localized<T: std::ops::Deref<Target = String>>(
    claim: Option<&openidconnect::LocalizedClaim<T>>,
) -> Option<String> {
    claim.and_then(|c| c.get(None)).map(|c| String::clone(c))
}

/// The claims the portal reads, from an ID token or a userinfo answer.
struct Facts {
    subject: String,
    preferred_username: Option<String>,
    email: Option<String>,
    email_verified: bool,
    nickname: Option<String>,
    name: Option<String>,
    extra: HashMap<String, Value>,
}

/// The claim `name` as text: a standard one, or any other that is a string.
fn claim(facts: &Facts, name: &str) -> Option<String> {
    let value = match name {
        "sub" => Some(facts.subject.clone()),
        "preferred_username" => facts.preferred_username.clone(),
        "email" => facts.email.clone(),
        "nickname" => facts.nickname.clone(),
        "name" => facts.name.clone(),
        other => facts
            .extra
            .get(other)
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    value.filter(|v| !v.trim().is_empty())
}

/// A groups claim: an array of names (or one name), at most [`MAX_GROUPS`] of them.
fn groups_in(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .take(MAX_GROUPS)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// Sends `request` without following redirects, reading at most [`MAX_RESPONSE_BYTES`].
async fn fetch(client: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let request = reqwest::Request::try_from(request).map_err(|e| HttpError(e.to_string()))?;
    let mut response = client
        .execute(request)
        .await
        .map_err(|e| HttpError(e.without_url().to_string()))?;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpError(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError(format!(
                "the provider's answer is larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let mut built = HttpResponse::new(body);
    *built.status_mut() = response.status();
    *built.headers_mut() = response.headers().clone();
    Ok(built)
}

#[async_trait]
impl OpenIdProvider for OidcProvider {
    async fn authorization(&self) -> Result<Authorization, OpenIdError> {
        let client = self.client(START_FRESHNESS).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    async fn exchange(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<OpenIdIdentity, OpenIdError> {
        let client = self.client(METADATA_TTL).await?;
        let http = self.http_client();
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OpenIdError::Unavailable(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(answer) => {
                    OpenIdError::Refused(format!("the provider refused the code: {}", answer.error()))
                }
                other => {
                    tracing::warn!(provider = %self.config.id, error = %other, "the token request failed");
                    OpenIdError::Unavailable("the token request failed".into())
                }
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| OpenIdError::Refused("the provider sent no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let verified = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // Perhaps signed with a key published since: fetch the keys once more.
            Err(first) => {
                let fresh = self.client(Duration::ZERO).await?;
                id_token
                    .claims(&fresh.id_token_verifier(), &nonce)
                    .map_err(|_| {
                        tracing::warn!(provider = %self.config.id, error = %first, "an ID token failed verification");
                        OpenIdError::Refused(format!("the ID token does not verify: {first}"))
                    })?
                    .clone()
            }
        };
        self.identity_of(facts_of!(verified))
    }

    async fn user_info(&self, access_token: &str) -> Result<OpenIdIdentity, OpenIdError> {
        let client = self.client(METADATA_TTL).await?;
        let http = self.http_client();
        let info: openidconnect::UserInfoClaims<ExtraClaims, CoreGenderClaim> = client
            .user_info(AccessToken::new(access_token.to_owned()), None)
            .map_err(|_| OpenIdError::Unavailable("the provider has no userinfo endpoint".into()))?
            .request_async(&http)
            .await
            .map_err(|e| match e {
                openidconnect::UserInfoError::Response(status, _, _) => {
                    OpenIdError::Refused(format!("the provider refused the access token ({status})"))
                }
                other => {
                    tracing::warn!(provider = %self.config.id, error = %other, "a userinfo request failed");
                    OpenIdError::Unavailable("the userinfo request failed".into())
                }
            })?;
        self.identity_of(facts_of!(info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_claims_are_read_in_either_shape_and_bounded() {
        assert_eq!(
            groups_in(Some(&serde_json::json!(["a", "b", 3]))),
            ["a", "b"]
        );
        assert_eq!(groups_in(Some(&serde_json::json!("solo"))), ["solo"]);
        assert!(groups_in(Some(&serde_json::json!({"a": 1}))).is_empty());
        let many: Vec<String> = (0..5000).map(|i| format!("g{i}")).collect();
        assert_eq!(groups_in(Some(&serde_json::json!(many))).len(), MAX_GROUPS);
    }
}
