//! API keys: random secrets shown once, stored only as a SHA-256 hash beside a short public id.
//!
//! A key reads `bsk_<id>_<secret>`: the 12-hex-digit id finds the row, the 256-bit secret is
//! what proves possession. Keys are high-entropy random strings, so a plain SHA-256 is as
//! strong as a password hash would be, and verifying one costs a microsecond: keys are checked
//! on every API call and, later, on every registry token request.

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::UserName;

const PREFIX: &str = "bsk_";
const ID_HEX_LEN: usize = 12;
const SECRET_BYTES: usize = 32;

/// What a key may be used for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// See and pull the private containers the user may read, read the user's profile.
    Read,
    /// Queue builds.
    Build,
    /// Push images, and create, change and delete containers.
    Push,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Build, Scope::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Build => "build",
            Self::Push => "push",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "read" => Some(Self::Read),
            "build" => Some(Self::Build),
            "push" => Some(Self::Push),
            _ => None,
        }
    }
}

/// A set of scopes; web sessions and the command line hold all of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Vec<Scope>)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    pub fn all() -> Self {
        Self(Scope::ALL.into_iter().collect())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Parses `read,build,push`; an unknown or empty list is an error naming the culprit.
    pub fn parse_list(raw: &str) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for part in raw.split(',').filter(|p| !p.trim().is_empty()) {
            let scope = Scope::parse(part).ok_or_else(|| {
                format!(
                    "unknown scope `{}`; use read, build and/or push",
                    part.trim()
                )
            })?;
            set.insert(scope);
        }
        if set.is_empty() {
            return Err("at least one scope is needed: read, build and/or push".into());
        }
        Ok(Self(set))
    }

    /// `read,build,push` (for storage and display).
    pub fn to_list(&self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(",")
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// A key as stored and listed: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The public part of the key (`bsk_<id>_…`), its handle for listing and revoking.
    pub id: String,
    pub user: UserName,
    pub label: String,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

impl ApiKey {
    /// Whether the key may be used at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A key in full, as presented by a caller or just generated. Never logged: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret(String);

impl KeySecret {
    /// A new random key.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut id = [0u8; ID_HEX_LEN / 2];
        rng.fill_bytes(&mut id);
        let mut secret = [0u8; SECRET_BYTES];
        rng.fill_bytes(&mut secret);
        Self(format!(
            "{PREFIX}{}_{}",
            hex::encode(id),
            URL_SAFE_NO_PAD.encode(secret)
        ))
    }

    /// Recognises a presented key by its shape; `None` if it cannot be one of ours.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(PREFIX)?;
        let (id, secret) = rest.split_at_checked(ID_HEX_LEN)?;
        let secret = secret.strip_prefix('_')?;
        let well_formed = id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            && secret.len() == 43
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(raw.to_owned()))
    }

    /// The public id, for the lookup.
    pub fn id(&self) -> &str {
        &self.0[PREFIX.len()..PREFIX.len() + ID_HEX_LEN]
    }

    /// The whole key, to show once to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value stored in place of the key.
    pub fn hash(&self) -> String {
        hash_key(&self.0)
    }

    /// Compares with a stored hash in constant time.
    pub fn matches(&self, stored_hash: &str) -> bool {
        self.hash().as_bytes().ct_eq(stored_hash.as_bytes()).into()
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeySecret({PREFIX}{}_[redacted])", self.id())
    }
}

/// SHA-256 of a key, hex.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}
