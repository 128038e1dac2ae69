//! The robots part of the store port: robot accounts and their token hashes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::PortResult;
use crate::robots::{Robot, RobotName};

/// Robot accounts, in the same database as users and organisations.
#[async_trait]
pub trait RobotStore: Send + Sync {
    /// Adds a robot with the hash of its token. `Conflict` if the name exists.
    async fn create_robot(&self, robot: &Robot, token_hash: &str) -> PortResult<()>;

    /// A robot and its token's hash. `NotFound` if absent.
    async fn find_robot(&self, name: &RobotName) -> PortResult<(Robot, String)>;

    /// The robots of a user or an organisation, by name.
    async fn list_robots(&self, owner: &str) -> PortResult<Vec<Robot>>;

    /// Replaces a robot's permission, repositories, expiry and disabled flag (its name,
    /// creator and creation time stay). `NotFound` if absent.
    async fn update_robot(&self, robot: &Robot) -> PortResult<()>;

    /// Gives a robot a new token (the old one stops working) expiring at `expires_at`.
    /// `NotFound` if absent.
    async fn set_robot_token(
        &self,
        name: &RobotName,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> PortResult<()>;

    /// Deletes a robot. `NotFound` if absent.
    async fn delete_robot(&self, name: &RobotName) -> PortResult<()>;

    /// Deletes every robot of `owner` (an organisation being deleted); how many there were.
    async fn delete_robots_of(&self, owner: &str) -> PortResult<u64>;
}
