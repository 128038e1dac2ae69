//! The job queue on SQLite.
//!
//! Every state change is one `UPDATE ... WHERE <expected state> RETURNING` statement, and the
//! multi-statement ones (enqueue's dedupe, lease's fairness bookkeeping) run in `BEGIN
//! IMMEDIATE` transactions: SQLite has one writer at a time, so two workers can never lease the
//! same job and two enqueues of one dedupe key can never both insert.

use std::time::Duration;

use async_trait::async_trait;
use bioshadock_core::model::now;
use bioshadock_core::ports::queue::{Enqueued, Job, JobQueue, JobState, NewJob, Outcome};
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqlitePool};

use self::rows::{JobRow, state_str};
use super::{begin_write, map_err};

mod rows;

/// The columns of [`JobRow`]. Macros rather than consts so `concat!` makes static SQL of them.
macro_rules! columns {
    () => {
        "id, kind, owner, dedupe_key, payload, state, worker, lease_until, enqueued_at, attempts"
    };
}

/// The next job to lease, by the port's fairness rule: the owner with the fewest leased jobs,
/// then the owner whose last lease is oldest (never leased first), then the oldest job. Each
/// owner competes with its oldest queued job only.
macro_rules! next_job {
    () => {
        "SELECT q.id \
         FROM (SELECT owner, min(id) AS id FROM jobs WHERE state = 'queued' GROUP BY owner) AS q \
         LEFT JOIN (SELECT owner, count(*) AS n FROM jobs WHERE state = 'leased' GROUP BY owner) \
           AS l ON l.owner = q.owner \
         LEFT JOIN queue_owners AS o ON o.owner = q.owner \
         ORDER BY coalesce(l.n, 0), o.last_lease_seq ASC NULLS FIRST, q.id \
         LIMIT 1"
    };
}

/// The queue port on an embedded SQLite database.
#[derive(Clone)]
pub struct SqliteQueue {
    pool: SqlitePool,
}

impl SqliteQueue {
    /// A queue on a pool from [`super::open`] (migrations already run).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Why a guarded update touched no row: the job is absent (`NotFound`) or not in the
    /// state the caller expected (`Conflict`).
    async fn missed(conn: &mut SqliteConnection, job_id: i64, what: &str) -> PortError {
        let exists = sqlx::query_scalar::<_, i64>("SELECT 1 FROM jobs WHERE id = ?1")
            .bind(job_id)
            .fetch_optional(conn)
            .await;
        match exists {
            Ok(Some(_)) => PortError::Conflict(format!("job {job_id} {what}")),
            Ok(None) => PortError::NotFound,
            Err(e) => map_err(e),
        }
    }
}

#[async_trait]
impl JobQueue for SqliteQueue {
    #[tracing::instrument(skip_all, fields(kind = %job.kind), err(level = "debug"))]
    async fn enqueue(&self, job: NewJob) -> PortResult<Enqueued> {
        let payload = serde_json::to_string(&job.payload).map_err(PortError::backend)?;
        let mut tx = begin_write(&self.pool).await?;
        if let Some(key) = &job.dedupe_key {
            let sql = concat!(
                "SELECT ",
                columns!(),
                " FROM jobs WHERE dedupe_key = ?1 AND state IN ('queued', 'leased')"
            );
            let live: Option<JobRow> = sqlx::query_as(sql)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            if let Some(live) = live {
                tx.commit().await.map_err(map_err)?;
                return Ok(Enqueued {
                    job: live.into_job()?,
                    deduplicated: true,
                });
            }
        }
        let sql = concat!(
            "INSERT INTO jobs (kind, owner, dedupe_key, payload, state, enqueued_at, attempts) \
             VALUES (?1, ?2, ?3, ?4, 'queued', ?5, 0) RETURNING ",
            columns!()
        );
        let row: JobRow = sqlx::query_as(sql)
            .bind(&job.kind)
            .bind(&job.owner)
            .bind(&job.dedupe_key)
            .bind(payload)
            .bind(now().timestamp_millis())
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Enqueued {
            job: row.into_job()?,
            deduplicated: false,
        })
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn lease(&self, worker: &str, lease: Duration) -> PortResult<Option<Job>> {
        let mut tx = begin_write(&self.pool).await?;
        let sql = concat!(
            "UPDATE jobs SET state = 'leased', worker = ?1, lease_until = ?2, attempts = attempts + 1 \
             WHERE id = (",
            next_job!(),
            ") AND state = 'queued' RETURNING ",
            columns!()
        );
        let row: Option<JobRow> = sqlx::query_as(sql)
            .bind(worker)
            .bind(until(now(), lease))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            tx.commit().await.map_err(map_err)?;
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO queue_owners (owner, last_lease_seq) \
             VALUES (?1, (SELECT coalesce(max(last_lease_seq), 0) + 1 FROM queue_owners)) \
             ON CONFLICT (owner) DO UPDATE SET last_lease_seq = excluded.last_lease_seq",
        )
        .bind(&row.owner)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        row.into_job().map(Some)
    }

    #[tracing::instrument(skip_all, fields(job_id = job_id), err(level = "debug"))]
    async fn heartbeat(&self, job_id: i64, worker: &str, lease: Duration) -> PortResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND state = 'leased' AND worker = ?2",
        )
        .bind(job_id)
        .bind(worker)
        .bind(until(now(), lease))
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        Err(Self::missed(&mut conn, job_id, "is not leased by this worker").await)
    }

    #[tracing::instrument(skip_all, fields(job_id = job_id), err(level = "debug"))]
    async fn complete(&self, job_id: i64, worker: &str, outcome: Outcome) -> PortResult<()> {
        let state = match outcome {
            Outcome::Done => JobState::Done,
            Outcome::Failed => JobState::Failed,
        };
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE jobs SET state = ?3, worker = NULL, lease_until = NULL, finished_at = ?4 \
             WHERE id = ?1 AND state = 'leased' AND worker = ?2",
        )
        .bind(job_id)
        .bind(worker)
        .bind(state_str(state))
        .bind(now().timestamp_millis())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        Err(Self::missed(&mut conn, job_id, "is not leased by this worker").await)
    }

    #[tracing::instrument(skip_all, fields(job_id = job_id), err(level = "debug"))]
    async fn cancel(&self, job_id: i64) -> PortResult<Job> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let sql = concat!(
            "UPDATE jobs SET state = 'cancelled', worker = NULL, lease_until = NULL, finished_at = ?2 \
             WHERE id = ?1 AND state IN ('queued', 'leased') RETURNING ",
            columns!()
        );
        let row: Option<JobRow> = sqlx::query_as(sql)
            .bind(job_id)
            .bind(now().timestamp_millis())
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
        match row {
            Some(row) => row.into_job(),
            None => Err(Self::missed(&mut conn, job_id, "is already finished").await),
        }
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn reap_expired(&self, now: DateTime<Utc>) -> PortResult<Vec<Job>> {
        let sql = concat!(
            "UPDATE jobs SET state = 'failed', worker = NULL, lease_until = NULL, finished_at = ?1 \
             WHERE state = 'leased' AND lease_until < ?1 RETURNING ",
            columns!()
        );
        let rows: Vec<JobRow> = sqlx::query_as(sql)
            .bind(now.timestamp_millis())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut jobs = rows
            .into_iter()
            .map(JobRow::into_job)
            .collect::<PortResult<Vec<_>>>()?;
        jobs.sort_by_key(|j| j.id); // RETURNING has no defined order
        Ok(jobs)
    }

    #[tracing::instrument(skip_all, fields(job_id = job_id), err(level = "debug"))]
    async fn get(&self, job_id: i64) -> PortResult<Job> {
        let sql = concat!("SELECT ", columns!(), " FROM jobs WHERE id = ?1");
        let row: Option<JobRow> = sqlx::query_as(sql)
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.ok_or(PortError::NotFound)?.into_job()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn pending_for(&self, owner: &str) -> PortResult<u64> {
        // Two counts so each one walks its partial index.
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM jobs WHERE owner = ?1 AND state = 'queued') \
                  + (SELECT count(*) FROM jobs WHERE owner = ?1 AND state = 'leased')",
        )
        .bind(owner)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(n.max(0) as u64)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn queued_count(&self) -> PortResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'queued'")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(n.max(0) as u64)
    }

    async fn reserve_ids_through(&self, last_id: i64) -> PortResult<()> {
        // AUTOINCREMENT keeps the highest id ever used in sqlite_sequence; a row appears there
        // with the first insert, so create it when the table never had one.
        let mut tx = begin_write(&self.pool).await?;
        let updated =
            sqlx::query("UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'jobs'")
                .bind(last_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', ?1)")
                .bind(last_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }
}

/// `from + lease` in unix milliseconds, saturating for absurd leases.
fn until(from: DateTime<Utc>, lease: Duration) -> i64 {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    from.timestamp_millis().saturating_add(lease_ms)
}
