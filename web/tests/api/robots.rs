//! Robot accounts through the API: created with a token shown once, authenticating with Basic
//! `owner+name:TOKEN` on the API and the token service, confined to their owner's repositories
//! and permission, and stopped at once by a new token, disabling, deletion, expiry, or the loss
//! of their owner.

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bioshadock_core::accounts::{Role, UserName};
use bioshadock_core::robots::RobotName;
use serde_json::json;

use crate::support::*;

async fn as_user(app: &TestApp, user: &str, method: &str, uri: &str, body: &str) -> TestResponse {
    let key = app.key(user, "read,build,push").await;
    app.with_key(&key, json_request(method, uri, body)).await
}

fn basic(name: &str, token: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{name}:{token}")))
}

async fn as_robot(app: &TestApp, name: &str, token: &str, method: &str, uri: &str) -> TestResponse {
    let mut request = json_request(method, uri, if method == "GET" { "" } else { "{}" });
    request
        .headers_mut()
        .insert(header::AUTHORIZATION, basic(name, token).parse().unwrap());
    app.send(request).await
}

/// The actions the token service grants `name` on `repository` for pull, push and delete.
async fn granted(
    app: &TestApp,
    name: &str,
    token: &str,
    repository: &str,
) -> Result<Vec<String>, u16> {
    let uri = format!(
        "/v2/token?service=bioshadock-registry&scope=repository:{repository}:pull,push,delete"
    );
    let request = Request::get(uri)
        .header(header::AUTHORIZATION, basic(name, token))
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    if response.status.as_u16() != 200 {
        return Err(response.status.as_u16());
    }
    let jwt = response.json()["token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&jwt);
    assert_eq!(claims["sub"], name, "the token names the robot");
    assert!(response.json().get("refresh_token").is_none());
    Ok(claims["access"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["actions"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect())
}

fn expect(response: &TestResponse, status: u16, what: &str) {
    assert_eq!(
        response.status.as_u16(),
        status,
        "{what}: {}",
        response.body
    );
}

async fn app() -> TestApp {
    let app = TestApp::new().await;
    for name in ["alice", "bob", "olga", "mia"] {
        app.user(name, Role::User, "a long password").await;
    }
    app.user("root", Role::Admin, "a long password").await;
    app
}

#[tokio::test]
async fn a_users_robot_reads_their_containers_and_stops_when_told() {
    let app = app().await;
    app.add(&[
        private("alice/secret", 1),
        private("bob/secret", 2),
        public("bob/open", 3),
    ])
    .await;
    let created = as_user(
        &app,
        "alice",
        "POST",
        "/user/robots",
        r#"{"name":"laptop","permission":"read"}"#,
    )
    .await;
    expect(&created, 201, "create");
    let token = created.json()["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("bsr_"));
    assert_eq!(created.json()["name"], "alice+laptop");
    let listed = as_user(&app, "alice", "GET", "/user/robots", "").await;
    assert_eq!(listed.json()[0]["name"], "alice+laptop");
    assert!(!listed.body.contains(&token), "the token is shown once");
    assert!(listed.json()[0].get("token").is_none());
    assert!(
        !stored_anywhere(app.data_dir(), token.as_bytes()),
        "only the token's hash is stored"
    );

    let robot = "alice+laptop";
    expect(
        &as_robot(&app, robot, &token, "GET", "/container/alice/secret").await,
        200,
        "own private",
    );
    expect(
        &as_robot(&app, robot, &token, "GET", "/container/bob/secret").await,
        404,
        "another's private",
    );
    expect(
        &as_robot(&app, robot, &token, "GET", "/container/bob/open").await,
        200,
        "public",
    );
    let found = as_robot(&app, robot, &token, "GET", "/container/search?q=secret").await;
    assert_eq!(ids(&found.json()["results"]), ["alice/secret"]);
    assert_eq!(found.json()["total"], 1);
    // It cannot sign in to the pages.
    let mut browser = app.browser();
    let signed = browser.login(robot, &token).await;
    assert_ne!(signed.status.as_u16(), 303, "a robot has no web session");
    assert!(browser.cookie.is_none(), "no session for a robot");
    // A robot pulls, pushes and reads, nothing else.
    expect(
        &as_robot(&app, robot, &token, "GET", "/user").await,
        403,
        "profile",
    );
    expect(
        &as_robot(&app, robot, &token, "GET", "/user/robots").await,
        403,
        "its siblings",
    );
    expect(
        &as_robot(&app, robot, &token, "POST", "/container/git/alice/secret").await,
        403,
        "builds",
    );
    assert_eq!(
        granted(&app, robot, &token, "alice/secret").await,
        Ok(vec!["pull".to_owned()])
    );
    assert_eq!(granted(&app, robot, &token, "bob/secret").await, Ok(vec![]));
    // Wrong token, wrong name, a bare bearer token: all 401.
    let other = as_user(
        &app,
        "bob",
        "POST",
        "/user/robots",
        r#"{"name":"laptop","permission":"write"}"#,
    )
    .await;
    let bobs = other.json()["token"].as_str().unwrap().to_owned();
    expect(
        &as_robot(&app, robot, &bobs, "GET", "/container/alice/secret").await,
        401,
        "another robot's token",
    );
    expect(
        &as_robot(&app, "alice+desk", &token, "GET", "/container/alice/secret").await,
        401,
        "another name",
    );
    let bare = app
        .send({
            let mut r = json_request("GET", "/container/alice/secret", "");
            r.headers_mut().insert(
                header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
            r
        })
        .await;
    expect(&bare, 401, "bearer without the robot's name");
    assert_eq!(granted(&app, robot, &bobs, "alice/secret").await, Err(401));

    // A new token replaces the old one at once.
    let renewed = as_user(
        &app,
        "alice",
        "POST",
        "/user/robots/laptop/token?expires_in_days=30",
        "",
    )
    .await;
    expect(&renewed, 200, "new token");
    let fresh = renewed.json()["token"].as_str().unwrap().to_owned();
    assert!(renewed.json()["expires_at"].is_string());
    expect(
        &as_robot(&app, robot, &token, "GET", "/container/alice/secret").await,
        401,
        "old token",
    );
    expect(
        &as_robot(&app, robot, &fresh, "GET", "/container/alice/secret").await,
        200,
        "new token",
    );
    // Disabled, then enabled, then deleted.
    expect(
        &as_user(
            &app,
            "alice",
            "PATCH",
            "/user/robots/laptop",
            r#"{"disabled":true}"#,
        )
        .await,
        200,
        "disable",
    );
    expect(
        &as_robot(&app, robot, &fresh, "GET", "/container/alice/secret").await,
        401,
        "disabled",
    );
    assert_eq!(granted(&app, robot, &fresh, "alice/secret").await, Err(401));
    expect(
        &as_user(
            &app,
            "alice",
            "PATCH",
            "/user/robots/laptop",
            r#"{"disabled":false}"#,
        )
        .await,
        200,
        "enable",
    );
    expect(
        &as_robot(&app, robot, &fresh, "GET", "/container/alice/secret").await,
        200,
        "enabled",
    );
    // Its owner disabled: it stops too.
    app.backends
        .users
        .set_disabled(&UserName::parse("alice").unwrap(), true)
        .await
        .unwrap();
    expect(
        &as_robot(&app, robot, &fresh, "GET", "/container/alice/secret").await,
        401,
        "owner disabled",
    );
    app.backends
        .users
        .set_disabled(&UserName::parse("alice").unwrap(), false)
        .await
        .unwrap();
    // Expired.
    let name = RobotName::parse(robot).unwrap();
    let (mut stored, _) = app.backends.robots.find_robot(&name).await.unwrap();
    stored.expires_at = Some(bioshadock_core::model::now() - chrono::Duration::seconds(1));
    app.backends.robots.update_robot(&stored).await.unwrap();
    expect(
        &as_robot(&app, robot, &fresh, "GET", "/container/alice/secret").await,
        401,
        "expired",
    );
    stored.expires_at = None;
    app.backends.robots.update_robot(&stored).await.unwrap();
    expect(
        &as_user(&app, "bob", "DELETE", "/user/robots/laptop", "").await,
        204,
        "bob deletes his own",
    );
    expect(
        &as_robot(&app, robot, &fresh, "GET", "/container/alice/secret").await,
        200,
        "alice's untouched",
    );
    expect(
        &as_user(&app, "alice", "DELETE", "/user/robots/laptop", "").await,
        204,
        "delete",
    );
    expect(
        &as_robot(&app, robot, &fresh, "GET", "/container/alice/secret").await,
        401,
        "deleted",
    );
    expect(
        &as_user(&app, "alice", "DELETE", "/user/robots/laptop", "").await,
        404,
        "deleted twice",
    );
}

#[tokio::test]
async fn robot_definitions_are_checked() {
    let app = app().await;
    for (body, status, why) in [
        (r#"{"name":"Laptop","permission":"read"}"#, 400, "uppercase"),
        (r#"{"name":"a+b","permission":"read"}"#, 400, "plus"),
        (
            r#"{"name":"ci","permission":"admin"}"#,
            400,
            "unknown permission",
        ),
        (
            r#"{"name":"ci","permission":"read","expires_in_days":0}"#,
            400,
            "no lifetime",
        ),
        (
            r#"{"name":"ci","permission":"read","expires_in_days":3651}"#,
            400,
            "too long a lifetime",
        ),
        (
            r#"{"name":"ci","permission":"read","repositories":["a/b"]}"#,
            400,
            "a path",
        ),
        (
            r#"{"name":"ci","permission":"read","token":"mine"}"#,
            400,
            "a chosen token",
        ),
    ] {
        expect(
            &as_user(&app, "alice", "POST", "/user/robots", body).await,
            status,
            why,
        );
    }
    let many: Vec<String> = (0..101).map(|i| format!("r{i}")).collect();
    let body = json!({"name": "ci", "permission": "read", "repositories": many}).to_string();
    expect(
        &as_user(&app, "alice", "POST", "/user/robots", &body).await,
        400,
        "101 repositories",
    );
    let body =
        json!({"name": "ci", "permission": "read", "repositories": &many[..100]}).to_string();
    expect(
        &as_user(&app, "alice", "POST", "/user/robots", &body).await,
        201,
        "100 repositories",
    );
    expect(
        &as_user(&app, "alice", "POST", "/user/robots", &body).await,
        409,
        "taken",
    );
    expect(
        &app.send(json_request("POST", "/user/robots", &body)).await,
        401,
        "anonymous",
    );
}

#[tokio::test]
async fn an_organisations_robot_pushes_where_it_was_told_and_dies_with_it() {
    let app = app().await;
    expect(
        &as_user(&app, "olga", "POST", "/orgs", r#"{"name":"genomics-core"}"#).await,
        201,
        "org",
    );
    expect(
        &as_user(
            &app,
            "olga",
            "PUT",
            "/orgs/genomics-core/members/mia",
            r#"{"role":"member"}"#,
        )
        .await,
        200,
        "member",
    );
    app.add(&[
        private("genomics-core/pipeline", 1),
        private("genomics-core/tool", 2),
    ])
    .await;
    let body = r#"{"name":"ci","permission":"write","repositories":["pipeline","new-tool"]}"#;
    expect(
        &as_user(&app, "mia", "POST", "/orgs/genomics-core/robots", body).await,
        403,
        "a member",
    );
    expect(
        &as_user(&app, "bob", "GET", "/orgs/genomics-core/robots", "").await,
        403,
        "a stranger lists",
    );
    expect(
        &as_user(&app, "olga", "POST", "/orgs/nothing/robots", body).await,
        404,
        "no such org",
    );
    let created = as_user(&app, "olga", "POST", "/orgs/genomics-core/robots", body).await;
    expect(&created, 201, "an owner");
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let robot = "genomics-core+ci";
    assert_eq!(
        granted(&app, robot, &token, "genomics-core/pipeline").await,
        Ok(vec!["pull".into(), "push".into()])
    );
    assert_eq!(
        granted(&app, robot, &token, "genomics-core/tool").await,
        Ok(vec![])
    );
    assert_eq!(
        granted(&app, robot, &token, "genomics-core/new-tool").await,
        Ok(vec!["pull".into(), "push".into()]),
        "a first push where it may write"
    );
    assert_eq!(
        granted(&app, robot, &token, "genomics-core/other").await,
        Ok(vec![])
    );
    let listed = as_user(&app, "root", "GET", "/orgs/genomics-core/robots", "").await;
    assert_eq!(listed.json()[0]["created_by"], "olga");
    // Narrowed to read: pushes stop at once.
    expect(
        &as_user(
            &app,
            "olga",
            "PATCH",
            "/orgs/genomics-core/robots/ci",
            r#"{"permission":"read"}"#,
        )
        .await,
        200,
        "narrow",
    );
    assert_eq!(
        granted(&app, robot, &token, "genomics-core/pipeline").await,
        Ok(vec!["pull".into()])
    );

    // An empty organisation deleted takes its robots with it.
    expect(
        &as_user(&app, "olga", "POST", "/orgs", r#"{"name":"short-lived"}"#).await,
        201,
        "org",
    );
    let created = as_user(
        &app,
        "olga",
        "POST",
        "/orgs/short-lived/robots",
        r#"{"name":"ci","permission":"write"}"#,
    )
    .await;
    let token = created.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        granted(&app, "short-lived+ci", &token, "short-lived/x").await,
        Ok(vec!["pull".into(), "push".into()])
    );
    expect(
        &as_user(&app, "olga", "DELETE", "/orgs/short-lived", "").await,
        204,
        "delete org",
    );
    assert_eq!(
        granted(&app, "short-lived+ci", &token, "short-lived/x").await,
        Err(401)
    );
    // A user taking the name later does not inherit a robot.
    assert!(
        app.backends
            .robots
            .list_robots("short-lived")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_owner_keeps_at_most_a_hundred_robots() {
    let app = app().await;
    let key = app.key("alice", "read,push").await;
    let make = |i: usize| {
        json_request(
            "POST",
            "/user/robots",
            &json!({"name": format!("r{i}"), "permission": "read"}).to_string(),
        )
    };
    for i in 0..bioshadock_core::robots::MAX_ROBOTS_PER_OWNER {
        expect(&app.with_key(&key, make(i)).await, 201, "within the bound");
    }
    expect(&app.with_key(&key, make(100)).await, 409, "past the bound");
}

#[tokio::test]
async fn a_robot_joins_its_owners_containers_as_a_member() {
    let app = app().await;
    app.add(&[
        private("alice/data", 1),
        private("alice/other", 2),
        private("bob/data", 3),
    ])
    .await;
    let made = as_user(
        &app,
        "alice",
        "POST",
        "/user/robots",
        r#"{"name":"ci","permission":"read","repositories":["other"]}"#,
    )
    .await;
    let token = made.json()["token"].as_str().unwrap().to_owned();
    let robot = "alice+ci";
    assert_eq!(granted(&app, robot, &token, "alice/data").await, Ok(vec![]));
    let members =
        json!({"members": [{"robot": robot, "access": "push"}, {"user": "bob", "access": "pull"}]})
            .to_string();
    let set = as_user(
        &app,
        "alice",
        "PUT",
        "/container/members/alice/data",
        &members,
    )
    .await;
    expect(&set, 200, "a robot member");
    assert_eq!(
        set.json(),
        json!([{"robot": robot, "access": "push"}, {"user": "bob", "access": "pull"}]),
        "members by name"
    );
    assert_eq!(
        granted(&app, robot, &token, "alice/data").await,
        Ok(vec!["pull".to_owned(), "push".to_owned()])
    );
    let found = as_robot(&app, robot, &token, "GET", "/container/search?q=data").await;
    assert_eq!(
        ids(&found.json()["results"]),
        ["alice/data"],
        "search finds it for the robot"
    );
    // Never another namespace's robot, never one that does not exist.
    let bobs = json!({"members": [{"robot": robot, "access": "pull"}]}).to_string();
    expect(
        &as_user(&app, "bob", "PUT", "/container/members/bob/data", &bobs).await,
        409,
        "another owner's robot",
    );
    let ghost = json!({"members": [{"robot": "alice+ghost", "access": "pull"}]}).to_string();
    expect(
        &as_user(
            &app,
            "alice",
            "PUT",
            "/container/members/alice/data",
            &ghost,
        )
        .await,
        404,
        "no such robot",
    );
    // Deleted, it holds nothing any more, and a new robot of the same name inherits nothing.
    expect(
        &as_user(&app, "alice", "DELETE", "/user/robots/ci", "").await,
        204,
        "delete",
    );
    assert_eq!(granted(&app, robot, &token, "alice/data").await, Err(401));
    let listed = as_user(&app, "alice", "GET", "/container/members/alice/data", "").await;
    assert_eq!(listed.json(), json!([{"user": "bob", "access": "pull"}]));
    let again = as_user(
        &app,
        "alice",
        "POST",
        "/user/robots",
        r#"{"name":"ci","permission":"read","repositories":["other"]}"#,
    )
    .await;
    let fresh = again.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(granted(&app, robot, &fresh, "alice/data").await, Ok(vec![]));
}
