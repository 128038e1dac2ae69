//! The catalogue store on SQLite.
//!
//! A container is read as one row: its tags come from `tags_json`, a copy kept exact by
//! triggers on `tags` (migration 0004), and its members from a small correlated
//! `json_group_array`, so a page of 24 is one query. Writes pass whole batches as one JSON
//! array that SQLite unpacks with `json_each`, so seeding 100,000 containers is a few hundred
//! statements, not a few hundred thousand.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use bioshadock_core::ports::store::{
    ContainerSettings, ContainerStore, ListCursor, changed_meanwhile,
};
use bioshadock_core::{Audience, Container, Member, PortError, PortResult, RepoName, Tag, TagName};
use sqlx::{AssertSqlSafe, SqliteConnection, SqlitePool};

use self::rows::{ContainerJson, ContainerRow, INSERT_CONTAINERS, INSERT_MEMBERS, INSERT_TAGS};
use self::rows::{MemberJson, TagJson, UPSERT_CONTAINERS, json};
use self::sql::{CLEAR_MEMBERS, CLEAR_TAGS};
use self::sql::{SELECT_MANY, SELECT_ONE, UPDATE_SETTINGS};
use super::{begin_write, found, map_err, to_i64};

mod rows;
mod sql;

/// Labels are one JSON object column; `updated_at` is left alone (labels follow a push,
/// which already bumped it).
const SET_LABELS: &str = "UPDATE containers SET labels = ?2 WHERE id = ?1";

/// Containers per write statement: large enough to amortise the statement, small enough to
/// keep the JSON argument a few hundred kilobytes.
const WRITE_CHUNK: usize = 500;

/// The store port on an embedded SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// A store on a pool from [`super::open`] (migrations already run).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// The pool, for the other ports this store implements (accounts).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Writes containers and their full tag and member sets inside the caller's transaction.
    /// `replace` upserts; otherwise an existing id is a unique violation (`Conflict`).
    async fn write(
        conn: &mut SqliteConnection,
        batch: &[&Container],
        replace: bool,
    ) -> PortResult<()> {
        let insert = if replace {
            UPSERT_CONTAINERS
        } else {
            INSERT_CONTAINERS
        };
        for chunk in batch.chunks(WRITE_CHUNK) {
            let rows = chunk
                .iter()
                .map(|c| ContainerJson::of(c))
                .collect::<PortResult<Vec<_>>>()?;
            let tags = chunk
                .iter()
                .flat_map(|c| c.tags.iter().map(|t| TagJson::of(&c.id, t)))
                .collect::<PortResult<Vec<_>>>()?;
            let members: Vec<MemberJson> = chunk
                .iter()
                .flat_map(|c| c.members.iter().map(|m| MemberJson::of(&c.id, m)))
                .collect();
            let ids = json(&chunk.iter().map(|c| c.id.as_str()).collect::<Vec<_>>())?;
            sqlx::query(insert)
                .bind(json(&rows)?)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            for (clear, insert, values) in [
                (CLEAR_TAGS, INSERT_TAGS, json(&tags)?),
                (CLEAR_MEMBERS, INSERT_MEMBERS, json(&members)?),
            ] {
                sqlx::query(clear)
                    .bind(&ids)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
                sqlx::query(insert)
                    .bind(values)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
            }
        }
        Ok(())
    }

    /// Replaces the member set of one container inside the caller's transaction.
    async fn replace_members(
        conn: &mut SqliteConnection,
        id: &RepoName,
        members: &[Member],
    ) -> PortResult<()> {
        let ids = json(&[id.as_str()])?;
        let members: Vec<MemberJson> = members.iter().map(|m| MemberJson::of(id, m)).collect();
        sqlx::query(CLEAR_MEMBERS)
            .bind(ids)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        sqlx::query(INSERT_MEMBERS)
            .bind(json(&members)?)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn put_all(&self, batch: &[&Container]) -> PortResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        Self::write(&mut tx, batch, true).await?;
        tx.commit().await.map_err(map_err)
    }
}

#[async_trait]
impl ContainerStore for SqliteStore {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn create(&self, container: &Container) -> PortResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        Self::write(&mut tx, &[container], false).await?;
        tx.commit().await.map_err(map_err)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn put(&self, container: &Container) -> PortResult<()> {
        self.put_all(&[container]).await
    }

    #[tracing::instrument(skip_all, fields(n = containers.len()), err(level = "debug"))]
    async fn put_many(&self, containers: &[Container]) -> PortResult<()> {
        // As sequential puts would: the last copy of a repeated id wins.
        let mut last: HashMap<&RepoName, usize> = HashMap::with_capacity(containers.len());
        for (i, c) in containers.iter().enumerate() {
            last.insert(&c.id, i);
        }
        let batch: Vec<&Container> = containers
            .iter()
            .enumerate()
            .filter(|(i, c)| last[&c.id] == *i)
            .map(|(_, c)| c)
            .collect();
        self.put_all(&batch).await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn get(&self, id: &RepoName) -> PortResult<Container> {
        let row: Option<ContainerRow> = sqlx::query_as(SELECT_ONE)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.ok_or(PortError::NotFound)?.into_container()
    }

    #[tracing::instrument(skip_all, fields(n = ids.len()), err(level = "debug"))]
    async fn get_many(&self, ids: &[RepoName]) -> PortResult<Vec<Container>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<&str> = ids.iter().map(RepoName::as_str).collect();
        let rows: Vec<ContainerRow> = sqlx::query_as(SELECT_MANY)
            .bind(json(&keys)?)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in rows {
            let c = row.into_container()?;
            found.insert(c.id.clone(), c);
        }
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn update_settings(&self, id: &RepoName, settings: &ContainerSettings) -> PortResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        let done = sqlx::query(UPDATE_SETTINGS)
            .bind(id.as_str())
            .bind(&settings.description)
            .bind(settings.visibility.as_str())
            .bind(settings.git.as_deref())
            .bind(settings.dockerfile.as_deref())
            .bind(settings.descriptor.as_deref())
            .bind(super::store::rows::json(&settings.policy)?)
            .bind(settings.updated_at.timestamp_millis())
            .bind(settings.read_at.timestamp_millis())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM containers WHERE id = ?1")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            return Err(match exists {
                Some(_) => changed_meanwhile(id),
                None => PortError::NotFound,
            });
        }
        Self::replace_members(&mut tx, id, &settings.members).await?;
        tx.commit().await.map_err(map_err)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete(&self, id: &RepoName) -> PortResult<()> {
        // Tags and members go with it: ON DELETE CASCADE.
        let done = sqlx::query("DELETE FROM containers WHERE id = ?1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn list(
        &self,
        audience: &Audience,
        offset: u64,
        limit: usize,
    ) -> PortResult<Vec<Container>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut query = sqlx::query_as(AssertSqlSafe(sql::list(audience)))
            .bind(to_i64(limit as u64))
            .bind(to_i64(offset));
        for value in sql::reader_binds(audience) {
            query = query.bind(value);
        }
        let rows: Vec<ContainerRow> = query.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.into_iter().map(ContainerRow::into_container).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn list_after(
        &self,
        audience: &Audience,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> PortResult<Vec<Container>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (t, id) = after.map_or((0, ""), |c| {
            (c.updated_at.timestamp_millis(), c.id.as_str())
        });
        let sql = sql::list_after(audience, after.is_some());
        let mut query = sqlx::query_as(AssertSqlSafe(sql))
            .bind(to_i64(limit as u64))
            .bind(t)
            .bind(id);
        for value in sql::reader_binds(audience) {
            query = query.bind(value);
        }
        let rows: Vec<ContainerRow> = query.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.into_iter().map(ContainerRow::into_container).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn count(&self, audience: &Audience) -> PortResult<u64> {
        let sql = sql::count(audience);
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql.into_owned()));
        for value in sql::reader_binds(audience) {
            query = query.bind(value);
        }
        let n: Option<i64> = query.fetch_one(&self.pool).await.map_err(map_err)?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn put_tag(&self, id: &RepoName, tag: &Tag) -> PortResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        let pushed_at = tag.pushed_at.timestamp_millis();
        let bumped =
            sqlx::query("UPDATE containers SET updated_at = max(updated_at, ?2) WHERE id = ?1")
                .bind(id.as_str())
                .bind(pushed_at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if bumped.rows_affected() == 0 {
            return Err(PortError::NotFound);
        }
        sqlx::query(INSERT_TAGS)
            .bind(json(&[TagJson::of(id, tag)?])?)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn delete_tag(&self, id: &RepoName, tag: &TagName) -> PortResult<()> {
        let done = sqlx::query("DELETE FROM tags WHERE container_id = ?1 AND name = ?2")
            .bind(id.as_str())
            .bind(tag.as_str())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn add_pulls(&self, id: &RepoName, n: u64) -> PortResult<()> {
        let done = sqlx::query("UPDATE containers SET pulls = pulls + ?2 WHERE id = ?1")
            .bind(id.as_str())
            .bind(to_i64(n))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn set_labels(&self, id: &RepoName, labels: &BTreeMap<String, String>) -> PortResult<()> {
        let done = sqlx::query(SET_LABELS)
            .bind(id.as_str())
            .bind(json(labels)?)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        found(done)
    }

    async fn ping(&self) -> PortResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)
            .map(drop)
    }

    async fn record_deletion(
        &self,
        id: &RepoName,
        visibility: bioshadock_core::Visibility,
    ) -> PortResult<()> {
        sqlx::query(
            "INSERT INTO deleted_containers (id, visibility, deleted_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET visibility = excluded.visibility, \
               deleted_at = excluded.deleted_at",
        )
        .bind(id.as_str())
        .bind(visibility.as_str())
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&self.pool)
        .await
        .map_err(map_err)
        .map(drop)
    }

    async fn deleted_visibility(
        &self,
        id: &RepoName,
    ) -> PortResult<Option<bioshadock_core::Visibility>> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT visibility FROM deleted_containers WHERE id = ?1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        // An unreadable value is taken as private: the record exists to narrow, never widen.
        Ok(stored.map(|v| {
            bioshadock_core::Visibility::parse(&v).unwrap_or(bioshadock_core::Visibility::Private)
        }))
    }
}

#[cfg(test)]
mod tests;
