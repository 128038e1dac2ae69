//! The catalogue store on SQLite.
//!
//! A container is read with its tags in the same row (a correlated `json_group_array`), so a
//! page of 24 is one query. Writes pass whole batches as one JSON array that SQLite unpacks with
//! `json_each`, so seeding 100,000 containers is a few hundred statements, not a few hundred
//! thousand.

use std::collections::HashMap;

use async_trait::async_trait;
use bioshadock_core::ports::store::{ContainerStore, ListCursor};
use bioshadock_core::{Audience, Container, PortError, PortResult, RepoName, Tag, TagName};
use sqlx::{AssertSqlSafe, SqliteConnection, SqlitePool};

use self::rows::{ContainerJson, ContainerRow, INSERT_CONTAINERS, INSERT_TAGS, TagJson};
use self::rows::{UPSERT_CONTAINERS, json};
use super::{begin_write, found, map_err, to_i64};

mod rows;

/// Containers per write statement: large enough to amortise the statement, small enough to
/// keep the JSON argument a few hundred kilobytes.
const WRITE_CHUNK: usize = 500;

/// Every read selects these columns, in the order of [`ContainerRow`]. A macro so that
/// `concat!` can make static SQL of it.
macro_rules! select {
    () => {
        "SELECT c.id, c.owner, c.description, c.visibility, c.git, c.dockerfile, c.labels, \
           c.pulls, c.created_at, c.updated_at, \
           (SELECT json_group_array(json_array(t.name, t.digest, t.size, json(t.platforms), \
              t.pushed_at)) FROM tags t WHERE t.container_id = c.id) AS tags \
         FROM containers c"
    };
}
const SELECT: &str = select!();

const NEWEST_FIRST: &str = "ORDER BY c.updated_at DESC, c.id ASC";

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

    /// Writes containers and their full tag sets inside the caller's transaction. `replace`
    /// upserts; otherwise an existing id is a unique violation (`Conflict`).
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
            let ids: Vec<&str> = chunk.iter().map(|c| c.id.as_str()).collect();
            sqlx::query(insert)
                .bind(json(&rows)?)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            sqlx::query("DELETE FROM tags WHERE container_id IN (SELECT value FROM json_each(?1))")
                .bind(json(&ids)?)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            sqlx::query(INSERT_TAGS)
                .bind(json(&tags)?)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
        }
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
        let sql = concat!(select!(), " WHERE c.id = ?1");
        let row: Option<ContainerRow> = sqlx::query_as(sql)
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
        let sql = concat!(
            select!(),
            " WHERE c.id IN (SELECT value FROM json_each(?1))"
        );
        let rows: Vec<ContainerRow> = sqlx::query_as(sql)
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
    async fn delete(&self, id: &RepoName) -> PortResult<()> {
        // Tags go with it: ON DELETE CASCADE.
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
        let sql = format!(
            "{SELECT} {} {NEWEST_FIRST} LIMIT ?1 OFFSET ?2",
            visible_to(audience, 3)
        );
        let mut query = sqlx::query_as(AssertSqlSafe(sql))
            .bind(to_i64(limit as u64))
            .bind(to_i64(offset));
        if let Some(user) = audience.user() {
            query = query.bind(user);
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
        // `updated_at <= t` is the range the index seeks to; the OR then drops the rows of
        // the cursor's own instant up to and including the cursor's id.
        let (keyset, t, id) = match after {
            Some(c) => (
                "c.updated_at <= ?2 AND (c.updated_at < ?2 OR c.id > ?3)",
                c.updated_at.timestamp_millis(),
                c.id.as_str(),
            ),
            None => ("1", 0, ""),
        };
        let visible = visible_to(audience, 4);
        let sql = format!("{SELECT} {visible} AND {keyset} {NEWEST_FIRST} LIMIT ?1");
        let mut query = sqlx::query_as(AssertSqlSafe(sql))
            .bind(to_i64(limit as u64))
            .bind(t)
            .bind(id);
        if let Some(user) = audience.user() {
            query = query.bind(user);
        }
        let rows: Vec<ContainerRow> = query.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.into_iter().map(ContainerRow::into_container).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn count(&self, audience: &Audience) -> PortResult<u64> {
        // Whole-visibility counts come from the trigger-kept `container_counts`; only a user's
        // own private containers are counted, through the owner index.
        let query = match audience {
            Audience::Public => {
                sqlx::query_scalar("SELECT n FROM container_counts WHERE visibility = 'public'")
            }
            Audience::Everyone => {
                sqlx::query_scalar("SELECT coalesce(sum(n), 0) FROM container_counts")
            }
            Audience::User(user) => sqlx::query_scalar(
                "SELECT (SELECT n FROM container_counts WHERE visibility = 'public') \
                  + (SELECT count(*) FROM containers WHERE owner = ?1 AND visibility = 'private')",
            )
            .bind(user.as_str()),
        };
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

    async fn ping(&self) -> PortResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)
            .map(drop)
    }
}

/// What follows `FROM containers c` to keep what `audience` may see: an optional index hint
/// and a `WHERE` condition; a user's name is bound as `?{param}`. Literal SQL per audience, so
/// the public catalogue walks `containers_visible_newest`. For a user, SQLite would otherwise
/// merge two index searches and sort every public row; walking `containers_newest` (which
/// holds visibility and owner) in order stops after one page.
fn visible_to(audience: &Audience, param: usize) -> String {
    match audience {
        Audience::Public => "WHERE c.visibility = 'public'".to_owned(),
        Audience::User(_) => format!(
            "INDEXED BY containers_newest WHERE (c.visibility = 'public' OR c.owner = ?{param})"
        ),
        Audience::Everyone => "WHERE 1".to_owned(),
    }
}
