//! The bio side of search over the API and the search page: EDAM filters that take in the
//! terms below, facet counts for the caller's audience only, the sort orders, digest search,
//! and the filter sidebar whose links keep the query.

use axum::http::{Request, StatusCode};
use bioshadock_core::accounts::Role;
use bioshadock_core::{Container, Visibility};
use serde_json::Value;

use crate::support::*;

fn tool(id: &str, visibility: Visibility, minute: i64, pairs: &[(&str, &str)]) -> Container {
    let mut c = container(id, visibility, minute, &format!("{id} tool"));
    c.labels = labels(pairs);
    c
}

/// Three public tools and alice's private one, annotated in the three label conventions.
fn catalogue() -> Vec<Container> {
    let mut assembler = tool(
        "lab/assembler",
        Visibility::Public,
        1,
        &[
            ("ANNOT.EDAM_Topic", "['topic_0196']"),
            ("about.license", "SPDX:MIT"),
        ],
    );
    assembler.pulls = 7;
    let mut aligner = tool(
        "lab/aligner",
        Visibility::Public,
        2,
        &[
            ("edam.topics", "Sequence analysis"),
            ("edam.operations", "operation_0292"),
            ("org.opencontainers.image.licenses", "GPL-3.0-only"),
        ],
    );
    aligner.git = Some("https://example.org/aligner.git".into());
    aligner.pulls = 3;
    aligner.tags = vec![tag("1.0", 2)];
    let plotter = tool(
        "viz/plotter",
        Visibility::Public,
        3,
        &[
            ("edam.topic", "Data visualisation"),
            ("about.license", "MIT"),
        ],
    );
    let mut secret = tool(
        "alice/secret",
        Visibility::Private,
        4,
        &[
            ("ANNOT.EDAM_Topic", "topic_0196"),
            ("about.license", "Proprietary"),
        ],
    );
    secret.owner = "alice".into();
    vec![assembler, aligner, plotter, secret]
}

fn facet(body: &Value, name: &str) -> Vec<(String, String, u64)> {
    body["facets"][name]
        .as_array()
        .unwrap_or_else(|| panic!("facet {name} in {body}"))
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["label"].as_str().unwrap().to_owned(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn found(body: &Value) -> Vec<String> {
    ids(&body["results"])
}

#[tokio::test]
async fn a_topic_finds_the_containers_annotated_with_it_or_any_term_below() {
    let app = TestApp::with(catalogue()).await;
    for q in [
        "topic:topic_0080",
        "topic:%22Sequence+analysis%22",
        "topic:http%3A%2F%2Fedamontology.org%2Ftopic_0080",
    ] {
        let body = app
            .get(&format!("/container/search?q={q}&sort=name"))
            .await
            .json();
        assert_eq!(found(&body), ["lab/aligner", "lab/assembler"], "{q}");
        assert_eq!(body["total"], 2);
    }
    let body = app
        .get("/container/search?q=operation:%22Sequence+alignment%22")
        .await
        .json();
    assert_eq!(found(&body), ["lab/aligner"]);
    let body = app
        .get("/container/search?q=license:mit&sort=name")
        .await
        .json();
    assert_eq!(found(&body), ["lab/assembler", "viz/plotter"]);
    assert!(body.get("facets").is_none(), "no facets unless asked");
}

#[tokio::test]
async fn facets_count_what_the_caller_may_see_with_labels() {
    let app = TestApp::with(catalogue()).await;
    let body = app
        .get("/container/search?facets=topic,operation,license,namespace,automated,updated&per_page=1")
        .await
        .json();
    assert_eq!(body["total"], 3);
    assert_eq!(found(&body).len(), 1, "facets count beyond the page");
    assert_eq!(
        facet(&body, "topic"),
        [
            ("topic_0080".into(), "Sequence analysis".into(), 1),
            ("topic_0092".into(), "Data visualisation".into(), 1),
            ("topic_0196".into(), "Sequence assembly".into(), 1),
        ]
    );
    assert_eq!(
        facet(&body, "license"),
        [
            ("MIT".into(), "MIT".into(), 2),
            ("GPL-3.0-only".into(), "GPL-3.0-only".into(), 1),
        ]
    );
    assert_eq!(
        facet(&body, "namespace"),
        [
            ("lab".into(), "lab".into(), 2),
            ("viz".into(), "viz".into(), 1)
        ]
    );
    assert_eq!(
        facet(&body, "automated"),
        [
            ("no".into(), "Pushed images".into(), 2),
            ("yes".into(), "Automated builds".into(), 1),
        ]
    );
    assert_eq!(facet(&body, "updated").len(), 4);
    assert!(
        !body.to_string().contains("Proprietary") && !body.to_string().contains("alice"),
        "nothing of the private container shows: {body}"
    );

    // Its owner counts it; the facets follow the audience.
    app.user("alice", Role::User, "alice-password").await;
    let key = app.key("alice", "read").await;
    let request = Request::get("/container/search?facets=license,namespace")
        .body(axum::body::Body::empty())
        .unwrap();
    let mine = app.with_key(&key, request).await.json();
    assert_eq!(mine["total"], 4);
    assert!(facet(&mine, "license").contains(&("Proprietary".into(), "Proprietary".into(), 1)));
    assert!(facet(&mine, "namespace").contains(&("alice".into(), "alice".into(), 1)));
    assert!(
        mine["facets"].get("topic").is_none(),
        "only the facets asked"
    );
}

#[tokio::test]
async fn sorts_and_the_post_form_take_the_same_options() {
    let app = TestApp::with(catalogue()).await;
    let get = |sort: &'static str| {
        let app = &app;
        async move {
            found(
                &app.get(&format!("/container/search?sort={sort}"))
                    .await
                    .json(),
            )
        }
    };
    assert_eq!(
        get("pulls").await,
        ["lab/assembler", "lab/aligner", "viz/plotter"]
    );
    assert_eq!(
        get("name").await,
        ["lab/aligner", "lab/assembler", "viz/plotter"]
    );
    assert_eq!(
        get("updated").await,
        ["viz/plotter", "lab/aligner", "lab/assembler"]
    );
    let body = app
        .post_json(
            "/container/search",
            r#"{"search": "topic:topic_0080", "sort": "pulls", "facets": ["license"]}"#,
        )
        .await
        .json();
    assert_eq!(found(&body), ["lab/assembler", "lab/aligner"]);
    assert_eq!(facet(&body, "license").len(), 2);
}

#[tokio::test]
async fn a_digest_or_its_prefix_lists_every_container_holding_it() {
    let mut containers = catalogue();
    // The same image under two names.
    let mut shared = containers[1].tags[0].clone();
    shared.digest =
        "sha256:4c0e8b1f2a3d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f".into();
    containers[1].tags[0] = shared.clone();
    containers[2].tags.push(shared.clone());
    let app = TestApp::with(containers).await;
    let hex = shared.digest.trim_start_matches("sha256:");
    for q in [
        shared.digest.clone(),
        hex[..12].to_owned(),
        format!("sha256:{}", &hex[..20]),
    ] {
        let body = app
            .get(&format!("/container/search?q=digest:{q}&sort=name"))
            .await
            .json();
        assert_eq!(found(&body), ["lab/aligner", "viz/plotter"], "{q}");
    }
}

#[tokio::test]
async fn bad_terms_sorts_facets_and_digests_are_refused_clearly() {
    let app = TestApp::with(catalogue()).await;
    let cases = [
        (
            "/container/search?q=topic:operation_0292",
            "not an EDAM topic",
        ),
        (
            "/container/search?q=operation:operation_XXXX",
            "not an EDAM operation",
        ),
        ("/container/search?q=digest:abc", "at least 12 hex digits"),
        (
            "/container/search?q=updated:decade",
            "day, week, month or year",
        ),
        ("/container/search?sort=stars", "unknown sort"),
        ("/container/search?facets=topic,colour", "unknown facet"),
    ];
    for (uri, says) in cases {
        let response = app.get(uri).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(response.body.contains(says), "{uri}: {}", response.body);
    }
    let response = app
        .post_json(
            "/container/search",
            r#"{"search": "", "facets": ["stars"]}"#,
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_search_page_has_a_filter_sidebar_whose_links_keep_the_query() {
    let app = TestApp::with(catalogue()).await;
    let page = app.get("/search?q=tool&sort=pulls").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(body.contains(r#"id="facet-topic""#), "{body}");
    // Adding a filter keeps the words and the order.
    assert!(
        body.contains(r#"href="/search?q=tool+topic%3Atopic_0196&#38;sort=pulls""#),
        "{body}"
    );
    assert!(body.contains("Sequence assembly"));
    assert!(body.contains(r#"<strong aria-current="true">Most pulled</strong>"#));
    assert!(body.contains(r#"href="/search?q=tool&#38;sort=name""#));
    assert!(
        !body.contains("Proprietary"),
        "private facet values never show"
    );

    // A filter in the query shows as active; its link removes it and keeps the rest.
    let page = app
        .get("/search?q=tool+topic%3A%22Sequence+assembly%22")
        .await;
    let body = &page.body;
    assert!(
        body.contains(r#"<li class="active"><a href="/search?q=tool" aria-current="true""#),
        "{body}"
    );
    assert!(body.contains("lab/assembler") && !body.contains("viz/plotter"));

    let page = app.get("/search?q=topic:nothing_like_this").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}
