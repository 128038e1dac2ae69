//! The robots port on SQLite.

use async_trait::async_trait;
use bioshadock_core::accounts::UserName;
use bioshadock_core::ports::robots::RobotStore;
use bioshadock_core::robots::{Robot, RobotName, RobotPermission};
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};

use super::{SqliteStore, corrupt, found, from_millis, map_err};

const COLUMNS: &str =
    "name, permission, repositories, created_by, created_at, expires_at, disabled";

type Row = (String, String, String, String, i64, Option<i64>, bool);

#[async_trait]
impl RobotStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(robot = %robot.name), err(level = "debug"))]
    async fn create_robot(&self, robot: &Robot, token_hash: &str) -> PortResult<()> {
        sqlx::query(
            "INSERT INTO robots (name, owner, permission, repositories, created_by, created_at, \
               expires_at, disabled, token_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(robot.name.as_str())
        .bind(robot.name.owner())
        .bind(robot.permission.as_str())
        .bind(repositories_json(robot)?)
        .bind(robot.created_by.as_str())
        .bind(robot.created_at.timestamp_millis())
        .bind(robot.expires_at.map(|t| t.timestamp_millis()))
        .bind(robot.disabled)
        .bind(token_hash)
        .execute(self.pool())
        .await
        .map_err(map_err)
        .map(drop)
    }

    #[tracing::instrument(skip_all, fields(robot = %name), err(level = "debug"))]
    async fn find_robot(&self, name: &RobotName) -> PortResult<(Robot, String)> {
        let sql = format!("SELECT {COLUMNS}, token_hash FROM robots WHERE name = ?1");
        let (a, b, c, d, e, f, g, hash): (
            String,
            String,
            String,
            String,
            i64,
            Option<i64>,
            bool,
            String,
        ) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name.as_str())
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        Ok((robot((a, b, c, d, e, f, g))?, hash))
    }

    #[tracing::instrument(skip_all, fields(owner), err(level = "debug"))]
    async fn list_robots(&self, owner: &str) -> PortResult<Vec<Robot>> {
        let sql = format!("SELECT {COLUMNS} FROM robots WHERE owner = ?1 ORDER BY name");
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.into_iter().map(robot).collect()
    }

    #[tracing::instrument(skip_all, fields(robot = %robot.name), err(level = "debug"))]
    async fn update_robot(&self, robot: &Robot) -> PortResult<()> {
        let done = sqlx::query(
            "UPDATE robots SET permission = ?2, repositories = ?3, expires_at = ?4, \
             disabled = ?5 WHERE name = ?1",
        )
        .bind(robot.name.as_str())
        .bind(robot.permission.as_str())
        .bind(repositories_json(robot)?)
        .bind(robot.expires_at.map(|t| t.timestamp_millis()))
        .bind(robot.disabled)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, fields(robot = %name), err(level = "debug"))]
    async fn set_robot_token(
        &self,
        name: &RobotName,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> PortResult<()> {
        let done =
            sqlx::query("UPDATE robots SET token_hash = ?2, expires_at = ?3 WHERE name = ?1")
                .bind(name.as_str())
                .bind(token_hash)
                .bind(expires_at.map(|t| t.timestamp_millis()))
                .execute(self.pool())
                .await
                .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, fields(robot = %name), err(level = "debug"))]
    async fn delete_robot(&self, name: &RobotName) -> PortResult<()> {
        let done = sqlx::query("DELETE FROM robots WHERE name = ?1")
            .bind(name.as_str())
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, fields(owner), err(level = "debug"))]
    async fn delete_robots_of(&self, owner: &str) -> PortResult<u64> {
        let done = sqlx::query("DELETE FROM robots WHERE owner = ?1")
            .bind(owner)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}

fn repositories_json(robot: &Robot) -> PortResult<String> {
    serde_json::to_string(&robot.repositories).map_err(PortError::backend)
}

fn robot(
    (name, permission, repositories, created_by, created_at, expires_at, disabled): Row,
) -> PortResult<Robot> {
    Ok(Robot {
        name: RobotName::parse(&name).map_err(|e| corrupt(format!("robot name: {e}")))?,
        permission: RobotPermission::parse(&permission)
            .ok_or_else(|| corrupt(format!("robot permission `{permission}`")))?,
        repositories: serde_json::from_str(&repositories)
            .map_err(|e| corrupt(format!("robot repositories: {e}")))?,
        created_by: UserName::parse(&created_by)
            .map_err(|e| corrupt(format!("robot creator: {e}")))?,
        created_at: from_millis(created_at)?,
        expires_at: expires_at.map(from_millis).transpose()?,
        disabled,
    })
}
