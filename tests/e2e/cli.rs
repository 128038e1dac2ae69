//! The command line contract: exit codes, one-line errors, the OpenAPI document.

use crate::support::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn openapi_prints_the_committed_document() {
    let out = Site::new().run(&["openapi"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/bioshadock.json"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

#[test]
fn an_unknown_config_key_stops_start_up_naming_the_key() {
    let site = Site::new();
    let out = site
        .command(&["serve"])
        .env("BIOSHADOCK__WEB__LISTEN_ADDR", "0.0.0.0:1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.to_lowercase().contains("listen_addr"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!site.data_dir().exists(), "nothing was created");
}

#[test]
fn a_config_file_is_read_and_a_missing_one_is_an_error() {
    let site = Site::new();
    let file = site.dir.path().join("site.toml");
    std::fs::write(&file, "[web]\npage_size = 0\n").unwrap();
    let out = site.run(&[
        "--config",
        file.to_str().unwrap(),
        "seed",
        "--containers",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("web.page_size"), "{}", stderr(&out));
    let out = site.run(&["--config", "/nonexistent/bioshadock.toml", "serve"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nonexistent"), "{}", stderr(&out));
}

#[test]
fn seed_refuses_silly_counts() {
    let site = Site::new();
    let out = site.run(&["seed", "--containers", "0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--containers"));
}

#[test]
fn distributed_commands_explain_what_they_need() {
    for command in ["web", "builder"] {
        let out = Site::new().run(&[command]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("external backends") && stderr(&out).contains("serve"),
            "{command}: {}",
            stderr(&out)
        );
    }
    // A mix of embedded and external backends is refused, naming the keys.
    let out = Site::new()
        .with_env("BIOSHADOCK__QUEUE__BACKEND", "redis")
        .with_env("BIOSHADOCK__QUEUE__REDIS_URL", "redis://127.0.0.1:1/0")
        .run(&["serve"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("queue.backend"), "{}", stderr(&out));
}

#[tokio::test]
async fn reindex_rebuilds_search_from_the_store() {
    let site = Site::new();
    site.seed(40);
    std::fs::remove_dir_all(site.data_dir().join("search-index")).unwrap();
    let out = site.run(&["reindex"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("reindexed 40 containers"));
    let server = site.serve().await;
    let body: serde_json::Value = http()
        .get(site.url("/container/search?q=samtools"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["total"].as_u64().unwrap() >= 1, "{body}");
    server.stop();
}

#[tokio::test]
async fn a_second_serve_on_the_same_data_dir_is_refused() {
    let site = Site::new();
    let first = site.serve().await;
    let mut other = Site::new();
    other.port = free_port();
    let out = site
        .command(&["serve"])
        .env(
            "BIOSHADOCK__WEB__LISTEN",
            format!("127.0.0.1:{}", other.port),
        )
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "two processes must not share embedded backends"
    );
    assert!(stderr(&out).contains("already running"), "{}", stderr(&out));
    first.stop();
}

#[tokio::test]
async fn audit_export_prints_the_log_as_json_lines_while_serve_runs() {
    let site = Site::new();
    site.add_user("alice", "alice password");
    let key = crate::registry::api_key(&site, "alice", "read,push");
    let _server = site.serve().await;
    crate::registry::create_container(
        &site,
        &key,
        serde_json::json!({"name": "alice/tool", "description": "a tool"}),
    )
    .await;
    let out = site.run(&["audit", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect();
    let created = lines
        .iter()
        .find(|e| e["kind"] == "container.created")
        .unwrap_or_else(|| panic!("no container.created in {lines:?}"));
    assert_eq!(created["target"], "alice/tool");
    assert_eq!(created["actor"]["name"], "alice");
    assert!(created["id"].as_u64().is_some() && created["at"].is_string());
    let later = site.run(&["audit", "export", "--since", "2999-01-01"]);
    assert!(later.status.success(), "{}", stderr(&later));
    assert!(later.stdout.is_empty());
    let bad = site.run(&["audit", "export", "--since", "yesterday"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--since"), "{}", stderr(&bad));
}
