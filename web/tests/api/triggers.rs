//! Push triggers through the API: creating them (the secret once), the hook URL with each
//! provider's recorded payloads signed and unsigned, the ref and path filters, deduplication,
//! the build pinned to the pushed commit, and the decision log. Real git servers and builds
//! are in tests/e2e/triggers.rs.

use axum::body::Body;
use axum::http::Request;
use bioshadock_core::Visibility;
use bioshadock_core::accounts::Role;
use bioshadock_core::triggers::signatures::hmac_hex_of;
use serde_json::{Value, json};

use crate::support::*;

const GITHUB_PUSH: &str = include_str!("../../../core/src/triggers/fixtures/github_push.json");
const GITHUB_TAG: &str = include_str!("../../../core/src/triggers/fixtures/github_tag.json");
const GITHUB_PING: &str = include_str!("../../../core/src/triggers/fixtures/github_ping.json");
const GITLAB_PUSH: &str = include_str!("../../../core/src/triggers/fixtures/gitlab_push.json");
const GITEA_PUSH: &str = include_str!("../../../core/src/triggers/fixtures/gitea_push.json");

fn samtools() -> bioshadock_core::Container {
    let mut c = container("lab/samtools", Visibility::Public, 1, "samtools");
    c.git = Some("https://github.com/genomics-lab/tools.git#main:samtools".into());
    c
}

fn hook(provider: &str, headers: &[(&str, String)], body: &str) -> Request<Body> {
    let mut request = Request::post(format!("/hooks/{provider}/lab/samtools"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

fn github(secret: &str, event: &str, body: &str) -> Request<Body> {
    let signature = format!("sha256={}", hmac_hex_of(secret, body.as_bytes()));
    hook(
        "github",
        &[
            ("x-hub-signature-256", signature),
            ("x-github-event", event.to_owned()),
        ],
        body,
    )
}

async fn new_trigger(app: &TestApp, key: &str, body: Value) -> Value {
    let response = app
        .with_key(
            key,
            json_request(
                "POST",
                "/container/triggers/lab/samtools",
                &body.to_string(),
            ),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()
}

#[tokio::test]
async fn signed_pushes_build_the_pushed_commit_and_every_decision_is_logged() {
    let app = TestApp::with_settings(|s| s.max_pending_builds = 20).await;
    app.add(&[samtools()]).await;
    app.user("lab", Role::User, "lab password").await;
    app.user("mallory", Role::User, "mallory password").await;
    let lab = app.key("lab", "read,push,build").await;
    let mallory = app.key("mallory", "read,push").await;

    // Bad requests and strangers change nothing.
    app.with_key(
        &mallory,
        json_request(
            "POST",
            "/container/triggers/lab/samtools",
            r#"{"provider": "github"}"#,
        ),
    )
    .await
    .assert_error(403, "forbidden");
    for bad in [
        json!({"provider": "bitbucket"}),
        json!({"provider": "github", "refs": ["/(/"]}),
        json!({"provider": "github", "tag_templates": ["{commit}"]}),
        json!({"provider": "github", "paths": vec!["x"; 51]}),
        json!({"provider": "github", "secret": "short"}),
        json!({"provider": "github", "build_args": {"9A": "b"}}),
        json!({"provider": "github", "build_args": {"A": "line\nbreak"}}),
    ] {
        let response = app
            .with_key(
                &lab,
                json_request("POST", "/container/triggers/lab/samtools", &bad.to_string()),
            )
            .await;
        assert_eq!(response.status, 400, "{bad}: {}", response.body);
    }

    let created = new_trigger(
        &app,
        &lab,
        json!({"provider": "github", "refs": ["main", "tag:v*"], "paths": ["samtools/*"],
               "tag_templates": ["latest", "{tag}", "main-{short_sha}"]}),
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        created["url"],
        "http://portal.example.org/hooks/github/lab/samtools"
    );
    let listed = app
        .with_key(
            &lab,
            Request::get("/container/triggers/lab/samtools")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(!listed.body.contains(&secret), "the secret is shown once");

    // Unsigned, wrongly signed: 401, nothing queued, one decision recorded.
    let unsigned = hook("github", &[("x-github-event", "push".into())], GITHUB_PUSH);
    app.send(unsigned).await.assert_error(401, "unauthorized");
    app.send(github("not the secret", "push", GITHUB_PUSH))
        .await
        .assert_error(401, "unauthorized");
    // Another provider's URL has no trigger here.
    app.send(hook(
        "gitlab",
        &[("x-gitlab-token", secret.clone())],
        GITLAB_PUSH,
    ))
    .await
    .assert_error(404, "not_found");

    // A ping is acknowledged; the push builds the pushed commit under two tags.
    let ping = app.send(github(&secret, "ping", GITHUB_PING)).await;
    assert_eq!(ping.status, 200, "{}", ping.body);
    assert_eq!(ping.json()["outcome"], "ignored");
    let pushed = app.send(github(&secret, "push", GITHUB_PUSH)).await;
    assert_eq!(pushed.status, 202, "{}", pushed.body);
    let decision = pushed.json();
    assert_eq!(decision["outcome"], "queued");
    assert_eq!(decision["reference"], "branch main");
    assert_eq!(
        decision["commit"],
        "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    );
    let tags: Vec<&str> = decision["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["latest", "main-0d1a26e"]);
    let build_id = decision["builds"][0]["id"].as_i64().unwrap();
    let build = app
        .with_key(
            &lab,
            Request::get(format!("/build/{build_id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
    assert_eq!(
        build["git"],
        "https://github.com/genomics-lab/tools.git#0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c:samtools",
        "the exact commit, in the container's directory"
    );
    assert_eq!(build["requested_by"], "lab");

    // The same push again: already queued.
    let again = app.send(github(&secret, "push", GITHUB_PUSH)).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.json()["outcome"], "deduplicated");
    // A tag: v1.20.0 builds under its own name (the tag lists no files: the path filter
    // cannot tell, so it builds).
    let tag = app.send(github(&secret, "push", GITHUB_TAG)).await.json();
    assert_eq!(tag["outcome"], "queued", "{tag}");
    assert_eq!(tag["builds"][0]["tag"], "v1.20.0");
    // A push elsewhere in the monorepo, and a branch outside the filter.
    let bwa = GITHUB_PUSH.replace("samtools/", "bwa/");
    let elsewhere = app.send(github(&secret, "push", &bwa)).await.json();
    assert_eq!(elsewhere["outcome"], "ignored_by_path", "{elsewhere}");
    let feature = GITHUB_PUSH.replace("refs/heads/main", "refs/heads/feature");
    let feature = app.send(github(&secret, "push", &feature)).await.json();
    assert_eq!(feature["outcome"], "ignored_by_ref", "{feature}");
    // A body that is no push payload: 400, logged.
    app.send(github(
        &secret,
        "push",
        r#"{"ref": "refs/heads/main", "after": "HEAD"}"#,
    ))
    .await
    .assert_error(400, "bad_request");

    // The log, newest first, with every reason; strangers do not read it.
    let log = app
        .with_key(
            &lab,
            Request::get("/container/triggers/lab/samtools/decisions")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
    let outcomes: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "ignored",
            "ignored_by_ref",
            "ignored_by_path",
            "queued",
            "deduplicated",
            "queued",
            "ignored",
            "bad_signature",
        ],
        "{log}"
    );
    app.with_key(
        &mallory,
        Request::get("/container/triggers/lab/samtools/decisions")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .assert_error(403, "forbidden");
}

#[tokio::test]
async fn gitlab_gitea_and_the_generic_form_are_believed_with_their_secret_only() {
    let app = TestApp::with(vec![samtools()]).await;
    app.user("lab", Role::User, "lab password").await;
    let lab = app.key("lab", "read,push,build").await;
    let secret = "a-secret-the-lab-chose";
    for provider in ["gitlab", "gitea", "generic"] {
        let body = json!({"provider": provider, "secret": secret,
                          "tag_templates": ["{branch}"]});
        new_trigger(&app, &lab, body).await;
    }

    let gitlab = |token: &str| {
        hook(
            "gitlab",
            &[
                ("x-gitlab-token", token.to_owned()),
                ("x-gitlab-event", "Push Hook".to_owned()),
            ],
            GITLAB_PUSH,
        )
    };
    app.send(gitlab("wrong"))
        .await
        .assert_error(401, "unauthorized");
    let built = app.send(gitlab(secret)).await;
    assert_eq!(built.status, 202, "{}", built.body);
    assert_eq!(built.json()["builds"][0]["tag"], "master");

    let gitea = |signature: String| {
        hook(
            "gitea",
            &[
                ("x-gitea-signature", signature),
                ("x-gitea-event", "push".to_owned()),
            ],
            GITEA_PUSH,
        )
    };
    app.send(gitea(hmac_hex_of("wrong", GITEA_PUSH.as_bytes())))
        .await
        .assert_error(401, "unauthorized");
    let built = app
        .send(gitea(hmac_hex_of(secret, GITEA_PUSH.as_bytes())))
        .await;
    assert_eq!(built.status, 202, "{}", built.body);
    assert_eq!(built.json()["builds"][0]["tag"], "develop");
    // Forgejo's URL name is Gitea's.
    let forgejo = Request::post("/hooks/forgejo/lab/samtools")
        .header(
            "x-forgejo-signature",
            hmac_hex_of(secret, GITEA_PUSH.as_bytes()),
        )
        .header("x-forgejo-event", "push")
        .body(Body::from(GITEA_PUSH))
        .unwrap();
    assert_eq!(app.send(forgejo).await.json()["outcome"], "deduplicated");

    let generic =
        r#"{"ref": "refs/heads/stable", "commit": "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"}"#;
    let signed = |secret: &str| {
        hook(
            "generic",
            &[(
                "bioshadock-signature-256",
                format!("sha256={}", hmac_hex_of(secret, generic.as_bytes())),
            )],
            generic,
        )
    };
    app.send(signed("wrong"))
        .await
        .assert_error(401, "unauthorized");
    let built = app.send(signed(secret)).await;
    assert_eq!(built.status, 202, "{}", built.body);
    assert_eq!(built.json()["builds"][0]["tag"], "stable");

    // Three builds are queued: the owner's limit here. One more is refused, and logged.
    let another =
        r#"{"ref": "refs/heads/stable", "commit": "95790bf891e76fee5e1747ab589903a6a1f80f22"}"#;
    let over = hook(
        "generic",
        &[(
            "bioshadock-signature-256",
            format!("sha256={}", hmac_hex_of(secret, another.as_bytes())),
        )],
        another,
    );
    let over = app.send(over).await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert_eq!(over.json()["outcome"], "over_limit");

    // Bounds: a body over 1 MiB, an unknown provider, a container without triggers.
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(1024 * 1024));
    let too_big = app.send(hook("generic", &[], &huge)).await;
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    app.send(hook("bitbucket", &[], "{}"))
        .await
        .assert_error(404, "not_found");
    let none = Request::post("/hooks/github/lab/nothing")
        .body(Body::from("{}"))
        .unwrap();
    app.send(none).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn a_container_without_a_git_source_has_no_triggers() {
    let app = TestApp::with(vec![container(
        "lab/pasted",
        Visibility::Public,
        1,
        "a Dockerfile",
    )])
    .await;
    app.user("lab", Role::User, "lab password").await;
    let lab = app.key("lab", "read,push").await;
    app.with_key(
        &lab,
        json_request(
            "POST",
            "/container/triggers/lab/pasted",
            r#"{"provider": "github"}"#,
        ),
    )
    .await
    .assert_error(409, "conflict");
}

#[tokio::test]
async fn a_deleted_container_takes_its_triggers_and_webhooks_along() {
    let app = TestApp::with(vec![samtools()]).await;
    app.user("lab", Role::User, "lab password").await;
    let lab = app.key("lab", "read,push").await;
    new_trigger(&app, &lab, json!({"provider": "github"})).await;
    let hook = json!({"url": "http://127.0.0.1:9/", "events": ["push"]}).to_string();
    let created = app
        .with_key(
            &lab,
            json_request("POST", "/container/webhooks/lab/samtools", &hook),
        )
        .await;
    assert_eq!(created.status, 201);
    let deleted = app
        .with_key(
            &lab,
            Request::delete("/container/lab/samtools")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    // A container of the same name starts without them.
    let again = json!({"name": "lab/samtools", "git": "https://github.com/genomics-lab/tools.git"});
    let again = app
        .with_key(
            &lab,
            json_request("POST", "/container/new", &again.to_string()),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    let triggers = app
        .with_key(
            &lab,
            Request::get("/container/triggers/lab/samtools")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(triggers.json(), json!([]));
    let hooks = app
        .with_key(
            &lab,
            Request::get("/container/webhooks/lab/samtools")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(hooks.json(), json!([]));
}

#[tokio::test]
async fn the_container_page_shows_its_managers_why_pushes_did_or_did_not_build() {
    let app = TestApp::with(vec![samtools()]).await;
    app.user("lab", Role::User, "lab password").await;
    let lab = app.key("lab", "read,push").await;
    let secret = new_trigger(
        &app,
        &lab,
        json!({"provider": "github", "paths": ["samtools/*"]}),
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let pushed = app.send(github(&secret, "push", GITHUB_PUSH)).await;
    assert_eq!(pushed.status, 202, "{}", pushed.body);
    let bwa = GITHUB_PUSH.replace("samtools/", "bwa/");
    assert_eq!(app.send(github(&secret, "push", &bwa)).await.status, 200);

    let mut browser = app.login("lab", "lab password").await;
    let page = browser.get("/r/lab/samtools").await.body;
    assert!(page.contains("id=\"trigger-decisions\""), "{page}");
    assert!(page.contains("ignored by path filter"));
    assert!(
        page.contains("no changed file matches the trigger&#x27;s paths")
            || page.contains("no changed file matches")
    );
    assert!(page.contains(">queued<"));
    // Each build of a decision shows where it stands: here the builder skipped it.
    let queued = pushed.json()["builds"][0]["id"].as_i64().unwrap();
    let builds = &app.backends.builds;
    builds
        .start(queued, "worker", bioshadock_core::model::now())
        .await
        .unwrap();
    let skipped = bioshadock_core::ports::builds::Finish {
        status: bioshadock_core::ports::builds::BuildStatus::Skipped,
        reason: Some("no file changed since abcdef1 matches the trigger's paths".into()),
        digest: None,
        at: bioshadock_core::model::now(),
    };
    builds.finish(queued, skipped).await.unwrap();
    let page = browser.get("/r/lab/samtools").await.body;
    let section = &page[page.find("id=\"trigger-decisions\"").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(
        section.contains(&format!("#{queued}</a>"))
            && section.contains("<span class=\"badge status-skipped\">skipped</span>"),
        "{section}"
    );
    // Anonymous visitors see the builds, not the decisions.
    let public = app.get("/r/lab/samtools").await.body;
    assert!(!public.contains("trigger-decisions"));
}
