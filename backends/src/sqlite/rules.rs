//! The access-rules port on SQLite: one row.

use async_trait::async_trait;
use bioshadock_core::ports::rules::{RuleStore, StoredRules};
use bioshadock_core::{PortError, PortResult};

use super::{SqliteStore, map_err, to_i64};

#[async_trait]
impl RuleStore for SqliteStore {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn get_rules(&self) -> PortResult<StoredRules> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT source, version FROM access_rules WHERE id = 1")
                .fetch_optional(self.pool())
                .await
                .map_err(map_err)?;
        Ok(match row {
            Some((source, version)) => StoredRules {
                source,
                version: u64::try_from(version).unwrap_or_default(),
            },
            None => StoredRules {
                source: String::new(),
                version: 0,
            },
        })
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn put_rules(&self, source: &str, expected_version: u64) -> PortResult<u64> {
        let next = expected_version + 1;
        let conflict = || PortError::Conflict("the access rules were changed meanwhile".into());
        if expected_version == 0 {
            // The first save: the row exists already only if another save came first.
            return match sqlx::query(
                "INSERT INTO access_rules (id, source, version) VALUES (1, ?1, 1)",
            )
            .bind(source)
            .execute(self.pool())
            .await
            .map_err(map_err)
            {
                Ok(_) => Ok(next),
                Err(PortError::Conflict(_)) => Err(conflict()),
                Err(e) => Err(e),
            };
        }
        let updated = sqlx::query(
            "UPDATE access_rules SET source = ?1, version = ?3 WHERE id = 1 AND version = ?2",
        )
        .bind(source)
        .bind(to_i64(expected_version))
        .bind(to_i64(next))
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        if updated.rows_affected() == 0 {
            return Err(conflict());
        }
        Ok(next)
    }
}
