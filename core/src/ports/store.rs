//! The store port: the source of truth for the catalogue.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::{Member, Visibility};
use crate::{Audience, Container, PortResult, RepoName, Tag, TagName};

/// The fields of a container its owners edit in the portal; everything else (tags, labels,
/// pulls) comes from the registry and is left alone by [`ContainerStore::update_settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSettings {
    pub description: String,
    pub visibility: Visibility,
    pub git: Option<String>,
    pub dockerfile: Option<String>,
    pub descriptor: Option<String>,
    pub policy: crate::tag_policy::ContainerPolicy,
    /// The whole member list, replacing the stored one.
    pub members: Vec<Member>,
    /// The new `updated_at`.
    pub updated_at: DateTime<Utc>,
    /// The container's `updated_at` when these settings were read: the update applies only if
    /// it is still that, so a change made meanwhile (another edit, a push) is never overwritten
    /// with what was read before it (`Conflict`: read again and redo the change).
    pub read_at: DateTime<Utc>,
}

impl ContainerSettings {
    /// The current settings of `container`, to change a few fields of.
    pub fn of(container: &Container) -> Self {
        Self {
            description: container.description.clone(),
            visibility: container.visibility,
            git: container.git.clone(),
            dockerfile: container.dockerfile.clone(),
            descriptor: container.descriptor.clone(),
            policy: container.policy.clone(),
            members: container.members.clone(),
            updated_at: container.updated_at,
            read_at: container.updated_at,
        }
    }

    /// The `updated_at` an update made now writes: later than what was read even within the
    /// same millisecond, so the next reader's `read_at` tells the two apart.
    pub fn next_updated_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.max(self.read_at + chrono::Duration::milliseconds(1))
    }
}

/// The `Conflict` of an [`ContainerStore::update_settings`] whose container changed since it
/// was read; the web answers it as 409 with this message.
pub fn changed_meanwhile(id: &RepoName) -> crate::PortError {
    crate::PortError::Conflict(format!(
        "`{id}` was changed meanwhile (another edit, or a push): read it again and retry"
    ))
}

/// Where a keyset listing resumes: after this container in newest-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub updated_at: DateTime<Utc>,
    pub id: RepoName,
}

impl ListCursor {
    pub fn of(container: &Container) -> Self {
        Self {
            updated_at: container.updated_at,
            id: container.id.clone(),
        }
    }
}

/// Containers, their tags and their members.
///
/// Lists are "newest first": `updated_at` descending, then `id` ascending, and only ever
/// contain what the [`Audience`] may see. Containers come back with their tags, newest first.
#[async_trait]
pub trait ContainerStore: Send + Sync {
    /// Adds a new container. `Conflict` if the id exists.
    async fn create(&self, container: &Container) -> PortResult<()>;

    /// Writes a container and its tags as given, replacing any existing one (seeding,
    /// migration). Idempotent.
    async fn put(&self, container: &Container) -> PortResult<()>;

    /// Writes many containers in one go, as [`put`](Self::put) does. Idempotent.
    async fn put_many(&self, containers: &[Container]) -> PortResult<()>;

    /// One container. `NotFound` if absent.
    async fn get(&self, id: &RepoName) -> PortResult<Container>;

    /// The containers among `ids` that exist, in the order of `ids`.
    async fn get_many(&self, ids: &[RepoName]) -> PortResult<Vec<Container>>;

    /// Replaces the portal-edited fields of a container, leaving its tags, labels and pulls
    /// as they are, if its `updated_at` is still `settings.read_at`. `NotFound` if absent,
    /// `Conflict` (and nothing written) if it changed since it was read.
    async fn update_settings(&self, id: &RepoName, settings: &ContainerSettings) -> PortResult<()>;

    /// Removes a container, its tags and its members. `NotFound` if absent.
    async fn delete(&self, id: &RepoName) -> PortResult<()>;

    /// One page of the visible containers, newest first.
    async fn list(
        &self,
        audience: &Audience,
        offset: u64,
        limit: usize,
    ) -> PortResult<Vec<Container>>;

    /// The visible containers strictly after `after` (or from the start), newest first. Used to
    /// stream the whole catalogue without deep offsets.
    async fn list_after(
        &self,
        audience: &Audience,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> PortResult<Vec<Container>>;

    /// How many containers the audience may see.
    async fn count(&self, audience: &Audience) -> PortResult<u64>;

    /// Adds or replaces a tag and bumps the container's `updated_at` to the tag's push time
    /// when that is newer. `NotFound` if the container is absent.
    async fn put_tag(&self, id: &RepoName, tag: &Tag) -> PortResult<()>;

    /// Removes a tag. `NotFound` if the container or the tag is absent.
    async fn delete_tag(&self, id: &RepoName, tag: &TagName) -> PortResult<()>;

    /// Adds `n` to the pull count. `NotFound` if the container is absent.
    async fn add_pulls(&self, id: &RepoName, n: u64) -> PortResult<()>;

    /// Replaces the container's image labels (read from the newest tag's image config by the
    /// registry event worker). Leaves `updated_at` alone. Idempotent. `NotFound` if the
    /// container is absent.
    async fn set_labels(&self, id: &RepoName, labels: &BTreeMap<String, String>) -> PortResult<()>;

    /// Answers if the store is reachable and usable (for `/healthz`).
    async fn ping(&self) -> PortResult<()>;

    /// Remembers that `id` is being deleted while it has `visibility` (a later deletion of the
    /// same name replaces the record).
    async fn record_deletion(&self, id: &RepoName, visibility: Visibility) -> PortResult<()>;

    /// The visibility `id` had when it was last deleted in the portal; `None` if never.
    async fn deleted_visibility(&self, id: &RepoName) -> PortResult<Option<Visibility>>;
}
