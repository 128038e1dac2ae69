//! The sign-in port of password directories (LDAP): check a user's password there, and ask
//! whether a user is still there. Adapters live in the `bioshadock-identity` crate.

use async_trait::async_trait;

use crate::PortResult;
use crate::identity::VerifiedIdentity;

/// A directory that checks passwords and knows users' groups.
#[async_trait]
pub trait PasswordDirectory: Send + Sync {
    /// The identity of `username` if `password` is theirs; `None` for an unknown user, a
    /// wrong password, or an empty one (never sent: an LDAP bind with an empty password is an
    /// "unauthenticated bind" that servers answer with success). `Unavailable` when the
    /// directory cannot answer.
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> PortResult<Option<VerifiedIdentity>>;

    /// The identity of `username` as the directory knows it now (groups included), without a
    /// password; `None` if the directory no longer has them.
    async fn lookup(&self, username: &str) -> PortResult<Option<VerifiedIdentity>>;
}
