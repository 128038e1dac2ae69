//! Real builds: `serve` builds on the local Docker Engine from a `git daemon` repository or a
//! pasted Dockerfile, pushes through its own token service to a real Distribution registry,
//! and the registry's notification puts the tag in the catalogue. Also: failures that say why,
//! smoke tests, timeouts, cancel, kill -9 mid-build, parallel builds and the live log.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::gitd::GitDaemon;
use crate::registry::{BASE_IMAGE, Registry, api_key, base_image, create_container};
use crate::support::*;

/// A portal with a registry, a git server, the user alice and her key.
struct Lab {
    site: Site,
    server: Option<Server>,
    registry: Registry,
    git: GitDaemon,
    key: String,
}

impl Lab {
    async fn start(env: &[(&str, &str)]) -> Self {
        base_image();
        let mut site = Site::with_registry();
        for (key, value) in env {
            site = site.with_env(key, value);
        }
        site.add_user("alice", "alice password");
        let key = api_key(&site, "alice", "read,push,build");
        let server = site.serve_logging_to(&log_path(&site)).await;
        let registry = Registry::start(&site).await;
        Self {
            site,
            server: Some(server),
            registry,
            git: GitDaemon::start(),
            key,
        }
    }

    /// The cache images this portal's builder keeps for `alice/NAME` (a `docker images`
    /// pattern for NAME): `bioshadock-cache/REGISTRY-HOST/alice/NAME`.
    fn cache_images(&self, name: &str) -> Vec<String> {
        let host = self.registry.host.replace(['.', ':'], "-");
        local_images(&format!("bioshadock-cache/{host}/alice/{name}"))
    }

    async fn restart(&mut self) {
        self.server = Some(self.site.serve_logging_to(&log_path(&self.site)).await);
    }

    /// A public container of alice's with this git source or Dockerfile.
    async fn container(&self, name: &str, git: Option<&str>, dockerfile: Option<&str>) {
        create_container(
            &self.site,
            &self.key,
            json!({ "name": format!("alice/{name}"), "git": git, "dockerfile": dockerfile }),
        )
        .await;
    }

    /// Calls a hook URL with the key in the query, as CI scripts do; returns the build id.
    async fn hook(&self, path: &str) -> i64 {
        let response = http()
            .get(self.site.url(&format!("{path}?apikey={}", self.key)))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 202, "{path}: {body}");
        assert_eq!(body["status"], "queued", "{body}");
        body["id"].as_i64().unwrap()
    }

    async fn build(&self, id: i64) -> Value {
        http()
            .get(self.site.url(&format!("/build/{id}")))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits for build `id` to satisfy `done`, for at most `secs`.
    async fn wait_for(&self, id: i64, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let build = self.build(id).await;
            if done(&build) {
                return build;
            }
            assert!(
                Instant::now() < deadline,
                "build {id} did not get there in {secs} s: {build}\nserver log:\n{}",
                std::fs::read_to_string(log_path(&self.site)).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn finished(&self, id: i64) -> Value {
        self.wait_for(id, 120, |b| {
            !matches!(b["status"].as_str(), Some("queued" | "running"))
        })
        .await
    }

    /// The tags of `repository` as the registry itself lists them.
    async fn registry_tags(&self, repository: &str) -> Vec<String> {
        let token: Value = http()
            .get(self.site.url(&format!(
                "/v2/token?service=bioshadock-registry&scope=repository:{repository}:pull"
            )))
            .basic_auth("alice", Some(&self.key))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let response = http()
            .get(format!(
                "http://{}/v2/{repository}/tags/list",
                self.registry.host
            ))
            .bearer_auth(token["token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        if response.status().as_u16() == 404 {
            return Vec::new();
        }
        assert!(response.status().is_success(), "{}", response.status());
        let body: Value = response.json().await.unwrap();
        body["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The container as the API shows it once `tag` is catalogued with labels (the registry's
    /// notification is processed in the background).
    async fn catalogued(&self, id: &str, tag: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let container: Value = http()
                .get(self.site.url(&format!("/container/{id}")))
                .bearer_auth(&self.key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let has_tag = container["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|t| t["name"] == tag));
            if has_tag
                && container["labels"]
                    .as_object()
                    .is_some_and(|l| !l.is_empty())
            {
                return container;
            }
            assert!(
                Instant::now() < deadline,
                "{id}:{tag} was not catalogued: {container}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Lab {
    /// The cache images this portal's builds kept go with it (each portal has its own).
    fn drop(&mut self) {
        let host = self.registry.host.replace(['.', ':'], "-");
        let images = local_images(&format!("bioshadock-cache/{host}/*/*"));
        if !images.is_empty() {
            let _ = std::process::Command::new("docker")
                .arg("rmi")
                .args(&images)
                .output();
        }
    }
}

fn log_path(site: &Site) -> PathBuf {
    site.dir.path().join("serve.log")
}

fn dockerfile(body: &str) -> String {
    format!("FROM {BASE_IMAGE}\n{body}\n")
}

fn log_of(build: &Value) -> &str {
    build["log"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_hook_builds_from_git_pushes_and_catalogues_the_tag_with_source_labels() {
    let lab = Lab::start(&[]).await;
    let repo = lab.git.repo(
        "tool",
        &[(
            "Dockerfile",
            &dockerfile(
                "LABEL bioshadock.tests='[\"test -f /built\", \"grep -q git /built\"]'\n\
                 RUN echo built-from-git | tee /built",
            ),
        )],
    );
    lab.container("tool", Some(&format!("{}#main", repo.url)), None)
        .await;
    let id = lab.hook("/container/git/alice/tool").await;
    let build = lab.finished(id).await;
    assert_eq!(build["status"], "success", "{build}");
    assert!(log_of(&build).contains("built-from-git"), "{build}");
    assert!(log_of(&build).contains("2 smoke test(s) passed"), "{build}");
    assert_eq!(build["revision"], repo.head());
    let digest = build["digest"].as_str().unwrap();
    assert!(digest.starts_with("sha256:"), "{build}");
    assert!(build["duration_secs"].as_f64().unwrap() > 0.0);

    assert_eq!(lab.registry_tags("alice/tool").await, vec!["latest"]);
    let metrics = http()
        .get(lab.site.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "bioshadock_builder_engine_up 1",
        "bioshadock_builds_ended_total{status=\"success\"} 1",
        "bioshadock_builder_builds_running 0",
    ] {
        assert!(
            metrics.contains(line),
            "no `{line}` in /metrics:\n{metrics}"
        );
    }
    let container = lab.catalogued("alice/tool", "latest").await;
    let labels = &container["labels"];
    assert_eq!(labels["org.opencontainers.image.source"], repo.url.as_str());
    assert_eq!(labels["org.opencontainers.image.revision"], repo.head());
    assert!(labels["org.opencontainers.image.created"].is_string());
    assert_eq!(container["tags"][0]["digest"], digest);
    // The page shows the Dockerfile the build built, from the repository.
    let page = container_page(&lab, "alice/tool").await;
    assert!(
        page.contains("RUN echo built-from-git | tee /built"),
        "{page}"
    );
    assert!(
        page.contains(&format!("Dockerfile at build #{id} (alice/tool:latest)")),
        "{page}"
    );

    // The tag hook builds the git tag of that name.
    let v2 = repo.commit(
        &[("Dockerfile", &dockerfile("RUN echo version-two > /built"))],
        "v2",
    );
    repo.git(&["tag", "v2"]);
    repo.commit(&[("README", "after v2")], "later");
    let id = lab.hook("/container/tag/alice/tool/v2").await;
    let build = lab.finished(id).await;
    assert_eq!(build["status"], "success", "{build}");
    assert_eq!(build["revision"], v2);
    let mut tags = lab.registry_tags("alice/tool").await;
    tags.sort();
    assert_eq!(tags, vec!["latest", "v2"]);
    lab.catalogued("alice/tool", "v2").await;
    let page = container_page(&lab, "alice/tool").await;
    assert!(
        page.contains("version-two"),
        "the newest build's Dockerfile: {page}"
    );
    // The audit log has the build queued by the hook's caller, started and finished by the
    // builder.
    let export = lab.site.run(&["audit", "export"]);
    assert!(export.status.success());
    let events: Vec<Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|e: &Value| e["target"] == format!("build:{id}"))
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["build.queued", "build.started", "build.finished"],
        "{events:?}"
    );
    assert_eq!(events[0]["actor"]["name"], "alice");
    assert_eq!(events[2]["actor"]["name"], "builder");
    assert!(
        events[2]["summary"]
            .as_str()
            .unwrap()
            .contains("ended: success")
    );
}

/// A CWL document for the descriptor tests.
const TOOL_CWL: &str = "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [echo, built]\n\
                        inputs: []\noutputs: []\n";

#[tokio::test]
async fn a_built_version_serves_its_descriptor_and_dockerfile_through_trs() {
    // The second container fetches its descriptor from this portal, on loopback.
    let lab = Lab::start(&[("BIOSHADOCK__BUILDER__DESCRIPTOR_PRIVATE_URLS", "true")]).await;
    let repo = lab.git.repo(
        "workflow",
        &[
            (
                "Dockerfile",
                &dockerfile("RUN echo built-with-a-descriptor"),
            ),
            ("cwl/tool.cwl", TOOL_CWL),
        ],
    );
    create_container(
        &lab.site,
        &lab.key,
        json!({ "name": "alice/workflow", "git": format!("{}#main", repo.url),
                "descriptor": "cwl/tool.cwl" }),
    )
    .await;
    let id = lab.hook("/container/git/alice/workflow").await;
    let build = lab.finished(id).await;
    assert_eq!(build["status"], "success", "{build}");
    assert!(
        log_of(&build).contains("recorded the CWL descriptor cwl/tool.cwl"),
        "{build}"
    );
    assert_eq!(build["descriptor"]["kind"], "CWL");
    assert_eq!(build["descriptor"]["origin"], "cwl/tool.cwl");
    assert_eq!(build["descriptor"]["text"], TOOL_CWL);
    assert_eq!(build["dockerfile"]["path"], "Dockerfile");
    lab.catalogued("alice/workflow", "latest").await;

    let trs = |path: &str| {
        lab.site
            .url(&format!("/ga4gh/trs/v2/tools/alice%2Fworkflow{path}"))
    };
    let version = get_json(&trs("/versions/latest"), None).await;
    assert_eq!(version["descriptor_type"], json!(["CWL"]), "{version}");
    assert_eq!(version["containerfile"], true);
    assert_eq!(
        version["images"][0]["checksum"][0]["checksum"],
        build["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
    );
    let plain = http()
        .get(trs("/versions/latest/PLAIN_CWL/descriptor"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(plain, TOOL_CWL, "exactly what was built");

    // The same through trs-cli, which refuses any field its models lack.
    let answers = crate::trs::trs_cli(
        &lab.site,
        "alice/workflow",
        "latest",
        r#"
show("version", client.get_version(id=tool_id, version_id=version))
show("descriptor", client.get_descriptor(type="CWL", id=tool_id, version_id=version))
show("files", client.get_files(type="CWL", id=tool_id, version_id=version))
show("tests", client.get_tests(type="CWL", id=tool_id, version_id=version))
show("containerfiles", client.get_containerfiles(id=tool_id, version_id=version))
"#,
    )
    .await;
    assert_eq!(answers["version"]["descriptor_type"], json!(["CWL"]));
    assert_eq!(answers["descriptor"]["content"], TOOL_CWL);
    assert_eq!(answers["files"][0]["path"], "tool.cwl");
    assert_eq!(answers["files"][0]["file_type"], "PRIMARY_DESCRIPTOR");
    assert_eq!(answers["tests"], json!([]));
    assert!(
        answers["containerfiles"][0]["content"]
            .as_str()
            .unwrap()
            .contains("built-with-a-descriptor"),
        "{:?}",
        answers["containerfiles"]
    );

    // A pasted Dockerfile names its descriptor by URL: fetched at build time, recorded with
    // where it came from. (Here the URL is the first tool's descriptor on this portal.)
    let url = trs("/versions/latest/PLAIN_CWL/descriptor/tool.cwl");
    create_container(
        &lab.site,
        &lab.key,
        json!({ "name": "alice/fetched", "dockerfile": dockerfile("RUN echo fetched"),
                "descriptor": url }),
    )
    .await;
    let id = lab.hook("/container/git/alice/fetched").await;
    let build = lab.finished(id).await;
    assert_eq!(build["status"], "success", "{build}");
    assert_eq!(build["descriptor"]["origin"], url.as_str(), "{build}");
    assert_eq!(build["descriptor"]["text"], TOOL_CWL);
    lab.catalogued("alice/fetched", "latest").await;
    let wrapped = get_json(
        &lab.site
            .url("/ga4gh/trs/v2/tools/alice%2Ffetched/versions/latest/CWL/descriptor"),
        None,
    )
    .await;
    assert_eq!(wrapped["content"], TOOL_CWL);
    assert_eq!(
        wrapped["url"],
        url.as_str(),
        "a fetched descriptor says where from"
    );
}

async fn container_page(lab: &Lab, id: &str) -> String {
    page_at(lab, &format!("/r/{id}")).await
}

/// A portal page as an anonymous visitor sees it.
async fn page_at(lab: &Lab, path: &str) -> String {
    http()
        .get(lab.site.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn pasted_dockerfiles_and_ref_subdir_sources_build() {
    let lab = Lab::start(&[]).await;
    lab.container(
        "pasted",
        None,
        Some(&dockerfile("RUN echo from-the-portal > /origin")),
    )
    .await;
    let pasted = lab.hook("/container/git/alice/pasted").await;

    let repo = lab
        .git
        .repo("mono", &[("README", "no Dockerfile at the root")]);
    repo.git(&["checkout", "-q", "-b", "dev"]);
    let dev = repo.commit(
        &[
            (
                "docker/Dockerfile",
                &dockerfile("COPY hello.txt /hello.txt\nRUN cat /hello.txt"),
            ),
            ("docker/hello.txt", "hello-from-subdir"),
        ],
        "dev image",
    );
    repo.git(&["checkout", "-q", "main"]);
    lab.container("mono", Some(&format!("{}#dev:docker", repo.url)), None)
        .await;
    let subdir = lab.hook("/container/git/alice/mono").await;

    let pasted = lab.finished(pasted).await;
    assert_eq!(pasted["status"], "success", "{pasted}");
    assert_eq!(pasted["source_kind"], "dockerfile");
    let subdir = lab.finished(subdir).await;
    assert_eq!(subdir["status"], "success", "{subdir}");
    assert_eq!(subdir["revision"], dev);
    assert!(log_of(&subdir).contains("hello-from-subdir"), "{subdir}");
    assert_eq!(lab.registry_tags("alice/pasted").await, vec!["latest"]);
    assert_eq!(lab.registry_tags("alice/mono").await, vec!["latest"]);
    let container = lab.catalogued("alice/pasted", "latest").await;
    assert_eq!(
        container["labels"]["org.opencontainers.image.source"],
        lab.site.url("/r/alice/pasted")
    );
}

#[tokio::test]
async fn failed_builds_and_failed_smoke_tests_say_why_and_push_nothing() {
    let lab = Lab::start(&[]).await;
    lab.container(
        "broken",
        None,
        Some(&dockerfile("RUN echo about-to-fail && exit 7")),
    )
    .await;
    lab.container(
        "untested",
        None,
        Some(&dockerfile(
            "LABEL bioshadock.tests='[\"echo checking-the-image\", \"test -f /missing\"]'\nRUN true",
        )),
    )
    .await;
    let broken = lab.hook("/container/git/alice/broken").await;
    let untested = lab.hook("/container/git/alice/untested").await;

    let broken = lab.finished(broken).await;
    assert_eq!(broken["status"], "failed", "{broken}");
    assert!(log_of(&broken).contains("about-to-fail"), "{broken}");
    let reason = broken["reason"].as_str().unwrap();
    assert!(
        reason.contains('7'),
        "the reason gives the exit code: {reason}"
    );

    let untested = lab.finished(untested).await;
    assert_eq!(untested["status"], "failed", "{untested}");
    let reason = untested["reason"].as_str().unwrap();
    assert!(reason.contains("smoke test 2"), "{reason}");
    assert!(
        log_of(&untested).contains("checking-the-image"),
        "{untested}"
    );

    assert!(lab.registry_tags("alice/broken").await.is_empty());
    assert!(lab.registry_tags("alice/untested").await.is_empty());
    // A failed build leaves no image behind on the engine.
    let images = std::process::Command::new("docker")
        .args([
            "images",
            "-q",
            &format!("{}/alice/untested", lab.registry.host),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&images.stdout).trim().is_empty());
}

#[tokio::test]
async fn a_build_past_its_timeout_fails_and_a_running_build_can_be_cancelled() {
    let lab = Lab::start(&[("BIOSHADOCK__BUILDER__TIMEOUT_SECS", "5")]).await;
    lab.container(
        "slow",
        None,
        Some(&dockerfile("RUN echo started-slow && sleep 120")),
    )
    .await;
    let slow = lab.hook("/container/git/alice/slow").await;
    let slow = lab.finished(slow).await;
    assert_eq!(slow["status"], "failed", "{slow}");
    assert!(
        slow["reason"]
            .as_str()
            .unwrap()
            .contains("longer than 5 seconds"),
        "{slow}"
    );

    lab.container(
        "cancelled",
        None,
        Some(&dockerfile("RUN echo started-cancelled && sleep 60")),
    )
    .await;
    let id = lab.hook("/container/git/alice/cancelled").await;
    lab.wait_for(id, 60, |b| {
        b["status"] == "running" && log_of(b).contains("started-cancelled")
    })
    .await;
    let response = http()
        .post(lab.site.url(&format!("/build/{id}/cancel")))
        .bearer_auth(&lab.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cancelled = lab.finished(id).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert!(lab.registry_tags("alice/cancelled").await.is_empty());

    // The worker is free again: the next build runs.
    lab.container("next", None, Some(&dockerfile("RUN true")))
        .await;
    let next = lab.hook("/container/git/alice/next").await;
    assert_eq!(lab.finished(next).await["status"], "success");
    // The cancelled build never completed behind our back.
    assert_eq!(lab.build(id).await["status"], "cancelled");
}

#[tokio::test]
async fn a_build_whose_server_was_killed_is_interrupted_after_restart_and_the_queue_goes_on() {
    let mut lab = Lab::start(&[]).await;
    lab.container(
        "doomed",
        None,
        Some(&dockerfile("RUN echo started-doomed && sleep 120")),
    )
    .await;
    let id = lab.hook("/container/git/alice/doomed").await;
    lab.wait_for(id, 60, |b| {
        b["status"] == "running" && log_of(b).contains("started-doomed")
    })
    .await;
    lab.server.take().unwrap().kill();
    lab.restart().await;
    let interrupted = lab.wait_for(id, 60, |b| b["status"] != "running").await;
    assert_eq!(interrupted["status"], "interrupted", "{interrupted}");
    assert!(interrupted["reason"].as_str().unwrap().contains("stopped"));
    // The log written before the kill was kept.
    assert!(log_of(&interrupted).contains("started-doomed"));

    lab.container("after", None, Some(&dockerfile("RUN true")))
        .await;
    let after = lab.hook("/container/git/alice/after").await;
    assert_eq!(lab.finished(after).await["status"], "success");
}

#[tokio::test]
async fn parallel_builds_each_run_exactly_once() {
    let lab = Lab::start(&[("BIOSHADOCK__BUILDER__CONCURRENCY", "2")]).await;
    lab.container(
        "many",
        None,
        Some(&dockerfile("RUN echo one-build-step && sleep 1")),
    )
    .await;
    let mut ids = Vec::new();
    for tag in ["a", "b", "c", "d"] {
        ids.push(lab.hook(&format!("/container/tag/alice/many/{tag}")).await);
    }
    for id in ids {
        let build = lab.finished(id).await;
        assert_eq!(build["status"], "success", "{build}");
        let starts = log_of(&build)
            .lines()
            .filter(|l| l.starts_with("[bioshadock] building alice/many"))
            .count();
        assert_eq!(starts, 1, "build {id} ran {starts} times: {build}");
    }
    let mut tags = lab.registry_tags("alice/many").await;
    tags.sort();
    assert_eq!(tags, vec!["a", "b", "c", "d"]);
}

#[tokio::test]
async fn the_live_log_streams_lines_while_the_build_runs_in_order_none_lost() {
    let lab = Lab::start(&[]).await;
    lab.container(
        "ticker",
        None,
        Some(&dockerfile(
            "RUN for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo tick-$i; sleep 0.25; done",
        )),
    )
    .await;
    let id = lab.hook("/container/git/alice/ticker").await;
    let response = http()
        .get(lab.site.url(&format!("/build/{id}/events")))
        .bearer_auth(&lab.key)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut ids = Vec::new();
    let mut lines = Vec::new();
    let mut status_at_first_tick = None;
    let mut ended = false;
    while let Some(chunk) = body.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = "message";
            let mut event_id = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = if v.trim() == "end" { "end" } else { "other" };
                } else if let Some(v) = line.strip_prefix("id:") {
                    event_id = v.trim().parse::<u64>().ok();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            match (event, event_id) {
                ("message", Some(n)) => {
                    if data == "tick-1" {
                        status_at_first_tick = Some(lab.build(id).await["status"].clone());
                    }
                    ids.push(n);
                    lines.push(data);
                }
                ("end", _) => ended = true,
                _ => {}
            }
        }
    }
    assert!(ended, "the stream ends with an end event");
    assert_eq!(
        status_at_first_tick,
        Some(json!("running")),
        "the first line arrived while the build was still running"
    );
    let expected: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, expected, "every line, in order, none lost");
    let ticks: Vec<&String> = lines.iter().filter(|l| l.starts_with("tick-")).collect();
    let wanted: Vec<String> = (1..=12).map(|i| format!("tick-{i}")).collect();
    assert_eq!(ticks, wanted.iter().collect::<Vec<_>>());
    // The stored log is the same as what was streamed.
    let stored = lab.build(id).await;
    assert_eq!(stored["status"], "success");
    assert_eq!(log_of(&stored).lines().collect::<Vec<_>>(), lines);
}

#[tokio::test]
async fn without_a_docker_engine_the_portal_runs_and_builds_wait_in_the_queue() {
    let site = Site::new().with_env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    site.add_user("alice", "alice password");
    let key = api_key(&site, "alice", "read,push,build");
    let log = log_path(&site);
    let _server = site.serve_logging_to(&log).await;
    create_container(
        &site,
        &key,
        json!({ "name": "alice/waiting", "dockerfile": dockerfile("RUN true") }),
    )
    .await;
    let response = http()
        .post(site.url(&format!("/container/git/alice/waiting?apikey={key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let build: Value = http()
        .get(site.url(&format!("/build/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(build["status"], "queued", "{build}");
    let ready: Value = http()
        .get(site.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["ready"], true, "the portal itself is ready: {ready}");
    assert_eq!(ready["builder"]["present"], true);
    assert!(
        ready["builder"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("Docker Engine")),
        "{ready}"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("Docker Engine") && logged.contains("builds stay queued"),
        "the start-up log says why builds wait: {logged}"
    );
}

#[tokio::test]
async fn in_the_browser_the_build_button_opens_a_live_log_that_fills_while_the_build_runs() {
    use crate::browser::{Driver, save_screenshot, text_of};
    use fantoccini::Locator;

    let lab = Lab::start(&[]).await;
    lab.container(
        "live",
        None,
        Some(&dockerfile(
            "RUN for i in 1 2 3 4 5 6 7 8; do echo tick-$i; sleep 0.4; done",
        )),
    )
    .await;
    let driver = Driver::start().await;
    let profile = tempfile::TempDir::new().unwrap();
    let browser = driver.client(profile.path()).await;
    browser.goto(&lab.site.url("/login")).await.unwrap();
    let form = browser
        .form(Locator::Css("form[action='/login']"))
        .await
        .unwrap();
    form.set_by_name("name", "alice").await.unwrap();
    form.set_by_name("password", "alice password")
        .await
        .unwrap();
    form.submit().await.unwrap();
    // Signed in once the page after the form shows the user.
    browser
        .wait()
        .for_element(Locator::Id("nav-user"))
        .await
        .unwrap();

    browser.goto(&lab.site.url("/r/alice/live")).await.unwrap();
    let form = browser.form(Locator::Id("build-form")).await.unwrap();
    form.submit().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        let page = browser.current_url().await.unwrap();
        if page.path().starts_with("/r/alice/live/builds/") {
            break page;
        }
        assert!(Instant::now() < deadline, "the Build button led to {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Without reloading, the log fills while the status says running, then it ends.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen_live = false;
    loop {
        let status = text_of(&browser, "#build-status").await;
        let log = text_of(&browser, "#build-log").await;
        if status.trim() == "running" && log.contains("tick-2") && !log.contains("tick-8") {
            seen_live = true;
            save_screenshot(&browser, "build-running.png").await;
        }
        if status.trim() == "success" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the build page never showed success: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen_live, "lines appeared while the build was running");
    assert_eq!(
        browser.current_url().await.unwrap(),
        page,
        "no reload happened"
    );
    let digest = text_of(&browser, "#build-digest").await;
    assert!(
        digest.starts_with("sha256:"),
        "the pushed digest is shown: {digest}"
    );
    let log = text_of(&browser, "#build-log").await;
    // Each line shows its number before the text: keep the `tick-N` outputs of the RUN step.
    let ticks: Vec<&str> = log
        .lines()
        .filter_map(|l| l.find("tick-").map(|at| &l[at..]))
        .filter(|t| t["tick-".len()..].chars().all(|c| c.is_ascii_digit()))
        .collect();
    let wanted: Vec<String> = (1..=8).map(|i| format!("tick-{i}")).collect();
    assert_eq!(ticks, wanted, "{log}");
    save_screenshot(&browser, "build-success.png").await;

    // The container page lists it with its duration, and charts it.
    browser.goto(&lab.site.url("/r/alice/live")).await.unwrap();
    let history = text_of(&browser, "#builds").await;
    assert!(
        history.contains("success") && history.contains("#1"),
        "{history}"
    );
    let bars = browser
        .find_all(Locator::Css("#build-chart rect"))
        .await
        .unwrap();
    assert!(!bars.is_empty(), "the duration chart has a bar");
    save_screenshot(&browser, "container-builds.png").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn on_sigterm_running_builds_get_the_grace_period_then_are_interrupted() {
    let mut lab = Lab::start(&[("BIOSHADOCK__BUILDER__SHUTDOWN_GRACE_SECS", "10")]).await;
    lab.container(
        "short",
        None,
        Some(&dockerfile("RUN echo started-short && sleep 2")),
    )
    .await;
    lab.container(
        "long",
        None,
        Some(&dockerfile("RUN echo started-long && sleep 120")),
    )
    .await;

    // A build that ends within the grace period finishes and is pushed.
    let short = lab.hook("/container/git/alice/short").await;
    lab.wait_for(short, 60, |b| log_of(b).contains("started-short"))
        .await;
    lab.server.take().unwrap().stop();
    lab.restart().await;
    assert_eq!(lab.build(short).await["status"], "success");
    assert_eq!(lab.registry_tags("alice/short").await, vec!["latest"]);

    // One that does not is stopped when the grace period ends, and says so.
    let long = lab.hook("/container/git/alice/long").await;
    lab.wait_for(long, 60, |b| log_of(b).contains("started-long"))
        .await;
    let stopping = Instant::now();
    lab.server.take().unwrap().stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(60),
        "the server did not wait for the 120 s build"
    );
    lab.restart().await;
    let long = lab.build(long).await;
    assert_eq!(long["status"], "interrupted", "{long}");
    assert!(
        long["reason"].as_str().unwrap().contains("shut down"),
        "{long}"
    );
}

/// Whether the Docker Engine has an image (or tag) of this name.
fn engine_has(image: &str) -> bool {
    std::process::Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Creates alice's private container `name` from a Dockerfile with `body` and builds it;
/// answers the finished (successful) build.
async fn build_private(lab: &Lab, name: &str, body: &str) -> Value {
    create_container(
        &lab.site,
        &lab.key,
        json!({ "name": format!("alice/{name}"), "visible": false, "dockerfile": dockerfile(body) }),
    )
    .await;
    let built = lab
        .finished(lab.hook(&format!("/container/git/alice/{name}")).await)
        .await;
    assert_eq!(built["status"], "success", "{built}");
    built
}

#[tokio::test]
async fn a_build_cannot_borrow_another_users_private_image_from_the_shared_engine() {
    let lab = Lab::start(&[]).await;
    let secret = lab.registry.image("alice/secret");
    let built = build_private(&lab, "secret", "RUN echo alice-secret > /secret").await;
    assert!(
        !engine_has(&format!("{secret}:latest")),
        "the registry name is not left on the engine"
    );
    let local = log_of(&built)
        .split_whitespace()
        .find(|word| word.starts_with("bioshadock-build/"))
        .expect("the log names the build's own image");
    assert!(
        !engine_has(local),
        "the build's own image {local} is removed"
    );
    // A copy under alice's registry name on the shared engine (an older builder left one, or
    // a concurrent build is pushing it), which is not even her image.
    let planted = std::process::Command::new("docker")
        .args(["tag", BASE_IMAGE, &format!("{secret}:latest")])
        .status()
        .unwrap();
    assert!(planted.success());

    lab.site.add_user("bob", "bob password");
    let bob = api_key(&lab.site, "bob", "read,push,build");
    let borrow = format!("FROM {secret}\nRUN cat /secret\n");
    create_container(
        &lab.site,
        &bob,
        json!({ "name": "bob/borrow", "dockerfile": borrow }),
    )
    .await;
    let response = http()
        .get(
            lab.site
                .url(&format!("/container/git/bob/borrow?apikey={bob}")),
        )
        .send()
        .await
        .unwrap();
    let queued: Value = response.json().await.unwrap();
    let bobs = lab.finished(queued["id"].as_i64().unwrap()).await;
    assert_eq!(bobs["status"], "failed", "{bobs}");
    assert_eq!(
        bobs["reason"],
        format!("bob may not pull {secret}"),
        "{bobs}"
    );
    assert!(lab.registry_tags("bob/borrow").await.is_empty());

    // Alice's own build of the same line gets her image from the registry, not the copy.
    lab.container(
        "uses",
        None,
        Some(&format!("FROM {secret}\nRUN cat /secret\n")),
    )
    .await;
    let uses = lab.hook("/container/git/alice/uses").await;
    let uses = lab.finished(uses).await;
    assert_eq!(uses["status"], "success", "{uses}");
    assert!(log_of(&uses).contains("alice-secret"), "{uses}");
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &format!("{secret}:latest")])
        .status();
}

/// The generic push hook of `id`, signed with `secret`; answers the status and the decision.
async fn push_hook(lab: &Lab, id: &str, secret: &str, body: &Value) -> (u16, Value) {
    signed_generic_push(&lab.site.url(&format!("/hooks/generic/{id}")), secret, body).await
}

/// `body` posted to the generic push hook at `url`, signed with `secret`; answers the status
/// and the decision.
pub(crate) async fn signed_generic_push(url: &str, secret: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let signature = {
        use std::process::{Command, Stdio};
        // The signature as a shell script makes it (openssl), not as our own code does.
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-hmac", secret, "-r"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), body.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        format!("sha256={}", text.split_whitespace().next().unwrap())
    };
    let response = http()
        .post(url)
        .header("content-type", "application/json")
        .header("bioshadock-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_push_builds_its_commit_exactly_and_a_monorepo_rebuilds_only_what_changed() {
    let lab = Lab::start(&[]).await;
    let repo = lab.git.repo(
        "mono",
        &[
            ("samtools/Dockerfile", &dockerfile("RUN echo samtools-one")),
            ("bwa/Dockerfile", &dockerfile("RUN echo bwa-one")),
        ],
    );
    lab.container(
        "samtools",
        Some(&format!("{}#main:samtools", repo.url)),
        None,
    )
    .await;
    lab.container("bwa", Some(&format!("{}#main:bwa", repo.url)), None)
        .await;
    let secret = "the-monorepo-secret";
    for (name, path) in [("samtools", "samtools/*"), ("bwa", "bwa/*")] {
        let created = http()
            .post(lab.site.url(&format!("/container/triggers/alice/{name}")))
            .bearer_auth(&lab.key)
            .json(&json!({"provider": "generic", "secret": secret, "paths": [path]}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 201);
    }
    // Two pushes: the first touches samtools only; the branch then moves on.
    let first = repo.commit(
        &[("samtools/Dockerfile", &dockerfile("RUN echo samtools-two"))],
        "samtools two",
    );
    let later = repo.commit(
        &[(
            "samtools/Dockerfile",
            &dockerfile("RUN echo samtools-three"),
        )],
        "samtools three",
    );
    assert_ne!(first, later);
    let push = json!({"ref": "refs/heads/main", "commit": first,
                      "changed_paths": ["samtools/Dockerfile"], "default_branch": "main"});
    let (status, samtools) = push_hook(&lab, "alice/samtools", secret, &push).await;
    assert_eq!(status, 202, "{samtools}");
    assert_eq!(samtools["outcome"], "queued");
    let (status, bwa) = push_hook(&lab, "alice/bwa", secret, &push).await;
    assert_eq!(status, 200, "{bwa}");
    assert_eq!(bwa["outcome"], "ignored_by_path");
    // Wrongly signed: 401, nothing queued.
    let (status, _) = push_hook(&lab, "alice/bwa", "not-the-secret-at-all", &push).await;
    assert_eq!(status, 401);

    let id = samtools["builds"][0]["id"].as_i64().unwrap();
    let build = lab.finished(id).await;
    assert_eq!(build["status"], "success", "{build}");
    assert_eq!(
        build["revision"],
        first.as_str(),
        "the pushed commit, not the branch's head"
    );
    let log = log_of(&build);
    assert!(log.contains("samtools-two"), "{log}");
    assert!(!log.contains("samtools-three"), "{log}");
    assert_eq!(lab.registry_tags("alice/samtools").await, ["latest"]);
    assert!(lab.registry_tags("alice/bwa").await.is_empty());

    let decisions: Value = http()
        .get(lab.site.url("/container/triggers/alice/bwa/decisions"))
        .bearer_auth(&lab.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = decisions
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["bad_signature", "ignored_by_path"],
        "{decisions}"
    );
}

#[tokio::test]
async fn a_push_that_lists_no_files_is_compared_with_the_last_built_commit_and_skips_what_did_not_change()
 {
    let lab = Lab::start(&[("BIOSHADOCK__WEBHOOKS__ALLOW_PRIVATE", "true")]).await;
    let repo = lab.git.repo(
        "mono-diff",
        &[
            ("samtools/Dockerfile", &dockerfile("RUN echo samtools-one")),
            ("bwa/Dockerfile", &dockerfile("RUN echo bwa-one")),
        ],
    );
    let secret = "the-diffing-secret";
    for (name, path) in [("samtools", "samtools/*"), ("bwa", "bwa/*")] {
        lab.container(name, Some(&format!("{}#main:{name}", repo.url)), None)
            .await;
        let created = http()
            .post(lab.site.url(&format!("/container/triggers/alice/{name}")))
            .bearer_auth(&lab.key)
            .json(&json!({"provider": "generic", "secret": secret, "paths": [path]}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 201);
    }
    // A push that does not list its files (as after a force push, or from a CI script).
    let push_of = |commit: &str| json!({"ref": "refs/heads/main", "commit": commit, "default_branch": "main"});
    let build_of = |decision: &Value| decision["builds"][0]["id"].as_i64().unwrap();

    // Nothing built yet: nothing to compare with, so both build.
    let first = repo.head();
    let mut built = Vec::new();
    for name in ["samtools", "bwa"] {
        let (status, decision) =
            push_hook(&lab, &format!("alice/{name}"), secret, &push_of(&first)).await;
        assert_eq!(status, 202, "{decision}");
        assert!(
            decision["reason"]
                .as_str()
                .unwrap()
                .contains("no earlier build"),
            "{decision}"
        );
        built.push(lab.finished(build_of(&decision)).await);
    }
    assert!(built.iter().all(|b| b["status"] == "success"), "{built:?}");
    let bwa_digest = built[1]["digest"].clone();

    // bwa's webhook hears how its next build ends.
    let receiver = crate::webhooks::Receiver::start().await;
    let hook = http()
        .post(lab.site.url("/container/webhooks/alice/bwa"))
        .bearer_auth(&lab.key)
        .json(&json!({"url": receiver.url("/bwa"), "events": ["build_started", "build_skipped", "build_failed"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status().as_u16(), 201);

    // Two commits touch samtools only; the git server is a plain `git daemon`, which will not
    // serve the earlier commit alone, so the builder reads the branch's history.
    repo.commit(
        &[("samtools/Dockerfile", &dockerfile("RUN echo samtools-two"))],
        "samtools two",
    );
    let second = repo.commit(&[("samtools/NEWS", "two\n")], "samtools news");
    let short_first = &first[..7];
    let mut ended = Vec::new();
    for name in ["samtools", "bwa"] {
        let (status, decision) =
            push_hook(&lab, &format!("alice/{name}"), secret, &push_of(&second)).await;
        assert_eq!(status, 202, "{decision}");
        let reason = decision["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!("compares latest with {short_first}")),
            "{decision}"
        );
        ended.push(lab.finished(build_of(&decision)).await);
    }
    let (samtools, bwa) = (&ended[0], &ended[1]);
    assert_eq!(samtools["status"], "success", "{samtools}");
    assert!(log_of(samtools).contains("samtools-two"), "{samtools}");
    assert_eq!(bwa["status"], "skipped", "{bwa}");
    assert_eq!(bwa["revision"], second.as_str(), "{bwa}");
    let why = bwa["reason"].as_str().unwrap();
    assert!(
        why.contains(&format!("no file changed since {short_first}"))
            && why.contains("samtools/Dockerfile")
            && why.contains("samtools/NEWS")
            && why.contains("bwa/*"),
        "{why}"
    );
    let heard: Vec<Value> = receiver
        .wait_for("/bwa", 2, Duration::from_secs(60))
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let skipped = heard
        .iter()
        .find(|e| e["event"] == "build_skipped")
        .unwrap_or_else(|| panic!("no build_skipped in {heard:?}"));
    assert_eq!(skipped["build"]["id"], bwa["id"], "{skipped}");
    assert_eq!(skipped["build"]["status"], "skipped", "{skipped}");
    assert!(
        heard.iter().all(|e| e["event"] != "build_failed"),
        "{heard:?}"
    );
    let log = log_of(bwa);
    assert!(log.contains("fetching up to"), "{log}");
    assert!(
        !log.contains("building the image"),
        "skipped before building: {log}"
    );
    assert_eq!(
        lab.registry_tags("alice/bwa").await,
        ["latest"],
        "bwa keeps its image"
    );
    let page = page_at(&lab, &format!("/r/alice/bwa/builds/{}", bwa["id"])).await;
    assert!(page.contains("status-skipped"), "{page}");
    assert!(
        page.contains(&format!("no file changed since {short_first}")),
        "{page}"
    );

    // Now bwa changes: compared with the commit its tag was last built from (not the skipped
    // one), it builds a new image.
    let third = repo.commit(
        &[("bwa/Dockerfile", &dockerfile("RUN echo bwa-two"))],
        "bwa two",
    );
    let (_, decision) = push_hook(&lab, "alice/bwa", secret, &push_of(&third)).await;
    assert!(
        decision["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("compares latest with {short_first}")),
        "{decision}"
    );
    let rebuilt = lab.finished(build_of(&decision)).await;
    assert_eq!(rebuilt["status"], "success", "{rebuilt}");
    assert!(log_of(&rebuilt).contains("bwa-two"), "{rebuilt}");
    assert_ne!(rebuilt["digest"], bwa_digest);
}

/// The names of the local images of `repository_pattern` (a `docker images` reference filter).
fn local_images(pattern: &str) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args([
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            &format!("reference={pattern}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn put_build_settings(lab: &Lab, id: &str, body: Value) {
    let response = http()
        .put(lab.site.url(&format!("/container/build-settings/{id}")))
        .bearer_auth(&lab.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "{:?}",
        response.text().await
    );
}

#[tokio::test]
async fn a_rebuild_reuses_its_own_cached_layers_only_and_build_arguments_reach_the_steps() {
    let lab = Lab::start(&[]).await;
    // The slow step comes before the arguments are declared, so their values do not change
    // its cache key; its output shows whether it ran.
    let text = dockerfile(
        "RUN sleep 2 && echo \"slow-$((6*7))\" | tee /slow\n\
         ARG VERSION=unset\nARG REV=unset\n\
         RUN echo \"version=$VERSION rev=$REV\" > /args && cat /args",
    );
    let repo = lab.git.repo("cached", &[("Dockerfile", &text)]);
    let source = format!("{}#main", repo.url);
    lab.container("cachedtool", Some(&source), None).await;
    lab.container("othertool", Some(&source), None).await;
    put_build_settings(
        &lab,
        "alice/cachedtool",
        json!({"args": {"VERSION": "{tag}", "REV": "{sha}"}}),
    )
    .await;

    // Cold: every step runs, with the arguments filled in (and recorded on the build).
    let first = lab
        .finished(lab.hook("/container/git/alice/cachedtool").await)
        .await;
    assert_eq!(first["status"], "success", "{first}");
    let sha = first["revision"].as_str().unwrap().to_owned();
    let log = log_of(&first);
    assert!(log.contains("slow-42"), "the slow step ran: {log}");
    assert!(log.contains("no earlier build of this container"), "{log}");
    assert!(log.contains(&format!("version=latest rev={sha}")), "{log}");
    assert_eq!(
        first["build_args"],
        json!({"VERSION": "latest", "REV": sha}),
        "the record shows the arguments as built"
    );
    let kept = lab.cache_images("cachedtool");
    assert_eq!(kept.len(), 1, "its image is kept as its cache: {kept:?}");

    // The same source again: the unchanged steps come from the cache, the slow one included.
    let second = lab
        .finished(lab.hook("/container/git/alice/cachedtool").await)
        .await;
    assert_eq!(second["status"], "success", "{second}");
    let log = log_of(&second);
    assert!(log.contains("reusing the layers"), "{log}");
    assert_eq!(
        log.matches("Using cache").count(),
        5,
        "every step, the portal's labels too (created is the commit's time): {log}"
    );
    assert!(
        !log.contains("slow-42"),
        "the slow step did not run again: {log}"
    );
    assert_eq!(
        second["digest"], first["digest"],
        "an unchanged source makes the same image"
    );

    // Another container with the same Dockerfile reuses nothing of this one's.
    let other = lab
        .finished(lab.hook("/container/git/alice/othertool").await)
        .await;
    assert_eq!(other["status"], "success", "{other}");
    let log = log_of(&other);
    assert!(!log.contains("Using cache"), "{log}");
    assert!(log.contains("slow-42"), "{log}");

    // "Rebuild without cache": every step runs again.
    let queued_cold: Value = http()
        .post(
            lab.site
                .url("/container/git/alice/cachedtool?no_cache=true"),
        )
        .bearer_auth(&lab.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rebuilt = lab.finished(queued_cold["id"].as_i64().unwrap()).await;
    assert_eq!(rebuilt["status"], "success", "{rebuilt}");
    assert_eq!(rebuilt["no_cache"], true);
    let log = log_of(&rebuilt);
    assert!(log.contains("building without cache, as asked"), "{log}");
    assert!(!log.contains("Using cache"), "{log}");
    assert!(log.contains("slow-42"), "{log}");
    assert_eq!(
        lab.cache_images("cachedtool").len(),
        1,
        "one cache image per container, the newest"
    );
}

#[tokio::test]
async fn a_container_deleted_and_created_again_does_not_reuse_the_old_ones_cache() {
    let lab = Lab::start(&[]).await;
    let text = dockerfile("RUN echo first-life > /life");
    lab.container("reborn", None, Some(&text)).await;
    let first = lab
        .finished(lab.hook("/container/git/alice/reborn").await)
        .await;
    assert_eq!(first["status"], "success", "{first}");
    assert_eq!(lab.cache_images("reborn").len(), 1);
    // The same build again reuses it: the cache works for this container.
    let again = lab
        .finished(lab.hook("/container/git/alice/reborn").await)
        .await;
    assert!(log_of(&again).contains("Using cache"), "{again}");

    let deleted = http()
        .delete(lab.site.url("/container/alice/reborn"))
        .bearer_auth(&lab.key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    lab.container("reborn", None, Some(&text)).await;
    let reborn = lab
        .finished(lab.hook("/container/git/alice/reborn").await)
        .await;
    assert_eq!(reborn["status"], "success", "{reborn}");
    let log = log_of(&reborn);
    assert!(log.contains("older than this container"), "{log}");
    assert!(
        !log.contains("Using cache"),
        "nothing of the old one is reused: {log}"
    );
    assert_eq!(
        lab.cache_images("reborn").len(),
        1,
        "the new one's image is its cache now"
    );
}

#[tokio::test]
async fn cache_images_beyond_cache_mb_go_least_recently_built_first_and_no_cache_keeps_none() {
    // Each cache image counts its whole size (about 2 MB here): 5 MiB holds two.
    let lab = Lab::start(&[("BIOSHADOCK__BUILDER__CACHE_MB", "5")]).await;
    for name in ["prunea", "pruneb", "prunec"] {
        lab.container(
            name,
            None,
            Some(&dockerfile(&format!("RUN echo {name} > /name"))),
        )
        .await;
        let build = lab
            .finished(lab.hook(&format!("/container/git/alice/{name}")).await)
            .await;
        assert_eq!(build["status"], "success", "{build}");
    }
    let mut kept: Vec<String> = lab
        .cache_images("prune*")
        .iter()
        .map(|name| name.split('/').nth(3).unwrap().to_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, ["pruneb:latest", "prunec:latest"], "the oldest went");
    // Built again, the oldest is the most recently built.
    lab.finished(lab.hook("/container/git/alice/prunea").await)
        .await;
    let mut kept: Vec<String> = lab
        .cache_images("prune*")
        .iter()
        .map(|name| name.split('/').nth(3).unwrap().to_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, ["prunea:latest", "prunec:latest"]);

    let cold = Lab::start(&[("BIOSHADOCK__BUILDER__NO_CACHE", "true")]).await;
    cold.container("nocache", None, Some(&dockerfile("RUN echo cold")))
        .await;
    for _ in 0..2 {
        let build = cold
            .finished(cold.hook("/container/git/alice/nocache").await)
            .await;
        assert!(log_of(&build).contains("builder.no_cache"), "{build}");
        assert!(!log_of(&build).contains("Using cache"), "{build}");
    }
    assert!(cold.cache_images("nocache").is_empty());
}

/// The decision log of `alice/NAME`, newest first.
async fn decisions_of(lab: &Lab, name: &str) -> Vec<Value> {
    let log: Value = http()
        .get(
            lab.site
                .url(&format!("/container/triggers/alice/{name}/decisions")),
        )
        .bearer_auth(&lab.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_new_image_of_a_base_rebuilds_the_containers_built_on_it() {
    let lab = Lab::start(&[]).await;
    lab.container("base", None, Some(&dockerfile("RUN echo base-one > /base")))
        .await;
    let base = lab
        .finished(lab.hook("/container/git/alice/base").await)
        .await;
    assert_eq!(base["status"], "success", "{base}");
    lab.catalogued("alice/base", "latest").await;
    let app_dockerfile = format!(
        "FROM {}:latest\nRUN echo \"built on $(cat /base)\"\n",
        lab.registry.image("alice/base")
    );
    lab.container("app", None, Some(&app_dockerfile)).await;
    put_build_settings(&lab, "alice/app", json!({"rebuild_on_base": true})).await;
    let app = lab
        .finished(lab.hook("/container/git/alice/app").await)
        .await;
    assert_eq!(app["status"], "success", "{app}");
    assert!(log_of(&app).contains("built on base-one"), "{app}");

    // The base gets a new image (its Dockerfile changed, built and pushed by the portal).
    let changed = http()
        .patch(lab.site.url("/container/alice/base"))
        .bearer_auth(&lab.key)
        .json(&json!({"dockerfile": dockerfile("RUN echo base-two > /base")}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status().as_u16(), 200);
    let base = lab
        .finished(lab.hook("/container/git/alice/base").await)
        .await;
    assert_eq!(base["status"], "success", "{base}");

    // The registry's notification of the new image rebuilds alice/app, and the log says why.
    let deadline = Instant::now() + Duration::from_secs(60);
    let decision = loop {
        let found = decisions_of(&lab, "app").await;
        if let Some(decision) = found.into_iter().find(|d| d["provider"] == "base_image") {
            break decision;
        }
        assert!(Instant::now() < deadline, "alice/app was not rebuilt");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(decision["outcome"], "queued", "{decision}");
    assert_eq!(
        decision["reference"],
        "base image alice/base:latest changed"
    );
    let rebuilt = lab
        .finished(decision["builds"][0]["id"].as_i64().unwrap())
        .await;
    assert_eq!(rebuilt["status"], "success", "{rebuilt}");
    assert!(log_of(&rebuilt).contains("built on base-two"), "{rebuilt}");
    assert_eq!(rebuilt["requested_by"], "alice", "as the container's owner");
}

#[tokio::test]
async fn a_build_secret_is_readable_in_run_and_absent_from_the_image_history_and_the_log() {
    use crate::registry::Client;
    let lab = Lab::start(&[]).await;
    let secret = "s3cr3t-value-for-the-e2e-Qm7";
    let expected = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(secret.as_bytes()))
    };
    // The step reads the mounted secret; the smoke test (run in the built image) checks what it
    // read, so the build succeeds only if the secret reached the step.
    let text = format!(
        "FROM {BASE_IMAGE}\n\
         RUN --mount=type=secret,id=TOKEN sh -c 'sha256sum /run/secrets/TOKEN | cut -d\" \" -f1 > /token.sha'\n\
         LABEL bioshadock.tests='[\"grep -qx {expected} /token.sha\"]'\n"
    );
    lab.container("secretive", None, Some(&text)).await;
    let set = http()
        .put(
            lab.site
                .url("/container/build-secrets/alice/secretive/TOKEN"),
        )
        .bearer_auth(&lab.key)
        .json(&json!({ "value": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 204);

    let build = lab
        .finished(lab.hook("/container/git/alice/secretive").await)
        .await;
    assert_eq!(build["status"], "success", "{build}");
    let log = log_of(&build);
    assert!(log.contains("build secrets TOKEN mounted"), "{log}");
    assert!(log.contains("smoke test 1/1"), "{log}");
    assert!(!log.contains(secret), "{log}");
    let whole_log = http()
        .get(lab.site.url(&format!("/build/{}/log.txt", build["id"])))
        .bearer_auth(&lab.key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!whole_log.contains(secret));

    // The pushed image: its history holds the RUN line, not the secret.
    let image = format!("{}:latest", lab.registry.image("alice/secretive"));
    let docker = Client::new();
    assert!(
        docker
            .login(&lab.registry, "alice", &lab.key)
            .status
            .success()
    );
    let pulled = docker.pull(&image);
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    let history = docker.run(&["history", "--no-trunc", &image]);
    let history = String::from_utf8_lossy(&history.stdout).into_owned();
    assert!(
        history.contains("sha256sum /run/secrets/TOKEN"),
        "{history}"
    );
    assert!(!history.contains(secret), "{history}");
    let inspect = docker.run(&["image", "inspect", &image]);
    assert!(!String::from_utf8_lossy(&inspect.stdout).contains(secret));
    let _ = docker.run(&["rmi", &image]);

    // Without the secret, the step fails, and the reason says so.
    let removed = http()
        .delete(
            lab.site
                .url("/container/build-secrets/alice/secretive/TOKEN"),
        )
        .bearer_auth(&lab.key)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 204);
    let failed = lab
        .finished(lab.hook("/container/git/alice/secretive").await)
        .await;
    assert_eq!(failed["status"], "failed", "{failed}");
}

#[tokio::test]
async fn a_build_with_secrets_builds_on_a_private_base_of_the_portal_pulled_as_its_requester() {
    let lab = Lab::start(&[]).await;
    let base = lab.registry.image("alice/private-base");
    build_private(
        &lab,
        "private-base",
        "RUN echo from-the-private-base > /base",
    )
    .await;
    // The secret step runs through BuildKit on the base the builder pulled (and pinned by
    // digest) with alice's token; the smoke test proves both the base and the secret arrived.
    let text = format!(
        "FROM {base}:latest\n\
         RUN --mount=type=secret,id=TOKEN sh -c 'cat /run/secrets/TOKEN > /token'\n\
         LABEL bioshadock.tests='[\"grep -qx from-the-private-base /base\", \"grep -qx on-a-private-base /token\"]'\n"
    );
    lab.container("on-private", None, Some(&text)).await;
    let set = http()
        .put(
            lab.site
                .url("/container/build-secrets/alice/on-private/TOKEN"),
        )
        .bearer_auth(&lab.key)
        .json(&json!({ "value": "on-a-private-base" }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 204);
    let build = lab
        .finished(lab.hook("/container/git/alice/on-private").await)
        .await;
    assert_eq!(build["status"], "success", "{build}");
    let log = log_of(&build);
    assert!(log.contains("smoke test 2/2"), "{log}");
}
