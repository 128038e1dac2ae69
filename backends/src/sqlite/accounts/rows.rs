//! The rows users and keys are read back from, and their decoding into the model. A stored
//! value the model refuses (a bad name, an unknown role or scope) is corrupt data.

use bioshadock_core::PortResult;
use bioshadock_core::accounts::{ApiKey, Role, Scope, Scopes, Source, User, UserName};

use crate::sqlite::{corrupt, from_millis};

/// The columns of [`UserRow`], in order.
pub(super) const USER_COLUMNS: &str = "name, role, disabled, created_at, source, subject";
/// The columns of [`KeyRow`], in order.
pub(super) const KEY_COLUMNS: &str =
    "id, user, label, scopes, created_at, expires_at, last_used_at, revoked";

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    name: String,
    role: String,
    disabled: bool,
    created_at: i64,
    source: String,
    subject: Option<String>,
}

impl UserRow {
    pub(super) fn into_user(self) -> PortResult<User> {
        Ok(User {
            name: user_name(&self.name)?,
            role: Role::parse(&self.role)
                .ok_or_else(|| corrupt(format!("user {}: role {}", self.name, self.role)))?,
            disabled: self.disabled,
            created_at: from_millis(self.created_at)?,
            source: Source::parse(&self.source)
                .map_err(|e| corrupt(format!("user {}: {e}", self.name)))?,
            subject: self.subject,
        })
    }
}

/// A user with the password hash, for a login.
#[derive(sqlx::FromRow)]
pub(super) struct CredentialsRow {
    #[sqlx(flatten)]
    pub(super) user: UserRow,
    pub(super) password_hash: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct KeyRow {
    id: String,
    user: String,
    label: String,
    /// `read,build,push`
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked: bool,
}

impl KeyRow {
    pub(super) fn into_key(self) -> PortResult<ApiKey> {
        let scopes = self
            .scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Scope::parse(s).ok_or_else(|| corrupt(format!("key {}: scope {s}", self.id))))
            .collect::<PortResult<Scopes>>()?;
        Ok(ApiKey {
            user: user_name(&self.user)?,
            label: self.label,
            scopes,
            created_at: from_millis(self.created_at)?,
            expires_at: self.expires_at.map(from_millis).transpose()?,
            last_used_at: self.last_used_at.map(from_millis).transpose()?,
            revoked: self.revoked,
            id: self.id,
        })
    }
}

/// A key with the hash of its secret, for checking a presented key.
#[derive(sqlx::FromRow)]
pub(super) struct KeyWithHashRow {
    #[sqlx(flatten)]
    pub(super) key: KeyRow,
    pub(super) secret_hash: String,
}

fn user_name(raw: &str) -> PortResult<UserName> {
    UserName::parse(raw).map_err(|e| corrupt(format!("user name {raw}: {e}")))
}
