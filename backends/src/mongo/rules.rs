//! The access-rules port on MongoDB: collection `settings`, document
//! `{_id: "access_rules", source, version}`, saved conditionally on its version.

use async_trait::async_trait;
use bioshadock_core::ports::rules::{RuleStore, StoredRules};
use bioshadock_core::{PortError, PortResult};
use mongodb::bson::{Bson, doc};

use super::accounts::MongoAccounts;
use super::map_err;

const ID: &str = "access_rules";

#[async_trait]
impl RuleStore for MongoAccounts {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn get_rules(&self) -> PortResult<StoredRules> {
        let found = self
            .settings
            .find_one(doc! { "_id": ID })
            .await
            .map_err(map_err)?;
        let Some(found) = found else {
            return Ok(StoredRules {
                source: String::new(),
                version: 0,
            });
        };
        let version = match found.get("version") {
            Some(Bson::Int64(v)) => u64::try_from(*v).ok(),
            Some(Bson::Int32(v)) => u64::try_from(*v).ok(),
            _ => None,
        }
        .ok_or_else(|| PortError::Backend("corrupt access rules: version".into()))?;
        let source = found
            .get_str("source")
            .map_err(|e| PortError::Backend(format!("corrupt access rules: {e}").into()))?;
        Ok(StoredRules {
            source: source.to_owned(),
            version,
        })
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn put_rules(&self, source: &str, expected_version: u64) -> PortResult<u64> {
        let next = expected_version + 1;
        let version = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        if expected_version == 0 {
            // The first save: a duplicate `_id` means another save came first.
            return match self
                .settings
                .insert_one(doc! { "_id": ID, "source": source, "version": version(next) })
                .await
            {
                Ok(_) => Ok(next),
                Err(e) => match map_err(e) {
                    PortError::Conflict(_) => Err(conflict()),
                    other => Err(other),
                },
            };
        }
        let done = self
            .settings
            .update_one(
                doc! { "_id": ID, "version": version(expected_version) },
                doc! { "$set": { "source": source, "version": version(next) } },
            )
            .await
            .map_err(map_err)?;
        if done.matched_count == 0 {
            return Err(conflict());
        }
        Ok(next)
    }
}

fn conflict() -> PortError {
    PortError::Conflict("the access rules were changed meanwhile".into())
}
