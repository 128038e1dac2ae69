//! `/container/all`, `/container/latest`, `/container/{id}`, `/container/tags/{id}`.

use bioshadock_core::Visibility;

use crate::support::*;

#[tokio::test]
async fn all_lists_public_containers_newest_first_and_hides_private_ones() {
    let app = TestApp::with(vec![
        public("lab/old", 1),
        private("lab/secret", 2),
        public("lab/new", 3),
    ])
    .await;
    let response = app.get("/container/all").await;
    assert_eq!(response.status, 200);
    assert!(response.content_type().starts_with("application/json"));
    let body = response.json();
    assert_eq!(ids(&body), ["lab/new", "lab/old"]);
    let first = &body[0];
    for field in [
        "id",
        "description",
        "visible",
        "tags",
        "pulls",
        "updated_at",
    ] {
        assert!(!first[field].is_null(), "`{field}` missing in {first}");
    }
    assert_eq!(first["visible"], true);
    assert_eq!(first["tags"][0]["name"], "latest");
    assert_eq!(
        first["pull_command"],
        "docker pull registry.example.org/lab/new:latest"
    );
    assert!(!response.body.contains("secret"));
}

#[tokio::test]
async fn all_streams_every_container_across_store_batches_exactly_once() {
    let many: Vec<_> = (0..1_203)
        .map(|i| public(&format!("ns{}/tool{i}", i % 7), i))
        .collect();
    let app = TestApp::with(many).await;
    let body = app.get("/container/all").await.json();
    let listed = ids(&body);
    assert_eq!(listed.len(), 1_203);
    assert_eq!(
        listed
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        1_203
    );
    assert_eq!(listed[0], "ns5/tool1202", "newest first");
    assert_eq!(listed[1_202], "ns0/tool0");
}

#[tokio::test]
async fn all_on_an_empty_catalogue_is_an_empty_array() {
    let app = TestApp::new().await;
    assert_eq!(
        app.get("/container/all").await.json(),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn latest_returns_the_most_recent_public_containers() {
    let mut containers: Vec<_> = (0..30).map(|i| public(&format!("lab/t{i}"), i)).collect();
    containers.push(private("lab/hidden", 100));
    let app = TestApp::with(containers).await;
    let body = app.get("/container/latest").await.json();
    let listed = ids(&body);
    assert_eq!(listed.len(), 20);
    assert_eq!(listed[0], "lab/t29");
    let three = ids(&app.get("/container/latest?limit=3").await.json());
    assert_eq!(three, ["lab/t29", "lab/t28", "lab/t27"]);
}

#[tokio::test]
async fn latest_refuses_silly_limits() {
    let app = TestApp::with(vec![public("lab/a", 1)]).await;
    for uri in [
        "/container/latest?limit=0",
        "/container/latest?limit=101",
        "/container/latest?limit=abc",
        "/container/latest?limit=-1",
    ] {
        app.get(uri).await.assert_error(400, "bad_request");
    }
}

#[tokio::test]
async fn one_container_with_its_details() {
    let mut c = container(
        "lab/samtools",
        Visibility::Public,
        5,
        "# Samtools\n\nReads BAM.",
    );
    c.tags = vec![tag("1.19", 5), tag("1.18", 2)];
    c.labels = labels(&[("org.opencontainers.image.licenses", "MIT")]);
    c.git = Some("https://git.example.org/lab/samtools.git#main:docker".into());
    c.dockerfile = Some("FROM busybox\n".into());
    c.pulls = 42;
    let app = TestApp::with(vec![c]).await;
    let response = app.get("/container/lab/samtools").await;
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(body["id"], "lab/samtools");
    assert_eq!(body["namespace"], "lab");
    assert_eq!(body["name"], "samtools");
    assert_eq!(body["owner"], "lab");
    assert_eq!(body["visible"], true);
    assert_eq!(body["visibility"], "public");
    assert_eq!(body["pulls"], 42);
    assert_eq!(body["labels"]["org.opencontainers.image.licenses"], "MIT");
    assert_eq!(
        body["git"],
        "https://git.example.org/lab/samtools.git#main:docker"
    );
    assert_eq!(body["dockerfile"], "FROM busybox\n");
    assert_eq!(body["tags"][0]["name"], "1.19");
    assert_eq!(body["tags"][0]["size"], 123_456_789);
    assert_eq!(
        body["pull_command"],
        "docker pull registry.example.org/lab/samtools:1.19"
    );
}

#[tokio::test]
async fn tags_come_newest_first() {
    let mut c = public("lab/bwa", 10);
    c.tags = vec![tag("0.7.17", 1), tag("latest", 10), tag("0.7.18", 5)];
    c.sort_tags();
    let app = TestApp::with(vec![c]).await;
    let body = app.get("/container/tags/lab/bwa").await.json();
    let names: Vec<_> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["latest", "0.7.18", "0.7.17"]);
    assert!(body[0]["digest"].as_str().unwrap().starts_with("sha256:"));
}

#[tokio::test]
async fn unknown_and_private_containers_are_not_found() {
    let app = TestApp::with(vec![private("lab/secret", 1)]).await;
    app.get("/container/lab/nothing")
        .await
        .assert_error(404, "not_found");
    app.get("/container/lab/secret")
        .await
        .assert_error(404, "not_found");
    app.get("/container/tags/lab/secret")
        .await
        .assert_error(404, "not_found");
    app.get("/container/tags/lab/nothing")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn invalid_names_are_bad_requests() {
    let app = TestApp::with(vec![public("lab/a", 1)]).await;
    for uri in [
        "/container/Lab/a",
        "/container/lab/A",
        "/container/lab/a..b",
        "/container/lab/-a",
        "/container/tags/lab/a__-b",
        "/container/search/x",
    ] {
        let response = app.get(uri).await;
        assert_eq!(response.status, 400, "{uri}: {}", response.body);
        assert!(response.json()["error"].as_str().is_some(), "{uri}");
    }
    let too_long = format!("/container/lab/{}", "a".repeat(300));
    app.get(&too_long).await.assert_error(400, "invalid_name");
    assert_eq!(app.count_all().await, 1, "nothing changed");
}
