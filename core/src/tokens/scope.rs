//! The `scope` parameters of a token request: `type:name:actions`, such as
//! `repository:lab/samtools:pull,push` or `registry:catalog:*`.
//!
//! The name may contain a `host:port`, so the type is what stands before the first `:` and the
//! actions what stands after the last. A malformed scope, an unknown type or an unknown action is
//! an error (the web answers 400); a well-formed scope naming something we do not host is not:
//! it is simply granted nothing.

use std::collections::BTreeSet;
use std::fmt;

use crate::names::RepoName;

/// One `scope` value (several scopes apart by ASCII whitespace, or none) as a regular
/// expression, for the OpenAPI document; a test holds it to [`parse_scopes`].
pub const SCOPE_LIST_PATTERN: &str = concat!(
    r"^[\t\n\f\r ]*(?:",
    r"(?:repository(?:\([a-z0-9]+\))?|registry):[^\t\n\f\r ]+:(?:pull|push|delete|\*)(?:,(?:pull|push|delete|\*))*",
    r"(?:[\t\n\f\r ]+",
    r"(?:repository(?:\([a-z0-9]+\))?|registry):[^\t\n\f\r ]+:(?:pull|push|delete|\*)(?:,(?:pull|push|delete|\*))*",
    r")*[\t\n\f\r ]*)?$"
);

/// The kind of resource a scope names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeKind {
    /// An image repository (a `repository(class)` such as `repository(plugin)` counts as one).
    Repository,
    /// The registry itself; only `registry:catalog:*` means something.
    Registry,
}

impl ScopeKind {
    /// The type as it appears in a scope and in a token's `access` entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Repository => "repository",
            Self::Registry => "registry",
        }
    }

    /// `repository`, `registry`, optionally with a `(class)` suffix.
    fn parse(raw: &str) -> Option<Self> {
        let base = match raw.split_once('(') {
            Some((base, class)) => {
                let class = class.strip_suffix(')')?;
                let class_ok = !class.is_empty()
                    && class
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                if !class_ok {
                    return None;
                }
                base
            }
            None => raw,
        };
        match base {
            "repository" => Some(Self::Repository),
            "registry" => Some(Self::Registry),
            _ => None,
        }
    }
}

/// An action a scope asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Pull,
    Push,
    Delete,
    /// `*`: everything the caller may do.
    All,
}

impl Action {
    /// The action as it appears in a scope and in a token's `access` entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Delete => "delete",
            Self::All => "*",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pull" => Some(Self::Pull),
            "push" => Some(Self::Push),
            "delete" => Some(Self::Delete),
            "*" => Some(Self::All),
            _ => None,
        }
    }
}

/// Why a `scope` parameter was refused; the message is meant for whoever wrote the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("scope `{0}` is not of the form `type:name:actions`")]
    Malformed(String),
    #[error("scope `{scope}` has an unknown resource type; use `repository` or `registry`")]
    UnknownType { scope: String },
    #[error("scope `{scope}` has an unknown action `{action}`; use pull, push, delete or *")]
    UnknownAction { scope: String, action: String },
}

/// One resource and the actions asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedScope {
    pub kind: ScopeKind,
    /// The name as requested; it need not be a repository we host.
    pub name: String,
    /// Never empty.
    pub actions: BTreeSet<Action>,
}

impl RequestedScope {
    /// Parses one `type:name:actions`.
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        let malformed = || ScopeError::Malformed(raw.to_owned());
        let (rest, actions) = raw.rsplit_once(':').ok_or_else(malformed)?;
        let (kind, name) = rest.split_once(':').ok_or_else(malformed)?;
        if kind.is_empty() || name.is_empty() || actions.split(',').any(str::is_empty) {
            return Err(malformed());
        }
        let kind = ScopeKind::parse(kind).ok_or_else(|| ScopeError::UnknownType {
            scope: raw.to_owned(),
        })?;
        let actions = actions
            .split(',')
            .map(|action| {
                Action::parse(action).ok_or_else(|| ScopeError::UnknownAction {
                    scope: raw.to_owned(),
                    action: action.to_owned(),
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Self {
            kind,
            name: name.to_owned(),
            actions,
        })
    }

    /// The repository this scope names, if it is one we could host: a repository scope whose
    /// name is a valid `namespace/name`. Foreign names (`host:port/...`, deeper paths) give
    /// `None`, and are granted nothing.
    pub fn repository(&self) -> Option<RepoName> {
        match self.kind {
            ScopeKind::Repository => RepoName::parse(&self.name).ok(),
            ScopeKind::Registry => None,
        }
    }

    /// Whether `action` was asked for, `*` asking for every action.
    pub fn wants(&self, action: Action) -> bool {
        self.actions.contains(&action) || self.actions.contains(&Action::All)
    }
}

impl fmt::Display for RequestedScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actions: Vec<&str> = self.actions.iter().map(|a| a.as_str()).collect();
        write!(
            f,
            "{}:{}:{}",
            self.kind.as_str(),
            self.name,
            actions.join(",")
        )
    }
}

/// Parses every `scope` value of a request. A value may hold several scopes separated by
/// spaces (the OAuth2 form does this); blank values are ignored. Scopes on the same resource
/// are merged into one, in the order of first appearance.
pub fn parse_scopes<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<RequestedScope>, ScopeError> {
    let mut scopes: Vec<RequestedScope> = Vec::new();
    for raw in values.into_iter().flat_map(str::split_ascii_whitespace) {
        let scope = RequestedScope::parse(raw)?;
        match scopes
            .iter_mut()
            .find(|s| s.kind == scope.kind && s.name == scope.name)
        {
            Some(existing) => existing.actions.extend(scope.actions),
            None => scopes.push(scope),
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests;
