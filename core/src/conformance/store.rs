//! The behaviour every [`ContainerStore`] must show. Each scenario gets a fresh, empty store.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use self::members::{
    access_rules_decide_lists_and_counts, delete_removes_members, members_round_trip,
    members_see_private_containers, organisation_readers_see_their_namespaces,
    robot_members_round_trip_and_see, update_settings_changes_only_portal_fields,
};
use super::{at, container, labels, tag};
use crate::ports::store::{ContainerStore, ListCursor};
use crate::{Audience, Container, PortError, PortResult, RepoName, TagName, Visibility};

mod members;

/// Runs every scenario, each on a store from `fresh`. Panics on the first deviation, naming
/// the scenario (printed to stderr before it starts) and what differed.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ContainerStore>>,
{
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {
            $(
                eprintln!("store conformance: {}", stringify!($name));
                $name(fresh().await).await;
            )*
        };
    }
    scenarios!(
        round_trips_every_field,
        create_conflicts_on_existing_id,
        get_missing_is_not_found,
        delete_removes_container_and_tags,
        put_replaces_container_and_tags,
        put_many_writes_all_last_copy_wins,
        lists_newest_first_ties_by_id,
        audience_filters_list_and_count,
        offset_pages_cover_the_list,
        list_after_continues_at_cursor,
        get_many_keeps_order_skips_missing,
        put_tag_adds_and_bumps_forward_only,
        delete_tag_removes_one_tag,
        add_pulls_accumulates,
        set_labels_replaces_labels_only,
        count_follows_deletes_and_visibility_changes,
        members_round_trip,
        update_settings_changes_only_portal_fields,
        members_see_private_containers,
        organisation_readers_see_their_namespaces,
        robot_members_round_trip_and_see,
        access_rules_decide_lists_and_counts,
        delete_removes_members,
        ping_answers,
        deletions_remember_the_last_visibility,
    );
}

fn id(raw: &str) -> RepoName {
    RepoName::parse(raw).expect("test id is valid")
}

fn ids(list: &[Container]) -> Vec<&str> {
    list.iter().map(|c| c.id.as_str()).collect()
}

fn ok<T>(result: PortResult<T>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: unexpected error {e:?}"))
}

fn expect_not_found<T: Debug>(result: PortResult<T>, what: &str) {
    assert!(
        matches!(result, Err(PortError::NotFound)),
        "{what}: expected NotFound, got {result:?}"
    );
}

/// A container with every optional field set and awkward text, to catch lossy storage.
fn rich(raw: &str, minute: i64) -> Container {
    let mut c = container(raw, Visibility::Public, minute);
    c.description = "# Title\n\nIt's \"quoted\", ünïcode ✓, back\\slash, 100% _md_ `code`\n".into();
    c.git = Some("https://github.com/lab/tool.git#v1.2:docker".into());
    c.dockerfile = Some("FROM debian:12\nRUN echo 'hi' && echo \"there\"\n".into());
    c.descriptor = Some("cwl/tool ü.cwl".into());
    c.labels = labels(&[
        ("org.opencontainers.image.title", "Tool"),
        ("org.opencontainers.image.version", "1.2"),
        ("empty", ""),
        ("quote\"key", "line\nbreak"),
    ]);
    c.pulls = 12_345;
    let mut multi = tag("1.2", minute - 1);
    multi.platforms = vec!["linux/amd64".into(), "linux/arm64/v8".into()];
    multi.size = 9_876_543_210;
    c.tags = vec![tag("1.1", minute - 3), multi, tag("latest", minute - 1)];
    c.sort_tags();
    c
}

async fn round_trips_every_field(store: Arc<dyn ContainerStore>) {
    let c = rich("lab/tool", 10);
    ok(store.create(&c).await, "create");
    let got = ok(store.get(&c.id).await, "get");
    assert_eq!(
        got, c,
        "a created container reads back exactly, tags newest first then by name"
    );
    assert_eq!(
        ids(&ok(store.list(&Audience::Public, 0, 10).await, "list")),
        ["lab/tool"]
    );
    let listed = ok(store.list(&Audience::Public, 0, 10).await, "list");
    assert_eq!(listed[0], c, "list returns containers with their tags");

    let mut bare = container("lab/bare", Visibility::Private, 3);
    bare.git = None;
    bare.dockerfile = None;
    ok(store.create(&bare).await, "create bare");
    assert_eq!(
        ok(store.get(&bare.id).await, "get bare"),
        bare,
        "empty fields read back empty"
    );
}

async fn create_conflicts_on_existing_id(store: Arc<dyn ContainerStore>) {
    let first = rich("lab/tool", 10);
    ok(store.create(&first).await, "create");
    let mut second = container("lab/tool", Visibility::Private, 20);
    second.description = "impostor".into();
    let result = store.create(&second).await;
    assert!(
        matches!(result, Err(PortError::Conflict(_))),
        "second create: expected Conflict, got {result:?}"
    );
    assert_eq!(
        ok(store.get(&first.id).await, "get"),
        first,
        "a refused create changes nothing"
    );
    assert_eq!(ok(store.count(&Audience::Everyone).await, "count"), 1);
}

async fn get_missing_is_not_found(store: Arc<dyn ContainerStore>) {
    expect_not_found(
        store.get(&id("no/such")).await,
        "get of a missing container",
    );
}

async fn delete_removes_container_and_tags(store: Arc<dyn ContainerStore>) {
    expect_not_found(
        store.delete(&id("no/such")).await,
        "delete of a missing container",
    );
    let c = rich("lab/tool", 10);
    ok(store.create(&c).await, "create");
    ok(store.delete(&c.id).await, "delete");
    expect_not_found(store.get(&c.id).await, "get after delete");
    expect_not_found(store.delete(&c.id).await, "second delete");
    assert_eq!(
        ok(store.count(&Audience::Everyone).await, "count"),
        0,
        "count after delete"
    );
    assert!(
        ok(store.list(&Audience::Everyone, 0, 10).await, "list").is_empty(),
        "list after delete"
    );

    let again = container("lab/tool", Visibility::Public, 11);
    ok(store.create(&again).await, "re-create after delete");
    assert!(
        ok(store.get(&c.id).await, "get").tags.is_empty(),
        "deleting a container deletes its tags"
    );
}

async fn put_replaces_container_and_tags(store: Arc<dyn ContainerStore>) {
    let c = rich("lab/tool", 10);
    ok(store.put(&c).await, "put of a new container");
    assert_eq!(ok(store.get(&c.id).await, "get"), c, "put creates");
    ok(store.put(&c).await, "put again");
    assert_eq!(ok(store.get(&c.id).await, "get"), c, "put is idempotent");

    let mut next = container("lab/tool", Visibility::Private, 30);
    next.owner = "someone".into();
    next.tags = vec![tag("2.0", 29)];
    ok(store.put(&next).await, "put replacement");
    assert_eq!(
        ok(store.get(&c.id).await, "get"),
        next,
        "put replaces fields and the whole tag set"
    );
    assert_eq!(
        ok(store.count(&Audience::Public).await, "count"),
        0,
        "put can make a container private"
    );
    assert_eq!(
        ok(store.count(&Audience::Everyone).await, "count"),
        1,
        "put replaces, never duplicates"
    );
}

async fn put_many_writes_all_last_copy_wins(store: Arc<dyn ContainerStore>) {
    ok(store.put_many(&[]).await, "put_many of nothing");
    let mut all: Vec<Container> = (0..60)
        .map(|i| {
            let mut c = container(&format!("ns{}/tool{i}", i % 7), Visibility::Public, 10 + i);
            c.tags = vec![tag("latest", 10 + i), tag("1.0", 9 + i)];
            c
        })
        .collect();
    let mut twice = all[5].clone();
    twice.description = "the later copy".into();
    twice.tags = vec![tag("only", 3)];
    all.push(twice.clone());
    ok(store.put_many(&all).await, "put_many");
    ok(store.put_many(&all).await, "put_many again");
    assert_eq!(
        ok(store.count(&Audience::Everyone).await, "count"),
        60,
        "put_many is idempotent"
    );
    assert_eq!(
        ok(store.get(&twice.id).await, "get"),
        twice,
        "the last copy of a repeated id wins"
    );
    let mut expected = all[10].clone();
    expected.sort_tags();
    assert_eq!(
        ok(store.get(&expected.id).await, "get"),
        expected,
        "put_many stores tags"
    );
}

async fn lists_newest_first_ties_by_id(store: Arc<dyn ContainerStore>) {
    for (raw, minute) in [
        ("b/x", 5),
        ("a/z", 1),
        ("c/a", 5),
        ("a/b", 5),
        ("z/z", 9),
        ("m/m", 3),
    ] {
        ok(
            store
                .create(&container(raw, Visibility::Public, minute))
                .await,
            "create",
        );
    }
    let list = ok(store.list(&Audience::Everyone, 0, 100).await, "list");
    assert_eq!(
        ids(&list),
        ["z/z", "a/b", "b/x", "c/a", "m/m", "a/z"],
        "updated_at desc, then id asc"
    );
    let after = ok(
        store.list_after(&Audience::Everyone, None, 100).await,
        "list_after",
    );
    assert_eq!(
        ids(&after),
        ids(&list),
        "list_after from the start matches list"
    );
    assert!(
        ok(store.list(&Audience::Everyone, 0, 0).await, "list").is_empty(),
        "limit 0 is empty"
    );
}

async fn audience_filters_list_and_count(store: Arc<dyn ContainerStore>) {
    for (raw, vis, minute) in [
        ("alice/public", Visibility::Public, 1),
        ("alice/secret", Visibility::Private, 2),
        ("bob/public", Visibility::Public, 3),
        ("bob/hidden", Visibility::Private, 4),
    ] {
        ok(store.create(&container(raw, vis, minute)).await, "create");
    }
    let cases = [
        (Audience::Public, vec!["bob/public", "alice/public"]),
        (
            Audience::User("alice".into()),
            vec!["bob/public", "alice/secret", "alice/public"],
        ),
        (
            Audience::User("carol".into()),
            vec!["bob/public", "alice/public"],
        ),
        (
            Audience::Everyone,
            vec!["bob/hidden", "bob/public", "alice/secret", "alice/public"],
        ),
    ];
    for (audience, expected) in cases {
        let list = ok(store.list(&audience, 0, 100).await, "list");
        assert_eq!(ids(&list), expected, "list for {audience:?}");
        let count = ok(store.count(&audience).await, "count");
        assert_eq!(count, expected.len() as u64, "count for {audience:?}");
        let mut walked = Vec::new();
        let mut cursor: Option<ListCursor> = None;
        loop {
            let page = ok(
                store.list_after(&audience, cursor.as_ref(), 1).await,
                "list_after",
            );
            let Some(last) = page.last() else { break };
            cursor = Some(ListCursor::of(last));
            walked.extend(page.iter().map(|c| c.id.to_string()));
            assert!(
                walked.len() <= expected.len(),
                "list_after for {audience:?} does not advance: {walked:?}"
            );
        }
        assert_eq!(walked, expected, "list_after walk for {audience:?}");
    }
}

async fn offset_pages_cover_the_list(store: Arc<dyn ContainerStore>) {
    let all: Vec<Container> = (0..10)
        .map(|i| container(&format!("lab/t{i}"), Visibility::Public, i % 4))
        .collect();
    ok(store.put_many(&all).await, "put_many");
    let full = ok(store.list(&Audience::Public, 0, 100).await, "list");
    assert_eq!(full.len(), 10);
    let mut paged = Vec::new();
    for offset in [0, 3, 6, 9] {
        let page = ok(store.list(&Audience::Public, offset, 3).await, "list page");
        assert!(page.len() <= 3, "a page holds at most `limit` containers");
        paged.extend(page);
    }
    assert_eq!(
        ids(&paged),
        ids(&full),
        "consecutive offset pages cover the list exactly"
    );
    assert!(
        ok(store.list(&Audience::Public, 10, 3).await, "list").is_empty(),
        "offset past the end"
    );
}

async fn list_after_continues_at_cursor(store: Arc<dyn ContainerStore>) {
    // Four share one instant, so pages of 3 split them: the cursor must break the tie by id.
    for (raw, minute) in [
        ("a/one", 8),
        ("d/tie", 5),
        ("b/tie", 5),
        ("a/tie", 5),
        ("c/tie", 5),
        ("e/old", 1),
    ] {
        ok(
            store
                .create(&container(raw, Visibility::Public, minute))
                .await,
            "create",
        );
    }
    let expected = ["a/one", "a/tie", "b/tie", "c/tie", "d/tie", "e/old"];
    let first = ok(
        store.list_after(&Audience::Public, None, 3).await,
        "first page",
    );
    assert_eq!(ids(&first), expected[..3], "first page");
    let cursor = ListCursor::of(&first[2]);
    let second = ok(
        store.list_after(&Audience::Public, Some(&cursor), 3).await,
        "second page",
    );
    assert_eq!(
        ids(&second),
        expected[3..],
        "second page starts right after the cursor"
    );
    let end = ListCursor::of(&second[2]);
    assert!(
        ok(
            store.list_after(&Audience::Public, Some(&end), 3).await,
            "after the end"
        )
        .is_empty()
    );

    // A cursor is a position, not a row: it still works once its container is gone.
    ok(store.delete(&id("b/tie")).await, "delete");
    let gone = ListCursor {
        updated_at: at(5),
        id: id("b/tie"),
    };
    let rest = ok(
        store.list_after(&Audience::Public, Some(&gone), 10).await,
        "after a deleted row",
    );
    assert_eq!(
        ids(&rest),
        ["c/tie", "d/tie", "e/old"],
        "resumes after a deleted cursor row"
    );
}

async fn get_many_keeps_order_skips_missing(store: Arc<dyn ContainerStore>) {
    let all: Vec<Container> = (0..5).map(|i| rich(&format!("lab/t{i}"), 10 + i)).collect();
    ok(store.put_many(&all).await, "put_many");
    assert!(ok(store.get_many(&[]).await, "get_many of nothing").is_empty());
    let asked = [id("lab/t3"), id("no/such"), id("lab/t0"), id("lab/t4")];
    let got = ok(store.get_many(&asked).await, "get_many");
    assert_eq!(
        ids(&got),
        ["lab/t3", "lab/t0", "lab/t4"],
        "order of ids, missing ones skipped"
    );
    assert_eq!(
        got[0], all[3],
        "get_many returns whole containers with tags"
    );
    assert!(ok(store.get_many(&[id("no/such")]).await, "get_many").is_empty());
}

async fn put_tag_adds_and_bumps_forward_only(store: Arc<dyn ContainerStore>) {
    ok(
        store
            .create(&container("lab/a", Visibility::Public, 10))
            .await,
        "create",
    );
    ok(
        store
            .create(&container("lab/b", Visibility::Public, 20))
            .await,
        "create",
    );
    expect_not_found(
        store.put_tag(&id("no/such"), &tag("1.0", 5)).await,
        "put_tag on a missing container",
    );

    ok(
        store.put_tag(&id("lab/a"), &tag("old", 2)).await,
        "put_tag older than updated_at",
    );
    let a = ok(store.get(&id("lab/a")).await, "get");
    assert_eq!(
        a.updated_at,
        at(10),
        "an older tag does not move updated_at back"
    );
    assert_eq!(a.tags, vec![tag("old", 2)]);

    ok(
        store.put_tag(&id("lab/a"), &tag("new", 30)).await,
        "put_tag newer than updated_at",
    );
    let a = ok(store.get(&id("lab/a")).await, "get");
    assert_eq!(
        a.updated_at,
        at(30),
        "a newer tag bumps updated_at to its push time"
    );
    assert_eq!(
        a.tags,
        vec![tag("new", 30), tag("old", 2)],
        "tags newest first"
    );
    let list = ok(store.list(&Audience::Public, 0, 10).await, "list");
    assert_eq!(
        ids(&list),
        ["lab/a", "lab/b"],
        "the bumped container moves to the front"
    );

    let mut moved = tag("old", 31);
    moved.digest = format!("sha256:{}", "f".repeat(64));
    moved.platforms = vec!["linux/arm64".into()];
    ok(
        store.put_tag(&id("lab/a"), &moved).await,
        "put_tag replacing a tag",
    );
    let a = ok(store.get(&id("lab/a")).await, "get");
    assert_eq!(
        a.tags,
        vec![moved, tag("new", 30)],
        "put_tag replaces a tag of the same name"
    );
    assert_eq!(a.updated_at, at(31));
}

async fn delete_tag_removes_one_tag(store: Arc<dyn ContainerStore>) {
    let c = rich("lab/tool", 10);
    ok(store.create(&c).await, "create");
    let latest = TagName::parse("latest").expect("valid");
    ok(store.delete_tag(&c.id, &latest).await, "delete_tag");
    let got = ok(store.get(&c.id).await, "get");
    let names: Vec<&str> = got.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["1.2", "1.1"], "only the named tag is gone");
    assert_eq!(
        got.updated_at, c.updated_at,
        "deleting a tag leaves updated_at"
    );
    expect_not_found(
        store.delete_tag(&c.id, &latest).await,
        "delete_tag of a missing tag",
    );
    expect_not_found(
        store.delete_tag(&id("no/such"), &latest).await,
        "delete_tag on a missing container",
    );
}

async fn add_pulls_accumulates(store: Arc<dyn ContainerStore>) {
    ok(
        store
            .create(&container("lab/tool", Visibility::Public, 1))
            .await,
        "create",
    );
    ok(store.add_pulls(&id("lab/tool"), 3).await, "add_pulls");
    ok(store.add_pulls(&id("lab/tool"), 4).await, "add_pulls");
    ok(store.add_pulls(&id("lab/tool"), 0).await, "add_pulls 0");
    let c = ok(store.get(&id("lab/tool")).await, "get");
    assert_eq!(c.pulls, 7, "pulls add up");
    assert_eq!(c.updated_at, at(1), "pulls do not make a container newer");
    expect_not_found(
        store.add_pulls(&id("no/such"), 1).await,
        "add_pulls on a missing container",
    );
}

async fn set_labels_replaces_labels_only(store: Arc<dyn ContainerStore>) {
    let c = rich("lab/tool", 10);
    ok(store.create(&c).await, "create");
    let next = labels(&[
        ("org.opencontainers.image.version", "2.0"),
        ("edam.topic", "http://edamontology.org/topic_0080"),
        ("quote\"key", "ünïcode\nline"),
    ]);
    ok(store.set_labels(&c.id, &next).await, "set_labels");
    ok(store.set_labels(&c.id, &next).await, "set_labels again");
    let mut expected = c.clone();
    expected.labels = next;
    assert_eq!(
        ok(store.get(&c.id).await, "get"),
        expected,
        "set_labels replaces the labels (idempotently) and nothing else, not even updated_at"
    );
    ok(
        store.set_labels(&c.id, &labels(&[])).await,
        "set_labels empty",
    );
    assert!(
        ok(store.get(&c.id).await, "get").labels.is_empty(),
        "labels can be cleared"
    );
    expect_not_found(
        store.set_labels(&id("no/such"), &labels(&[])).await,
        "set_labels on a missing container",
    );
}

async fn count_follows_deletes_and_visibility_changes(store: Arc<dyn ContainerStore>) {
    let all: Vec<Container> = (0..6)
        .map(|i| {
            let vis = if i % 3 == 0 {
                Visibility::Private
            } else {
                Visibility::Public
            };
            container(&format!("u{}/t{i}", i % 2), vis, i)
        })
        .collect();
    ok(store.put_many(&all).await, "put_many");
    let counts = |s: Arc<dyn ContainerStore>| async move {
        let public = ok(s.count(&Audience::Public).await, "count");
        let u0 = ok(s.count(&Audience::User("u0".into())).await, "count");
        let everyone = ok(s.count(&Audience::Everyone).await, "count");
        (public, u0, everyone)
    };
    // Private: u0/t0, u1/t3.
    assert_eq!(
        counts(store.clone()).await,
        (4, 5, 6),
        "(public, user u0, everyone)"
    );
    let mut flipped = all[1].clone();
    flipped.visibility = Visibility::Private;
    ok(store.put(&flipped).await, "put private");
    assert_eq!(
        counts(store.clone()).await,
        (3, 4, 6),
        "after u1/t1 turned private"
    );
    ok(store.delete(&id("u0/t0")).await, "delete");
    assert_eq!(
        counts(store.clone()).await,
        (3, 3, 5),
        "after deleting u0/t0"
    );
}

async fn ping_answers(store: Arc<dyn ContainerStore>) {
    ok(store.ping().await, "ping");
}

async fn deletions_remember_the_last_visibility(store: Arc<dyn ContainerStore>) {
    let secret = id("lab/secret");
    assert_eq!(
        ok(store.deleted_visibility(&secret).await, "never deleted"),
        None
    );
    ok(
        store.record_deletion(&secret, Visibility::Private).await,
        "record private",
    );
    assert_eq!(
        ok(
            store.deleted_visibility(&secret).await,
            "after one deletion"
        ),
        Some(Visibility::Private)
    );
    assert_eq!(
        ok(
            store.deleted_visibility(&id("lab/other")).await,
            "another name"
        ),
        None
    );
    ok(
        store.record_deletion(&secret, Visibility::Public).await,
        "record public",
    );
    assert_eq!(
        ok(
            store.deleted_visibility(&secret).await,
            "the last deletion wins"
        ),
        Some(Visibility::Public)
    );
}
