//! Repository and tag names, validated by the OCI distribution grammar.
//!
//! A container's id is its repository name, `namespace/name`: two lowercase path components
//! of `[a-z0-9]` joined by single separators (`.`, `_`, `__`, or runs of `-`), at most 255
//! characters. The OCI grammar allows deeper names; like Quay and the original Bioshadock we
//! keep exactly two levels, so a namespace is always a user or group and URLs stay simple.
//! A tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The longest repository name Docker accepts.
pub const MAX_REPO_NAME_LEN: usize = 255;
/// Namespaces that would shadow API routes such as `/container/search/...`.
pub const RESERVED_NAMESPACES: &[&str] = &[
    "all", "search", "latest", "new", "tags", "tag", "git", "api", "static", "v2",
    // The user name of `docker login -u oauth2 -p ACCESS_TOKEN`.
    "oauth2",
];

/// The longest user (and so personal namespace) name.
pub const MAX_NAMESPACE_LEN: usize = 64;
/// The longest name typed for a new container (`namespace/name`, or `name` in one's own
/// namespace): what 255 leaves after a personal namespace and its `/`, so that either form
/// makes a valid repository name. One bound on the typed text, unlike a bound on the whole
/// name, can be published as JSON Schema, so the API's document states the rule exactly.
pub const MAX_NEW_NAME_LEN: usize = MAX_REPO_NAME_LEN - MAX_NAMESPACE_LEN - 1;

/// The longest tag the OCI distribution spec accepts.
pub const MAX_TAG_LEN: usize = 128;

/// [`is_path_component`]'s grammar as a regular expression (ECMA-262 and Python agree on it),
/// for documents that describe names to clients: the OpenAPI document, form fields.
pub const PATH_COMPONENT_PATTERN: &str = "^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$";
/// [`TagName::parse`]'s grammar as a regular expression.
pub const TAG_PATTERN: &str = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";

/// A pattern for a path component that is none of `excluded` (a negative look-ahead: the
/// JSON Schema dialect has it, the `regex` crate does not, so this is for documents only).
pub fn component_pattern_excluding(excluded: &[&str]) -> String {
    format!(
        "^{}{}",
        not_one_of(excluded, "$"),
        &PATH_COMPONENT_PATTERN[1..]
    )
}

/// A look-ahead that fails where one of `words` stands, followed by `end` (`$`, `/`, ...).
pub fn not_one_of(words: &[&str], end: &str) -> String {
    format!("(?!(?:{}){end})", words.join("|").replace('.', "\\."))
}

/// Why a name was refused; the message is meant for the user who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than {max} characters")]
    TooLong { max: usize },
    #[error("a container name needs a namespace and a name, like `lab/samtools`")]
    NoNamespace,
    #[error("a container name has exactly two parts, `namespace/name`")]
    TooDeep,
    #[error("`{0}` is reserved and cannot be a namespace")]
    ReservedNamespace(String),
    #[error("uppercase letters are not allowed in a repository name")]
    Uppercase,
    #[error(
        "path component `{0}` is not valid: use lowercase letters and digits, separated by single `.`, `_`, `__` or dashes"
    )]
    BadComponent(String),
    #[error(
        "a tag must start with a letter, digit or `_` and contain only letters, digits, `_`, `.` and `-`"
    )]
    BadTag,
}

/// A validated repository name such as `lab/samtools`; also the container id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RepoName(String);

impl RepoName {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        if input.is_empty() {
            return Err(NameError::Empty);
        }
        if input.len() > MAX_REPO_NAME_LEN {
            return Err(NameError::TooLong {
                max: MAX_REPO_NAME_LEN,
            });
        }
        if input.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(NameError::Uppercase);
        }
        let components: Vec<&str> = input.split('/').collect();
        if let Some(bad) = components.iter().find(|c| !is_path_component(c)) {
            return Err(NameError::BadComponent((*bad).to_owned()));
        }
        match components.len() {
            0 | 1 => return Err(NameError::NoNamespace),
            2 => {}
            _ => return Err(NameError::TooDeep),
        }
        if RESERVED_NAMESPACES.contains(&components[0]) {
            return Err(NameError::ReservedNamespace(components[0].to_owned()));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first path component: the user or group that owns the name.
    pub fn namespace(&self) -> &str {
        self.0.split('/').next().unwrap_or_default()
    }

    /// The name within the namespace.
    pub fn short_name(&self) -> &str {
        self.0
            .split_once('/')
            .map(|(_, rest)| rest)
            .unwrap_or(&self.0)
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RepoName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// `[a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )*`
pub(crate) fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit()) {
            i += 1;
        }
        if i == start {
            return false; // empty run: leading, trailing or doubled separator
        }
        if i == bytes.len() {
            return true;
        }
        let sep_start = i;
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < bytes.len() && bytes[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        debug_assert!(i > sep_start);
    }
}

/// A validated image tag such as `1.19--h50ea8bc_0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TagName(String);

impl TagName {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        if input.is_empty() {
            return Err(NameError::Empty);
        }
        if input.len() > MAX_TAG_LEN {
            return Err(NameError::TooLong { max: MAX_TAG_LEN });
        }
        let mut chars = input.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if first_ok && rest_ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(NameError::BadTag)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TagName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
