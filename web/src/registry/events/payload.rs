//! What Distribution sends to `/registry/events`, and which of it the catalogue cares about.
//!
//! Each event is read on its own and leniently: one odd event is skipped with a warning rather
//! than failing the batch, because the registry retries a refused batch for as long as it runs.

use bioshadock_core::accounts::UserName;
use bioshadock_core::{RepoName, TagName};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::registry::MANIFEST_MEDIA_TYPES;

// The media types that are a manifest list or image index (a pull of one is followed by a
// pull of the chosen platform's manifest, which is the one counted): the front's list.
use bioshadock_front::INDEX_MEDIA_TYPES;

/// The body of a notification: `{"events": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegistryEvents {
    /// The events, oldest first as far as the registry knows.
    #[schema(value_type = Vec<RegistryEvent>)]
    pub events: Vec<serde_json::Value>,
}

/// One registry event, as Distribution 2.8 and 3 write it (fields not read here are omitted).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RegistryEvent {
    /// Unique per event; a redelivered event keeps it.
    #[serde(default)]
    pub id: String,
    /// RFC 3339.
    pub timestamp: Option<String>,
    /// `push`, `pull`, `mount` or `delete`.
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub target: EventTarget,
    #[serde(default)]
    pub request: EventRequest,
    #[serde(default)]
    pub actor: EventActor,
}

/// What the event is about. Delete events carry only the repository and a digest or a tag.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTarget {
    #[serde(default)]
    pub media_type: String,
    /// Bytes of the manifest or blob.
    pub size: Option<u64>,
    /// The older name of `size`.
    pub length: Option<u64>,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub repository: String,
    pub tag: Option<String>,
}

/// The HTTP request behind the event.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct EventRequest {
    /// `GET`, `HEAD`, `PUT`, `DELETE`...
    #[serde(default)]
    pub method: String,
}

/// Who made the request: the `sub` of their registry token.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct EventActor {
    #[serde(default)]
    pub name: String,
}

/// A change the catalogue records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// A manifest was pushed under a tag.
    Pushed {
        id: RepoName,
        tag: TagName,
        digest: String,
        /// The manifest's size until the worker reads the image's.
        size: u64,
        at: DateTime<Utc>,
        actor: Option<UserName>,
    },
    /// An image was pulled (counted once per image: see [`classify`]).
    Pulled {
        id: RepoName,
    },
    DeletedTag {
        id: RepoName,
        tag: TagName,
    },
    /// A manifest (or a blob: the event does not say which) was deleted by digest.
    DeletedDigest {
        id: RepoName,
        digest: String,
    },
}

impl Fact {
    pub fn id(&self) -> &RepoName {
        match self {
            Self::Pushed { id, .. }
            | Self::Pulled { id }
            | Self::DeletedTag { id, .. }
            | Self::DeletedDigest { id, .. } => id,
        }
    }
}

/// The fact an event states, or `None` for events the catalogue ignores: blob pushes and
/// mounts, pushes of untagged manifests (the children of an index), `HEAD` pulls, pulls of an
/// index (the client goes on to pull one platform's manifest, which is counted), and names
/// that are not container ids.
/// The token subjects the portal itself uses with the registry.
const PORTAL_SUBJECTS: [&str; 2] = [
    crate::registry::PORTAL_SUBJECT,
    crate::registry::check::CHECK_SUBJECT,
];

pub fn classify(event: &RegistryEvent) -> Option<Fact> {
    let target = &event.target;
    let id = RepoName::parse(&target.repository).ok()?;
    let manifest = MANIFEST_MEDIA_TYPES.contains(&target.media_type.as_str());
    let tag = || {
        target
            .tag
            .as_deref()
            .filter(|t| !t.is_empty())
            .and_then(|t| TagName::parse(t).ok())
    };
    match event.action.as_str() {
        "push" if manifest => Some(Fact::Pushed {
            tag: tag()?,
            digest: valid_digest(&target.digest)?.to_owned(),
            size: target.size.or(target.length).unwrap_or(0),
            at: timestamp(event.timestamp.as_deref()),
            actor: UserName::parse(&event.actor.name).ok(),
            id,
        }),
        // The portal's own reads (labels of a pushed image, reconciliation, the self-check)
        // are not pulls by anyone.
        "pull"
            if manifest
                && event.request.method.eq_ignore_ascii_case("GET")
                && !INDEX_MEDIA_TYPES.contains(&target.media_type.as_str())
                && !PORTAL_SUBJECTS.contains(&event.actor.name.as_str()) =>
        {
            Some(Fact::Pulled { id })
        }
        "delete" => match tag() {
            Some(tag) => Some(Fact::DeletedTag { id, tag }),
            None => Some(Fact::DeletedDigest {
                digest: valid_digest(&target.digest)?.to_owned(),
                id,
            }),
        },
        _ => None,
    }
}

/// `algorithm:encoded` per the OCI digest grammar, short enough to store and put in a URL.
pub fn valid_digest(digest: &str) -> Option<&str> {
    let (algorithm, encoded) = digest.split_once(':')?;
    let ok = !algorithm.is_empty()
        && !encoded.is_empty()
        && digest.len() <= 255
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    ok.then_some(digest)
}

/// The event's time at the store's millisecond precision; now when absent or unreadable.
fn timestamp(raw: Option<&str>) -> DateTime<Utc> {
    raw.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| DateTime::from_timestamp_millis(t.timestamp_millis()))
        .unwrap_or_else(bioshadock_core::model::now)
}
