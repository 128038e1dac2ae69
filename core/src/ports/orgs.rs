//! The organisations part of the store port. An organisation is saved whole with a version
//! (see [`crate::orgs`]): the rules live in the aggregate, so an adapter only stores it,
//! refuses stale saves, and finds a user's organisations quickly.

use async_trait::async_trait;

use crate::PortResult;
use crate::accounts::UserName;
use crate::orgs::{OrgName, Organisation};

/// Organisations, in the same database as users (an organisation's name is a namespace, and
/// users and organisations share one set of names).
#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Adds a new organisation (its `version` is ignored; the stored one is 1). `Conflict` if
    /// an organisation or a user already has the name.
    async fn create_org(&self, org: &Organisation) -> PortResult<()>;

    /// One organisation, with the version it was read at. `NotFound` if absent.
    async fn get_org(&self, name: &OrgName) -> PortResult<Organisation>;

    /// Replaces the organisation with `org`, which must have been read at the current version
    /// (`Conflict` otherwise: read again and reapply). `NotFound` if it was deleted.
    async fn save_org(&self, org: &Organisation) -> PortResult<()>;

    /// Deletes the organisation if still at `org.version` (`Conflict` otherwise). `NotFound`
    /// if absent.
    async fn delete_org(&self, org: &Organisation) -> PortResult<()>;

    /// Every organisation, by name.
    async fn list_orgs(&self) -> PortResult<Vec<Organisation>>;

    /// The organisations `user` is a member of, by name: the input of their permissions,
    /// read on every request, so it must be an indexed lookup.
    async fn orgs_of(&self, user: &UserName) -> PortResult<Vec<Organisation>>;
}
