//! Conformance suites: the behaviour every backend of a port must show. Each backend's tests
//! call these with a fresh, empty instance; a suite panics with a message on the first
//! deviation. Compiled with the `conformance` feature only.

pub mod accounts;
pub mod builds;
pub mod coordination;
pub mod events;
pub mod log_wakeups;
pub mod orgs;
pub mod queue;
pub mod robots;
pub mod rules;
pub mod search;
pub mod store;
pub mod triggers;
pub mod webhooks;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

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

/// A member `user` (or robot, `owner+name`) with `access`.
pub fn member(user: &str, access: Access) -> Member {
    Member {
        user: crate::MemberName::parse(user).expect("fixture member name is valid"),
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

/// A catalogue around organisation `lab` for the organisation-reader scenarios: private
/// containers inside `lab/`, in look-alike namespaces (`lab-x`, `lab0`, `lab.x`, whose ids sort
/// right beside `lab/`), elsewhere, and one public.
pub fn organisation_catalogue() -> Vec<Container> {
    use Visibility::{Private, Public};
    [
        ("lab/tool", Private),
        ("lab/secret", Private),
        ("lab/open", Public),
        ("lab-x/tool", Private),
        ("lab0/tool", Private),
        ("lab.x/tool", Private),
        ("other/granted", Private),
        ("other/private", Private),
        ("mia/own", Private),
    ]
    .into_iter()
    .enumerate()
    .map(|(minute, (id, visibility))| container(id, visibility, minute as i64 + 1))
    .collect()
}

/// `mia`, who reads every container of `lab` but `lab/secret`, and `other/granted` besides.
pub fn organisation_reader() -> crate::Audience {
    crate::Audience::User(crate::Reader {
        name: "mia".into(),
        namespaces: vec!["lab".into()],
        hidden: vec!["lab/secret".into()],
        repositories: vec!["other/granted".into()],
    })
}

/// What [`organisation_reader`] sees of [`organisation_catalogue`], newest first.
pub const ORGANISATION_READER_SEES: &[&str] = &["mia/own", "other/granted", "lab/open", "lab/tool"];

/// A caller (`mia`) under access rules, for [`organisation_catalogue`]: `lab/secret` denied,
/// everything else of `lab/` granted, `mia/*` denied (even her own), the rest as to `mia`.
pub fn ruled_reader() -> crate::Audience {
    use crate::rules::NameRule;
    use crate::rules::whole_term::{from_glob, from_literal};
    crate::Audience::Ruled(Box::new(crate::audience::Ruled {
        base: crate::Audience::User("mia".into()),
        rules: vec![
            NameRule {
                pattern: from_literal("lab/secret"),
                pull: false,
            },
            NameRule {
                pattern: from_glob("lab/*"),
                pull: true,
            },
            NameRule {
                pattern: from_glob("mia/*"),
                pull: false,
            },
        ],
    }))
}

/// What [`ruled_reader`] sees of [`organisation_catalogue`], newest first.
pub const RULED_READER_SEES: &[&str] = &["lab/open", "lab/tool"];
