//! The Docker registry side of the portal: the bearer-token service Distribution sends
//! clients to (`/v2/token`), the receiver of its notifications (`/registry/events`), and a
//! client for reading images back from it. Who gets what is decided by
//! `core::tokens::grant`, from the same rules as every other path.

pub mod check;
pub mod client;
pub(crate) mod events;
pub mod front;
mod passwords;
pub(crate) mod removal;
pub mod sync;
pub(crate) mod token;

use bioshadock_core::secret::Secret;
use bioshadock_core::tokens::TokenIssuer;

pub use client::install_crypto_provider;
pub(crate) use passwords::PasswordCache;

/// The manifest media types the catalogue tracks (the Docker and OCI image manifests and
/// indexes); also the `Accept` list when reading a manifest back.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// The subject of the tokens the portal mints for its own calls to the registry.
pub(crate) const PORTAL_SUBJECT: &str = "bioshadock-portal";

/// What the registry side needs: the issuer (signing key, certificate, issuer, service), the
/// secret the registry's notifications carry, and where the registry is.
pub struct RegistryAuth {
    pub tokens: TokenIssuer,
    pub notification_secret: Secret<String>,
    /// The registry's base URL as the portal reaches it (`registry.url`), for reading pushed
    /// images back; empty leaves tags with what the push event said.
    pub registry_url: String,
}
