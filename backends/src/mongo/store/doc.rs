//! How a container travels to and from its MongoDB document, and how driver errors become
//! [`PortError`]s.
//!
//! One document per container, `_id` = the repository name:
//!
//! ```text
//! { _id: "lab/tool", owner: "lab", description: "...", visibility: "public" | "private",
//!   git: "..." | null, dockerfile: "..." | null, descriptor: "..." (absent when none),
//!   tags: [{ name, digest, size: i64, platforms: ["linux/amd64"], pushed_at: i64 }],
//!   members: [{ user, access: "pull" | "push" }],   // sorted by user, one per user
//!   readers: ["lab", "bob", ...],                   // owner + member users, for audience filters
//!   labels: [{ name, value }],                      // an array: label keys hold dots
//!   pulls: i64, created_at: i64, updated_at: i64,    // times in Unix milliseconds
//!   rev: "<ObjectId hex>" }                        // new on every write of tags or updated_at
//! ```
//!
//! Tags are stored newest first. Visibility is a string, not a boolean, and times are i64
//! milliseconds (the precision every backend keeps), which compare, sort and `$max` alike on
//! every engine. `rev` lets `put_tag` write the whole tag list back only if nothing else
//! changed it since it was read.

use std::collections::BTreeMap;

use bioshadock_core::MemberName;
use bioshadock_core::tag_policy::ContainerPolicy;
use bioshadock_core::{
    Access, Container, Member, PortError, PortResult, RepoName, Tag, TagName, Visibility,
};
use chrono::{DateTime, Utc};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{self, Bson};
use serde::{Deserialize, Serialize};

/// The stored form of a [`Container`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ContainerDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) owner: String,
    pub(super) description: String,
    pub(super) visibility: String,
    pub(super) git: Option<String>,
    pub(super) dockerfile: Option<String>,
    /// Absent in documents written before descriptors existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) descriptor: Option<String>,
    /// Absent in documents written before tag policies existed.
    #[serde(default, skip_serializing_if = "ContainerPolicy::is_empty")]
    pub(super) policy: ContainerPolicy,
    pub(super) tags: Vec<TagDoc>,
    pub(super) members: Vec<MemberDoc>,
    pub(super) readers: Vec<String>,
    pub(super) labels: Vec<LabelDoc>,
    pub(super) pulls: i64,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) rev: String,
}

/// What `put_tag` reads of a container before writing its tags back.
#[derive(Debug, Deserialize)]
pub(super) struct TagState {
    pub(super) tags: Vec<TagDoc>,
    pub(super) updated_at: i64,
    pub(super) rev: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct TagDoc {
    name: String,
    digest: String,
    size: i64,
    platforms: Vec<String>,
    pushed_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MemberDoc {
    user: String,
    access: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct LabelDoc {
    name: String,
    value: String,
}

/// A new revision marker: an ObjectId's hex, unique without coordination. A string rather
/// than an ObjectId: strings compare alike everywhere, while the nx-27017 stand-in matches no
/// ObjectId value in a filter.
pub(super) fn new_rev() -> String {
    ObjectId::new().to_hex()
}

/// A time as stored: Unix milliseconds.
pub(super) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_millis(id: &str, t: i64) -> PortResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t)
        .ok_or_else(|| corrupt(format!("{id}: time {t} out of range")))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A BSON value of `value`, for `$set` (serialising these types cannot fail but for
/// a bug, which becomes a backend error).
pub(super) fn to_bson<T: Serialize>(value: &T) -> PortResult<Bson> {
    bson::to_bson(value).map_err(PortError::backend)
}

impl TagDoc {
    pub(super) fn of(t: &Tag) -> Self {
        Self {
            name: t.name.as_str().to_owned(),
            digest: t.digest.clone(),
            size: to_i64(t.size),
            platforms: t.platforms.clone(),
            pushed_at: millis(t.pushed_at),
        }
    }
}

impl TagDoc {
    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

/// The tag list as stored: one entry per name (a name given twice keeps its last copy, as
/// repeated tag writes would), newest first, then by name.
pub(super) fn tags<'a>(list: impl IntoIterator<Item = &'a Tag>) -> Vec<TagDoc> {
    let mut by_name: BTreeMap<&str, &Tag> = BTreeMap::new();
    for t in list {
        by_name.insert(t.name.as_str(), t);
    }
    let mut tags: Vec<TagDoc> = by_name.into_values().map(TagDoc::of).collect();
    sort_tags(&mut tags);
    tags
}

/// Newest first, then by name, as [`Container::sort_tags`] orders them.
pub(super) fn sort_tags(tags: &mut [TagDoc]) {
    tags.sort_by(|a, b| {
        b.pushed_at
            .cmp(&a.pushed_at)
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// The member set as stored: one entry per user (the last access given wins, as a repeated
/// insert would leave it), sorted by user.
pub(super) fn members(list: &[Member]) -> Vec<MemberDoc> {
    let by_user: BTreeMap<&str, Access> =
        list.iter().map(|m| (m.user.as_str(), m.access)).collect();
    by_user
        .into_iter()
        .map(|(user, access)| MemberDoc {
            user: user.to_owned(),
            access: access.as_str().to_owned(),
        })
        .collect()
}

/// Who may see a private container: its owner and its members, once each.
pub(super) fn readers(owner: &str, members: &[MemberDoc]) -> Vec<String> {
    let mut readers = vec![owner.to_owned()];
    readers.extend(
        members
            .iter()
            .filter(|m| m.user != owner)
            .map(|m| m.user.clone()),
    );
    readers
}

pub(super) fn labels(labels: &BTreeMap<String, String>) -> Vec<LabelDoc> {
    labels
        .iter()
        .map(|(name, value)| LabelDoc {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

impl ContainerDoc {
    pub(super) fn of(c: &Container) -> Self {
        let members = members(&c.members);
        Self {
            id: c.id.as_str().to_owned(),
            owner: c.owner.clone(),
            description: c.description.clone(),
            visibility: c.visibility.as_str().to_owned(),
            git: c.git.clone(),
            dockerfile: c.dockerfile.clone(),
            descriptor: c.descriptor.clone(),
            policy: c.policy.clone(),
            tags: tags(c.tags.iter()),
            readers: readers(&c.owner, &members),
            members,
            labels: labels(&c.labels),
            pulls: to_i64(c.pulls),
            created_at: millis(c.created_at),
            updated_at: millis(c.updated_at),
            rev: new_rev(),
        }
    }

    pub(super) fn into_container(self) -> PortResult<Container> {
        let id = RepoName::parse(&self.id).map_err(|e| corrupt(format!("id {}: {e}", self.id)))?;
        let visibility = Visibility::parse(&self.visibility)
            .ok_or_else(|| corrupt(format!("{id}: visibility {}", self.visibility)))?;
        let tags = self
            .tags
            .into_iter()
            .map(|t| {
                Ok(Tag {
                    name: TagName::parse(&t.name)
                        .map_err(|e| corrupt(format!("{id}: tag {}: {e}", t.name)))?,
                    digest: t.digest,
                    size: t.size.max(0) as u64,
                    platforms: t.platforms,
                    pushed_at: from_millis(id.as_str(), t.pushed_at)?,
                })
            })
            .collect::<PortResult<Vec<_>>>()?;
        let mut members = self
            .members
            .into_iter()
            .map(|m| {
                Ok(Member {
                    user: MemberName::parse(&m.user)
                        .map_err(|e| corrupt(format!("{id}: member {}: {e}", m.user)))?,
                    access: Access::parse(&m.access).ok_or_else(|| {
                        corrupt(format!("{id}: member {}: access {}", m.user, m.access))
                    })?,
                })
            })
            .collect::<PortResult<Vec<_>>>()?;
        members.sort();
        let mut container = Container {
            owner: self.owner,
            description: self.description,
            visibility,
            git: self.git,
            dockerfile: self.dockerfile,
            descriptor: self.descriptor,
            policy: self.policy,
            tags,
            members,
            labels: self.labels.into_iter().map(|l| (l.name, l.value)).collect(),
            pulls: self.pulls.max(0) as u64,
            created_at: from_millis(id.as_str(), self.created_at)?,
            updated_at: from_millis(id.as_str(), self.updated_at)?,
            id,
        };
        container.sort_tags();
        Ok(container)
    }
}

/// A stored document that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("corrupt container document: {0}")]
struct Corrupt(String);

fn corrupt(what: String) -> PortError {
    PortError::backend(Corrupt(what))
}
