//! Minting registry tokens, and checking them the way Docker Distribution does.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use super::TokenError;
use super::grants::ResourceAccess;
use super::signing::SigningMaterial;

/// The shortest lifetime a token gets: the Docker client treats less as 60 seconds anyway.
pub const MIN_TTL: Duration = Duration::from_secs(60);
/// How far in the past `nbf` is put, for registries whose clock runs a little behind.
const NOT_BEFORE_SLACK_SECS: i64 = 5;
/// The clock skew Distribution tolerates on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;

/// How the `kid` header names the signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KidStyle {
    /// The libtrust key id, which Distribution 2.x matches.
    #[default]
    Libtrust,
    /// The RFC 7638 JWK thumbprint, for Distribution 3.
    Rfc7638,
}

/// A token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user name, `""` for anonymous.
    pub sub: String,
    /// The registry's service name, a plain string: Distribution 2.8 refuses a list.
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// Never `null`: `[]` when nothing is granted.
    pub access: Vec<ResourceAccess>,
}

/// A minted token and what the token endpoint's answer says about it. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    /// Seconds, at least 60.
    pub expires_in: u64,
    pub issued_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

/// Signs tokens for one registry: its `auth.token.issuer` and `auth.token.service`.
#[derive(Debug)]
pub struct TokenIssuer {
    material: SigningMaterial,
    /// The JOSE header, base64url: the same for every token (alg, typ, kid, x5c).
    encoded_header: String,
    issuer: String,
    service: String,
    kid: KidStyle,
    ttl: Duration,
}

impl TokenIssuer {
    /// `ttl` is raised to [`MIN_TTL`] when shorter.
    pub fn new(
        material: SigningMaterial,
        issuer: String,
        service: String,
        kid: KidStyle,
        ttl: Duration,
    ) -> Self {
        let kid_value = match kid {
            KidStyle::Libtrust => material.libtrust_kid(),
            KidStyle::Rfc7638 => material.jwk_thumbprint(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid_value.to_owned());
        header.x5c = Some(vec![STANDARD.encode(material.certificate_der())]);
        let encoded_header =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
        Self {
            material,
            encoded_header,
            issuer,
            service,
            kid,
            ttl: ttl.max(MIN_TTL),
        }
    }

    pub fn material(&self) -> &SigningMaterial {
        &self.material
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// The lifetime of minted tokens (at least [`MIN_TTL`]).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The `kid` header of minted tokens.
    pub fn kid(&self) -> &str {
        match self.kid {
            KidStyle::Libtrust => self.material.libtrust_kid(),
            KidStyle::Rfc7638 => self.material.jwk_thumbprint(),
        }
    }

    /// A token for `subject` (`""` for anonymous) granting `access`, valid from now for the
    /// issuer's ttl.
    pub fn mint(
        &self,
        subject: &str,
        access: Vec<ResourceAccess>,
    ) -> Result<IssuedToken, TokenError> {
        self.mint_for(subject, access, self.ttl)
    }

    /// Like [`Self::mint`], valid for `ttl` (at least [`MIN_TTL`]): the builder's push token
    /// must outlive a long push, whatever `registry.token_ttl_secs` says for clients.
    pub fn mint_for(
        &self,
        subject: &str,
        access: Vec<ResourceAccess>,
        ttl: Duration,
    ) -> Result<IssuedToken, TokenError> {
        let issued_at = Utc::now();
        let iat = issued_at.timestamp();
        let ttl = ttl.max(MIN_TTL).as_secs();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            aud: self.service.clone(),
            iat,
            nbf: iat - NOT_BEFORE_SLACK_SECS,
            exp: iat.saturating_add_unsigned(ttl),
            jti: random_id(),
            access,
        };
        // header.claims.signature, signed with ring (jsonwebtoken verifies below and in tests).
        let claims_json = serde_json::to_vec(&claims)
            .map_err(|e| TokenError::Generate(format!("encoding claims: {e}")))?;
        let mut token = String::with_capacity(self.encoded_header.len() + claims_json.len() * 2);
        token.push_str(&self.encoded_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims_json, &mut token);
        let signature = self.material.sign_es256(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(IssuedToken {
            token,
            expires_in: ttl,
            issued_at: DateTime::from_timestamp(iat, 0).unwrap_or(issued_at),
        })
    }

    /// The claims of `token` if the registry configured with this issuer's service, issuer and
    /// certificate would accept it: ES256, signed by the certificate's key and naming it (by
    /// `x5c`, else by `kid`), the certificate valid now, `iss` and `aud` matching, and within
    /// `nbf` and `exp` (with Distribution's 60 s leeway).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| TokenError::Rejected(format!("malformed token: {e}")))?;
        self.check_signer(&header)?;
        let now = Utc::now();
        if now < self.material.not_before() || now > self.material.not_after() {
            return Err(TokenError::Rejected(format!(
                "the signing certificate is valid only from {} to {}",
                self.material.not_before(),
                self.material.not_after()
            )));
        }

        let mut validation = Validation::new(Algorithm::ES256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // `iss` and `aud` are compared below, to say what differs.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims =
            jsonwebtoken::decode::<Claims>(token, self.material.decoding_key(), &validation)
                .map_err(|e| TokenError::Rejected(describe(&e)))?
                .claims;
        if claims.iss != self.issuer {
            return Err(TokenError::Rejected(format!(
                "its issuer is `{}`, the registry expects `{}` (auth.token.issuer)",
                claims.iss, self.issuer
            )));
        }
        if claims.aud != self.service {
            return Err(TokenError::Rejected(format!(
                "its audience is `{}`, the registry expects `{}` (auth.token.service)",
                claims.aud, self.service
            )));
        }
        Ok(claims)
    }

    /// Distribution finds the key through the `x5c` chain when there is one, else through the
    /// `kid`; either must lead to our certificate.
    fn check_signer(&self, header: &Header) -> Result<(), TokenError> {
        if header.alg != Algorithm::ES256 {
            return Err(TokenError::Rejected(format!(
                "it is signed with {:?}, not ES256",
                header.alg
            )));
        }
        if let Some(chain) = &header.x5c {
            let leaf = chain.first().and_then(|c| STANDARD.decode(c).ok());
            return if leaf.as_deref() == Some(self.material.certificate_der()) {
                Ok(())
            } else {
                Err(TokenError::Rejected(
                    "its x5c certificate is not the registry's rootcertbundle certificate".into(),
                ))
            };
        }
        match header.kid.as_deref() {
            Some(kid)
                if kid == self.material.libtrust_kid() || kid == self.material.jwk_thumbprint() =>
            {
                Ok(())
            }
            Some(kid) => Err(TokenError::Rejected(format!(
                "its kid `{kid}` is not the key of the registry's certificate"
            ))),
            None => Err(TokenError::Rejected(
                "it names no signing key (neither x5c nor kid)".into(),
            )),
        }
    }
}

/// A sentence for why jsonwebtoken refused a token.
fn describe(error: &jsonwebtoken::errors::Error) -> String {
    match error.kind() {
        ErrorKind::InvalidSignature => "its signature does not match the certificate's key".into(),
        ErrorKind::ExpiredSignature => "it has expired".into(),
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf is in the future)".into(),
        ErrorKind::InvalidAlgorithm => "it is not signed with ES256".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("it has no `{claim}` claim"),
        ErrorKind::Json(e) => format!("its claims are not what the registry reads: {e}"),
        _ => format!("malformed token: {error}"),
    }
}

/// 128 random bits, base64url.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests;
