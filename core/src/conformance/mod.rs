//! Conformance suites: the behaviour every backend of a port must show. Each backend's tests
//! call these with a fresh, empty instance; a suite panics with a message on the first
//! deviation. Compiled with the `conformance` feature only.

pub mod accounts;
pub mod builds;
pub mod coordination;
pub mod log_wakeups;
pub mod queue;
pub mod search;
pub mod store;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::accounts::UserName;
use crate::{Access, Container, Member, RepoName, Tag, TagName, Visibility};

/// A fixed point in time, so suites can place containers exactly in newest-first order.
pub fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000).unwrap() + Duration::minutes(minutes)
}

/// A container `id` owned by the namespace's user, updated at `at(minute)`.
pub fn container(id: &str, visibility: Visibility, minute: i64) -> Container {
    let id = RepoName::parse(id).expect("fixture name is valid");
    let mut c = Container::new(id.clone(), id.namespace(), visibility);
    c.description = format!("{} does things", id.short_name());
    c.created_at = at(minute);
    c.updated_at = at(minute);
    c
}

/// A tag pushed at `at(minute)`.
pub fn tag(name: &str, minute: i64) -> Tag {
    Tag {
        name: TagName::parse(name).expect("fixture tag is valid"),
        digest: format!("sha256:{:064x}", minute),
        size: 1_000_000 + minute as u64,
        platforms: vec!["linux/amd64".into()],
        pushed_at: at(minute),
    }
}

/// A member `user` with `access`.
pub fn member(user: &str, access: Access) -> Member {
    Member {
        user: UserName::parse(user).expect("fixture user name is valid"),
        access,
    }
}

/// Labels from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
