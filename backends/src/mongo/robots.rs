//! The robots port on MongoDB: collection `robots`, `{_id: "owner+name", owner, permission,
//! repositories: [..], created_by, created_at, expires_at, disabled, token_hash}`, indexed on
//! `owner`. Times are Int64 milliseconds, as in the accounts collections.

use async_trait::async_trait;
use bioshadock_core::ports::robots::RobotStore;
use bioshadock_core::robots::{Robot, RobotName, RobotPermission};
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use super::accounts::{
    MongoAccounts, boolean, corrupt, millis, optional_millis, string, user_name,
};
use super::map_err;

#[async_trait]
impl RobotStore for MongoAccounts {
    #[tracing::instrument(skip_all, fields(robot = %robot.name), err(level = "debug"))]
    async fn create_robot(&self, robot: &Robot, token_hash: &str) -> PortResult<()> {
        let mut document = fields(robot);
        document.insert("_id", robot.name.as_str());
        document.insert("owner", robot.name.owner());
        document.insert("created_by", robot.created_by.as_str());
        document.insert("created_at", robot.created_at.timestamp_millis());
        document.insert("token_hash", token_hash);
        // A taken name is a duplicate `_id`, which `map_err` turns into `Conflict`.
        self.robots
            .insert_one(document)
            .await
            .map_err(map_err)
            .map(drop)
    }

    #[tracing::instrument(skip_all, fields(robot = %name), err(level = "debug"))]
    async fn find_robot(&self, name: &RobotName) -> PortResult<(Robot, String)> {
        let found = self
            .robots
            .find_one(doc! { "_id": name.as_str() })
            .await
            .map_err(map_err)?
            .ok_or(PortError::NotFound)?;
        Ok((robot_from(&found)?, string(&found, "token_hash", "robot")?))
    }

    #[tracing::instrument(skip_all, fields(owner), err(level = "debug"))]
    async fn list_robots(&self, owner: &str) -> PortResult<Vec<Robot>> {
        let found: Vec<Document> = self
            .robots
            .find(doc! { "owner": owner })
            .projection(doc! { "token_hash": 0 })
            .sort(doc! { "_id": 1 })
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(robot_from).collect()
    }

    #[tracing::instrument(skip_all, fields(robot = %robot.name), err(level = "debug"))]
    async fn update_robot(&self, robot: &Robot) -> PortResult<()> {
        super::set_by_id(&self.robots, robot.name.as_str(), fields(robot)).await
    }

    #[tracing::instrument(skip_all, fields(robot = %name), err(level = "debug"))]
    async fn set_robot_token(
        &self,
        name: &RobotName,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> PortResult<()> {
        let expires = expires_at.map_or(Bson::Null, |t| Bson::Int64(t.timestamp_millis()));
        let set = doc! { "token_hash": token_hash, "expires_at": expires };
        super::set_by_id(&self.robots, name.as_str(), set).await
    }

    #[tracing::instrument(skip_all, fields(robot = %name), err(level = "debug"))]
    async fn delete_robot(&self, name: &RobotName) -> PortResult<()> {
        super::delete_by_id(&self.robots, name.as_str()).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(owner), err(level = "debug"))]
    async fn delete_robots_of(&self, owner: &str) -> PortResult<u64> {
        let done = self
            .robots
            .delete_many(doc! { "owner": owner })
            .await
            .map_err(map_err)?;
        Ok(done.deleted_count)
    }
}

/// The fields an update replaces.
fn fields(robot: &Robot) -> Document {
    let repositories: Vec<Bson> = robot
        .repositories
        .iter()
        .map(|r| Bson::String(r.clone()))
        .collect();
    doc! {
        "permission": robot.permission.as_str(),
        "repositories": repositories,
        "expires_at": robot.expires_at.map_or(Bson::Null, |t| Bson::Int64(t.timestamp_millis())),
        "disabled": robot.disabled,
    }
}

fn robot_from(d: &Document) -> PortResult<Robot> {
    let id = string(d, "_id", "robot")?;
    let name = RobotName::parse(&id).map_err(|e| corrupt(format!("robot {id}: {e}")))?;
    let permission = string(d, "permission", "robot")?;
    let repositories = match d.get("repositories") {
        Some(Bson::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| corrupt(format!("robot {id}: repository {item}")))
            })
            .collect::<PortResult<Vec<String>>>()?,
        other => return Err(corrupt(format!("robot {id}: repositories {other:?}"))),
    };
    Ok(Robot {
        permission: RobotPermission::parse(&permission)
            .ok_or_else(|| corrupt(format!("robot {id}: permission {permission}")))?,
        repositories,
        created_by: user_name(&string(d, "created_by", "robot")?)?,
        created_at: millis(d, "created_at", "robot")?,
        expires_at: optional_millis(d, "expires_at", "robot")?,
        disabled: boolean(d, "disabled", "robot")?,
        name,
    })
}
