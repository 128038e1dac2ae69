//! The accounts part of the store port: users and API keys. Implemented by every store
//! backend beside [`ContainerStore`](super::store::ContainerStore), in the same database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::PortResult;
use crate::accounts::{ApiKey, Role, Source, User, UserName};
use crate::tag_policy::ImmutableTags;

/// Local accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Adds a user with a password hash (PHC string). `Conflict` if the name is taken, or if
    /// another user of the same source has the same `subject`.
    async fn create_user(&self, user: &User, password_hash: &str) -> PortResult<()>;

    /// One user. `NotFound` if absent.
    async fn get_user(&self, name: &UserName) -> PortResult<User>;

    /// The user and their password hash, for a login. `NotFound` if absent.
    async fn get_credentials(&self, name: &UserName) -> PortResult<(User, String)>;

    /// The user of `source` whose provider id is `subject`. `NotFound` if none.
    async fn find_user_by_subject(&self, source: &Source, subject: &str) -> PortResult<User>;

    /// Every user, by name.
    async fn list_users(&self) -> PortResult<Vec<User>>;

    /// How many users exist (the first-run hint when there are none).
    async fn count_users(&self) -> PortResult<u64>;

    /// Changes a user's role. `NotFound` if absent.
    async fn set_role(&self, name: &UserName, role: Role) -> PortResult<()>;

    /// Disables or re-enables a user. `NotFound` if absent.
    async fn set_disabled(&self, name: &UserName, disabled: bool) -> PortResult<()>;

    /// Replaces a user's password hash. `NotFound` if absent.
    async fn set_password(&self, name: &UserName, password_hash: &str) -> PortResult<()>;

    /// The immutability default of the user's namespace (`None`: none). `NotFound` if absent.
    async fn namespace_immutable(&self, name: &UserName) -> PortResult<Option<ImmutableTags>>;

    /// Sets (or, with `None`, clears) that default. `NotFound` if absent.
    async fn set_namespace_immutable(
        &self,
        name: &UserName,
        immutable: Option<&ImmutableTags>,
    ) -> PortResult<()>;
}

/// API keys, stored as hashes.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Adds a key with the hash of its secret. `Conflict` if the id exists; `NotFound` if the
    /// user does not.
    async fn create_key(&self, key: &ApiKey, secret_hash: &str) -> PortResult<()>;

    /// A key and its stored hash, by public id. `NotFound` if absent.
    async fn find_key(&self, id: &str) -> PortResult<(ApiKey, String)>;

    /// A user's keys, newest first, revoked ones included.
    async fn list_keys(&self, user: &UserName) -> PortResult<Vec<ApiKey>>;

    /// Revokes a key of `user`. `NotFound` if the user has no key with this id. Idempotent.
    async fn revoke_key(&self, user: &UserName, id: &str) -> PortResult<()>;

    /// Records that a key was used at `at` (best effort; callers may skip it when the last
    /// record is recent).
    async fn touch_key(&self, id: &str, at: DateTime<Utc>) -> PortResult<()>;
}
