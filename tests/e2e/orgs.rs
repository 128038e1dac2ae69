//! Organisations and robot accounts with the real `docker` CLI against a real Distribution
//! registry: a robot logs in as `owner+name` and pushes into its organisation, a `read` robot
//! pulls but cannot push, a stranger cannot pull the private image, and a deleted robot cannot
//! pull it either.

use serde_json::{Value, json};

use crate::registry::{Client, Registry, api_key, assert_denied, assert_ok, wait_for_container};
use crate::support::*;

async fn call(site: &Site, key: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = http()
        .request(method, site.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn robots_push_and_pull_an_organisations_images_with_docker() {
    let site = Site::with_registry();
    site.add_user("olga", "olga password");
    site.add_user("bob", "bob password");
    let olga = api_key(&site, "olga", "read,push");
    let server = site.serve().await;
    let registry = Registry::start(&site).await;
    use reqwest::Method;
    call(
        &site,
        &olga,
        Method::POST,
        "/orgs",
        json!({"name": "genomics-core"}),
    )
    .await;
    let ci = call(
        &site,
        &olga,
        Method::POST,
        "/orgs/genomics-core/robots",
        json!({"name": "ci", "permission": "write"}),
    )
    .await;
    let reader = call(
        &site,
        &olga,
        Method::POST,
        "/orgs/genomics-core/robots",
        json!({"name": "reader", "permission": "read"}),
    )
    .await;

    // The CI robot logs in by its name and pushes a new repository into the organisation.
    let pipeline = Client::new();
    assert_ok(
        &pipeline.login(&registry, "genomics-core+ci", ci["token"].as_str().unwrap()),
        "docker login as a robot",
    );
    let image = registry.image("genomics-core/tool:1.0");
    pipeline.build(&image, "built by ci");
    assert_ok(
        &pipeline.push(&image),
        "the robot pushes into its organisation",
    );
    let elsewhere = registry.image("olga/tool:1.0");
    pipeline.build(&elsewhere, "outside the owner");
    assert_denied(
        &pipeline.push(&elsewhere),
        "the robot pushes outside its owner",
    );
    let shown = wait_for_container(&site, "genomics-core/tool").await;
    assert_eq!(shown["owner"], "genomics-core", "{shown}");
    call(
        &site,
        &olga,
        Method::PATCH,
        "/container/genomics-core/tool",
        json!({"visible": false}),
    )
    .await;

    // The read robot pulls the private image but cannot push.
    let puller = Client::new();
    assert_ok(
        &puller.login(
            &registry,
            "genomics-core+reader",
            reader["token"].as_str().unwrap(),
        ),
        "docker login as a read robot",
    );
    assert_ok(&puller.pull(&image), "the read robot pulls a private image");
    let update = registry.image("genomics-core/tool:1.1");
    puller.build(&update, "not allowed");
    assert_denied(&puller.push(&update), "the read robot pushes");

    // A stranger does not pull it; nor does the read robot once deleted.
    let stranger = Client::new();
    assert_ok(
        &stranger.login(&registry, "bob", "bob password"),
        "bob logs in",
    );
    assert_denied(&stranger.pull(&image), "a stranger pulls a private image");
    call(
        &site,
        &olga,
        Method::DELETE,
        "/orgs/genomics-core/robots/reader",
        Value::Null,
    )
    .await;
    assert_denied(&puller.pull(&image), "a deleted robot pulls");
    drop(server);
}
