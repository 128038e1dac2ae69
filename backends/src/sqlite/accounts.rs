//! The accounts half of the store port on SQLite: users and API keys, in the catalogue's
//! database so that one file holds everything the embedded mode keeps.

use async_trait::async_trait;
use bioshadock_core::accounts::{ApiKey, Role, Source, User, UserName};
use bioshadock_core::ports::accounts::{KeyStore, UserStore};
use bioshadock_core::tag_policy::ImmutableTags;
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use self::rows::{CredentialsRow, KEY_COLUMNS, KeyRow, KeyWithHashRow, USER_COLUMNS, UserRow};
use super::{SqliteStore, corrupt, found, map_err};

mod rows;

#[async_trait]
impl UserStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(user = %user.name), err(level = "debug"))]
    async fn create_user(&self, user: &User, password_hash: &str) -> PortResult<()> {
        // The name must be free among organisations too (one set of namespaces).
        let done = sqlx::query(
            "INSERT INTO users (name, role, disabled, password_hash, created_at, source, subject) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS (SELECT 1 FROM orgs WHERE name = ?1)",
        )
        .bind(user.name.as_str())
        .bind(user.role.as_str())
        .bind(user.disabled)
        .bind(password_hash)
        .bind(user.created_at.timestamp_millis())
        .bind(user.source.to_string())
        .bind(user.subject.as_deref())
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(PortError::Conflict(format!(
                "an organisation is named `{}`",
                user.name
            )));
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn get_user(&self, name: &UserName) -> PortResult<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1");
        let row: UserRow = sqlx::query_as(AssertSqlSafe(sql))
            .bind(name.as_str())
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        row.into_user()
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn get_credentials(&self, name: &UserName) -> PortResult<(User, String)> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE name = ?1");
        let row: CredentialsRow = sqlx::query_as(AssertSqlSafe(sql))
            .bind(name.as_str())
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        Ok((row.user.into_user()?, row.password_hash))
    }

    #[tracing::instrument(skip_all, fields(source = %source), err(level = "debug"))]
    async fn find_user_by_subject(&self, source: &Source, subject: &str) -> PortResult<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE source = ?1 AND subject = ?2");
        let row: UserRow = sqlx::query_as(AssertSqlSafe(sql))
            .bind(source.to_string())
            .bind(subject)
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        row.into_user()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn list_users(&self) -> PortResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn count_users(&self) -> PortResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        Ok(n.max(0) as u64)
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn set_role(&self, name: &UserName, role: Role) -> PortResult<()> {
        self.update_user(
            "UPDATE users SET role = ?2 WHERE name = ?1",
            name,
            role.as_str(),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn set_disabled(&self, name: &UserName, disabled: bool) -> PortResult<()> {
        let done = sqlx::query("UPDATE users SET disabled = ?2 WHERE name = ?1")
            .bind(name.as_str())
            .bind(disabled)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn namespace_immutable(&self, name: &UserName) -> PortResult<Option<ImmutableTags>> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT immutable FROM users WHERE name = ?1")
                .bind(name.as_str())
                .fetch_optional(self.pool())
                .await
                .map_err(map_err)?;
        match row {
            None => Err(PortError::NotFound),
            Some((None,)) => Ok(None),
            Some((Some(json),)) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| corrupt(format!("user {name}: immutable: {e}"))),
        }
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn set_namespace_immutable(
        &self,
        name: &UserName,
        immutable: Option<&ImmutableTags>,
    ) -> PortResult<()> {
        let json = immutable
            .map(serde_json::to_string)
            .transpose()
            .map_err(PortError::backend)?;
        let done = sqlx::query("UPDATE users SET immutable = ?2 WHERE name = ?1")
            .bind(name.as_str())
            .bind(json)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn set_password(&self, name: &UserName, password_hash: &str) -> PortResult<()> {
        self.update_user(
            "UPDATE users SET password_hash = ?2 WHERE name = ?1",
            name,
            password_hash,
        )
        .await
    }
}

impl SqliteStore {
    /// Runs a one-column update of one user; `NotFound` if there is no such user.
    async fn update_user(&self, sql: &'static str, name: &UserName, value: &str) -> PortResult<()> {
        let done = sqlx::query(sql)
            .bind(name.as_str())
            .bind(value)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        found(done)
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(key = %key.id, user = %key.user), err(level = "debug"))]
    async fn create_key(&self, key: &ApiKey, secret_hash: &str) -> PortResult<()> {
        // Selecting from `users` makes an unknown user insert nothing (`NotFound`) rather than
        // fail the foreign key with an error that says nothing about which side is missing.
        let done = sqlx::query(
            "INSERT INTO api_keys (id, user, label, scopes, secret_hash, created_at, expires_at, \
               last_used_at, revoked) \
             SELECT ?1, name, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM users WHERE name = ?2",
        )
        .bind(&key.id)
        .bind(key.user.as_str())
        .bind(&key.label)
        .bind(key.scopes.to_list())
        .bind(secret_hash)
        .bind(key.created_at.timestamp_millis())
        .bind(key.expires_at.map(|t| t.timestamp_millis()))
        .bind(key.last_used_at.map(|t| t.timestamp_millis()))
        .bind(key.revoked)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn find_key(&self, id: &str) -> PortResult<(ApiKey, String)> {
        let sql = format!("SELECT {KEY_COLUMNS}, secret_hash FROM api_keys WHERE id = ?1");
        let row: KeyWithHashRow = sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        Ok((row.key.into_key()?, row.secret_hash))
    }

    #[tracing::instrument(skip_all, fields(user = %user), err(level = "debug"))]
    async fn list_keys(&self, user: &UserName) -> PortResult<Vec<ApiKey>> {
        // rowid breaks ties between keys minted in the same millisecond: later first.
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE user = ?1 \
             ORDER BY created_at DESC, rowid DESC"
        );
        let rows: Vec<KeyRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(user.as_str())
            .fetch_all(self.pool())
            .await
            .map_err(map_err)?;
        rows.into_iter().map(KeyRow::into_key).collect()
    }

    #[tracing::instrument(skip_all, fields(user = %user), err(level = "debug"))]
    async fn revoke_key(&self, user: &UserName, id: &str) -> PortResult<()> {
        // SQLite counts matched rows, so revoking twice still finds the key: idempotent.
        let done = sqlx::query("UPDATE api_keys SET revoked = 1 WHERE id = ?1 AND user = ?2")
            .bind(id)
            .bind(user.as_str())
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        found(done)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn touch_key(&self, id: &str, at: DateTime<Utc>) -> PortResult<()> {
        let done = sqlx::query("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")
            .bind(id)
            .bind(at.timestamp_millis())
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        found(done)
    }
}
