//! The store port: the source of truth for the catalogue.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{Audience, Container, PortResult, RepoName, Tag, TagName};

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

/// Containers and their tags.
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

    /// Removes a container and its tags. `NotFound` if absent.
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

    /// Answers if the store is reachable and usable (for `/healthz`).
    async fn ping(&self) -> PortResult<()>;
}
