//! The registry's token service, without the HTTP: Bioshadock is the bearer-token realm of a
//! stock Docker Distribution registry.
//!
//! The web portal parses the `scope` parameters ([`parse_scopes`]), asks [`grant`] what the
//! caller may have of each (the rules of [`crate::permissions`]), and has a [`TokenIssuer`] mint
//! an ES256 JWT that the registry checks against the certificate in [`SigningMaterial`]. The
//! same issuer verifies tokens the way the registry does, so a self-check can catch issuer,
//! service and certificate mismatches before users do.

mod grants;
mod issuer;
mod scope;
mod signing;

use std::path::PathBuf;

pub use grants::{ResourceAccess, grant};
pub use issuer::{Claims, IssuedToken, KidStyle, MIN_TTL, TokenIssuer};
pub use scope::{Action, RequestedScope, SCOPE_LIST_PATTERN, ScopeError, ScopeKind, parse_scopes};
pub use signing::{
    CERTIFICATE_COMMON_NAME, CERTIFICATE_FILE, KEY_FILE, KeyIds, NOTIFICATION_SECRET_FILE,
    SigningMaterial, key_ids, load_or_create_notification_secret, load_or_create_random_secret,
};

/// Why signing material could not be loaded or created, or a token minted or accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{}` exists but `{}` does not: restore the missing file, or remove `{}` so that a new key \
         and certificate are created (then give the registry the new certificate and restart it)",
        present.display(), missing.display(), present.display()
    )]
    Incomplete { present: PathBuf, missing: PathBuf },
    #[error("{what}: {reason}")]
    BadMaterial { what: String, reason: String },
    #[error("{certificate} does not hold the public key of {key}")]
    Mismatch { key: String, certificate: String },
    #[error("cannot create a signing key and certificate: {0}")]
    Generate(String),
    #[error("cannot sign the token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
    /// The token would not be accepted by the registry; the message says why.
    #[error("the registry would refuse this token: {0}")]
    Rejected(String),
}
