//! The access-rules part of the store port: one document of docker_auth-format rules (see
//! [`crate::rules`]), kept as its source text (comments and order as the admin wrote them) with
//! a version, shared by every portal process.

use async_trait::async_trait;

use crate::PortResult;

/// The stored rules document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRules {
    pub source: String,
    /// Grows by one with every save; 0 before the first.
    pub version: u64,
}

/// Access rules, in the same database as users and organisations.
#[async_trait]
pub trait RuleStore: Send + Sync {
    /// The current document; an empty one at version 0 when none was ever saved.
    async fn get_rules(&self) -> PortResult<StoredRules>;

    /// Replaces the document if it is still at `expected_version` (`Conflict` otherwise: read
    /// again), and returns the new version. The caller validates the source first.
    async fn put_rules(&self, source: &str, expected_version: u64) -> PortResult<u64>;
}
