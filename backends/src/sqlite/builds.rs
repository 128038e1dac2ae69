//! Build records and their logs on SQLite.
//!
//! Every state change is one `UPDATE ... WHERE status IN (<states it may start from>)
//! RETURNING` statement, so a cancel and a worker finishing at the same moment cannot both
//! win: SQLite has one writer at a time, and the loser's guard no longer matches. A log append
//! reserves its seqs and inserts its lines in one `BEGIN IMMEDIATE` transaction, so two
//! appenders to one build never interleave or reuse a seq.

use async_trait::async_trait;
use bioshadock_core::ports::builds::{
    Build, BuildStore, BuiltDescriptor, BuiltDockerfile, Finish, LogLine, NewBuild, stored_line,
};
use bioshadock_core::{PortError, PortResult, RepoName};
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqlitePool};

use self::rows::{BuildRow, source_columns};
use super::{begin_write, json, map_err, to_i64};

mod rows;

/// The columns of [`BuildRow`]. A macro rather than a const so `concat!` makes static SQL.
macro_rules! columns {
    () => {
        "id, container, tag, requested_by, source_kind, source, status, reason, revision, \
         digest, worker, queued_at, started_at, finished_at, log_lines, options"
    };
}

/// A container's builds, newest first: walks `builds_container` and stops after `?2`.
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM builds WHERE container = ?1 ORDER BY id DESC LIMIT ?2"
);

/// Live builds, oldest first. The condition is the partial index's word for word, which is
/// what lets SQLite walk `builds_live`.
const LIVE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM builds WHERE status IN ('queued', 'running') ORDER BY id"
);

/// A page of a log: one range of `build_log`'s primary key.
const LOG_PAGE: &str = "SELECT seq, line FROM build_log WHERE build_id = ?1 AND seq > ?2 \
                        ORDER BY seq LIMIT ?3";

/// The build-record port on an embedded SQLite database.
#[derive(Clone)]
pub struct SqliteBuildStore {
    pool: SqlitePool,
}

impl SqliteBuildStore {
    /// A build store on a pool from [`super::open`] (migrations already run).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Why a guarded update touched no row: the build is absent (`NotFound`) or not in a
    /// state the change may start from (`Conflict`).
    async fn missed(conn: &mut SqliteConnection, id: i64, what: &str) -> PortError {
        let status = sqlx::query_scalar::<_, String>("SELECT status FROM builds WHERE id = ?1")
            .bind(id)
            .fetch_optional(conn)
            .await;
        match status {
            Ok(Some(status)) => PortError::Conflict(format!("build {id} is {status}: {what}")),
            Ok(None) => PortError::NotFound,
            Err(e) => map_err(e),
        }
    }
}

#[async_trait]
impl BuildStore for SqliteBuildStore {
    #[tracing::instrument(skip_all, fields(build_id = build.id), err(level = "debug"))]
    async fn create(&self, build: NewBuild) -> PortResult<Build> {
        let (kind, source) = source_columns(&build.source);
        let sql = concat!(
            "INSERT INTO builds (id, container, tag, requested_by, source_kind, source, status, \
             queued_at, log_lines, options) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, 0, ?8) \
             RETURNING ",
            columns!()
        );
        // A taken id is a primary-key violation, which `map_err` turns into `Conflict`.
        let row: BuildRow = sqlx::query_as(sql)
            .bind(build.id)
            .bind(build.container.as_str())
            .bind(build.tag.as_str())
            .bind(&build.requested_by)
            .bind(kind)
            .bind(source)
            .bind(build.queued_at.timestamp_millis())
            .bind(json(&build.options)?)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        row.into_build()
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn get(&self, id: i64) -> PortResult<Build> {
        let sql = concat!("SELECT ", columns!(), " FROM builds WHERE id = ?1");
        let row: Option<BuildRow> = sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.ok_or(PortError::NotFound)?.into_build()
    }

    #[tracing::instrument(skip_all, fields(container = %container), err(level = "debug"))]
    async fn list(&self, container: &RepoName, limit: usize) -> PortResult<Vec<Build>> {
        let rows: Vec<BuildRow> = sqlx::query_as(LIST)
            .bind(container.as_str())
            .bind(to_i64(limit as u64))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.into_iter().map(BuildRow::into_build).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn live(&self) -> PortResult<Vec<Build>> {
        let rows: Vec<BuildRow> = sqlx::query_as(LIVE)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.into_iter().map(BuildRow::into_build).collect()
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn start(&self, id: i64, worker: &str, at: DateTime<Utc>) -> PortResult<Build> {
        let sql = concat!(
            "UPDATE builds SET status = 'running', worker = ?2, started_at = ?3 \
             WHERE id = ?1 AND status = 'queued' RETURNING ",
            columns!()
        );
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let row: Option<BuildRow> = sqlx::query_as(sql)
            .bind(id)
            .bind(worker)
            .bind(at.timestamp_millis())
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
        match row {
            Some(row) => row.into_build(),
            None => Err(Self::missed(&mut conn, id, "only a queued build can start").await),
        }
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn set_revision(&self, id: i64, revision: &str) -> PortResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let done =
            sqlx::query("UPDATE builds SET revision = ?2 WHERE id = ?1 AND status = 'running'")
                .bind(id)
                .bind(revision)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        Err(Self::missed(&mut conn, id, "only a running build has a revision").await)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn set_args(
        &self,
        id: i64,
        args: &std::collections::BTreeMap<String, String>,
    ) -> PortResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE builds SET options = json_set(options, '$.args', json(?2)) \
             WHERE id = ?1 AND status = 'running'",
        )
        .bind(id)
        .bind(json(args)?)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        Err(Self::missed(&mut conn, id, "only a running build records its args").await)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn set_dockerfile(&self, id: i64, dockerfile: &BuiltDockerfile) -> PortResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let done = sqlx::query(
            "INSERT INTO build_dockerfiles (build, path, text) \
             SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM builds WHERE id = ?1 AND status = 'running') \
             ON CONFLICT (build) DO UPDATE SET path = excluded.path, text = excluded.text",
        )
        .bind(id)
        .bind(&dockerfile.path)
        .bind(&dockerfile.text)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        Err(Self::missed(&mut conn, id, "only a running build records its Dockerfile").await)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn dockerfile(&self, id: i64) -> PortResult<Option<BuiltDockerfile>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT path, text FROM build_dockerfiles WHERE build = ?1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
        if let Some((path, text)) = found {
            return Ok(Some(BuiltDockerfile { path, text }));
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM builds WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
        exists.map(|_| None).ok_or(PortError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn set_descriptor(&self, id: i64, descriptor: &BuiltDescriptor) -> PortResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let done = sqlx::query(
            "INSERT INTO build_descriptors (build, kind, origin, text) \
             SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM builds WHERE id = ?1 AND status = 'running') \
             ON CONFLICT (build) DO UPDATE SET kind = excluded.kind, origin = excluded.origin, \
               text = excluded.text",
        )
        .bind(id)
        .bind(&descriptor.kind)
        .bind(&descriptor.origin)
        .bind(&descriptor.text)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        Err(Self::missed(&mut conn, id, "only a running build records its descriptor").await)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn descriptor(&self, id: i64) -> PortResult<Option<BuiltDescriptor>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let found: Option<(String, String, String)> =
            sqlx::query_as("SELECT kind, origin, text FROM build_descriptors WHERE build = ?1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
        if let Some((kind, origin, text)) = found {
            return Ok(Some(BuiltDescriptor { kind, origin, text }));
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM builds WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
        exists.map(|_| None).ok_or(PortError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(build_id = id, status = finish.status.as_str()), err(level = "debug"))]
    async fn finish(&self, id: i64, finish: Finish) -> PortResult<Build> {
        // A caller's bug, not a state of the build: refused before touching the database, and
        // as a backend error (the port has no "invalid argument" kind; `Conflict` would read
        // as "already ended").
        if !finish.status.is_final() {
            return Err(PortError::Backend(
                format!(
                    "build {id} cannot finish as {}: not a final status",
                    finish.status.as_str()
                )
                .into(),
            ));
        }
        let sql = concat!(
            "UPDATE builds SET status = ?2, reason = ?3, digest = ?4, finished_at = ?5 \
             WHERE id = ?1 AND status IN ('queued', 'running') RETURNING ",
            columns!()
        );
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let row: Option<BuildRow> = sqlx::query_as(sql)
            .bind(id)
            .bind(finish.status.as_str())
            .bind(finish.reason)
            .bind(finish.digest)
            .bind(finish.at.timestamp_millis())
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
        match row {
            Some(row) => row.into_build(),
            None => Err(Self::missed(&mut conn, id, "it has already ended").await),
        }
    }

    #[tracing::instrument(skip_all, fields(build_id = id, lines = lines.len()), err(level = "debug"))]
    async fn append_log(&self, id: i64, lines: &[String]) -> PortResult<u64> {
        if lines.is_empty() {
            let count: Option<i64> =
                sqlx::query_scalar("SELECT log_lines FROM builds WHERE id = ?1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
            return count.map(|n| n.max(0) as u64).ok_or(PortError::NotFound);
        }
        // One JSON array argument: the lines go in with one statement whatever their number.
        let stored: Vec<_> = lines.iter().map(|l| stored_line(l)).collect();
        let json = serde_json::to_string(&stored).map_err(PortError::backend)?;
        let n = to_i64(lines.len() as u64);

        let mut tx = begin_write(&self.pool).await?;
        // Reserve seqs `before + 1 ..= after` by bumping the count first; the write lock held
        // since BEGIN IMMEDIATE keeps any other appender out until we commit.
        let after: Option<i64> = sqlx::query_scalar(
            "UPDATE builds SET log_lines = log_lines + ?2 WHERE id = ?1 RETURNING log_lines",
        )
        .bind(id)
        .bind(n)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(after) = after else {
            return Err(PortError::NotFound); // dropping `tx` rolls back
        };
        // `key` is the line's 0-based index in the array.
        sqlx::query(
            "INSERT INTO build_log (build_id, seq, line) \
             SELECT ?1, ?2 + key + 1, value FROM json_each(?3)",
        )
        .bind(id)
        .bind(after - n)
        .bind(json)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(after.max(0) as u64)
    }

    #[tracing::instrument(skip_all, fields(build_id = id), err(level = "debug"))]
    async fn log(&self, id: i64, after: u64, limit: usize) -> PortResult<Vec<LogLine>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(LOG_PAGE)
            .bind(id)
            .bind(to_i64(after))
            .bind(to_i64(limit as u64))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(seq, text)| LogLine {
                seq: seq.max(0) as u64,
                text,
            })
            .collect())
    }

    #[tracing::instrument(skip_all, fields(container = %container), err(level = "debug"))]
    async fn delete_for_container(&self, container: &RepoName) -> PortResult<u64> {
        // One statement, so atomic; the logs go by `ON DELETE CASCADE`, which the count (rows
        // changed directly) leaves out.
        let done = sqlx::query("DELETE FROM builds WHERE container = ?1")
            .bind(container.as_str())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    //! Query plans of the reads that must stay cheap however long the history grows.

    use sqlx::{AssertSqlSafe, SqlitePool};

    /// The plan's detail lines, joined; `binds` are as many placeholder values as it takes.
    async fn plan(pool: &SqlitePool, statement: &str, binds: usize) -> String {
        let mut query = sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {statement}")));
        for _ in 0..binds {
            query = query.bind(1_i64);
        }
        let rows: Vec<(i64, i64, i64, String)> = query.fetch_all(pool).await.expect("explain");
        rows.into_iter()
            .map(|(_, _, _, detail)| detail)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn reads_walk_an_index_without_sorting() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = crate::sqlite::open(&dir.path().join("db.sqlite"))
            .await
            .expect("open");
        for (sql, binds, index) in [
            (super::LIVE, 0, "builds_live"),
            (super::LIST, 2, "builds_container"),
            (super::LOG_PAGE, 3, "PRIMARY KEY"),
        ] {
            let plan = plan(&pool, sql, binds).await;
            assert!(plan.contains(index), "{sql} does not use {index}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql} sorts: {plan}");
        }
    }

    /// Migration 0019 makes the `builds` table again (to allow `skipped`): a database made
    /// before it keeps every build with its log, Dockerfile and descriptor, and its indexes.
    #[tokio::test]
    async fn remaking_the_builds_table_keeps_builds_and_what_hangs_off_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let before = dir.path().join("before-0019");
        std::fs::create_dir(&before).expect("dir");
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for entry in std::fs::read_dir(&here).expect("migrations") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.as_bytes().first().is_some_and(u8::is_ascii_digit) && name < "0019" {
                std::fs::copy(&path, before.join(name)).expect("copy");
            }
        }
        let path = dir.path().join("db.sqlite");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .foreign_keys(true);
        let old = SqlitePool::connect_with(options).await.expect("connect");
        sqlx::migrate::Migrator::new(before.as_path())
            .await
            .expect("migrations before 0019")
            .run(&old)
            .await
            .expect("migrate to 0018");
        for statement in [
            "INSERT INTO builds (id, container, tag, requested_by, source_kind, source, status, \
             reason, revision, digest, worker, queued_at, started_at, finished_at, log_lines, \
             options) VALUES (7, 'lab/tool', 'latest', 'alice', 'git', 'https://example.org/t', \
             'success', NULL, 'abc', 'sha256:00', 'w1', 1, 2, 3, 2, '{\"no_cache\":true}')",
            "INSERT INTO build_log (build_id, seq, line) VALUES (7, 1, 'one'), (7, 2, 'two')",
            "INSERT INTO build_dockerfiles (build, path, text) VALUES (7, 'Dockerfile', 'FROM x')",
        ] {
            sqlx::query(statement).execute(&old).await.expect(statement);
        }
        old.close().await;

        let pool = crate::sqlite::open(&path)
            .await
            .expect("migrate to the newest");
        let build: (String, String, i64, String) =
            sqlx::query_as("SELECT status, revision, log_lines, options FROM builds WHERE id = 7")
                .fetch_one(&pool)
                .await
                .expect("the build is still there");
        assert_eq!(
            build,
            (
                "success".into(),
                "abc".into(),
                2,
                "{\"no_cache\":true}".into()
            )
        );
        let kept: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM build_log WHERE build_id = 7), \
                    (SELECT count(*) FROM build_dockerfiles WHERE build = 7)",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
        assert_eq!(
            kept,
            (2, 1),
            "the log and the Dockerfile were not cascaded away"
        );
        sqlx::query("UPDATE builds SET status = 'skipped' WHERE id = 7")
            .execute(&pool)
            .await
            .expect("skipped is a status now");
        assert!(
            sqlx::query("UPDATE builds SET status = 'bogus' WHERE id = 7")
                .execute(&pool)
                .await
                .is_err(),
            "the CHECK still refuses unknown statuses"
        );
        // Deleting a build still cascades: the foreign keys point at the new table.
        sqlx::query("DELETE FROM builds WHERE id = 7")
            .execute(&pool)
            .await
            .expect("delete");
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM build_log")
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(left, 0);
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&pool)
            .await
            .expect("pragma");
        assert_eq!(foreign_keys, 1, "foreign keys are on again");
        assert!(plan(&pool, super::LIVE, 0).await.contains("builds_live"));
    }
}
