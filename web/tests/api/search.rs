//! `GET /container/search?q=` and `POST /container/search`.

use bioshadock_core::Visibility;

use crate::support::*;

async fn catalogue() -> TestApp {
    let mut samtools = container(
        "lab/samtools",
        Visibility::Public,
        1,
        "Reads and writes BAM files.",
    );
    samtools.labels = labels(&[
        ("org.opencontainers.image.licenses", "MIT"),
        ("edam.topic", "Sequence analysis"),
    ]);
    let mut extras = container(
        "lab/samtools-extras",
        Visibility::Public,
        5,
        "Helpers around samtools.",
    );
    extras.labels = labels(&[("org.opencontainers.image.licenses", "GPL-3.0")]);
    let mentions = container(
        "other/pipeline",
        Visibility::Public,
        9,
        "A pipeline calling samtools and bwa.",
    );
    let mut bwa = container(
        "other/bwa-mem2",
        Visibility::Public,
        3,
        "Short-read aligner.",
    );
    bwa.tags = vec![tag("2.2.1", 3)];
    let secret = container(
        "lab/samtools-secret",
        Visibility::Private,
        20,
        "Private samtools build.",
    );
    TestApp::with(vec![samtools, extras, mentions, bwa, secret]).await
}

fn result_ids(body: &serde_json::Value) -> Vec<String> {
    ids(&body["results"])
}

#[tokio::test]
async fn free_text_ranks_the_exact_name_first_and_never_counts_private_containers() {
    let app = catalogue().await;
    let body = app.get("/container/search?q=samtools").await.json();
    let found = result_ids(&body);
    assert_eq!(found[0], "lab/samtools", "exact name first: {found:?}");
    assert!(found.contains(&"lab/samtools-extras".to_owned()));
    assert!(
        found.contains(&"other/pipeline".to_owned()),
        "description matches"
    );
    assert!(
        !found.iter().any(|id| id.contains("secret")),
        "private never listed"
    );
    assert_eq!(body["total"], 3, "private never counted");
}

#[tokio::test]
async fn name_parts_tags_and_labels_match_free_text() {
    let app = catalogue().await;
    assert_eq!(
        result_ids(&app.get("/container/search?q=bwa").await.json())[0],
        "other/bwa-mem2"
    );
    assert_eq!(
        result_ids(&app.get("/container/search?q=2.2.1").await.json()),
        ["other/bwa-mem2"]
    );
    let by_label = result_ids(
        &app.get("/container/search?q=sequence+analysis")
            .await
            .json(),
    );
    assert_eq!(by_label, ["lab/samtools"]);
}

#[tokio::test]
async fn field_filters_narrow_the_results() {
    let app = catalogue().await;
    let in_lab = result_ids(
        &app.get("/container/search?q=samtools+namespace:lab")
            .await
            .json(),
    );
    assert_eq!(in_lab.len(), 2);
    assert!(in_lab.iter().all(|id| id.starts_with("lab/")));
    let licence = "/container/search?q=label.org.opencontainers.image.licenses:gpl-3.0";
    assert_eq!(
        result_ids(&app.get(licence).await.json()),
        ["lab/samtools-extras"]
    );
    assert_eq!(
        result_ids(&app.get("/container/search?q=tag:2.2.1").await.json()),
        ["other/bwa-mem2"]
    );
    assert_eq!(
        app.get("/container/search?q=owner:nobody").await.json()["total"],
        0
    );
}

#[tokio::test]
async fn an_empty_query_lists_everything_visible() {
    let app = catalogue().await;
    let body = app.get("/container/search?q=").await.json();
    assert_eq!(body["total"], 4);
    let body = app.get("/container/search").await.json();
    assert_eq!(body["total"], 4);
}

#[tokio::test]
async fn post_takes_bioshadocks_body() {
    let app = catalogue().await;
    let response = app
        .post_json("/container/search", r#"{"search": "samtools"}"#)
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(result_ids(&response.json())[0], "lab/samtools");
    let paged = app
        .post_json(
            "/container/search",
            r#"{"search": "samtools", "per_page": 1, "page": 2}"#,
        )
        .await;
    assert_eq!(paged.json()["results"].as_array().unwrap().len(), 1);
    assert_eq!(paged.json()["total"], 3);
}

#[tokio::test]
async fn paging_walks_the_results_without_overlap() {
    let app = TestApp::with(
        (0..45)
            .map(|i| public(&format!("lab/tool{i}"), i))
            .collect(),
    )
    .await;
    let mut seen = Vec::new();
    for page in 1..=3 {
        let body = app
            .get(&format!(
                "/container/search?q=tests&per_page=20&page={page}"
            ))
            .await
            .json();
        assert_eq!(body["total"], 45);
        seen.extend(result_ids(&body));
    }
    assert_eq!(seen.len(), 45);
    assert_eq!(
        seen.iter().collect::<std::collections::HashSet<_>>().len(),
        45
    );
}

#[tokio::test]
async fn bad_queries_and_paging_are_refused_with_json_errors() {
    let app = catalogue().await;
    let long = format!("/container/search?q={}", "a".repeat(257));
    app.get(&long).await.assert_error(400, "invalid_query");
    app.get("/container/search?q=%22open")
        .await
        .assert_error(400, "invalid_query");
    app.get("/container/search?q=tag:")
        .await
        .assert_error(400, "invalid_query");
    for paging in [
        "page=0",
        "page=-1",
        "page=abc",
        "per_page=0",
        "per_page=1000",
        "page=99999999",
        "page=4294967296",
    ] {
        app.get(&format!("/container/search?q=x&{paging}"))
            .await
            .assert_error(400, "bad_request");
    }
    app.post_json("/container/search", "{not json")
        .await
        .assert_error(400, "bad_request");
    app.post_json("/container/search", r#"{"q": "samtools"}"#)
        .await
        .assert_error(400, "bad_request");
    app.post_json("/container/search", r#"{"search": 5}"#)
        .await
        .assert_error(400, "bad_request");
    let long_body = format!(r#"{{"search": "{}"}}"#, "b".repeat(300));
    app.post_json("/container/search", &long_body)
        .await
        .assert_error(400, "invalid_query");
    assert_eq!(app.count_all().await, 5, "nothing changed");
}

/// The search box under every page asks this for suggestions as the user types (`static/app.js`).
const SUGGESTIONS: &str = "/container/search?per_page=6&q=";

#[tokio::test]
async fn suggestions_find_what_the_typed_prefix_begins() {
    let containers = vec![
        container("genomics-core/bwa", Visibility::Public, 30, "Aligner."),
        container("genomics-core/star", Visibility::Public, 31, "RNA aligner."),
        container("genomics/notes", Visibility::Public, 32, "Lab notes."),
        container(
            "lab/samtools",
            Visibility::Public,
            1,
            "Reads and writes BAM files.",
        ),
        container(
            "lab/samtools-extras",
            Visibility::Public,
            5,
            "Helpers around samtools.",
        ),
        container(
            "lab/samtools-secret",
            Visibility::Private,
            20,
            "Private samtools build.",
        ),
    ];
    let app = TestApp::with(containers).await;

    let body = app
        .get_accepting(&format!("{SUGGESTIONS}samt"), "application/json")
        .await
        .json();
    let mut found = result_ids(&body);
    found.sort();
    assert_eq!(found, ["lab/samtools", "lab/samtools-extras"], "{body}");
    assert_eq!(
        body["total"], 2,
        "the private one is neither listed nor counted"
    );

    let body = app.get(&format!("{SUGGESTIONS}genomics-co")).await.json();
    let mut found = result_ids(&body);
    found.sort();
    assert_eq!(found, ["genomics-core/bwa", "genomics-core/star"], "{body}");

    // A whole word ranks above a word it only begins; one letter suggests only whole words.
    let body = app.get(&format!("{SUGGESTIONS}samtools")).await.json();
    assert_eq!(result_ids(&body)[0], "lab/samtools", "{body}");
    let body = app.get(&format!("{SUGGESTIONS}s")).await.json();
    assert_eq!(body["total"], 0, "{body}");

    // Characters other engines give a meaning are plain text: never an error.
    for q in [
        "sam*",
        "samt%3F",
        "%2Fsa.*%2F",
        "%5C",
        "sa~",
        "%5Bsa%20TO%20sb%5D",
        "(samt)",
    ] {
        let response = app.get(&format!("{SUGGESTIONS}{q}")).await;
        assert_eq!(response.status, 200, "{q}: {}", response.body);
        assert!(response.json()["total"].is_u64(), "{q}: {}", response.body);
    }
}

#[tokio::test]
async fn docker_v1_search_answers_in_docker_hubs_format_within_bounds() {
    let app = TestApp::with(vec![
        public("lab/samtools", 1),
        private("lab/samtools-secret", 2),
        public("library/samtools", 3),
    ])
    .await;
    let found = app.get("/v1/search?q=samtools&n=10").await;
    assert_eq!(found.status, 200, "{}", found.body);
    let found: serde_json::Value = serde_json::from_str(&found.body).unwrap();
    assert_eq!(found["num_results"], 2, "never the private one: {found}");
    assert_eq!(
        (found["page"].clone(), found["page_size"].clone()),
        (1.into(), 10.into())
    );
    let official: Vec<bool> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["is_official"].as_bool().unwrap())
        .collect();
    assert!(
        official.contains(&true) && official.contains(&false),
        "library/ is official: {found}"
    );
    let ping = app.get("/v1/_ping").await;
    assert_eq!(ping.status, 200);
    assert_eq!(ping.headers["x-docker-registry-standalone"], "true");
    for bad in [
        format!("/v1/search?q={}", "a".repeat(257)),
        "/v1/search?q=x&n=0".to_owned(),
        "/v1/search?q=x&n=101".to_owned(),
        "/v1/search?q=x&page=0".to_owned(),
    ] {
        let refused = app.get(&bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
    }
    // Quotes and colons are words to docker: no query-language error.
    assert_eq!(app.get("/v1/search?q=%22sam%3Atools").await.status, 200);
}
