//! Scenarios about what a query finds and in which order: free text, filters, ranking,
//! audience, paging and the empty query.

use super::{ALL, ANON, Check, with_description};
use crate::conformance::{
    ORGANISATION_READER_SEES, RULED_READER_SEES, container, labels, member, organisation_catalogue,
    organisation_reader, ruled_reader, tag,
};
use crate::{Access, Audience, Container, Visibility};

use Visibility::{Private, Public};

pub(super) async fn free_text_matches_name_parts(t: Check) {
    let bwa = with_description("lab/bwa-mem2", 1, "an aligner");
    t.upsert(&[bwa, with_description("other/py_tools.v2", 2, "helpers")])
        .await;
    for q in ["bwa", "mem2", "bwa-mem2", "lab/bwa-mem2", "BWA"] {
        t.expect(q, ANON, &["lab/bwa-mem2"]).await;
    }
    for q in ["py", "tools", "v2", "py_tools.v2", "other"] {
        t.expect(q, ANON, &["other/py_tools.v2"]).await;
    }
    t.expect_set("lab other", ANON, &[]).await;
}

pub(super) async fn free_text_matches_description_labels_and_tags(t: Check) {
    let mut described = with_description("lab/one", 1, "Aligns sequencing **reads** to a genome");
    described.labels = labels(&[("org.opencontainers.image.licenses", "GPL-3.0")]);
    let mut tagged = with_description("lab/two", 2, "nothing special");
    tagged.tags = vec![tag("nightly", 2), tag("1.19--h50ea8bc_0", 1)];
    t.upsert(&[described, tagged]).await;
    t.expect("genome", ANON, &["lab/one"]).await;
    t.expect("read", ANON, &["lab/one"]).await; // stemmed: "reads"
    t.expect("aligning", ANON, &["lab/one"]).await; // stemmed: "aligns"
    t.expect("gpl", ANON, &["lab/one"]).await; // a label value
    t.expect("licenses", ANON, &["lab/one"]).await; // a label key
    t.expect("nightly", ANON, &["lab/two"]).await; // a tag name
    t.expect("h50ea8bc", ANON, &["lab/two"]).await; // part of a tag name
}

pub(super) async fn several_words_must_all_match(t: Check) {
    t.upsert(&[
        with_description("lab/bwa", 1, "short read aligner"),
        with_description("lab/bowtie", 2, "fast read aligner"),
        with_description("lab/spades", 3, "genome assembler"),
    ])
    .await;
    t.expect_set("read aligner", ANON, &["lab/bwa", "lab/bowtie"])
        .await;
    t.expect_set("fast aligner", ANON, &["lab/bowtie"]).await;
    t.expect_set("bwa aligner", ANON, &["lab/bwa"]).await;
    t.expect_set("genome aligner", ANON, &[]).await;
    t.expect_set("the aligner", ANON, &["lab/bwa", "lab/bowtie"])
        .await; // stop words are optional
}

pub(super) async fn filters_are_exact_and_case_insensitive(t: Check) {
    const LICENSE: &str = "org.opencontainers.image.licenses";
    let mut a = container("lab/samtools", Public, 1);
    a.owner = "Alice".into();
    a.tags = vec![tag("1.19", 1), tag("Latest", 1)];
    a.labels = labels(&[(LICENSE, "MIT"), ("maintainer", "Jane Doe")]);
    let mut b = container("other/samtools-extras", Public, 2);
    b.tags = vec![tag("1.1", 2)];
    b.labels = labels(&[(LICENSE, "GPL-3.0-or-later")]);
    let c = container("deep/samtools", Public, 3);
    t.upsert(&[a, b, c]).await;
    let cases: &[(&str, &[&str])] = &[
        ("name:samtools", &["lab/samtools", "deep/samtools"]),
        ("name:lab/samtools", &["lab/samtools"]),
        ("name:other/samtools-extras", &["other/samtools-extras"]),
        ("name:extras", &[]),
        ("namespace:lab", &["lab/samtools"]),
        ("namespace:deep", &["deep/samtools"]),
        ("namespace:LAB", &["lab/samtools"]),
        ("owner:alice", &["lab/samtools"]),
        ("owner:other", &["other/samtools-extras"]),
        ("tag:1.19", &["lab/samtools"]),
        ("tag:1.1", &["other/samtools-extras"]),
        ("tag:1", &[]),
        ("tag:latest", &["lab/samtools"]),
        (
            "label.org.opencontainers.image.licenses:mit",
            &["lab/samtools"],
        ),
        (
            r#"label.org.opencontainers.image.licenses:"GPL-3.0-or-later""#,
            &["other/samtools-extras"],
        ),
        ("label.org.opencontainers.image.licenses:gpl", &[]),
        (r#"label.maintainer:"jane doe""#, &["lab/samtools"]),
        ("label.maintainer:jane", &[]),
        ("label.unknown.key:mit", &[]),
        ("samtools namespace:other", &["other/samtools-extras"]),
        ("namespace:lab tag:1.19", &["lab/samtools"]),
        ("namespace:lab tag:1.1", &[]),
    ];
    for (q, expected) in cases {
        t.expect_set(q, ANON, expected).await;
    }
}

pub(super) async fn exact_name_ranks_first(t: Check) {
    t.upsert(&[
        with_description(
            "lab/samtools-extras",
            5,
            "more samtools helpers for samtools users",
        ),
        with_description("lab/pipeline", 6, "samtools samtools samtools wrapper"),
        with_description("zz/samtools", 1, "utilities for SAM files"),
    ])
    .await;
    let ids = t.ids("samtools", ANON).await;
    assert_eq!(ids.len(), 3, "[{}] all three match: {ids:?}", t.scenario);
    assert_eq!(
        ids[0], "zz/samtools",
        "[{}] exact name first: {ids:?}",
        t.scenario
    );
    let ids = t.ids("lab/samtools-extras", ANON).await;
    assert_eq!(
        ids.first().map(String::as_str),
        Some("lab/samtools-extras"),
        "[{}] full id",
        t.scenario
    );
}

pub(super) async fn private_containers_are_hidden_and_uncounted(t: Check) {
    let mut hidden = container("bob/secret-tool", Private, 2);
    hidden.owner = "bob".into();
    t.upsert(&[container("lab/open-tool", Public, 1), hidden])
        .await;
    for who in [ANON, &Audience::User("alice".into())] {
        t.expect("tool", who, &["lab/open-tool"]).await;
        t.expect("secret", who, &[]).await;
        t.expect("namespace:bob", who, &[]).await;
        t.expect("", who, &["lab/open-tool"]).await;
    }
    for who in [ALL, &Audience::User("bob".into())] {
        t.expect_set("tool", who, &["bob/secret-tool", "lab/open-tool"])
            .await;
        t.expect("", who, &["bob/secret-tool", "lab/open-tool"])
            .await;
        t.expect("secret", who, &["bob/secret-tool"]).await;
    }
    t.expect("secret", &Audience::User("Bob".into()), &[]).await; // user names are exact
}

pub(super) async fn members_see_private_containers(t: Check) {
    let mut shared = with_description("alice/shared-tool", 3, "a shared aligner");
    shared.visibility = Private;
    shared.members = vec![member("bob", Access::Pull), member("carol", Access::Push)];
    let mut other = with_description("dave/other-tool", 2, "another aligner");
    other.visibility = Private;
    t.upsert(&[container("lab/open-tool", Public, 1), shared.clone(), other])
        .await;
    let user = |name: &str| Audience::User(name.into());
    for who in ["alice", "bob", "carol"] {
        let who = &user(who);
        t.expect("", who, &["alice/shared-tool", "lab/open-tool"])
            .await;
        t.expect("aligner", who, &["alice/shared-tool"]).await;
        t.expect_set("tool", who, &["alice/shared-tool", "lab/open-tool"])
            .await;
    }
    for who in [ANON, &user("erin")] {
        t.expect("", who, &["lab/open-tool"]).await;
        t.expect("aligner", who, &[]).await;
        t.expect("tool", who, &["lab/open-tool"]).await;
    }
    t.expect("aligner", &user("dave"), &["dave/other-tool"])
        .await;

    // Bob leaves: once the container is indexed again, search forgets him.
    shared.members = vec![member("carol", Access::Push)];
    t.upsert(&[shared]).await;
    t.expect("", &user("bob"), &["lab/open-tool"]).await;
    t.expect("shared", &user("bob"), &[]).await;
    t.expect("shared", &user("carol"), &["alice/shared-tool"])
        .await;
}

pub(super) async fn organisation_readers_see_their_namespaces(t: Check) {
    t.upsert(&organisation_catalogue()).await;
    let reader = organisation_reader();
    // The empty query lists newest first, so the order is the store's.
    t.expect("", &reader, ORGANISATION_READER_SEES).await;
    t.expect_set("tool", &reader, &["lab/tool"]).await;
    t.expect("secret", &reader, &[]).await;
    t.expect("namespace:lab-x", &reader, &[]).await;
    t.expect("granted", &reader, &["other/granted"]).await;
    t.expect("", &Audience::User("mia".into()), &["mia/own", "lab/open"])
        .await;
}

pub(super) async fn access_rules_decide_results_and_totals(t: Check) {
    t.upsert(&organisation_catalogue()).await;
    let ruled = ruled_reader();
    t.expect("", &ruled, RULED_READER_SEES).await;
    t.expect("tool", &ruled, &["lab/tool"]).await;
    t.expect("secret", &ruled, &[]).await;
    t.expect("own", &ruled, &[]).await;
}

pub(super) async fn paging_is_stable(t: Check) {
    let mut batch: Vec<Container> = (0..30)
        .map(|i| with_description(&format!("lab/tool{i:02}"), i, "common word"))
        .collect();
    batch.push(container("lab/other", Public, 99));
    let mut hidden = with_description("lab/hidden", 100, "common word");
    hidden.visibility = Private;
    batch.push(hidden);
    t.upsert(&batch).await;
    let mut seen = Vec::new();
    for offset in (0..30).step_by(7) {
        let hits = t.page("common", ANON, offset, 7).await;
        assert_eq!(hits.total, 30, "[{}] total at offset {offset}", t.scenario);
        assert_eq!(
            hits.ids.len(),
            7.min(30 - offset),
            "[{}] page size at {offset}",
            t.scenario
        );
        seen.extend(hits.ids.iter().map(ToString::to_string));
    }
    let first_page = t.page("common", ANON, 0, 7).await;
    let again: Vec<String> = first_page.ids.iter().map(ToString::to_string).collect();
    assert_eq!(again, seen[..7], "[{}] the same page twice", t.scenario);
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        30,
        "[{}] pages cover every hit once",
        t.scenario
    );
    let past = t.page("common", ANON, 500, 10).await;
    assert!(
        past.ids.is_empty(),
        "[{}] past the end: {past:?}",
        t.scenario
    );
    assert_eq!(past.total, 30, "[{}] total past the end", t.scenario);
    let none = t.page("common", ANON, 0, 0).await;
    assert_eq!(
        (none.total, none.ids.len()),
        (30, 0),
        "[{}] limit 0",
        t.scenario
    );
}

pub(super) async fn empty_query_lists_visible_newest_first(t: Check) {
    let mut hidden = container("lab/private", Private, 4);
    hidden.owner = "lab".into();
    t.upsert(&[
        container("lab/b", Public, 2),
        container("lab/c", Public, 3),
        hidden,
        container("lab/a", Public, 1),
    ])
    .await;
    t.expect("", ANON, &["lab/c", "lab/b", "lab/a"]).await;
    t.expect("", ALL, &["lab/private", "lab/c", "lab/b", "lab/a"])
        .await;
    t.expect(
        "",
        &Audience::User("lab".into()),
        &["lab/private", "lab/c", "lab/b", "lab/a"],
    )
    .await;
    // Filters alone: also newest first.
    t.expect("namespace:lab", ANON, &["lab/c", "lab/b", "lab/a"])
        .await;
}
