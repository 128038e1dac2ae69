//! The catalogue store on MongoDB: one document per container in the `containers`
//! collection, `_id` = the repository name, tags and members embedded (layout in
//! [`doc`]). A `readers` array (owner + members) makes every audience filter one indexed
//! query. `add_pulls`, `set_labels` and `delete_tag` are one atomic update each; `put_tag`
//! and `update_settings` read, then write on the condition that what they read is unchanged.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use bioshadock_core::ports::store::{
    ContainerSettings, ContainerStore, ListCursor, changed_meanwhile,
};
use bioshadock_core::{Audience, Container, PortError, PortResult, RepoName, Tag, TagName};
use futures::{StreamExt, TryStreamExt};
use mongodb::bson::{Document, doc};
use mongodb::{Collection, Database, IndexModel};

use self::doc::{ContainerDoc, TagDoc, TagState, millis, new_rev, to_bson};
use self::filter::{newest_first, visible_after, visible_to};
use super::map_err;

mod doc;
mod filter;

/// The collection's name.
const CONTAINERS: &str = "containers";
const DELETED: &str = "deleted_containers";

/// How many replacements `put_many` keeps in flight.
const PUT_CONCURRENCY: usize = 16;

/// Attempts of `update_settings` when a `put` changes the owner under it.
const RETRIES: usize = 5;

/// Attempts of `put_tag` when other writes change the tags under it: enough for dozens of
/// tags of one repository pushed at once.
const TAG_ATTEMPTS: u64 = 64;

/// The store port on a MongoDB database.
#[derive(Clone)]
pub struct MongoStore {
    containers: Collection<ContainerDoc>,
    /// `{_id: name, visibility, deleted_at}` of containers deleted in the portal.
    deleted: Collection<Document>,
}

impl MongoStore {
    /// A store on `db` (from [`super::open`]); call [`ensure_indexes`](Self::ensure_indexes)
    /// once at start-up.
    pub fn new(db: Database) -> Self {
        Self {
            containers: db.collection(CONTAINERS),
            deleted: db.collection(DELETED),
        }
    }

    /// Creates the indexes listings and audience filters use; idempotent.
    pub async fn ensure_indexes(&self) -> PortResult<()> {
        let models = [
            // Everyone's listing and every keyset page.
            newest_first(),
            // The public catalogue, newest first.
            doc! { "visibility": 1, "updated_at": -1, "_id": 1 },
            // A user's own and shared containers, newest first: with the public index, a user's
            // `$or` listing merges two ordered index scans and stops after a page.
            doc! { "readers": 1, "updated_at": -1, "_id": 1 },
        ]
        .into_iter()
        .map(|keys| IndexModel::builder().keys(keys).build());
        self.containers
            .create_indexes(models)
            .await
            .map_err(map_err)
            .map(drop)
    }

    /// Replaces (or inserts) one container. Two concurrent upserts of a new id may collide on
    /// `_id`; the loser retries once, now as a plain replacement.
    async fn replace(&self, c: &Container) -> PortResult<()> {
        let stored = ContainerDoc::of(c);
        let filter = doc! { "_id": c.id.as_str() };
        let write = || {
            self.containers
                .replace_one(filter.clone(), &stored)
                .upsert(true)
        };
        match write().await.map_err(map_err) {
            Err(PortError::Conflict(_)) => write().await.map_err(map_err).map(drop),
            other => other.map(drop),
        }
    }

    async fn fetch(&self, filter: Document, skip: u64, limit: usize) -> PortResult<Vec<Container>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let docs: Vec<ContainerDoc> = self
            .containers
            .find(filter)
            .sort(newest_first())
            .skip(skip)
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        docs.into_iter().map(ContainerDoc::into_container).collect()
    }
}

/// `NotFound` when an update matched no document.
fn found(matched: u64) -> PortResult<()> {
    if matched == 0 {
        Err(PortError::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl ContainerStore for MongoStore {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create(&self, container: &Container) -> PortResult<()> {
        self.containers
            .insert_one(ContainerDoc::of(container))
            .await
            .map_err(map_err)
            .map(drop)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn put(&self, container: &Container) -> PortResult<()> {
        self.replace(container).await
    }

    #[tracing::instrument(skip_all, fields(n = containers.len()), err(level = "debug"))]
    async fn put_many(&self, containers: &[Container]) -> PortResult<()> {
        // As sequential puts would: the last copy of a repeated id wins. With one write per
        // id left, their order no longer matters and they can overlap.
        let mut last: HashMap<&RepoName, usize> = HashMap::with_capacity(containers.len());
        for (i, c) in containers.iter().enumerate() {
            last.insert(&c.id, i);
        }
        let mut writes = Vec::with_capacity(last.len());
        for (i, c) in containers.iter().enumerate() {
            if last[&c.id] == i {
                writes.push(self.replace(c));
            }
        }
        let mut writes = futures::stream::iter(writes).buffer_unordered(PUT_CONCURRENCY);
        while let Some(done) = writes.next().await {
            done?;
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn get(&self, id: &RepoName) -> PortResult<Container> {
        self.containers
            .find_one(doc! { "_id": id.as_str() })
            .await
            .map_err(map_err)?
            .ok_or(PortError::NotFound)?
            .into_container()
    }

    #[tracing::instrument(skip_all, fields(n = ids.len()), err(level = "debug"))]
    async fn get_many(&self, ids: &[RepoName]) -> PortResult<Vec<Container>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<&str> = ids.iter().map(RepoName::as_str).collect();
        let docs: Vec<ContainerDoc> = self
            .containers
            .find(doc! { "_id": { "$in": keys } })
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        let mut found = HashMap::with_capacity(docs.len());
        for d in docs {
            let c = d.into_container()?;
            found.insert(c.id.clone(), c);
        }
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn update_settings(&self, id: &RepoName, settings: &ContainerSettings) -> PortResult<()> {
        let members = doc::members(&settings.members);
        // `readers` holds the owner, which only a `put` changes: the update is conditional on
        // the owner read, and a `put` landing in between makes it read again.
        for _ in 0..RETRIES {
            let owner = self
                .containers
                .clone_with_type::<Document>()
                .find_one(doc! { "_id": id.as_str() })
                .projection(doc! { "owner": 1 })
                .await
                .map_err(map_err)?
                .ok_or(PortError::NotFound)?;
            let owner = owner.get_str("owner").map_err(PortError::backend)?;
            let update = doc! { "$set": {
                "description": settings.description.as_str(),
                "visibility": settings.visibility.as_str(),
                "git": settings.git.as_deref(),
                "dockerfile": settings.dockerfile.as_deref(),
                "descriptor": settings.descriptor.as_deref(),
                "policy": to_bson(&settings.policy)?,
                "members": to_bson(&members)?,
                "readers": doc::readers(owner, &members),
                "updated_at": millis(settings.updated_at),
                "rev": new_rev(),
            } };
            let unchanged = doc! {
                "_id": id.as_str(),
                "owner": owner,
                "updated_at": millis(settings.read_at),
            };
            let done = self
                .containers
                .update_one(unchanged, update)
                .await
                .map_err(map_err)?;
            if done.matched_count > 0 {
                return Ok(());
            }
            // Not matched: gone, changed since it was read, or a new owner (read it again).
            let now = self
                .containers
                .clone_with_type::<Document>()
                .find_one(doc! { "_id": id.as_str() })
                .projection(doc! { "updated_at": 1 })
                .await
                .map_err(map_err)?
                .ok_or(PortError::NotFound)?;
            if now.get_i64("updated_at").ok() != Some(millis(settings.read_at)) {
                return Err(changed_meanwhile(id));
            }
        }
        Err(PortError::Conflict(format!(
            "{id} kept changing owner during update_settings"
        )))
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete(&self, id: &RepoName) -> PortResult<()> {
        let done = self
            .containers
            .delete_one(doc! { "_id": id.as_str() })
            .await
            .map_err(map_err)?;
        found(done.deleted_count)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn list(
        &self,
        audience: &Audience,
        offset: u64,
        limit: usize,
    ) -> PortResult<Vec<Container>> {
        self.fetch(visible_to(audience), offset, limit).await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn list_after(
        &self,
        audience: &Audience,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> PortResult<Vec<Container>> {
        self.fetch(visible_after(audience, after), 0, limit).await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn count(&self, audience: &Audience) -> PortResult<u64> {
        self.containers
            .count_documents(visible_to(audience))
            .await
            .map_err(map_err)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn put_tag(&self, id: &RepoName, tag: &Tag) -> PortResult<()> {
        // Read the tags, write them back with this one added or replaced, newest first, and
        // `updated_at` moved forward only, on the condition that no other write changed them
        // meanwhile (`rev`); else read again. One push's tag may race another's: each round
        // one of them lands.
        let name = tag.name.as_str();
        let states = self.containers.clone_with_type::<TagState>();
        for attempt in 0..TAG_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(attempt.min(20))).await;
            }
            let state = states
                .find_one(doc! { "_id": id.as_str() })
                .projection(doc! { "tags": 1, "updated_at": 1, "rev": 1 })
                .await
                .map_err(map_err)?
                .ok_or(PortError::NotFound)?;
            let mut tags: Vec<TagDoc> = state
                .tags
                .into_iter()
                .filter(|t| t.name() != name)
                .collect();
            tags.push(TagDoc::of(tag));
            doc::sort_tags(&mut tags);
            let updated_at = state.updated_at.max(millis(tag.pushed_at));
            let done = self
                .containers
                .update_one(
                    doc! { "_id": id.as_str(), "rev": state.rev.as_str() },
                    doc! { "$set": {
                        "tags": to_bson(&tags)?,
                        "updated_at": updated_at,
                        "rev": new_rev(),
                    } },
                )
                .await
                .map_err(map_err)?;
            if done.matched_count > 0 {
                return Ok(());
            }
        }
        Err(PortError::Conflict(format!(
            "tags of {id} kept changing during put_tag"
        )))
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete_tag(&self, id: &RepoName, tag: &TagName) -> PortResult<()> {
        // A new `rev` tells a `put_tag` in flight that the tags changed.
        let done = self
            .containers
            .update_one(
                doc! { "_id": id.as_str(), "tags.name": tag.as_str() },
                doc! {
                    "$pull": { "tags": { "name": tag.as_str() } },
                    "$set": { "rev": new_rev() },
                },
            )
            .await
            .map_err(map_err)?;
        found(done.matched_count)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn add_pulls(&self, id: &RepoName, n: u64) -> PortResult<()> {
        let done = self
            .containers
            .update_one(
                doc! { "_id": id.as_str() },
                doc! { "$inc": { "pulls": i64::try_from(n).unwrap_or(i64::MAX) } },
            )
            .await
            .map_err(map_err)?;
        found(done.matched_count)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn set_labels(&self, id: &RepoName, labels: &BTreeMap<String, String>) -> PortResult<()> {
        let done = self
            .containers
            .update_one(
                doc! { "_id": id.as_str() },
                doc! { "$set": { "labels": to_bson(&doc::labels(labels))? } },
            )
            .await
            .map_err(map_err)?;
        found(done.matched_count)
    }

    async fn ping(&self) -> PortResult<()> {
        self.containers
            .client()
            .database(self.containers.namespace().db.as_str())
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(map_err)
            .map(drop)
    }

    async fn record_deletion(
        &self,
        id: &RepoName,
        visibility: bioshadock_core::Visibility,
    ) -> PortResult<()> {
        self.deleted
            .replace_one(
                doc! { "_id": id.as_str() },
                doc! {
                    "_id": id.as_str(),
                    "visibility": visibility.as_str(),
                    "deleted_at": chrono::Utc::now().timestamp_millis(),
                },
            )
            .upsert(true)
            .await
            .map_err(map_err)
            .map(drop)
    }

    async fn deleted_visibility(
        &self,
        id: &RepoName,
    ) -> PortResult<Option<bioshadock_core::Visibility>> {
        let found = self
            .deleted
            .find_one(doc! { "_id": id.as_str() })
            .await
            .map_err(map_err)?;
        // An unreadable value is taken as private: the record exists to narrow, never widen.
        Ok(found.map(|d| {
            d.get_str("visibility")
                .ok()
                .and_then(bioshadock_core::Visibility::parse)
                .unwrap_or(bioshadock_core::Visibility::Private)
        }))
    }
}
