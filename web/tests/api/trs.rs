//! GA4GH TRS v2 over the router: service-info and tool classes, the tool list with its filters
//! and paging headers, one tool and its versions, the containerfile a build recorded, the
//! specification's 404 `Error`, and private containers kept from everyone but their readers.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bioshadock_core::accounts::Role;
use bioshadock_core::ports::builds::{BuildSource, BuildStatus, BuiltDockerfile, Finish, NewBuild};
use bioshadock_core::{Container, RepoName, TagName, Visibility};
use serde_json::Value;

use crate::support::*;

const BASE: &str = "/ga4gh/trs/v2";
const DIGEST: &str = "sha256:4c0e8b1f2a3d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f";

fn catalogue() -> Vec<Container> {
    let mut aligner = container("lab/aligner", Visibility::Public, 2, "Aligns reads.");
    aligner.labels = labels(&[
        ("about.summary", "A short-read aligner"),
        ("extra.identifiers.biotools", "aligner"),
        ("ANNOT.Reference", "doi:10.1093/bioinformatics/btp324"),
        ("maintainer", "Ada <ada@example.org>"),
    ]);
    aligner.git = Some("https://example.org/aligner.git".into());
    let mut built = tag("1.0", 2);
    built.digest = DIGEST.into();
    aligner.tags = vec![built, tag("dev", 1)];
    let plotter = container("viz/plotter", Visibility::Public, 3, "Plots.");
    let mut secret = container("alice/secret", Visibility::Private, 4, "Hidden.");
    secret.owner = "alice".into();
    vec![aligner, plotter, secret]
}

/// Records build `id` of `lab/aligner:1.0`, started and finished at `minute`, that produced
/// DIGEST, with what `record` stores while it runs.
async fn built<F, Fut>(app: &TestApp, id: i64, minute: i64, record: F)
where
    F: FnOnce(std::sync::Arc<dyn bioshadock_core::ports::builds::BuildStore>, i64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let builds = &app.backends.builds;
    let build = builds
        .create(NewBuild {
            id,
            container: RepoName::parse("lab/aligner").unwrap(),
            tag: TagName::parse("1.0").unwrap(),
            requested_by: "lab".into(),
            source: BuildSource::Git("https://example.org/aligner.git".into()),
            options: Default::default(),
            queued_at: at(minute),
        })
        .await
        .unwrap();
    builds.start(build.id, "worker", at(minute)).await.unwrap();
    record(builds.clone(), build.id).await;
    let finish = Finish {
        status: BuildStatus::Success,
        reason: None,
        digest: Some(DIGEST.into()),
        at: at(minute + 1),
    };
    builds.finish(build.id, finish).await.unwrap();
}

/// Records a successful build of `lab/aligner:1.0` that produced DIGEST from this Dockerfile.
async fn record_build(app: &TestApp) {
    built(app, 7, 2, |builds, id| async move {
        let dockerfile = BuiltDockerfile {
            path: "docker/Dockerfile".into(),
            text: "FROM debian:12\nRUN echo aligner\n".into(),
        };
        builds.set_dockerfile(id, &dockerfile).await.unwrap();
    })
    .await;
}

fn ids_of(tools: &Value) -> Vec<&str> {
    tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn service_info_and_tool_classes_describe_a_trs_2_0_1_service() {
    let app = TestApp::new().await;
    let info = app.get(&format!("{BASE}/service-info")).await.json();
    assert_eq!(
        info["type"],
        serde_json::json!({"group": "org.ga4gh", "artifact": "trs", "version": "2.0.1"})
    );
    for field in ["id", "name", "version"] {
        assert!(info[field].is_string(), "{field}: {info}");
    }
    assert!(info["organization"]["url"].is_string());
    let classes = app.get(&format!("{BASE}/toolClasses")).await.json();
    assert_eq!(classes[0]["name"], "CommandLineTool");
}

#[tokio::test]
async fn a_tool_is_a_container_and_its_versions_are_its_tags() {
    let app = TestApp::with(catalogue()).await;
    record_build(&app).await;
    let response = app.get(&format!("{BASE}/tools/lab%2Faligner")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let tool = response.json();
    assert_eq!(tool["id"], "lab/aligner");
    assert!(
        tool["url"]
            .as_str()
            .unwrap()
            .ends_with("/ga4gh/trs/v2/tools/lab%2Faligner"),
        "{tool}"
    );
    assert_eq!(tool["organization"], "lab");
    assert_eq!(tool["name"], "aligner");
    assert_eq!(tool["description"], "A short-read aligner");
    assert_eq!(tool["toolclass"]["name"], "CommandLineTool");
    assert_eq!(
        tool["aliases"],
        serde_json::json!(["biotools:aligner", "doi:10.1093/bioinformatics/btp324"])
    );
    let versions = tool["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    let v1 = &versions[0];
    assert_eq!(
        (v1["id"].as_str(), v1["name"].as_str()),
        (Some("1.0"), Some("1.0"))
    );
    assert_eq!(
        v1["containerfile"], true,
        "built here, from a recorded Dockerfile"
    );
    assert_eq!(versions[1]["containerfile"], false, "pushed, not built");
    assert_eq!(v1["author"], serde_json::json!(["Ada <ada@example.org>"]));
    assert_eq!(
        v1["included_apps"],
        serde_json::json!(["https://bio.tools/aligner"])
    );
    let image = &v1["images"][0];
    assert_eq!(image["image_name"], "lab/aligner:1.0");
    assert_eq!(image["image_type"], "Docker");
    assert_eq!(image["size"], 123_456_789);
    assert_eq!(
        image["checksum"],
        serde_json::json!([{"checksum": DIGEST.trim_start_matches("sha256:"), "type": "sha-256"}])
    );
    assert!(
        v1.get("descriptor_type_version").is_none(),
        "no field strict clients reject"
    );

    let listed = app
        .get(&format!("{BASE}/tools/lab%2Faligner/versions"))
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let one = app
        .get(&format!("{BASE}/tools/lab%2Faligner/versions/1.0"))
        .await
        .json();
    assert_eq!(one["url"], v1["url"]);

    let file = app
        .get(&format!(
            "{BASE}/tools/lab%2Faligner/versions/1.0/containerfile"
        ))
        .await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    let file = file.json();
    assert_eq!(file[0]["content"], "FROM debian:12\nRUN echo aligner\n");
    assert_eq!(file[0]["checksum"][0]["type"], "sha-256");
    let missing = app
        .get(&format!(
            "{BASE}/tools/lab%2Faligner/versions/dev/containerfile"
        ))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["code"], 404);
}

#[tokio::test]
async fn unknown_and_private_tools_are_the_specifications_404() {
    let app = TestApp::with(catalogue()).await;
    for uri in [
        "/tools/lab%2Fnothing",
        "/tools/alice%2Fsecret",
        "/tools/not-an-id",
        "/tools/lab%2Faligner/versions/9.9",
        "/tools/alice%2Fsecret/versions/latest",
        "/tools/alice%2Fsecret/versions/latest/containerfile",
        "/tools/lab%2Faligner/versions/1.0/CWL/descriptor",
        "/tools/lab%2Faligner/versions/1.0/PLAIN_CWL/descriptor/sub/tool.cwl",
        "/tools/lab%2Faligner/versions/1.0/WDL/tests",
        "/tools/lab%2Faligner/versions/1.0/NFL/files",
    ] {
        let response = app.get(&format!("{BASE}{uri}")).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{uri}");
        let body = response.json();
        assert_eq!(body["code"], 404, "{uri}: {body}");
        assert!(body["message"].is_string());
        assert!(
            !body.to_string().contains("Hidden"),
            "nothing of a private container"
        );
    }
    // Its owner finds it.
    app.user("alice", Role::User, "alice-password").await;
    let key = app.key("alice", "read").await;
    let request = Request::get(format!("{BASE}/tools/alice%2Fsecret"))
        .body(Body::empty())
        .unwrap();
    let response = app.with_key(&key, request).await;
    assert_eq!(response.status, StatusCode::OK);
    let request = Request::get(format!("{BASE}/tools"))
        .body(Body::empty())
        .unwrap();
    let all = app.with_key(&key, request).await.json();
    assert_eq!(ids_of(&all), ["alice/secret", "lab/aligner", "viz/plotter"]);
}

#[tokio::test]
async fn the_tool_list_filters_and_pages_with_link_headers() {
    let app = TestApp::with(catalogue()).await;
    let all = app.get(&format!("{BASE}/tools")).await;
    assert_eq!(ids_of(&all.json()), ["lab/aligner", "viz/plotter"]);
    for (query, expected) in [
        ("organization=lab", vec!["lab/aligner"]),
        ("id=viz/plotter", vec!["viz/plotter"]),
        ("alias=biotools:aligner", vec!["lab/aligner"]),
        (
            "alias=doi:10.1093/bioinformatics/btp324",
            vec!["lab/aligner"],
        ),
        ("name=plotter", vec!["viz/plotter"]),
        ("toolname=aligner", vec!["lab/aligner"]),
        ("description=reads", vec!["lab/aligner"]),
        (
            "toolClass=CommandLineTool",
            vec!["lab/aligner", "viz/plotter"],
        ),
        ("toolClass=Workflow", vec![]),
        ("descriptorType=CWL", vec![]),
        ("registry=elsewhere.example.org", vec![]),
        ("checker=true", vec![]),
        ("organization=alice", vec![]),
        ("offset=5", vec![]),
        ("offset=not-a-cursor", vec![]),
        ("limit=-3", vec!["lab/aligner"]),
    ] {
        let response = app.get(&format!("{BASE}/tools?{query}")).await;
        assert_eq!(response.status, StatusCode::OK, "{query}");
        assert_eq!(ids_of(&response.json()), expected, "{query}");
    }

    let header =
        |r: &TestResponse, name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    let first = app.get(&format!("{BASE}/tools?limit=1")).await;
    assert_eq!(ids_of(&first.json()), ["lab/aligner"]);
    let next = header(&first, "next_page").expect("a next page");
    assert!(
        next.ends_with("/ga4gh/trs/v2/tools?offset=1&limit=1"),
        "{next}"
    );
    assert!(
        header(&first, "last_page")
            .unwrap()
            .ends_with("offset=1&limit=1")
    );
    assert!(
        header(&first, "self_link")
            .unwrap()
            .ends_with("offset=0&limit=1")
    );
    assert_eq!(header(&first, "current_offset").as_deref(), Some("0"));
    assert_eq!(header(&first, "current_limit").as_deref(), Some("1"));
    let path = next
        .split_once("/ga4gh")
        .map(|(_, p)| format!("/ga4gh{p}"))
        .unwrap();
    let second = app.get(&path).await;
    assert_eq!(ids_of(&second.json()), ["viz/plotter"]);
    assert!(header(&second, "next_page").is_none(), "the last page");
    // Filters survive in the links.
    let filtered = app
        .get(&format!("{BASE}/tools?organization=lab&limit=1"))
        .await;
    assert!(
        header(&filtered, "self_link")
            .unwrap()
            .ends_with("tools?organization=lab&offset=0&limit=1")
    );
}

#[tokio::test]
async fn ids_sent_unencoded_or_encoded_twice_still_arrive() {
    let app = TestApp::with(catalogue()).await;
    let response = app
        .get(&format!("{BASE}/tools/lab/aligner/versions/1.0?x=1"))
        .await;
    assert_eq!(response.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        response.headers["location"], "/ga4gh/trs/v2/tools/lab%2Faligner/versions/1.0?x=1",
        "a same-site redirect to the encoded id"
    );
    // trs-cli quotes an id given as `lab%2Faligner` once more.
    let twice = app.get(&format!("{BASE}/tools/lab%252Faligner")).await;
    assert_eq!(twice.status, StatusCode::OK);
    assert_eq!(twice.json()["id"], "lab/aligner");
    for uri in ["/nothing/here", "/tools/a/b/c/d/e/f/g", "/tools/NOT/valid"] {
        let response = app.get(&format!("{BASE}{uri}")).await;
        if response.status == StatusCode::PERMANENT_REDIRECT {
            continue;
        }
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(
            response.json()["code"],
            404,
            "JSON, not the HTML page: {uri}"
        );
    }
}

const CWL: &str = "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: aligner\n";

/// Records a later build of `lab/aligner:1.0` (the same image) with the CWL descriptor the
/// container names.
async fn record_descriptor(app: &TestApp) {
    use bioshadock_core::ports::builds::BuiltDescriptor;
    built(app, 8, 4, |builds, id| async move {
        let descriptor = BuiltDescriptor {
            kind: "CWL".into(),
            origin: "cwl/aligner.cwl".into(),
            text: CWL.into(),
        };
        builds.set_descriptor(id, &descriptor).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_version_built_with_a_descriptor_serves_it() {
    let mut containers = catalogue();
    containers[0].descriptor = Some("cwl/aligner.cwl".into());
    let app = TestApp::with(containers).await;
    record_descriptor(&app).await;
    let version = app
        .get(&format!("{BASE}/tools/lab%2Faligner/versions/1.0"))
        .await
        .json();
    assert_eq!(version["descriptor_type"], serde_json::json!(["CWL"]));
    let dev = app
        .get(&format!("{BASE}/tools/lab%2Faligner/versions/dev"))
        .await
        .json();
    assert_eq!(
        dev["descriptor_type"],
        serde_json::json!([]),
        "not built here"
    );

    let wrapped = app
        .get(&format!(
            "{BASE}/tools/lab%2Faligner/versions/1.0/CWL/descriptor"
        ))
        .await;
    assert_eq!(wrapped.status, StatusCode::OK, "{}", wrapped.body);
    let wrapped = wrapped.json();
    assert_eq!(wrapped["content"], CWL);
    assert_eq!(wrapped["checksum"][0]["type"], "sha-256");
    assert!(wrapped.get("url").is_none(), "a repository path is no URL");
    let plain = app
        .get(&format!(
            "{BASE}/tools/lab%2Faligner/versions/1.0/PLAIN_CWL/descriptor"
        ))
        .await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.content_type().starts_with("text/plain"));
    assert_eq!(plain.body, CWL);
    let by_path = app
        .get(&format!(
            "{BASE}/tools/lab%2Faligner/versions/1.0/CWL/descriptor/aligner.cwl"
        ))
        .await;
    assert_eq!(by_path.status, StatusCode::OK);
    let files = app
        .get(&format!(
            "{BASE}/tools/lab%2Faligner/versions/1.0/CWL/files"
        ))
        .await
        .json();
    assert_eq!(
        files,
        serde_json::json!([{"path": "aligner.cwl", "file_type": "PRIMARY_DESCRIPTOR"}])
    );
    let tests = app
        .get(&format!(
            "{BASE}/tools/lab%2Faligner/versions/1.0/CWL/tests"
        ))
        .await
        .json();
    assert_eq!(tests, serde_json::json!([]));
    for uri in [
        "/versions/1.0/WDL/descriptor",
        "/versions/1.0/CWL/descriptor/other.cwl",
        "/versions/1.0/CWL/descriptor/..%2F..%2Fetc%2Fpasswd",
        "/versions/1.0/CWL/files?format=zip",
        "/versions/dev/CWL/descriptor",
        "/versions/1.0/YAML/descriptor",
    ] {
        let response = app.get(&format!("{BASE}/tools/lab%2Faligner{uri}")).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(response.json()["code"], 404, "{uri}");
    }
    let listed = app.get(&format!("{BASE}/tools?descriptorType=CWL")).await;
    assert_eq!(ids_of(&listed.json()), ["lab/aligner"]);
    let listed = app.get(&format!("{BASE}/tools?descriptorType=WDL")).await;
    assert_eq!(ids_of(&listed.json()), Vec::<&str>::new());
}

#[tokio::test]
async fn a_container_names_its_descriptor_by_path_or_url() {
    let app = TestApp::new().await;
    app.user("lab", Role::User, "lab-password").await;
    let key = app.key("lab", "read,push").await;
    let create = |descriptor: &str| {
        json_request(
            "POST",
            "/container/new",
            &serde_json::json!({"name": "lab/wf", "descriptor": descriptor}).to_string(),
        )
    };
    for bad in [
        "../tool.cwl",
        "/etc/tool.cwl",
        "tool.txt",
        "file:///tool.cwl",
        "https://u:p@h/t.cwl",
    ] {
        let response = app.with_key(&key, create(bad)).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            response.body
        );
    }
    let created = app.with_key(&key, create("workflows/main.nf")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["descriptor"], "workflows/main.nf");
    let patch = |descriptor: &str| {
        json_request(
            "PATCH",
            "/container/lab/wf",
            &serde_json::json!({ "descriptor": descriptor }).to_string(),
        )
    };
    let changed = app
        .with_key(&key, patch("https://example.org/wf/tool.cwl?raw=1"))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        changed.json()["descriptor"],
        "https://example.org/wf/tool.cwl?raw=1"
    );
    let removed = app.with_key(&key, patch("")).await;
    assert_eq!(removed.json()["descriptor"], Value::Null);
}

#[tokio::test]
async fn immutable_tags_are_production_and_deprecation_is_said() {
    use bioshadock_core::tag_policy::{ContainerPolicy, Deprecation, ImmutableTags};
    let mut pinned = container("lab/pinned", Visibility::Public, 2, "Pinned.");
    pinned.tags = vec![tag("latest", 3), tag("1.1", 2), tag("1.0", 1)];
    let old = Deprecation::new(
        "CVE-2026-0001".into(),
        Some("lab/pinned:1.1".into()),
        None,
        at(4),
    )
    .unwrap();
    pinned.policy = ContainerPolicy {
        immutable: Some(ImmutableTags::patterns(vec!["!latest".into()]).unwrap()),
        deprecated: None,
        deprecated_tags: [("1.0".to_owned(), old)].into(),
        ..ContainerPolicy::default()
    };
    let mut gone = container("lab/gone", Visibility::Public, 1, "Gone.");
    gone.policy.immutable = Some(ImmutableTags::All);
    gone.policy.deprecated =
        Some(Deprecation::new("moved to lab/pinned".into(), None, None, at(5)).unwrap());
    let app = TestApp::with(vec![pinned, gone]).await;
    let tool = app.get(&format!("{BASE}/tools/lab%2Fgone")).await.json();
    assert_eq!(
        tool["description"].as_str().unwrap(),
        "Deprecated: moved to lab/pinned. Gone."
    );
    // A deprecated tool has no production version, immutable or not.
    assert_eq!(tool["versions"][0]["is_production"], false);
    let tool = app.get(&format!("{BASE}/tools/lab%2Fpinned")).await.json();
    assert_eq!(tool["description"].as_str().unwrap(), "Pinned.");
    let production: Vec<(&str, bool)> = tool["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap(),
                v["is_production"].as_bool().unwrap(),
            )
        })
        .collect();
    // latest may move, 1.0 is deprecated: only 1.1 is a production version.
    assert_eq!(
        production,
        [("latest", false), ("1.1", true), ("1.0", false)]
    );
    let version = app
        .get(&format!("{BASE}/tools/lab%2Fpinned/versions/1.1"))
        .await
        .json();
    assert_eq!(version["is_production"], true);
}
