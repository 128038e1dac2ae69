//! The organisations port on SQLite: each organisation as a JSON document with a version,
//! and an `org_members` table that finds a user's organisations by index.

use async_trait::async_trait;
use bioshadock_core::accounts::UserName;
use bioshadock_core::orgs::{OrgName, Organisation};
use bioshadock_core::ports::orgs::OrgStore;
use bioshadock_core::{PortError, PortResult};
use sqlx::{Sqlite, Transaction};

use super::{SqliteStore, begin_write, corrupt, map_err, to_i64};

#[async_trait]
impl OrgStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(org = %org.name), err(level = "debug"))]
    async fn create_org(&self, org: &Organisation) -> PortResult<()> {
        let mut tx = begin_write(self.pool()).await?;
        let stored = Organisation {
            version: 1,
            ..org.clone()
        };
        // The name must be free among users too (one set of namespaces).
        let done = sqlx::query(
            "INSERT INTO orgs (name, doc, version) SELECT ?1, ?2, 1 \
             WHERE NOT EXISTS (SELECT 1 FROM users WHERE name = ?1)",
        )
        .bind(org.name.as_str())
        .bind(to_json(&stored)?)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(PortError::Conflict(format!(
                "a user is named `{}`",
                org.name
            )));
        }
        write_members(&mut tx, &stored).await?;
        tx.commit().await.map_err(map_err)
    }

    #[tracing::instrument(skip_all, fields(org = %name), err(level = "debug"))]
    async fn get_org(&self, name: &OrgName) -> PortResult<Organisation> {
        let (doc, version): (String, i64) =
            sqlx::query_as("SELECT doc, version FROM orgs WHERE name = ?1")
                .bind(name.as_str())
                .fetch_one(self.pool())
                .await
                .map_err(map_err)?;
        from_json(&doc, version)
    }

    #[tracing::instrument(skip_all, fields(org = %org.name), err(level = "debug"))]
    async fn save_org(&self, org: &Organisation) -> PortResult<()> {
        let mut tx = begin_write(self.pool()).await?;
        let stored = Organisation {
            version: org.version + 1,
            ..org.clone()
        };
        let done =
            sqlx::query("UPDATE orgs SET doc = ?2, version = ?3 WHERE name = ?1 AND version = ?4")
                .bind(org.name.as_str())
                .bind(to_json(&stored)?)
                .bind(to_i64(stored.version))
                .bind(to_i64(org.version))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(stale_or_gone(&mut tx, &org.name).await);
        }
        sqlx::query("DELETE FROM org_members WHERE org = ?1")
            .bind(org.name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        write_members(&mut tx, &stored).await?;
        tx.commit().await.map_err(map_err)
    }

    #[tracing::instrument(skip_all, fields(org = %org.name), err(level = "debug"))]
    async fn delete_org(&self, org: &Organisation) -> PortResult<()> {
        let mut tx = begin_write(self.pool()).await?;
        let done = sqlx::query("DELETE FROM orgs WHERE name = ?1 AND version = ?2")
            .bind(org.name.as_str())
            .bind(to_i64(org.version))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(stale_or_gone(&mut tx, &org.name).await);
        }
        tx.commit().await.map_err(map_err)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn list_orgs(&self) -> PortResult<Vec<Organisation>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT doc, version FROM orgs ORDER BY name")
                .fetch_all(self.pool())
                .await
                .map_err(map_err)?;
        rows.iter().map(|(doc, v)| from_json(doc, *v)).collect()
    }

    #[tracing::instrument(skip_all, fields(user = %user), err(level = "debug"))]
    async fn orgs_of(&self, user: &UserName) -> PortResult<Vec<Organisation>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT o.doc, o.version FROM org_members m JOIN orgs o ON o.name = m.org \
             WHERE m.user = ?1 ORDER BY o.name",
        )
        .bind(user.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.iter().map(|(doc, v)| from_json(doc, *v)).collect()
    }
}

/// Records every member of `org` in the lookup table.
async fn write_members(
    tx: &mut Transaction<'static, Sqlite>,
    org: &Organisation,
) -> PortResult<()> {
    for member in &org.members {
        sqlx::query("INSERT INTO org_members (user, org) VALUES (?1, ?2)")
            .bind(member.user.as_str())
            .bind(org.name.as_str())
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// Why a versioned write touched nothing: the organisation is gone, or was saved since.
async fn stale_or_gone(tx: &mut Transaction<'static, Sqlite>, name: &OrgName) -> PortError {
    let exists: Result<Option<i64>, _> = sqlx::query_scalar("SELECT 1 FROM orgs WHERE name = ?1")
        .bind(name.as_str())
        .fetch_optional(&mut **tx)
        .await;
    match exists {
        Ok(Some(_)) => PortError::Conflict(format!("`{name}` was changed meanwhile")),
        Ok(None) => PortError::NotFound,
        Err(e) => map_err(e),
    }
}

fn to_json(org: &Organisation) -> PortResult<String> {
    serde_json::to_string(org).map_err(PortError::backend)
}

fn from_json(doc: &str, version: i64) -> PortResult<Organisation> {
    let mut org: Organisation =
        serde_json::from_str(doc).map_err(|e| corrupt(format!("organisation: {e}")))?;
    org.version = u64::try_from(version).map_err(|_| corrupt("organisation version"))?;
    Ok(org)
}
