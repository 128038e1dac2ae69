//! Robot accounts: credentials for machines (CI pipelines, lab instruments) that belong to a
//! user or an organisation rather than to a person, named `owner+name` as Quay names them.
//!
//! A robot holds `read` or `write` on its owner's repositories (all of them, or a chosen few)
//! and nothing else: it never reaches outside its owner's namespace, so it can never hold more
//! than its owner could grant. It cannot sign in to the pages, create keys or queue builds; it
//! pulls and pushes (`docker login -u 'owner+name' -p TOKEN`) and reads the JSON API.
//!
//! Its token reads `bsr_<43 characters>`: 256 random bits, stored only as a SHA-256 hash (as
//! API keys are, and for the same reason: a random secret needs no slow hash), shown once.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::RepoName;
use crate::accounts::{UserName, hash_key};
use crate::names::{self, NameError};

/// Robots of one owner, at most.
pub const MAX_ROBOTS_PER_OWNER: usize = 100;
/// Repositories one robot may be limited to, at most.
pub const MAX_ROBOT_REPOSITORIES: usize = 100;
/// The longest robot name (the part after `+`).
pub const MAX_ROBOT_NAME_LEN: usize = 64;
/// The longest token lifetime that can be asked for.
pub const MAX_EXPIRY_DAYS: u32 = 3650;

const TOKEN_PREFIX: &str = "bsr_";
const TOKEN_BYTES: usize = 32;

/// A robot's full name, `owner+name`: the owner a user or an organisation, the name one path
/// component. `+` appears in no user or organisation name, so the two can never be confused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "genomics-core+ci")]
pub struct RobotName(String);

impl RobotName {
    /// Parses `owner+name`.
    pub fn parse(full: &str) -> Result<Self, NameError> {
        let (owner, name) = full.split_once('+').ok_or(NameError::Empty)?;
        Self::new(owner, name)
    }

    /// The robot `name` of `owner`.
    pub fn new(owner: &str, name: &str) -> Result<Self, NameError> {
        UserName::parse(owner)?;
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > MAX_ROBOT_NAME_LEN {
            return Err(NameError::TooLong {
                max: MAX_ROBOT_NAME_LEN,
            });
        }
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(NameError::Uppercase);
        }
        if !names::is_path_component(name) {
            return Err(NameError::BadComponent(name.to_owned()));
        }
        Ok(Self(format!("{owner}+{name}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The user or organisation it belongs to.
    pub fn owner(&self) -> &str {
        self.0.split_once('+').map_or("", |(owner, _)| owner)
    }

    /// The part after `+`.
    pub fn short(&self) -> &str {
        self.0.split_once('+').map_or("", |(_, name)| name)
    }
}

/// [`RobotName::parse`]'s grammar as a regular expression (with look-arounds), for documents
/// such as the OpenAPI one: the owner a user name (not reserved, not `library`), `+`, the name a
/// path component, each within its length bound.
pub fn robot_name_pattern() -> String {
    let mut excluded = names::RESERVED_NAMESPACES.to_vec();
    excluded.push(crate::accounts::LIBRARY_NAMESPACE);
    let component = names::PATH_COMPONENT_PATTERN
        .trim_start_matches('^')
        .trim_end_matches('$');
    format!(
        "^(?=[^+]{{1,{owner}}}\\+[^+]{{1,{MAX_ROBOT_NAME_LEN}}}$){}{component}\\+{component}$",
        names::not_one_of(&excluded, "\\+"),
        owner = crate::accounts::MAX_USER_NAME_LEN,
    )
}

impl fmt::Display for RobotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RobotName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What a robot may do with its repositories.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RobotPermission {
    /// See and pull, private ones included.
    Read,
    /// Also push (and so create a repository by pushing to it).
    Write,
}

impl RobotPermission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            _ => None,
        }
    }
}

/// A robot account (its token's hash is kept apart, as a password hash is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Robot {
    pub name: RobotName,
    pub permission: RobotPermission,
    /// Names within the owner's namespace, sorted; empty: every repository of the owner.
    pub repositories: Vec<String>,
    /// Who created it (for the record; it does not act as them).
    pub created_by: UserName,
    pub created_at: DateTime<Utc>,
    /// When its current token stops working; `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// A disabled robot is refused everywhere at once.
    pub disabled: bool,
}

/// Why a robot's definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RobotError {
    #[error("a robot may be limited to at most {MAX_ROBOT_REPOSITORIES} repositories")]
    TooManyRepositories,
    #[error("repository `{0}`: {1}")]
    BadRepository(String, NameError),
}

impl Robot {
    /// Checks and normalises the repository list (sorted, without duplicates), each a name
    /// within `owner`'s namespace.
    pub fn repositories(owner: &str, names: Vec<String>) -> Result<Vec<String>, RobotError> {
        let mut names = names;
        names.sort();
        names.dedup();
        if names.len() > MAX_ROBOT_REPOSITORIES {
            return Err(RobotError::TooManyRepositories);
        }
        for name in &names {
            if name.len() > names::MAX_NEW_NAME_LEN {
                return Err(RobotError::BadRepository(
                    name.clone(),
                    NameError::TooLong {
                        max: names::MAX_NEW_NAME_LEN,
                    },
                ));
            }
            RepoName::parse(&format!("{owner}/{name}"))
                .map_err(|e| RobotError::BadRepository(name.clone(), e))?;
        }
        Ok(names)
    }

    /// What this robot may do with repository `id`: nothing outside its owner's namespace,
    /// nor outside its chosen repositories when it has some.
    pub fn permission_on(&self, id: &RepoName) -> Option<RobotPermission> {
        let ours = id.namespace() == self.name.owner()
            && (self.repositories.is_empty()
                || self
                    .repositories
                    .binary_search_by(|r| r.as_str().cmp(id.short_name()))
                    .is_ok());
        ours.then_some(self.permission)
    }

    /// Whether its token works at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        !self.disabled && self.expires_at.is_none_or(|at| now < at)
    }
}

/// A robot's token: shown once, stored as a hash.
#[derive(Clone)]
pub struct RobotToken(String);

impl RobotToken {
    pub fn generate() -> Self {
        let mut secret = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut secret);
        Self(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret)))
    }

    /// Recognises a presented token by its shape; `None` if it cannot be one.
    pub fn parse(raw: &str) -> Option<Self> {
        let secret = raw.strip_prefix(TOKEN_PREFIX)?;
        let well_formed = secret.len() == 43
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_key(&self.0)
    }

    /// Compares with a stored hash in constant time.
    pub fn matches(&self, stored_hash: &str) -> bool {
        self.hash().as_bytes().ct_eq(stored_hash.as_bytes()).into()
    }
}

impl fmt::Debug for RobotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RobotToken(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn robot(repositories: &[&str]) -> Robot {
        Robot {
            name: RobotName::parse("genomics-core+ci").unwrap(),
            permission: RobotPermission::Write,
            repositories: repositories.iter().map(|r| (*r).to_owned()).collect(),
            created_by: UserName::parse("olga").unwrap(),
            created_at: crate::model::now(),
            expires_at: None,
            disabled: false,
        }
    }

    #[test]
    fn names_are_owner_plus_name() {
        let name = RobotName::parse("genomics-core+ci").unwrap();
        assert_eq!((name.owner(), name.short()), ("genomics-core", "ci"));
        for bad in [
            "ci",
            "+ci",
            "genomics-core+",
            "Genomics+ci",
            "lab+CI",
            "lab+a+b",
            "library+ci",
        ] {
            assert!(RobotName::parse(bad).is_err(), "{bad}");
        }
        assert!(RobotName::new("lab", &"a".repeat(65)).is_err());
    }

    /// The published pattern accepts exactly the names [`RobotName::parse`] accepts.
    #[test]
    fn the_published_pattern_is_the_parsers_grammar() {
        let pattern = fancy_regex::Regex::new(&robot_name_pattern()).unwrap();
        let owners = [
            "lab",
            "genomics-core",
            "a.b",
            "library",
            "new",
            "Lab",
            "",
            &"o".repeat(64),
            &"o".repeat(65),
            "a+b",
        ];
        let names = [
            "ci",
            "ci-2",
            "a__b",
            "CI",
            "",
            "a/b",
            &"n".repeat(64),
            &"n".repeat(65),
            "-x",
        ];
        for owner in owners {
            for name in names {
                let full = format!("{owner}+{name}");
                assert_eq!(
                    pattern.is_match(&full).unwrap(),
                    RobotName::parse(&full).is_ok(),
                    "{full}"
                );
            }
        }
        for plain in ["lab", "", "+", "lab+", "+ci", "lab++ci"] {
            assert_eq!(
                pattern.is_match(plain).unwrap(),
                RobotName::parse(plain).is_ok(),
                "{plain}"
            );
        }
    }

    #[test]
    fn a_robot_stays_inside_its_owner_and_its_repositories() {
        let id = |raw: &str| RepoName::parse(raw).unwrap();
        let everywhere = robot(&[]);
        assert_eq!(
            everywhere.permission_on(&id("genomics-core/x")),
            Some(RobotPermission::Write)
        );
        assert_eq!(everywhere.permission_on(&id("genomics-core-x/x")), None);
        assert_eq!(everywhere.permission_on(&id("other/x")), None);
        let chosen = robot(&["a", "c"]);
        assert!(chosen.permission_on(&id("genomics-core/a")).is_some());
        assert!(chosen.permission_on(&id("genomics-core/b")).is_none());
    }

    #[test]
    fn repository_lists_are_checked_and_bounded() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            Robot::repositories("lab", names(&["b", "a", "b"])).unwrap(),
            ["a", "b"]
        );
        assert!(Robot::repositories("lab", names(&["Bad"])).is_err());
        assert!(Robot::repositories("lab", names(&["a/b"])).is_err());
        assert!(Robot::repositories("lab", vec!["x".repeat(191)]).is_err());
        let many: Vec<String> = (0..=MAX_ROBOT_REPOSITORIES)
            .map(|i| format!("r{i}"))
            .collect();
        assert_eq!(
            Robot::repositories("lab", many),
            Err(RobotError::TooManyRepositories)
        );
    }

    #[test]
    fn tokens_are_recognised_and_checked() {
        let token = RobotToken::generate();
        let parsed = RobotToken::parse(token.expose()).unwrap();
        assert!(parsed.matches(&token.hash()));
        assert!(!RobotToken::generate().matches(&token.hash()));
        assert!(RobotToken::parse("bsk_0123456789ab_x").is_none());
        assert!(RobotToken::parse(&format!("{}x", token.expose())).is_none());
        assert_eq!(format!("{token:?}"), "RobotToken(…)");
    }

    #[test]
    fn disabled_or_expired_robots_are_unusable() {
        let now = crate::model::now();
        let mut r = robot(&[]);
        assert!(r.is_usable(now));
        r.expires_at = Some(now);
        assert!(!r.is_usable(now));
        r.expires_at = None;
        r.disabled = true;
        assert!(!r.is_usable(now));
    }
}
