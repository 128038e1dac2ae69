//! `docker search HOST/TERM`, with the real docker CLI and daemon, against the portal's Docker
//! Hub v1 search: only what the caller may see, in the columns docker prints.

use std::process::Command;

use serde_json::json;

use crate::registry::{api_key, create_container, text};
use crate::support::*;

#[tokio::test]
async fn docker_search_lists_the_public_containers_that_match() {
    let site = Site::new();
    site.add_user("alice", "alice password");
    let key = api_key(&site, "alice", "read,push");
    let server = site.serve().await;
    create_container(
        &site,
        &key,
        json!({ "name": "alice/samtools", "description": "# Samtools\nTools for SAM/BAM files", "dockerfile": "FROM busybox\n" }),
    )
    .await;
    create_container(
        &site,
        &key,
        json!({ "name": "alice/samtools-private", "description": "secret", "visible": false }),
    )
    .await;
    create_container(
        &site,
        &key,
        json!({ "name": "alice/bwa", "description": "aligner" }),
    )
    .await;

    // 127.0.0.0/8 is an insecure registry to the daemon: it asks over plain http.
    let host = format!("127.0.0.1:{}", site.port);
    let out = Command::new("docker")
        .args(["search", "--no-trunc", &format!("{host}/samtools")])
        .output()
        .expect("the docker CLI (scripts/test installs docker.io)");
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{said}");
    assert_eq!(
        lines.len(),
        2,
        "one match, not the private one nor bwa: {said}"
    );
    assert!(lines[1].contains("alice/samtools"), "{said}");
    assert!(
        lines[1].contains("Samtools"),
        "the description's first line: {said}"
    );

    // The API answers the same in the v1 format.
    let v1 = get_json(&site.url("/v1/search?q=samtools&n=10"), None).await;
    assert_eq!(v1["num_results"], 1, "{v1}");
    assert_eq!(v1["results"][0]["name"], "alice/samtools");
    assert_eq!(v1["results"][0]["description"], "Samtools");
    assert_eq!(
        v1["results"][0]["is_automated"], true,
        "it has a Dockerfile to build"
    );
    assert_eq!(v1["results"][0]["is_official"], false);
    let as_alice = get_json(&site.url("/v1/search?q=samtools"), Some(&key)).await;
    assert_eq!(
        as_alice["num_results"], 2,
        "alice sees her private one: {as_alice}"
    );
    drop(server);
}
