//! The sign-in port of OpenID Connect providers: the authorization-code flow with PKCE, and the
//! userinfo check of an access token (`docker login -u oauth2 -p TOKEN`). The adapter
//! (`bioshadock-identity`) does the protocol; the portal sees an [`OpenIdIdentity`].

use async_trait::async_trait;

use crate::identity::VerifiedIdentity;

/// Where to send the browser, and what the callback must be checked against. `state`, `nonce`
/// and `pkce_verifier` are secrets of this one sign-in: the portal keeps them (tamper-proof)
/// until the callback and never logs them.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// A person the provider vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIdIdentity {
    /// The provider's stable id of the person (`sub`).
    pub subject: String,
    /// Whether the provider says the e-mail address is verified.
    pub email_verified: bool,
    pub identity: VerifiedIdentity,
}

/// Why a provider's answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenIdError {
    /// The provider cannot be reached or answers nonsense; trying later may work.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The answer does not hold: a bad code, a token that fails verification (signature,
    /// issuer, audience, expiry, nonce), an access token the provider refuses.
    #[error("{0}")]
    Refused(String),
}

#[async_trait]
pub trait OpenIdProvider: Send + Sync {
    /// A new authorization request (discovering the provider first when needed).
    async fn authorization(&self) -> Result<Authorization, OpenIdError>;

    /// Exchanges the callback's `code` (with this sign-in's PKCE verifier) for tokens, and
    /// verifies the ID token against the provider's keys and `nonce`.
    async fn exchange(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<OpenIdIdentity, OpenIdError>;

    /// Who the provider says holds `access_token` (its userinfo endpoint).
    async fn user_info(&self, access_token: &str) -> Result<OpenIdIdentity, OpenIdError>;
}
