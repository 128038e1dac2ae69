//! Scenarios about the bio catalogue: EDAM filters that take in descendants, the licence,
//! digest, automated and updated filters, facet counts for the caller's audience only, and
//! the sort orders.

use chrono::{Duration, Utc};

use super::{ALL, ANON, Check};
use crate::conformance::{at, container, labels, tag};
use crate::query::{Facet, FacetCounts, FacetValue, SearchQuery, Sort};
use crate::{Audience, Container, Visibility};

use Visibility::{Private, Public};

/// A public container whose labels carry these EDAM terms (any form) and licence.
fn annotated(id: &str, minute: i64, topic: &str, operation: &str, license: &str) -> Container {
    let mut c = container(id, Public, minute);
    c.labels = labels(&[
        ("edam.topics", topic),
        ("ANNOT.EDAM_Operation", operation),
        ("about.license", license),
    ]);
    c
}

/// The catalogue of the facet and filter scenarios: three public tools and a private one.
fn catalogue() -> Vec<Container> {
    // Sequence assembly (topic_0196) sits below Sequence analysis (topic_0080); Pairwise
    // sequence alignment (operation_0491) below Sequence alignment (operation_0292).
    let assembler = annotated(
        "lab/assembler",
        1,
        "topic_0196",
        "['operation_0491']",
        "SPDX:MIT",
    );
    let mut aligner = annotated(
        "lab/aligner",
        2,
        "http://edamontology.org/topic_0080",
        "Sequence alignment",
        "GPL-3.0",
    );
    aligner.git = Some("https://example.org/aligner.git".into());
    aligner.tags = vec![tag("1.0", 2)];
    aligner.descriptor = Some("cwl/aligner.cwl".into());
    aligner
        .labels
        .insert("extra.identifiers.biotools".into(), "Aligner-Tool".into());
    aligner.labels.insert(
        "ANNOT.Reference".into(),
        "doi:10.1093/bioinformatics/btp324".into(),
    );
    let plotter = annotated("viz/plotter", 3, "Data visualisation", "Plotting", "MIT");
    let mut secret = annotated("lab/secret", 4, "topic_0196", "operation_0491", "MIT");
    secret.visibility = Private;
    secret.dockerfile = Some("FROM scratch".into());
    vec![assembler, aligner, plotter, secret]
}

pub(super) async fn edam_filters_include_descendants(t: Check) {
    t.upsert(&catalogue()).await;
    let sequence_analysis = ["lab/aligner", "lab/assembler"];
    for q in [
        "topic:topic_0080",
        r#"topic:"Sequence analysis""#,
        "topic:http://edamontology.org/topic_0080",
        "topic:EDAM:topic_0080",
    ] {
        t.expect_set(q, ANON, &sequence_analysis).await;
    }
    t.expect_set("topic:topic_0196", ANON, &["lab/assembler"])
        .await;
    t.expect_set("topic:topic_0196", ALL, &["lab/assembler", "lab/secret"])
        .await;
    t.expect_set(
        r#"operation:"Sequence alignment""#,
        ANON,
        &sequence_analysis,
    )
    .await;
    t.expect_set("operation:operation_0491", ANON, &["lab/assembler"])
        .await;
    // Free text and filters combine; the root of the branch holds every annotated tool.
    t.expect_set("assembler topic:topic_0080", ANON, &["lab/assembler"])
        .await;
    t.expect_set(
        "topic:topic_0003",
        ANON,
        &["lab/aligner", "lab/assembler", "viz/plotter"],
    )
    .await;
}

pub(super) async fn licence_digest_automated_and_updated_filters(t: Check) {
    let mut containers = catalogue();
    let now = Utc::now();
    for (c, age) in containers.iter_mut().zip([0, 3, 100, 0]) {
        c.updated_at = now - Duration::days(age) - Duration::hours(1);
    }
    t.upsert(&containers).await;
    t.expect_set("license:mit", ANON, &["lab/assembler", "viz/plotter"])
        .await;
    t.expect_set("license:SPDX:MIT", ANON, &[]).await; // the prefix is not part of the licence
    t.expect_set("licence:gpl-3.0", ANON, &["lab/aligner"])
        .await;
    t.expect_set("automated:yes", ANON, &["lab/aligner"]).await;
    t.expect_set("alias:biotools:aligner-tool", ANON, &["lab/aligner"])
        .await;
    t.expect_set(
        "alias:doi:10.1093/BIOINFORMATICS/btp324",
        ANON,
        &["lab/aligner"],
    )
    .await;
    t.expect_set("alias:biotools:aligner", ANON, &[]).await;
    t.expect_set("descriptor:CWL", ANON, &["lab/aligner"]).await;
    t.expect_set("descriptor:wdl", ANON, &[]).await;
    t.expect_set("automated:yes", ALL, &["lab/aligner", "lab/secret"])
        .await;
    t.expect_set("automated:no", ANON, &["lab/assembler", "viz/plotter"])
        .await;
    t.expect_set("updated:day", ANON, &["lab/assembler"]).await;
    t.expect_set("updated:week", ANON, &["lab/aligner", "lab/assembler"])
        .await;
    t.expect_set(
        "updated:year",
        ALL,
        &["lab/aligner", "lab/assembler", "viz/plotter", "lab/secret"],
    )
    .await;
    let digest = &containers[1].tags[0].digest;
    let hex = digest.trim_start_matches("sha256:");
    for q in [
        format!("digest:{digest}"),
        format!("digest:{}", &digest[..19]),
        format!("digest:{}", &hex[..12].to_uppercase()),
    ] {
        t.expect_set(&q, ANON, &["lab/aligner"]).await;
    }
    t.expect_set(&format!("digest:sha256:{}", "f".repeat(12)), ANON, &[])
        .await;
}

pub(super) async fn facets_count_only_what_the_caller_sees(t: Check) {
    t.upsert(&catalogue()).await;
    let mut query = SearchQuery::parse("").expect("parses");
    query.facets = Facet::ALL.to_vec();
    let public = t.run(&query, ANON, 0, 1).await;
    assert_eq!(public.total, 3, "[{}] public total", t.scenario);
    assert_eq!(
        public.ids.len(),
        1,
        "[{}] facets do not widen the page",
        t.scenario
    );
    let counts = |facets: &[FacetCounts], facet: Facet| -> Vec<(String, u64)> {
        facets
            .iter()
            .find(|f| f.facet == facet)
            .map(|f| {
                f.values
                    .iter()
                    .map(|v| (v.value.clone(), v.count))
                    .collect()
            })
            .unwrap_or_default()
    };
    let pairs = |expected: &[(&str, u64)]| -> Vec<(String, u64)> {
        expected
            .iter()
            .map(|(v, n)| ((*v).to_owned(), *n))
            .collect()
    };
    let facets = &public.facets;
    assert_eq!(
        facets.iter().map(|f| f.facet).collect::<Vec<_>>(),
        Facet::ALL,
        "[{}] facets come in the order asked",
        t.scenario
    );
    assert_eq!(
        counts(facets, Facet::Namespace),
        pairs(&[("lab", 2), ("viz", 1)])
    );
    assert_eq!(
        counts(facets, Facet::Topic),
        pairs(&[("topic_0080", 1), ("topic_0092", 1), ("topic_0196", 1)]),
        "[{}] topics as annotated, not their ancestors",
        t.scenario
    );
    assert_eq!(
        counts(facets, Facet::Operation),
        pairs(&[
            ("operation_0292", 1),
            ("operation_0337", 1),
            ("operation_0491", 1)
        ])
    );
    assert_eq!(
        counts(facets, Facet::License),
        pairs(&[("MIT", 2), ("GPL-3.0", 1)])
    );
    assert_eq!(
        counts(facets, Facet::Automated),
        pairs(&[("no", 2), ("yes", 1)])
    );
    // The fixtures were updated in 2023: older than any window, each counted as zero.
    assert_eq!(
        counts(facets, Facet::Updated),
        pairs(&[("day", 0), ("week", 0), ("month", 0), ("year", 0)])
    );

    // The owner's audience counts the private container too; an outsider never does.
    let owner = Audience::User("lab".into());
    let mine = t.run(&query, &owner, 0, 10).await;
    assert_eq!(mine.total, 4);
    assert_eq!(
        counts(&mine.facets, Facet::Namespace),
        pairs(&[("lab", 3), ("viz", 1)])
    );
    assert_eq!(
        counts(&mine.facets, Facet::License),
        pairs(&[("MIT", 3), ("GPL-3.0", 1)])
    );
    assert_eq!(
        counts(&mine.facets, Facet::Automated),
        pairs(&[("no", 2), ("yes", 2)])
    );
    let outsider = t
        .run(&query, &Audience::User("mallory".into()), 0, 10)
        .await;
    assert_eq!(outsider.facets, public.facets, "[{}] outsider", t.scenario);

    // Facets follow the query; none asked, none counted.
    let mut filtered = SearchQuery::parse("topic:topic_0080").expect("parses");
    filtered.facets = vec![Facet::License];
    let hits = t.run(&filtered, ANON, 0, 10).await;
    assert_eq!(
        hits.facets,
        vec![FacetCounts {
            facet: Facet::License,
            values: vec![
                FacetValue {
                    value: "GPL-3.0".into(),
                    count: 1
                },
                FacetValue {
                    value: "MIT".into(),
                    count: 1
                },
            ],
        }]
    );
    let plain = t
        .run(&SearchQuery::parse("").expect("parses"), ANON, 0, 10)
        .await;
    assert!(plain.facets.is_empty(), "[{}] no facets asked", t.scenario);
    // Past the last page the total and the facets still count.
    let far = t.run(&query, ANON, 50, 10).await;
    assert!(far.ids.is_empty());
    assert_eq!((far.total, &far.facets), (3, &public.facets));
}

pub(super) async fn sorts_order_the_hits(t: Check) {
    let mut containers = vec![
        container("lab/beta", Public, 3),
        container("lab/alpha", Public, 1),
        container("viz/gamma", Public, 2),
        container("lab/hidden", Private, 4),
    ];
    for (c, pulls) in containers.iter_mut().zip([5, 50, 0, 1000]) {
        c.pulls = pulls;
    }
    containers[2].description = "gamma tool, a tool with tool in it".into();
    containers[0].description = "beta tool".into();
    t.upsert(&containers).await;
    let order = |sort: Sort, text: &str| {
        let mut query = SearchQuery::parse(text).expect("parses");
        query.sort = sort;
        query
    };
    let ids = |hits: crate::ports::search::SearchHits| -> Vec<String> {
        hits.ids.iter().map(ToString::to_string).collect()
    };
    let cases: [(Sort, &str, &[&str]); 7] = [
        (Sort::Pulls, "", &["lab/alpha", "lab/beta", "viz/gamma"]),
        (Sort::Name, "", &["lab/alpha", "lab/beta", "viz/gamma"]),
        (Sort::Updated, "", &["lab/beta", "viz/gamma", "lab/alpha"]),
        (Sort::Relevance, "", &["lab/beta", "viz/gamma", "lab/alpha"]),
        // With free text, relevance ranks; the other orders only narrow to the matches.
        (Sort::Updated, "tool", &["lab/beta", "viz/gamma"]),
        (Sort::Name, "tool", &["lab/beta", "viz/gamma"]),
        (Sort::Pulls, "tool", &["lab/beta", "viz/gamma"]),
    ];
    for (sort, text, expected) in cases {
        let hits = t.run(&order(sort, text), ANON, 0, 10).await;
        assert_eq!(ids(hits), expected, "[{}] {sort:?} of {text:?}", t.scenario);
    }
    // Paging through a sort is stable.
    let first = t.run(&order(Sort::Name, ""), ANON, 0, 2).await;
    let second = t.run(&order(Sort::Name, ""), ANON, 2, 2).await;
    assert_eq!(
        (ids(first), ids(second)),
        (
            vec!["lab/alpha".to_owned(), "lab/beta".to_owned()],
            vec!["viz/gamma".to_owned()]
        )
    );
}

pub(super) async fn deprecated_containers_rank_last_and_filter(t: Check) {
    use crate::tag_policy::Deprecation;
    let mut containers = vec![
        container("lab/samtools", Public, 3),
        container("lab/samtools-old", Public, 5),
        container("viz/samtools-viewer", Public, 1),
    ];
    containers[0].description = "samtools".into();
    // The newest, and the best text match: deprecated all the same.
    containers[1].description = "samtools samtools samtools".into();
    containers[1].policy.deprecated = Some(
        Deprecation::new(
            "superseded".into(),
            Some("lab/samtools:1".into()),
            None,
            at(5),
        )
        .expect("valid"),
    );
    containers[2].description = "samtools".into();
    t.upsert(&containers).await;
    let ids = |hits: crate::ports::search::SearchHits| -> Vec<String> {
        hits.ids.iter().map(ToString::to_string).collect()
    };
    let run = |text: &str, sort: Sort| {
        let mut query = SearchQuery::parse(text).expect("parses");
        query.sort = sort;
        query
    };
    let ranked = ids(t.run(&run("samtools", Sort::Relevance), ANON, 0, 10).await);
    assert_eq!(
        ranked.last().map(String::as_str),
        Some("lab/samtools-old"),
        "[{}] relevance ranks the deprecated container last: {ranked:?}",
        t.scenario
    );
    assert_eq!(ranked.len(), 3);
    let listed = ids(t.run(&run("", Sort::Relevance), ANON, 0, 10).await);
    assert_eq!(
        listed,
        ["lab/samtools", "viz/samtools-viewer", "lab/samtools-old"],
        "[{}] without text too",
        t.scenario
    );
    // An explicit order is what it says.
    let newest = ids(t.run(&run("", Sort::Updated), ANON, 0, 10).await);
    assert_eq!(newest[0], "lab/samtools-old", "[{}]", t.scenario);
    let only = t
        .run(&run("deprecated:yes", Sort::Relevance), ANON, 0, 10)
        .await;
    assert_eq!(
        (only.total, ids(only)),
        (1, vec!["lab/samtools-old".to_owned()])
    );
    let current = t
        .run(&run("samtools deprecated:no", Sort::Relevance), ANON, 0, 10)
        .await;
    assert_eq!(current.total, 2, "[{}]", t.scenario);
}
