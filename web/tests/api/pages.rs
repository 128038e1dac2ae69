//! Server-rendered pages, as a person without JavaScript sees them.

use bioshadock_core::Visibility;

use crate::support::*;

#[tokio::test]
async fn the_catalogue_pages_through_public_containers_newest_first() {
    let mut containers: Vec<_> = (0..30)
        .map(|i| public(&format!("lab/tool{i:02}"), i))
        .collect();
    containers.push(private("lab/hidden", 99));
    let app = TestApp::with(containers).await;
    let first = app.get("/").await;
    assert_eq!(first.status, 200);
    assert!(first.content_type().starts_with("text/html"));
    assert!(
        first.body.contains("30 public containers"),
        "count excludes private"
    );
    assert!(first.body.contains("tool29") && !first.body.contains("tool05"));
    assert!(!first.body.contains("lab/hidden"));
    assert!(first.body.contains("Page 1 of 2"));
    assert!(first.body.contains(r#"href="/?page=2""#));
    let second = app.get("/?page=2").await;
    assert!(second.body.contains("tool05") && !second.body.contains("tool29"));
    assert!(second.body.contains("Page 2 of 2"));
}

#[tokio::test]
async fn silly_page_numbers_get_a_clear_page() {
    let app = TestApp::with(vec![public("lab/a", 1)]).await;
    for uri in ["/?page=0", "/?page=abc", "/?page=-3"] {
        let response = app.get(uri).await;
        assert_eq!(response.status, 400, "{uri}");
        assert!(response.content_type().starts_with("text/html"), "{uri}");
    }
    let beyond = app.get("/?page=50").await;
    assert_eq!(beyond.status, 200);
    assert!(beyond.body.contains("There is nothing on page 50"));
}

#[tokio::test]
async fn an_empty_catalogue_says_how_to_fill_it() {
    let app = TestApp::new().await;
    let body = app.get("/").await.body;
    assert!(body.contains("No containers yet"));
    assert!(body.contains("bioshadock seed"));
}

#[tokio::test]
async fn the_search_page_shows_matches_and_keeps_the_query() {
    let app = TestApp::with(vec![
        container("lab/samtools", Visibility::Public, 1, "Reads BAM."),
        container("lab/bwa", Visibility::Public, 2, "Aligns reads."),
        container("lab/samtools-private", Visibility::Private, 3, "Secret."),
    ])
    .await;
    let response = app.get("/search?q=samtools").await;
    assert_eq!(response.status, 200);
    assert!(
        response.body.contains("1 container match"),
        "{}",
        response.body
    );
    assert!(response.body.contains(r#"href="/r/lab/samtools""#));
    assert!(!response.body.contains("lab/bwa") && !response.body.contains("private"));
    assert!(
        response.body.contains(r#"value="samtools""#),
        "the box keeps the query"
    );
    let none = app.get("/search?q=zebrafish").await;
    assert!(none.body.contains("Nothing found"));
    let bad = app.get(&format!("/search?q={}", "a".repeat(300))).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("longer than 256"));
}

#[tokio::test]
async fn the_container_page_shows_what_a_user_needs() {
    let mut c = container(
        "lab/samtools",
        Visibility::Public,
        5,
        "# Samtools\n\nTools for **BAM** files.\n\n<script>alert('x')</script>",
    );
    c.tags = vec![tag("1.19", 5), tag("1.18", 1)];
    c.labels = labels(&[("org.opencontainers.image.licenses", "MIT")]);
    c.dockerfile = Some("FROM busybox\nRUN echo <hello>\n".into());
    let app = TestApp::with(vec![c]).await;
    let page = app.get("/r/lab/samtools").await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    assert!(
        body.contains("<h1>Samtools</h1>") && body.contains("<strong>BAM</strong>"),
        "Markdown rendered"
    );
    assert!(!body.contains("<script>alert"), "description sanitised");
    assert!(body.contains("docker pull registry.example.org/lab/samtools:1.19"));
    assert!(
        body.contains("1.18") && body.contains("123.5 MB"),
        "tags with sizes"
    );
    assert!(
        body.contains(&format!("sha256:{:064x}", 4096 + 5)),
        "full digest available"
    );
    assert!(body.contains("org.opencontainers.image.licenses") && body.contains("MIT"));
    assert!(
        body.contains("RUN echo &#60;hello&#62;"),
        "Dockerfile escaped: {body}"
    );
}

#[tokio::test]
async fn private_and_unknown_containers_have_no_page() {
    let app = TestApp::with(vec![private("lab/secret", 1)]).await;
    for uri in ["/r/lab/secret", "/r/lab/nothing"] {
        let page = app.get(uri).await;
        assert_eq!(page.status, 404, "{uri}");
        assert!(page.content_type().starts_with("text/html"));
        assert!(!page.body.contains("is secret"));
    }
    assert_eq!(app.get("/r/Lab/Bad").await.status, 400);
}

#[tokio::test]
async fn static_assets_are_served() {
    let app = TestApp::new().await;
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status, 200);
    assert!(css.content_type().starts_with("text/css"));
    assert_eq!(app.get("/static/app.js").await.status, 200);
    assert_eq!(app.get("/static/nope.js").await.status, 404);
}
