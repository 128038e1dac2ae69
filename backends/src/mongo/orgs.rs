//! The organisations port on MongoDB: collection `orgs`, one document per organisation,
//! `{_id: name, doc: <the aggregate as JSON text>, version, members: [user names]}`, indexed on
//! `members` so that a user's organisations are one indexed read.
//!
//! The aggregate is kept as JSON text rather than nested BSON: it is only ever read and written
//! whole, and text round-trips exactly on every wire-compatible server. Saves are conditional on
//! `version`, so two concurrent edits cannot lose one another.

use async_trait::async_trait;
use bioshadock_core::accounts::UserName;
use bioshadock_core::orgs::{OrgName, Organisation};
use bioshadock_core::ports::orgs::OrgStore;
use bioshadock_core::{PortError, PortResult};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use super::accounts::MongoAccounts;
use super::map_err;

#[async_trait]
impl OrgStore for MongoAccounts {
    #[tracing::instrument(skip_all, fields(org = %org.name), err(level = "debug"))]
    async fn create_org(&self, org: &Organisation) -> PortResult<()> {
        // One set of names for users and organisations (see `create_user` for the window).
        if self
            .users
            .find_one(doc! { "_id": org.name.as_str() })
            .await
            .map_err(map_err)?
            .is_some()
        {
            return Err(PortError::Conflict(format!(
                "a user is named `{}`",
                org.name
            )));
        }
        let stored = Organisation {
            version: 1,
            ..org.clone()
        };
        self.orgs
            .insert_one(document(&stored)?)
            .await
            .map_err(map_err)
            .map(drop)
    }

    #[tracing::instrument(skip_all, fields(org = %name), err(level = "debug"))]
    async fn get_org(&self, name: &OrgName) -> PortResult<Organisation> {
        let found = self
            .orgs
            .find_one(doc! { "_id": name.as_str() })
            .await
            .map_err(map_err)?
            .ok_or(PortError::NotFound)?;
        organisation(&found)
    }

    #[tracing::instrument(skip_all, fields(org = %org.name), err(level = "debug"))]
    async fn save_org(&self, org: &Organisation) -> PortResult<()> {
        let stored = Organisation {
            version: org.version + 1,
            ..org.clone()
        };
        let done = self
            .orgs
            .replace_one(
                doc! { "_id": org.name.as_str(), "version": version(org.version) },
                document(&stored)?,
            )
            .await
            .map_err(map_err)?;
        if done.matched_count == 0 {
            return Err(self.stale_or_gone(&org.name).await);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(org = %org.name), err(level = "debug"))]
    async fn delete_org(&self, org: &Organisation) -> PortResult<()> {
        let done = self
            .orgs
            .delete_one(doc! { "_id": org.name.as_str(), "version": version(org.version) })
            .await
            .map_err(map_err)?;
        if done.deleted_count == 0 {
            return Err(self.stale_or_gone(&org.name).await);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn list_orgs(&self) -> PortResult<Vec<Organisation>> {
        self.find_orgs(doc! {}).await
    }

    #[tracing::instrument(skip_all, fields(user = %user), err(level = "debug"))]
    async fn orgs_of(&self, user: &UserName) -> PortResult<Vec<Organisation>> {
        self.find_orgs(doc! { "members": user.as_str() }).await
    }
}

impl MongoAccounts {
    async fn find_orgs(&self, filter: Document) -> PortResult<Vec<Organisation>> {
        let found: Vec<Document> = self
            .orgs
            .find(filter)
            .sort(doc! { "_id": 1 })
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(organisation).collect()
    }

    /// Why a versioned write matched nothing: the organisation is gone, or was saved since.
    async fn stale_or_gone(&self, name: &OrgName) -> PortError {
        match self.orgs.find_one(doc! { "_id": name.as_str() }).await {
            Ok(Some(_)) => PortError::Conflict(format!("`{name}` was changed meanwhile")),
            Ok(None) => PortError::NotFound,
            Err(e) => map_err(e),
        }
    }
}

fn version(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn document(org: &Organisation) -> PortResult<Document> {
    let json = serde_json::to_string(org).map_err(PortError::backend)?;
    let members: Vec<Bson> = org
        .members
        .iter()
        .map(|m| Bson::String(m.user.as_str().to_owned()))
        .collect();
    Ok(doc! {
        "_id": org.name.as_str(),
        "doc": json,
        "version": version(org.version),
        "members": members,
    })
}

fn organisation(found: &Document) -> PortResult<Organisation> {
    let corrupt = |what: String| PortError::Backend(format!("corrupt organisation: {what}").into());
    let json = found.get_str("doc").map_err(|e| corrupt(e.to_string()))?;
    let mut org: Organisation = serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
    // Read tolerantly: a wire-compatible server may hand an Int64 back as an Int32 or a double.
    org.version = match found.get("version") {
        Some(Bson::Int64(v)) => u64::try_from(*v).ok(),
        Some(Bson::Int32(v)) => u64::try_from(*v).ok(),
        Some(Bson::Double(v)) if v.fract() == 0.0 && *v >= 0.0 => Some(*v as u64),
        _ => None,
    }
    .ok_or_else(|| corrupt("version".into()))?;
    Ok(org)
}
