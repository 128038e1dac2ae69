//! Store scenarios about members and the portal-edited settings: members travel with their
//! container, `update_settings` touches only what the portal edits, and a signed-in user
//! sees the private containers they own or are a member of, and no others.

use std::sync::Arc;

use super::{expect_not_found, id, ids, ok, rich};
use crate::conformance::{
    ORGANISATION_READER_SEES, RULED_READER_SEES, at, container, member, organisation_catalogue,
    organisation_reader, ruled_reader,
};
use crate::ports::store::{ContainerSettings, ContainerStore, ListCursor};
use crate::{Access, Audience, Container, PortError, Visibility};

use Access::{Pull, Push};
use Visibility::{Private, Public};

pub(super) async fn members_round_trip(store: Arc<dyn ContainerStore>) {
    let mut c = rich("alice/tool", 10);
    c.members = vec![member("bob", Pull), member("carol", Push)];
    let mut unsorted = c.clone();
    unsorted.members.reverse();
    ok(store.create(&unsorted).await, "create");
    assert_eq!(
        ok(store.get(&c.id).await, "get"),
        c,
        "members read back, sorted by user"
    );
    let listed = ok(store.list(&Audience::Everyone, 0, 10).await, "list");
    assert_eq!(listed, [c.clone()], "list returns members");
    let walked = ok(
        store.list_after(&Audience::Everyone, None, 10).await,
        "list_after",
    );
    assert_eq!(walked, [c.clone()], "list_after returns members");
    let many = ok(store.get_many(&[c.id.clone()]).await, "get_many");
    assert_eq!(many, [c.clone()], "get_many returns members");

    let mut fewer = c.clone();
    fewer.members = vec![member("dave", Push)];
    ok(store.put(&fewer).await, "put");
    assert_eq!(
        ok(store.get(&c.id).await, "get"),
        fewer,
        "put replaces the member set"
    );

    let mut none = fewer.clone();
    none.members.clear();
    let mut other = container("bob/x", Private, 11);
    other.members = vec![member("alice", Pull)];
    ok(
        store.put_many(&[none.clone(), other.clone()]).await,
        "put_many",
    );
    assert_eq!(
        ok(store.get(&none.id).await, "get"),
        none,
        "put_many clears members"
    );
    assert_eq!(
        ok(store.get(&other.id).await, "get"),
        other,
        "put_many writes members"
    );
}

pub(super) async fn update_settings_changes_only_portal_fields(store: Arc<dyn ContainerStore>) {
    let mut c = rich("alice/tool", 10);
    c.members = vec![member("bob", Pull)];
    ok(store.create(&c).await, "create");
    expect_not_found(
        store
            .update_settings(&id("no/such"), &ContainerSettings::of(&c))
            .await,
        "update_settings of a missing container",
    );

    let settings = ContainerSettings {
        description: "A new description".into(),
        visibility: Private,
        git: None,
        dockerfile: Some("FROM scratch\n".into()),
        descriptor: Some("https://example.org/tool.wdl".into()),
        policy: tag_policy(),
        members: vec![member("dave", Pull), member("carol", Push)],
        updated_at: at(40),
        read_at: c.updated_at,
    };
    ok(
        store.update_settings(&c.id, &settings).await,
        "update_settings",
    );
    let mut expected = c.clone();
    expected.description = settings.description.clone();
    expected.visibility = Private;
    expected.git = None;
    expected.dockerfile = settings.dockerfile.clone();
    expected.descriptor = settings.descriptor.clone();
    expected.policy = tag_policy();
    expected.members = vec![member("carol", Push), member("dave", Pull)];
    expected.updated_at = at(40);
    assert_eq!(
        ok(store.get(&c.id).await, "get"),
        expected,
        "the portal fields change; owner, tags, labels, pulls and created_at stay"
    );
    assert_eq!(
        ok(store.count(&Audience::Public).await, "count"),
        0,
        "update_settings can make a container private"
    );
    assert_eq!(ok(store.count(&Audience::Everyone).await, "count"), 1);

    let mut back = ContainerSettings::of(&expected);
    back.visibility = Public;
    back.members.clear();
    ok(store.update_settings(&c.id, &back).await, "update_settings");
    let got = ok(store.get(&c.id).await, "get");
    assert!(got.members.is_empty(), "members are replaced, not merged");
    assert_eq!(got.tags, c.tags, "tags stay");
    assert_eq!(ok(store.count(&Audience::Public).await, "count"), 1);

    // Settings read before the first change would undo it: refused, and nothing is written.
    let mut stale = ContainerSettings::of(&c);
    stale.visibility = Private;
    stale.description = "written over".into();
    stale.updated_at = at(60);
    let refused = store.update_settings(&c.id, &stale).await;
    assert!(
        matches!(refused, Err(PortError::Conflict(_))),
        "an update from a stale read must be a Conflict, got {refused:?}"
    );
    assert_eq!(ok(store.get(&c.id).await, "get"), got, "nothing changed");
    // A push moves updated_at too: settings read before it are stale as well.
    let fresh = ContainerSettings::of(&got);
    let mut pushed = c.tags[0].clone();
    pushed.pushed_at = at(90);
    ok(store.put_tag(&c.id, &pushed).await, "put_tag");
    assert!(matches!(
        store.update_settings(&c.id, &fresh).await,
        Err(PortError::Conflict(_))
    ));
    let mut again = ContainerSettings::of(&ok(store.get(&c.id).await, "get"));
    again.description = "after the push".into();
    again.updated_at = at(95);
    ok(
        store.update_settings(&c.id, &again).await,
        "update_settings read again",
    );
    assert_eq!(
        ok(store.get(&c.id).await, "get").description,
        "after the push"
    );
}

/// The catalogue of [`members_see_private_containers`], newest first.
fn catalogue() -> Vec<Container> {
    let with = |mut c: Container, members| {
        c.members = members;
        c
    };
    vec![
        // An owner listed as a member of their own container is still counted once.
        with(container("bob/mine", Private, 6), vec![member("bob", Pull)]),
        // A member of a public container is counted once too.
        with(container("erin/open", Public, 5), vec![member("bob", Push)]),
        container("dave/own", Private, 4),
        container("alice/secret", Private, 3),
        with(
            container("alice/shared", Private, 2),
            vec![member("bob", Pull), member("carol", Push)],
        ),
        container("alice/public", Public, 1),
    ]
}

pub(super) async fn members_see_private_containers(store: Arc<dyn ContainerStore>) {
    let all = catalogue();
    ok(store.put_many(&all).await, "put_many");
    let user = |name: &str| Audience::User(name.into());
    let cases = [
        (
            user("bob"),
            vec!["bob/mine", "erin/open", "alice/shared", "alice/public"],
        ),
        (
            user("carol"),
            vec!["erin/open", "alice/shared", "alice/public"],
        ),
        (user("dave"), vec!["erin/open", "dave/own", "alice/public"]),
        (
            user("alice"),
            vec!["erin/open", "alice/secret", "alice/shared", "alice/public"],
        ),
        (user("frank"), vec!["erin/open", "alice/public"]),
        (Audience::Public, vec!["erin/open", "alice/public"]),
        (Audience::Everyone, ids(&all)),
    ];
    for (audience, expected) in &cases {
        expect_visible(&store, audience, expected).await;
    }

    // Bob leaves alice/shared: he no longer sees it, carol still does.
    let shared = all
        .iter()
        .find(|c| c.id.as_str() == "alice/shared")
        .unwrap();
    let mut settings = ContainerSettings::of(shared);
    settings.members = vec![member("carol", Push)];
    ok(
        store.update_settings(&shared.id, &settings).await,
        "update_settings",
    );
    expect_visible(
        &store,
        &user("bob"),
        &["bob/mine", "erin/open", "alice/public"],
    )
    .await;
    expect_visible(&store, &user("carol"), &cases[1].1).await;
}

/// Asserts what `audience` sees through list, count, and list_after walked in pages of 1 and 2.
async fn expect_visible(store: &Arc<dyn ContainerStore>, audience: &Audience, expected: &[&str]) {
    let list = ok(store.list(audience, 0, 100).await, "list");
    assert_eq!(ids(&list), expected, "list for {audience:?}");
    let count = ok(store.count(audience).await, "count");
    assert_eq!(count, expected.len() as u64, "count for {audience:?}");
    for page in [1, 2] {
        let mut walked: Vec<String> = Vec::new();
        let mut cursor: Option<ListCursor> = None;
        loop {
            let got = ok(
                store.list_after(audience, cursor.as_ref(), page).await,
                "list_after",
            );
            let Some(last) = got.last() else { break };
            cursor = Some(ListCursor::of(last));
            walked.extend(got.iter().map(|c| c.id.to_string()));
            assert!(
                walked.len() <= expected.len(),
                "list_after for {audience:?} does not advance: {walked:?}"
            );
        }
        assert_eq!(
            walked, expected,
            "list_after walk by {page} for {audience:?}"
        );
    }
}

pub(super) async fn delete_removes_members(store: Arc<dyn ContainerStore>) {
    let mut shared = container("alice/shared", Private, 2);
    shared.members = vec![member("bob", Push)];
    ok(store.create(&shared).await, "create");
    ok(store.delete(&shared.id).await, "delete");
    let bob = Audience::User("bob".into());
    assert_eq!(
        ok(store.count(&bob).await, "count"),
        0,
        "count after delete"
    );

    let again = container("alice/shared", Private, 3);
    ok(store.create(&again).await, "re-create after delete");
    assert!(
        ok(store.get(&again.id).await, "get").members.is_empty(),
        "deleting a container deletes its members"
    );
    assert!(
        ok(store.list(&bob, 0, 10).await, "list").is_empty(),
        "a former member does not see a re-created container"
    );
    assert_eq!(ok(store.count(&bob).await, "count"), 0);
}

pub(super) async fn organisation_readers_see_their_namespaces(store: Arc<dyn ContainerStore>) {
    ok(store.put_many(&organisation_catalogue()).await, "put_many");
    expect_visible(&store, &organisation_reader(), ORGANISATION_READER_SEES).await;
    // Without the organisation, mia sees her own and the public ones only.
    expect_visible(
        &store,
        &Audience::User("mia".into()),
        &["mia/own", "lab/open"],
    )
    .await;
}

pub(super) async fn robot_members_round_trip_and_see(store: Arc<dyn ContainerStore>) {
    let mut data = container("lab/data", Private, 1);
    data.members = vec![member("alice", Pull), member("lab+ci", Push)];
    ok(store.create(&data).await, "create");
    let stored = ok(store.get(&data.id).await, "get");
    assert_eq!(stored.members, data.members, "a robot member round-trips");
    expect_visible(&store, &Audience::User("lab+ci".into()), &["lab/data"]).await;
    expect_visible(&store, &Audience::User("lab+other".into()), &[]).await;
}

pub(super) async fn access_rules_decide_lists_and_counts(store: Arc<dyn ContainerStore>) {
    ok(store.put_many(&organisation_catalogue()).await, "put_many");
    expect_visible(&store, &ruled_reader(), RULED_READER_SEES).await;
}

/// A tag policy with every part set: immutable patterns, the container's and a tag's
/// deprecation, a date that blocks pulls.
fn tag_policy() -> crate::tag_policy::ContainerPolicy {
    use crate::tag_policy::{ContainerPolicy, Deprecation, ImmutableTags};
    let deprecation = |reason: &str, block: Option<i64>| {
        Deprecation::new(
            reason.into(),
            Some("lab/tool:2".into()),
            block.map(at),
            at(30),
        )
        .unwrap()
    };
    ContainerPolicy {
        immutable: Some(ImmutableTags::patterns(vec!["1.*".into(), "!latest".into()]).unwrap()),
        deprecated: Some(deprecation("superseded", None)),
        deprecated_tags: [("1.0".to_owned(), deprecation("CVE-2026-1", Some(50)))].into(),
        retention: Some(crate::retention::RetentionPolicy {
            keep_newest: Some(10),
            keep: vec![">=1.0 <2".into(), "/^paper-/".into()],
            delete_older_than_days: Some(90),
        }),
        expiring: [("pr-12".to_owned(), "2w".to_owned())].into(),
        build: crate::build_settings::ContainerBuildSettings {
            args: [("VERSION".to_owned(), "{tag}".to_owned())].into(),
            schedule: Some("0 3 * * 1".into()),
            rebuild_on_base: true,
            secrets: [(
                "TOKEN".to_owned(),
                crate::build_settings::SealedSecret("v1.sealed".into()),
            )]
            .into(),
        },
    }
}
