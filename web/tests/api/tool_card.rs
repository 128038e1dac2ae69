//! The tool card a container page builds from its image labels: what it shows, the links it
//! makes (and refuses to make), and the label problems only its editors see.

use axum::http::StatusCode;
use bioshadock_core::Visibility;
use bioshadock_core::accounts::Role;

use crate::support::*;

fn annotated() -> bioshadock_core::Container {
    let mut c = container("alice/bwa", Visibility::Public, 5, "BWA");
    c.labels = labels(&[
        ("software", "bwa"),
        ("software.version", "0.7.17"),
        (
            "about.summary",
            "Burrows-Wheeler Aligner for short-read alignment",
        ),
        ("about.home", "javascript:alert(document.cookie)"),
        ("org.opencontainers.image.url", "https://github.com/lh3/bwa"),
        ("about.license", "SPDX:GPL-3.0-only"),
        ("extra.identifiers.biotools", "bwa"),
        ("ANNOT.EDAM_Topic", "['topic_0102']"),
        ("ANNOT.EDAM_Operation", "operation_3198 operation_XXXX"),
        ("ANNOT.Reference", "['doi:10.1093/bioinformatics/btp324']"),
        ("ANNOT.Vendor", "<b>Lab</b>"),
    ]);
    c
}

#[tokio::test]
async fn the_container_page_shows_a_tool_card_from_the_labels() {
    let app = TestApp::with(vec![annotated()]).await;
    let page = app.get("/r/alice/bwa").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains(r#"<dd id="tool-version">0.7.17</dd>"#),
        "{body}"
    );
    assert!(body.contains(r#"<dd id="tool-license">GPL-3.0-only</dd>"#));
    assert!(
        body.contains(r#"href="https://github.com/lh3/bwa""#),
        "the OCI URL stands in"
    );
    assert!(
        !body.contains(r#"href="javascript:"#),
        "never a javascript: link"
    );
    assert!(body.contains(r#"href="https://bio.tools/bwa""#));
    assert!(body.contains(r#"href="https://doi.org/10.1093/bioinformatics/btp324""#));
    assert!(
        body.contains(r#"href="/search?q=topic%3Atopic_0102""#),
        "EDAM terms link to a search for them"
    );
    assert!(
        body.contains(r#"title="topic_0102: find containers annotated with it">Mapping</a>"#),
        "EDAM terms by their labels"
    );
    assert!(body.contains(r#"href="/search?q=operation%3Aoperation_3198""#));
    assert!(!body.contains("tool-problems"), "problems are for editors");
    assert!(!body.contains("<b>Lab</b>"), "raw labels are escaped");
}

#[tokio::test]
async fn editors_see_the_labels_that_could_not_be_used() {
    let app = TestApp::with(vec![annotated()]).await;
    app.user("alice", Role::User, "alice password").await;
    let mut alice = app.login("alice", "alice password").await;
    let page = alice.get("/r/alice/bwa").await;
    let problems = page
        .body
        .split(r#"id="tool-problems""#)
        .nth(1)
        .unwrap_or_else(|| panic!("no problems shown: {}", page.body));
    assert!(problems.contains("operation_XXXX"), "{problems}");
    assert!(problems.contains("javascript:alert"), "{problems}");
}

#[tokio::test]
async fn an_image_without_tool_labels_has_no_card() {
    let mut c = container("alice/plain", Visibility::Public, 5, "plain");
    c.labels = labels(&[("com.example.build", "42")]);
    let app = TestApp::with(vec![c]).await;
    let page = app.get("/r/alice/plain").await;
    assert!(!page.body.contains("tool-card"));
}
