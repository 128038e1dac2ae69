//! Scenarios about search as you type: a query word of two characters or more also matches
//! the words it begins, in names, namespaces, descriptions, tags and labels, ranked below a
//! whole-word match, never past the audience, and boundedly whatever the query.

use super::{ALL, ANON, Check, with_description};
use crate::conformance::{labels, tag};
use crate::query::{MAX_QUERY_LEN, SearchQuery};
use crate::{Audience, Visibility};

pub(super) async fn prefixes_match_name_words_and_namespaces(t: Check) {
    t.upsert(&[
        with_description("lab/samtools", 1, "x"),
        with_description("genomics-core/bwa", 2, "x"),
        with_description("genomics-core/star", 3, "x"),
        with_description("genomics/other", 4, "x"),
        with_description("lab/bowtie", 5, "x"),
    ])
    .await;
    for q in ["samt", "SAMT", "sa", "samtool", "lab/samt", "sam lab"] {
        t.expect(q, ANON, &["lab/samtools"]).await;
    }
    t.expect_set(
        "genomics-co",
        ANON,
        &["genomics-core/bwa", "genomics-core/star"],
    )
    .await;
    t.expect("genomics-core/bw", ANON, &["genomics-core/bwa"])
        .await;
    t.expect("geno-co st", ANON, &["genomics-core/star"]).await;
    t.expect_set(
        "genom",
        ANON,
        &["genomics-core/bwa", "genomics-core/star", "genomics/other"],
    )
    .await;
    // A prefix is the start of a word, never its middle or more than the word.
    t.expect("amtools", ANON, &[]).await;
    t.expect("samtoolsx", ANON, &[]).await;
    t.expect("ore", ANON, &[]).await;
}

pub(super) async fn prefixes_match_description_tag_and_label_words(t: Check) {
    let mut described = with_description("lab/one", 1, "Aligns sequencing reads to a genome");
    described.labels = labels(&[("org.opencontainers.image.licenses", "GPL-3.0")]);
    let mut tagged = with_description("lab/two", 2, "nothing special");
    tagged.tags = vec![tag("nightly", 2), tag("1.19--h50ea8bc_0", 1)];
    t.upsert(&[described, tagged]).await;
    // `sequencin` is longer than the stem `sequenc`: prefixes are of the words as written.
    for q in ["sequen", "sequencin", "SEQU", "geno", "alig"] {
        t.expect(q, ANON, &["lab/one"]).await;
    }
    t.expect("gp", ANON, &["lab/one"]).await; // a label value
    t.expect("licen", ANON, &["lab/one"]).await; // a label key
    t.expect("nigh", ANON, &["lab/two"]).await; // a tag name
    t.expect("h50e", ANON, &["lab/two"]).await; // part of a tag name
    t.expect("spec", ANON, &["lab/two"]).await;
    t.expect("nigh geno", ANON, &[]).await; // every word must still match
}

pub(super) async fn whole_words_rank_above_prefixes(t: Check) {
    // The prefix-only matches are newer, so recency cannot be what puts them second.
    t.upsert(&[
        with_description("lab/sam", 1, "x"),
        with_description("lab/samtools", 2, "x"),
        with_description("lab/samba", 3, "x"),
    ])
    .await;
    let ids = t.ids("sam", ANON).await;
    assert_eq!(ids.len(), 3, "[{}] all three match: {ids:?}", t.scenario);
    assert_eq!(
        ids[0], "lab/sam",
        "[{}] exact name first: {ids:?}",
        t.scenario
    );

    // A whole name word, not the whole name: still above a word it only begins.
    t.upsert(&[
        with_description("other/bam-utils", 4, "x"),
        with_description("other/bamtools", 5, "x"),
    ])
    .await;
    t.expect("bam", ANON, &["other/bam-utils", "other/bamtools"])
        .await;

    // The same in descriptions: `read` is a whole word (once stemmed) of the first only.
    t.upsert(&[
        with_description("desc/first", 6, "maps short reads quickly"),
        with_description("desc/second", 7, "maps short readers quickly"),
    ])
    .await;
    t.expect("read", ANON, &["desc/first", "desc/second"]).await;
}

pub(super) async fn prefixes_never_reach_hidden_containers(t: Check) {
    let mut hidden = with_description("bob/samtools-secret", 2, "secret build");
    hidden.visibility = Visibility::Private;
    hidden.owner = "bob".into();
    t.upsert(&[with_description("lab/samtools", 1, "x"), hidden])
        .await;
    for who in [ANON, &Audience::User("alice".into())] {
        t.expect("samt", who, &["lab/samtools"]).await;
        t.expect("sa", who, &["lab/samtools"]).await;
        t.expect("secr", who, &[]).await;
        t.expect("bo", who, &[]).await;
        t.expect("samt namespace:bob", who, &[]).await;
    }
    for who in [ALL, &Audience::User("bob".into())] {
        t.expect_set("samt", who, &["bob/samtools-secret", "lab/samtools"])
            .await;
        t.expect("secr", who, &["bob/samtools-secret"]).await;
    }
}

/// One-character words match whole words only: a single letter begins nearly every word.
pub(super) async fn one_character_words_match_whole_words_only(t: Check) {
    t.upsert(&[
        with_description("lab/r", 1, "x"),
        with_description("lab/rsem", 2, "x"),
        with_description("lab/star", 3, "x"),
    ])
    .await;
    t.expect("r", ANON, &["lab/r"]).await;
    t.expect("s", ANON, &[]).await;
    t.expect("rs", ANON, &["lab/rsem"]).await;
    t.expect("lab/s", ANON, &[]).await;
}

/// The longest queries the language allows, and characters other engines give a meaning
/// (wildcards, operators, escapes, regular expressions), are plain text here: they never
/// fail the search, and never match more than their words would.
pub(super) async fn long_and_odd_queries_stay_plain_text(t: Check) {
    t.upsert(&[
        with_description("lab/samtools", 1, "x"),
        with_description("lab/bwa", 2, "x"),
    ])
    .await;
    // Every prefix of one name, seven words: all must match, and they do.
    t.expect(
        "sa sam samt samto samtoo samtool samtools",
        ANON,
        &["lab/samtools"],
    )
    .await;
    // As many distinct two-letter words as the length limit allows: bounded, and nothing.
    let mut many = String::new();
    for (a, b) in ('a'..='z').flat_map(|a| ('a'..='z').map(move |b| (a, b))) {
        if many.len() + 3 > MAX_QUERY_LEN {
            break;
        }
        many.push_str(&format!("{a}{b} "));
    }
    assert!(
        many.split_whitespace().count() > 80,
        "[{}] many words",
        t.scenario
    );
    t.expect(&many, ANON, &[]).await;
    // A word longer than the longest indexed prefix: looked up by its start.
    let long_name = format!("lab/{}", "a".repeat(30));
    t.upsert(&[with_description(&long_name, 3, "x")]).await;
    t.expect(&"a".repeat(25), ANON, &[long_name.as_str()]).await;
    t.expect(&"a".repeat(30), ANON, &[long_name.as_str()]).await;

    for q in [
        "sam*",
        "samt?",
        "sa~",
        "+samt",
        "(samt)",
        "samt^2",
        "samt\\",
        "/sa.*/",
        "[sa TO sb]",
        "{samt}",
        "samt!",
        "sam&&t",
        "sa||b",
        "<samt>",
        "%samt%",
        "_samt",
        "@samt",
        "#samt",
    ] {
        let query = SearchQuery::parse(q).expect("plain text parses");
        let hits = t
            .index
            .search(&query, ANON, 0, 10)
            .await
            .unwrap_or_else(|e| panic!("[{}] search {q:?} failed: {e}", t.scenario));
        let ids: Vec<String> = hits.ids.iter().map(ToString::to_string).collect();
        assert!(
            ids.iter().all(|id| id == "lab/samtools"),
            "[{}] {q:?} matches its words only: {ids:?}",
            t.scenario
        );
    }
    for q in ["*", "?", "\\", "~", "^", "/", "()", "&&", "||"] {
        t.expect_set(q, ANON, &["lab/samtools", "lab/bwa", long_name.as_str()])
            .await; // no word at all: filters nothing, like an empty query
    }
}
