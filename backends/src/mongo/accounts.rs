//! The accounts half of the store port on MongoDB: users and API keys.
//!
//! Two collections:
//! - `users`: `{_id: name, role, disabled, password_hash, created_at, source}` (no `source`:
//!   `local`);
//! - `api_keys`: `{_id: public id, user, label, scopes: [..], secret_hash, created_at,
//!   expires_at, last_used_at, revoked}`, indexed on `{user: 1, created_at: -1}` for a user's
//!   keys, newest first.
//!
//! Times are stored as Int64 milliseconds since the epoch, like the SQLite adapter's columns:
//! exact to the millisecond the model carries, and unchanged by any server's date handling.
//! Booleans are stored as booleans and read back tolerantly (a boolean or an integer), because
//! some wire-compatible servers hand back a boolean written with `$set` as 0/1.

use async_trait::async_trait;
use bioshadock_core::accounts::{ApiKey, Role, Scope, Scopes, Source, User, UserName};
use bioshadock_core::ports::accounts::{KeyStore, UserStore};
use bioshadock_core::tag_policy::ImmutableTags;
use bioshadock_core::{PortError, PortResult};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{self, Bson, Document, doc};
use mongodb::{Collection, Database, IndexModel};

use super::map_err;

const USERS: &str = "users";
const KEYS: &str = "api_keys";
const ORGS: &str = "orgs";
const ROBOTS: &str = "robots";
const SETTINGS: &str = "settings";

/// Users, API keys and organisations (see `super::orgs`) in a MongoDB database.
#[derive(Clone)]
pub struct MongoAccounts {
    pub(super) users: Collection<Document>,
    keys: Collection<Document>,
    pub(super) orgs: Collection<Document>,
    pub(super) robots: Collection<Document>,
    /// Single documents of installation-wide state (the access rules).
    pub(super) settings: Collection<Document>,
}

impl MongoAccounts {
    pub fn new(db: Database) -> Self {
        Self {
            users: db.collection(USERS),
            keys: db.collection(KEYS),
            orgs: db.collection(ORGS),
            robots: db.collection(ROBOTS),
            settings: db.collection(SETTINGS),
        }
    }

    /// Creates the indexes the reads rely on (idempotent).
    pub async fn ensure_indexes(&self) -> PortResult<()> {
        // A provider's user by their id at the provider (each OpenID Connect sign-in).
        let by_subject = IndexModel::builder()
            .keys(doc! { "source": 1, "subject": 1 })
            .build();
        self.users.create_index(by_subject).await.map_err(map_err)?;
        // A user's organisations, read with every signed-in request.
        let by_member = IndexModel::builder().keys(doc! { "members": 1 }).build();
        self.orgs.create_index(by_member).await.map_err(map_err)?;
        // An owner's robots, by name.
        let by_owner = IndexModel::builder().keys(doc! { "owner": 1 }).build();
        self.robots.create_index(by_owner).await.map_err(map_err)?;
        // The user's keys, already newest first: `list_keys` walks it without sorting.
        let by_user = IndexModel::builder()
            .keys(doc! { "user": 1, "created_at": -1 })
            .build();
        self.keys
            .create_index(by_user)
            .await
            .map_err(map_err)
            .map(drop)
    }

    /// A one-field `$set` on one user; `NotFound` if there is no such user.
    async fn update_user(&self, name: &UserName, set: Document) -> PortResult<()> {
        super::set_by_id(&self.users, name.as_str(), set).await
    }
}

#[async_trait]
impl UserStore for MongoAccounts {
    #[tracing::instrument(skip_all, fields(user = %user.name), err(level = "debug"))]
    async fn create_user(&self, user: &User, password_hash: &str) -> PortResult<()> {
        let document = doc! {
            "_id": user.name.as_str(),
            "role": user.role.as_str(),
            "disabled": user.disabled,
            "password_hash": password_hash,
            "created_at": user.created_at.timestamp_millis(),
            "source": user.source.to_string(),
            "subject": user.subject.as_deref(),
        };
        // Users and organisations share one set of names. Checked before the insert: the two
        // collections have no common unique index, so two creations of one name in the same
        // instant (a user and an organisation) could both pass; the portal has no such path
        // faster than an admin's hand.
        if self
            .orgs
            .find_one(doc! { "_id": user.name.as_str() })
            .await
            .map_err(map_err)?
            .is_some()
        {
            return Err(PortError::Conflict(format!(
                "an organisation is named `{}`",
                user.name
            )));
        }
        // One account per provider id; checked before the insert like the name above.
        if let Some(subject) = &user.subject
            && self
                .users
                .find_one(doc! { "source": user.source.to_string(), "subject": subject })
                .await
                .map_err(map_err)?
                .is_some()
        {
            return Err(PortError::Conflict(format!(
                "another account of {} has this subject",
                user.source
            )));
        }
        // A taken name is a duplicate `_id`, which `map_err` turns into `Conflict`.
        self.users
            .insert_one(document)
            .await
            .map_err(map_err)
            .map(drop)
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn get_user(&self, name: &UserName) -> PortResult<User> {
        let found = self
            .users
            .find_one(doc! { "_id": name.as_str() })
            .projection(doc! { "password_hash": 0 })
            .await
            .map_err(map_err)?;
        user_from(&found.ok_or(PortError::NotFound)?)
    }

    #[tracing::instrument(skip_all, fields(source = %source), err(level = "debug"))]
    async fn find_user_by_subject(&self, source: &Source, subject: &str) -> PortResult<User> {
        let found = self
            .users
            .find_one(doc! { "source": source.to_string(), "subject": subject })
            .projection(doc! { "password_hash": 0 })
            .await
            .map_err(map_err)?;
        user_from(&found.ok_or(PortError::NotFound)?)
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn get_credentials(&self, name: &UserName) -> PortResult<(User, String)> {
        let found = self
            .users
            .find_one(doc! { "_id": name.as_str() })
            .await
            .map_err(map_err)?
            .ok_or(PortError::NotFound)?;
        let hash = string(&found, "password_hash", "user")?;
        Ok((user_from(&found)?, hash))
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn list_users(&self) -> PortResult<Vec<User>> {
        let found: Vec<Document> = self
            .users
            .find(doc! {})
            .projection(doc! { "password_hash": 0 })
            .sort(doc! { "_id": 1 })
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(user_from).collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn count_users(&self) -> PortResult<u64> {
        self.users.count_documents(doc! {}).await.map_err(map_err)
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn set_role(&self, name: &UserName, role: Role) -> PortResult<()> {
        self.update_user(name, doc! { "role": role.as_str() }).await
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn set_disabled(&self, name: &UserName, disabled: bool) -> PortResult<()> {
        self.update_user(name, doc! { "disabled": disabled }).await
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn set_password(&self, name: &UserName, password_hash: &str) -> PortResult<()> {
        self.update_user(name, doc! { "password_hash": password_hash })
            .await
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn namespace_immutable(&self, name: &UserName) -> PortResult<Option<ImmutableTags>> {
        let found = self
            .users
            .clone_with_type::<Document>()
            .find_one(doc! { "_id": name.as_str() })
            .projection(doc! { "immutable": 1 })
            .await
            .map_err(map_err)?
            .ok_or(PortError::NotFound)?;
        match found.get("immutable") {
            None | Some(Bson::Null) => Ok(None),
            Some(value) => bson::from_bson(value.clone())
                .map(Some)
                .map_err(PortError::backend),
        }
    }

    #[tracing::instrument(skip_all, fields(user = %name), err(level = "debug"))]
    async fn set_namespace_immutable(
        &self,
        name: &UserName,
        immutable: Option<&ImmutableTags>,
    ) -> PortResult<()> {
        let value = match immutable {
            Some(policy) => bson::to_bson(policy).map_err(PortError::backend)?,
            None => Bson::Null,
        };
        self.update_user(name, doc! { "immutable": value }).await
    }
}

#[async_trait]
impl KeyStore for MongoAccounts {
    #[tracing::instrument(skip_all, fields(key = %key.id, user = %key.user), err(level = "debug"))]
    async fn create_key(&self, key: &ApiKey, secret_hash: &str) -> PortResult<()> {
        // Users are never deleted, so checking first cannot let a key outlive its user.
        let owner = self
            .users
            .find_one(doc! { "_id": key.user.as_str() })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(map_err)?;
        if owner.is_none() {
            return Err(PortError::NotFound);
        }
        let scopes: Vec<&str> = key.scopes.iter().map(Scope::as_str).collect();
        let document = doc! {
            "_id": &key.id,
            "user": key.user.as_str(),
            "label": &key.label,
            "scopes": scopes,
            "secret_hash": secret_hash,
            "created_at": key.created_at.timestamp_millis(),
            "expires_at": key.expires_at.map(|t| t.timestamp_millis()),
            "last_used_at": key.last_used_at.map(|t| t.timestamp_millis()),
            "revoked": key.revoked,
        };
        self.keys
            .insert_one(document)
            .await
            .map_err(map_err)
            .map(drop)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn find_key(&self, id: &str) -> PortResult<(ApiKey, String)> {
        let found = self
            .keys
            .find_one(doc! { "_id": id })
            .await
            .map_err(map_err)?
            .ok_or(PortError::NotFound)?;
        let hash = string(&found, "secret_hash", "key")?;
        Ok((key_from(&found)?, hash))
    }

    #[tracing::instrument(skip_all, fields(user = %user), err(level = "debug"))]
    async fn list_keys(&self, user: &UserName) -> PortResult<Vec<ApiKey>> {
        // `_id` breaks ties between keys minted in the same millisecond, so the order is stable.
        let found: Vec<Document> = self
            .keys
            .find(doc! { "user": user.as_str() })
            .projection(doc! { "secret_hash": 0 })
            .sort(doc! { "created_at": -1, "_id": -1 })
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)?;
        found.iter().map(key_from).collect()
    }

    #[tracing::instrument(skip_all, fields(user = %user), err(level = "debug"))]
    async fn revoke_key(&self, user: &UserName, id: &str) -> PortResult<()> {
        // `matched_count` counts a key already revoked, so revoking twice is not `NotFound`.
        let done = self
            .keys
            .update_one(
                doc! { "_id": id, "user": user.as_str() },
                doc! { "$set": { "revoked": true } },
            )
            .await
            .map_err(map_err)?;
        if done.matched_count == 0 {
            return Err(PortError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn touch_key(&self, id: &str, at: DateTime<Utc>) -> PortResult<()> {
        let done = self
            .keys
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "last_used_at": at.timestamp_millis() } },
            )
            .await
            .map_err(map_err)?;
        if done.matched_count == 0 {
            return Err(PortError::NotFound);
        }
        Ok(())
    }
}

fn user_from(d: &Document) -> PortResult<User> {
    let name = string(d, "_id", "user")?;
    let role = string(d, "role", "user")?;
    Ok(User {
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("user {name}: role {role}")))?,
        disabled: boolean(d, "disabled", "user")?,
        created_at: millis(d, "created_at", "user")?,
        // Users written before accounts had sources are local.
        source: match d.get_str("source") {
            Ok(raw) => Source::parse(raw).map_err(|e| corrupt(format!("user {name}: {e}")))?,
            Err(_) => Source::Local,
        },
        subject: d.get_str("subject").ok().map(str::to_owned),
        name: user_name(&name)?,
    })
}

fn key_from(d: &Document) -> PortResult<ApiKey> {
    let id = string(d, "_id", "key")?;
    let scopes = match d.get("scopes") {
        Some(Bson::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .and_then(Scope::parse)
                    .ok_or_else(|| corrupt(format!("key {id}: scope {item}")))
            })
            .collect::<PortResult<Scopes>>()?,
        other => return Err(corrupt(format!("key {id}: scopes {other:?}"))),
    };
    Ok(ApiKey {
        user: user_name(&string(d, "user", "key")?)?,
        label: string(d, "label", "key")?,
        scopes,
        created_at: millis(d, "created_at", "key")?,
        expires_at: optional_millis(d, "expires_at", "key")?,
        last_used_at: optional_millis(d, "last_used_at", "key")?,
        revoked: boolean(d, "revoked", "key")?,
        id,
    })
}

pub(super) fn user_name(raw: &str) -> PortResult<UserName> {
    UserName::parse(raw).map_err(|e| corrupt(format!("user name {raw}: {e}")))
}

pub(super) fn string(d: &Document, field: &str, what: &str) -> PortResult<String> {
    match d.get(field) {
        Some(Bson::String(s)) => Ok(s.clone()),
        other => Err(corrupt(format!("{what} field {field}: {other:?}"))),
    }
}

/// A boolean, also as 0/1 (see the module's notes).
pub(super) fn boolean(d: &Document, field: &str, what: &str) -> PortResult<bool> {
    match d.get(field) {
        Some(Bson::Boolean(b)) => Ok(*b),
        Some(Bson::Int32(n)) => Ok(*n != 0),
        Some(Bson::Int64(n)) => Ok(*n != 0),
        other => Err(corrupt(format!("{what} field {field}: {other:?}"))),
    }
}

pub(super) fn millis(d: &Document, field: &str, what: &str) -> PortResult<DateTime<Utc>> {
    optional_millis(d, field, what)?
        .ok_or_else(|| corrupt(format!("{what} field {field} is missing")))
}

/// A time in Int64 milliseconds (Int32 accepted), or none for null / absent.
pub(super) fn optional_millis(
    d: &Document,
    field: &str,
    what: &str,
) -> PortResult<Option<DateTime<Utc>>> {
    let ms = match d.get(field) {
        None | Some(Bson::Null) => return Ok(None),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(other) => return Err(corrupt(format!("{what} field {field}: {other:?}"))),
    };
    DateTime::from_timestamp_millis(ms)
        .map(Some)
        .ok_or_else(|| corrupt(format!("{what} field {field}: {ms} ms is out of range")))
}

pub(super) fn corrupt(what: String) -> PortError {
    PortError::Backend(format!("corrupt account data: {what}").into())
}
