//! The catalogue's domain model: containers and their tags.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

use crate::accounts::UserName;
use crate::names::{NameError, RepoName, TagName};
use crate::robots::RobotName;

/// Who may see a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Private,
}

impl Visibility {
    pub fn is_public(self) -> bool {
        self == Self::Public
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "public" => Some(Self::Public),
            "private" => Some(Self::Private),
            _ => None,
        }
    }
}

/// The rights a member holds on a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// See the container and pull its images, even when private.
    Pull,
    /// Pull, push images, and edit the description and build sources.
    Push,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pull" => Some(Self::Pull),
            "push" => Some(Self::Push),
            _ => None,
        }
    }
}

/// A user or a robot account given rights on a container they do not own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct Member {
    #[schema(value_type = String)]
    pub user: MemberName,
    pub access: Access,
}

/// A member's name: a user (`alice`) or a robot account (`genomics-core+ci`); the `+` tells
/// them apart, as no user name holds one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct MemberName(String);

impl MemberName {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.contains('+') {
            RobotName::parse(raw).map(|r| Self(r.as_str().to_owned()))
        } else {
            UserName::parse(raw).map(Self::from)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The robot this names, if it names one.
    pub fn robot(&self) -> Option<RobotName> {
        RobotName::parse(&self.0).ok()
    }

    /// The user this names, if it names one.
    pub fn user(&self) -> Option<UserName> {
        UserName::parse(&self.0).ok()
    }
}

impl From<UserName> for MemberName {
    fn from(user: UserName) -> Self {
        Self(user.as_str().to_owned())
    }
}

impl std::fmt::Display for MemberName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MemberName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A container: one repository of the registry plus what the catalogue knows about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Container {
    /// The repository name, `namespace/name`.
    pub id: RepoName,
    /// The user who owns it (the namespace owner who created it).
    pub owner: String,
    /// Markdown, rendered sanitised on pages.
    pub description: String,
    pub visibility: Visibility,
    /// Git source, `URL#ref:subdir`, built by the builder.
    pub git: Option<String>,
    /// A Dockerfile pasted in the portal, built by the builder.
    pub dockerfile: Option<String>,
    /// A workflow descriptor (CWL, WDL, …) the builder records with each build: a path in
    /// the git source or an http(s) URL (`crate::descriptor::DescriptorSource`).
    pub descriptor: Option<String>,
    /// Its tag policy: immutability, deprecations (`crate::tag_policy`).
    pub policy: crate::tag_policy::ContainerPolicy,
    /// Tags, newest first.
    pub tags: Vec<Tag>,
    /// Users with pull or push rights besides the owner, sorted by name, one entry per user.
    pub members: Vec<Member>,
    /// Image labels of the newest tag (`org.opencontainers.image.*` and others).
    pub labels: BTreeMap<String, String>,
    pub pulls: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Container {
    /// A new, empty container owned by `owner`, created now.
    pub fn new(id: RepoName, owner: impl Into<String>, visibility: Visibility) -> Self {
        let now = now();
        Self {
            id,
            owner: owner.into(),
            description: String::new(),
            visibility,
            git: None,
            dockerfile: None,
            descriptor: None,
            policy: crate::tag_policy::ContainerPolicy::default(),
            tags: Vec::new(),
            members: Vec::new(),
            labels: BTreeMap::new(),
            pulls: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// Puts the tags in the catalogue's order: newest first, then by name.
    pub fn sort_tags(&mut self) {
        self.tags.sort_by(|a, b| {
            b.pushed_at
                .cmp(&a.pushed_at)
                .then_with(|| a.name.cmp(&b.name))
        });
    }

    /// The rights `user` holds as a member, if any.
    pub fn member_access(&self, user: &str) -> Option<Access> {
        self.members
            .iter()
            .find(|m| m.user.as_str() == user)
            .map(|m| m.access)
    }

    /// The newest tag, if the container has any.
    pub fn latest_tag(&self) -> Option<&Tag> {
        self.tags.first()
    }

    /// The first line of prose of the description, Markdown markup stripped, for lists and
    /// cards. Headings are skipped (they usually repeat the name) unless there is nothing else.
    pub fn summary(&self) -> String {
        let lines = || {
            self.description
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("```"))
        };
        let line = lines()
            .find(|l| !l.starts_with('#'))
            .or_else(|| lines().next())
            .unwrap_or_default();
        line.trim_start_matches(['#', '>', '-', '*', ' '])
            .replace(['*', '`', '_'], "")
    }
}

/// One tag of a container's repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub name: TagName,
    /// Manifest digest, `sha256:...`.
    pub digest: String,
    /// Compressed image size in bytes (config + layers).
    pub size: u64,
    /// Platforms, like `linux/amd64`.
    pub platforms: Vec<String>,
    pub pushed_at: DateTime<Utc>,
}

/// Current time truncated to milliseconds, the precision every backend keeps.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_description(text: &str) -> Container {
        let mut c = Container::new(RepoName::parse("lab/x").unwrap(), "lab", Visibility::Public);
        c.description = text.to_owned();
        c
    }

    #[test]
    fn summary_prefers_prose_over_headings() {
        assert_eq!(
            with_description("# samtools\n\nReads **BAM** files.\n").summary(),
            "Reads BAM files."
        );
        assert_eq!(
            with_description("## Only a heading").summary(),
            "Only a heading"
        );
        assert_eq!(with_description("").summary(), "");
    }
}
