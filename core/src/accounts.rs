//! Accounts: users, their roles, and their API keys.
//!
//! A user name is also the user's namespace, so it follows the same grammar as the first
//! component of a repository name and may not be a reserved or curated namespace.

mod keys;
mod password;
mod source;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::names::{self, NameError};

pub use keys::{ApiKey, KeySecret, Scope, Scopes, hash_key};
pub use password::{
    MAX_BCRYPT_COST, MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, PasswordError, VerifyMemory,
    check_bcrypt_hash, decoy_hash, hash_format, hash_password, is_bcrypt, needs_rehash,
    verify_password, verify_password_in,
};
pub use source::{ProviderId, Source};

/// The curated namespace that only admins and editors publish into.
pub const LIBRARY_NAMESPACE: &str = "library";
/// The longest user name: comfortably short for a namespace.
pub const MAX_USER_NAME_LEN: usize = names::MAX_NAMESPACE_LEN;

/// A validated user name such as `alice` or `jdoe-lab`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct UserName(String);

impl UserName {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        if input.is_empty() {
            return Err(NameError::Empty);
        }
        if input.len() > MAX_USER_NAME_LEN {
            return Err(NameError::TooLong {
                max: MAX_USER_NAME_LEN,
            });
        }
        if input.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(NameError::Uppercase);
        }
        if !names::is_path_component(input) {
            return Err(NameError::BadComponent(input.to_owned()));
        }
        if input == LIBRARY_NAMESPACE || names::RESERVED_NAMESPACES.contains(&input) {
            return Err(NameError::ReservedNamespace(input.to_owned()));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What a user may do beyond their own namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Owns their namespace, and what they are a member of.
    User,
    /// A user who may also publish into and manage the curated `library/` namespace.
    Editor,
    /// May see and manage everything, and manage accounts.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Self::User),
            "editor" => Some(Self::Editor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub const ALL: [Role; 3] = [Role::User, Role::Editor, Role::Admin];
}

/// An account. The password hash is deliberately not part of it: it is read only where a
/// password is checked, so it cannot end up in a view or a JSON body by accident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: UserName,
    pub role: Role,
    /// A disabled user cannot log in, and their sessions and keys stop working.
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Who vouches for the user's identity: this portal's password, or a directory.
    #[serde(default)]
    pub source: Source,
    /// The provider's stable id of the person (an OpenID Connect `sub`), for accounts that a
    /// provider identifies by something other than the account's name.
    #[serde(default)]
    pub subject: Option<String>,
}

impl User {
    /// A local account (its password is checked here).
    pub fn new(name: UserName, role: Role) -> Self {
        Self::from_source(name, role, Source::Local)
    }

    pub fn from_source(name: UserName, role: Role, source: Source) -> Self {
        Self {
            name,
            role,
            disabled: false,
            created_at: crate::model::now(),
            source,
            subject: None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests;
