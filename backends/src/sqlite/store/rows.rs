//! How containers travel to and from SQL: the JSON arrays that batch writes unpack with
//! `json_each`, the statements that unpack them, and the row a read decodes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bioshadock_core::MemberName;
use bioshadock_core::tag_policy::ContainerPolicy;
use bioshadock_core::{Access, Container, Member, PortResult, RepoName, Tag, TagName, Visibility};
use serde::{Deserialize, Serialize};

use crate::sqlite::{corrupt, from_millis, to_i64};

pub(super) use crate::sqlite::json;

/// Inserts the containers of a JSON array argument. A macro so that `concat!` can extend it.
macro_rules! insert_containers {
    () => {
        "INSERT INTO containers \
     (id, owner, description, visibility, git, dockerfile, descriptor, policy, labels, pulls, \
      created_at, updated_at) \
     SELECT value ->> 'id', value ->> 'owner', value ->> 'description', value ->> 'visibility', \
       value ->> 'git', value ->> 'dockerfile', value ->> 'descriptor', value ->> 'policy', value ->> 'labels', \
       value ->> 'pulls', \
       value ->> 'created_at', value ->> 'updated_at' \
         FROM json_each(?1) WHERE true"
    };
}

pub(super) const INSERT_CONTAINERS: &str = insert_containers!();

/// An upsert rather than `INSERT OR REPLACE`: replacing would delete the row, cascading to its
/// tags and churning the visibility counters.
pub(super) const UPSERT_CONTAINERS: &str = concat!(
    insert_containers!(),
    " ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, description = excluded.description, \
      visibility = excluded.visibility, git = excluded.git, dockerfile = excluded.dockerfile, \
      descriptor = excluded.descriptor, policy = excluded.policy, \
      labels = excluded.labels, pulls = excluded.pulls, created_at = excluded.created_at, \
      updated_at = excluded.updated_at"
);

/// Adds tags, replacing any with the same name on the same container.
pub(super) const INSERT_TAGS: &str = "INSERT INTO tags (container_id, name, digest, size, platforms, pushed_at) \
     SELECT value ->> 'container_id', value ->> 'name', value ->> 'digest', value ->> 'size', \
       value ->> 'platforms', value ->> 'pushed_at' \
     FROM json_each(?1) WHERE true \
     ON CONFLICT (container_id, name) DO UPDATE SET digest = excluded.digest, size = excluded.size, \
       platforms = excluded.platforms, pushed_at = excluded.pushed_at";

/// Adds members; a user listed twice for one container keeps the last access given.
pub(super) const INSERT_MEMBERS: &str = "INSERT INTO container_members (container_id, user, access) \
     SELECT value ->> 'container_id', value ->> 'user', value ->> 'access' \
     FROM json_each(?1) WHERE true \
     ON CONFLICT (container_id, user) DO UPDATE SET access = excluded.access";

/// A container as one element of a write's JSON argument.
#[derive(Serialize)]
pub(super) struct ContainerJson<'a> {
    id: &'a str,
    owner: &'a str,
    description: &'a str,
    visibility: &'static str,
    git: Option<&'a str>,
    dockerfile: Option<&'a str>,
    descriptor: Option<&'a str>,
    /// Already JSON text: stored as given.
    policy: String,
    /// Already JSON text: stored as given.
    labels: String,
    pulls: i64,
    created_at: i64,
    updated_at: i64,
}

impl<'a> ContainerJson<'a> {
    pub(super) fn of(c: &'a Container) -> PortResult<Self> {
        Ok(Self {
            id: c.id.as_str(),
            owner: &c.owner,
            description: &c.description,
            visibility: c.visibility.as_str(),
            git: c.git.as_deref(),
            dockerfile: c.dockerfile.as_deref(),
            descriptor: c.descriptor.as_deref(),
            policy: json(&c.policy)?,
            labels: json(&c.labels)?,
            pulls: to_i64(c.pulls),
            created_at: c.created_at.timestamp_millis(),
            updated_at: c.updated_at.timestamp_millis(),
        })
    }
}

/// A tag as one element of a write's JSON argument.
#[derive(Serialize)]
pub(super) struct TagJson<'a> {
    container_id: &'a str,
    name: &'a str,
    digest: &'a str,
    size: i64,
    /// Already JSON text: stored as given.
    platforms: String,
    pushed_at: i64,
}

impl<'a> TagJson<'a> {
    pub(super) fn of(id: &'a RepoName, t: &'a Tag) -> PortResult<Self> {
        Ok(Self {
            container_id: id.as_str(),
            name: t.name.as_str(),
            digest: &t.digest,
            size: to_i64(t.size),
            platforms: json(&t.platforms)?,
            pushed_at: t.pushed_at.timestamp_millis(),
        })
    }
}

/// A member as one element of a write's JSON argument.
#[derive(Serialize)]
pub(super) struct MemberJson<'a> {
    container_id: &'a str,
    user: &'a str,
    access: &'static str,
}

impl<'a> MemberJson<'a> {
    pub(super) fn of(id: &'a RepoName, m: &'a Member) -> Self {
        Self {
            container_id: id.as_str(),
            user: m.user.as_str(),
            access: m.access.as_str(),
        }
    }
}

/// One row of the store's `select!()`: the whole container as one JSON array, in the order of
/// [`Fields`]. One column rather than twelve: the driver copies every column value (under
/// SQLite's global allocator lock) on its worker thread and frees it on the reader's, and a
/// full listing spent a tenth of its time on that.
#[derive(sqlx::FromRow)]
pub(super) struct ContainerRow {
    fields: String,
}

/// The fields of a row. Labels, tags and members are nested JSON, stored as such. The
/// strings only parsed into a name (`Cow`) are borrowed from the row where they can be.
#[derive(Deserialize)]
struct Fields<'a>(
    #[serde(borrow)] Cow<'a, str>,
    String,
    String,
    #[serde(borrow)] Cow<'a, str>,
    Option<String>,
    Option<String>,
    Option<String>,
    ContainerPolicy,
    BTreeMap<String, String>,
    i64,
    i64,
    i64,
    #[serde(borrow)] Vec<TagFields<'a>>,
    #[serde(borrow)] Vec<MemberFields<'a>>,
);

/// `[name, digest, size, [platform, ...], pushed_at]`
#[derive(Deserialize)]
struct TagFields<'a>(#[serde(borrow)] Cow<'a, str>, String, i64, Vec<String>, i64);

/// `[user, access]`
#[derive(Deserialize)]
struct MemberFields<'a>(#[serde(borrow)] Cow<'a, str>, #[serde(borrow)] Cow<'a, str>);

impl ContainerRow {
    pub(super) fn into_container(self) -> PortResult<Container> {
        let Fields(
            id,
            owner,
            description,
            visibility,
            git,
            dockerfile,
            descriptor,
            policy,
            labels,
            pulls,
            created_at,
            updated_at,
            tags,
            members,
        ) = serde_json::from_str(&self.fields).map_err(|e| {
            let start: String = self.fields.chars().take(80).collect();
            corrupt(format!("{start}: {e}"))
        })?;
        let id = RepoName::parse(&id).map_err(|e| corrupt(format!("id {id}: {e}")))?;
        let visibility = Visibility::parse(&visibility)
            .ok_or_else(|| corrupt(format!("{id}: visibility {visibility}")))?;
        let tags = tags
            .into_iter()
            .map(|TagFields(name, digest, size, platforms, pushed_at)| {
                Ok(Tag {
                    name: TagName::parse(&name)
                        .map_err(|e| corrupt(format!("{id}: tag {name}: {e}")))?,
                    digest,
                    size: size.max(0) as u64,
                    platforms,
                    pushed_at: from_millis(pushed_at)?,
                })
            })
            .collect::<PortResult<Vec<_>>>()?;
        let mut members = decode_members(&id, members)?;
        members.sort();
        let mut container = Container {
            owner,
            description,
            visibility,
            git,
            dockerfile,
            descriptor,
            policy,
            tags,
            members,
            labels,
            pulls: pulls.max(0) as u64,
            created_at: from_millis(created_at)?,
            updated_at: from_millis(updated_at)?,
            id,
        };
        container.sort_tags();
        Ok(container)
    }
}

fn decode_members(id: &RepoName, pairs: Vec<MemberFields>) -> PortResult<Vec<Member>> {
    pairs
        .into_iter()
        .map(|MemberFields(user, access)| {
            Ok(Member {
                user: MemberName::parse(&user)
                    .map_err(|e| corrupt(format!("{id}: member {user}: {e}")))?,
                access: Access::parse(&access)
                    .ok_or_else(|| corrupt(format!("{id}: member {user}: access {access}")))?,
            })
        })
        .collect()
}
