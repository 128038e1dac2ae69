//! Organisations through the API: their lifecycle, members and teams, and the authorisation
//! matrix of their containers on every path (reads, search totals, `/container/all`, changes,
//! the registry token service), including a removal taking effect at once.
//!
//! `genomics-core`: olga owns it, ada administers it, mia is in `readers` (read on everything,
//! nothing on `secret`) and in `builders` (write on `pipeline`), max is a member in no team,
//! mallory is a stranger, root a site admin.

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bioshadock_core::accounts::Role;
use bioshadock_core::config::OrgCreation;
use serde_json::json;

use crate::support::*;

const ORG: &str = "genomics-core";
const PEOPLE: [&str; 6] = ["olga", "ada", "mia", "max", "mallory", "root"];

fn password(user: &str) -> String {
    format!("{user} password")
}

async fn people(app: &TestApp) {
    for name in PEOPLE {
        let role = if name == "root" {
            Role::Admin
        } else {
            Role::User
        };
        app.user(name, role, &password(name)).await;
    }
}

/// Sends `method uri` with a JSON `body` as `user` (with a key of every scope: the JSON API's
/// Basic credentials are `user:KEY`), or anonymously.
async fn call(
    app: &TestApp,
    user: Option<&str>,
    method: &str,
    uri: &str,
    body: &str,
) -> TestResponse {
    let request = json_request(method, uri, body);
    match user {
        Some(user) => {
            let key = app.key(user, "read,build,push").await;
            app.with_key(&key, request).await
        }
        None => app.send(request).await,
    }
}

fn expect(response: &TestResponse, status: u16, what: &str) {
    assert_eq!(
        response.status.as_u16(),
        status,
        "{what}: {}",
        response.body
    );
}

/// The organisation of the module comment, built through the API by its owner and admin.
async fn genomics_core(app: &TestApp) {
    people(app).await;
    let olga = Some("olga");
    let created = call(
        app,
        olga,
        "POST",
        "/orgs",
        &json!({"name": ORG}).to_string(),
    )
    .await;
    expect(&created, 201, "create");
    let role = |r: &str| json!({ "role": r }).to_string();
    expect(
        &call(
            app,
            olga,
            "PUT",
            &format!("/orgs/{ORG}/members/ada"),
            &role("admin"),
        )
        .await,
        200,
        "add ada",
    );
    let ada = Some("ada");
    for user in ["mia", "max"] {
        expect(
            &call(
                app,
                ada,
                "PUT",
                &format!("/orgs/{ORG}/members/{user}"),
                &role("member"),
            )
            .await,
            200,
            "add a member",
        );
    }
    for (team, permission) in [("readers", "read"), ("builders", "none")] {
        let body = json!({"name": team, "permission": permission}).to_string();
        expect(
            &call(app, ada, "POST", &format!("/orgs/{ORG}/teams"), &body).await,
            201,
            "team",
        );
        expect(
            &call(
                app,
                ada,
                "PUT",
                &format!("/orgs/{ORG}/teams/{team}/members/mia"),
                "",
            )
            .await,
            200,
            "mia joins",
        );
    }
    let grant = |p: &str| json!({ "permission": p }).to_string();
    expect(
        &call(
            app,
            ada,
            "PUT",
            &format!("/orgs/{ORG}/teams/readers/repositories/secret"),
            &grant("none"),
        )
        .await,
        200,
        "override",
    );
    expect(
        &call(
            app,
            ada,
            "PUT",
            &format!("/orgs/{ORG}/teams/builders/repositories/pipeline"),
            &grant("write"),
        )
        .await,
        200,
        "override",
    );
}

/// The organisation, then its containers (pushed once it exists) and a look-alike namespace's.
async fn app_with_org() -> TestApp {
    let app = TestApp::new().await;
    genomics_core(&app).await;
    app.add(&[
        private("genomics-core/tool", 1),
        private("genomics-core/secret", 2),
        private("genomics-core/pipeline", 3),
        public("genomics-core/open", 4),
        private("genomics-core-x/tool", 5),
    ])
    .await;
    app
}

#[tokio::test]
async fn an_organisation_is_created_described_and_shown_to_its_members_only() {
    let app = TestApp::new().await;
    people(&app).await;
    let created = call(
        &app,
        Some("mia"),
        "POST",
        "/orgs",
        r#"{"name":"imaging","description":"Light"}"#,
    )
    .await;
    expect(&created, 201, "create");
    assert_eq!(
        created.json()["members"],
        json!([{"user": "mia", "role": "owner"}])
    );

    for (body, status, why) in [
        (r#"{"name":"imaging"}"#, 409, "taken by an organisation"),
        (r#"{"name":"olga"}"#, 409, "taken by a user"),
        (r#"{"name":"Imaging"}"#, 400, "uppercase"),
        (r#"{"name":"library"}"#, 400, "reserved"),
        (r#"{"name":""}"#, 400, "empty"),
        (r#"{"name":"x","role":"owner"}"#, 400, "unknown field"),
    ] {
        expect(
            &call(&app, Some("max"), "POST", "/orgs", body).await,
            status,
            why,
        );
    }
    let long = json!({"name": "big", "description": "x".repeat(4097)}).to_string();
    expect(
        &call(&app, Some("max"), "POST", "/orgs", &long).await,
        400,
        "long description",
    );
    expect(
        &call(&app, None, "POST", "/orgs", r#"{"name":"anon"}"#).await,
        401,
        "anonymous",
    );
    // A user cannot then take the organisation's name.
    let user = json!({"name": "imaging", "password": "long enough password"}).to_string();
    expect(
        &call(&app, Some("root"), "POST", "/admin/users", &user).await,
        409,
        "user named like an org",
    );

    // Everyone sees that it exists; only members and admins see who is in it.
    for (who, sees_members) in [
        (None, false),
        (Some("max"), false),
        (Some("mia"), true),
        (Some("root"), true),
    ] {
        let shown = call(&app, who, "GET", "/orgs/imaging", "").await;
        expect(&shown, 200, "get");
        assert_eq!(shown.json()["description"], "Light");
        assert_eq!(
            shown.json().get("members").is_some(),
            sees_members,
            "{who:?}"
        );
    }
    expect(
        &call(&app, None, "GET", "/orgs/nothing", "").await,
        404,
        "absent",
    );
    let listed = call(&app, None, "GET", "/orgs", "").await;
    assert_eq!(
        listed.json(),
        json!([{"name": "imaging", "description": "Light", "created_at": listed.json()[0]["created_at"], "immutable": null}])
    );

    let change = r#"{"description":"Light microscopy"}"#;
    expect(
        &call(&app, Some("max"), "PATCH", "/orgs/imaging", change).await,
        403,
        "stranger edits",
    );
    expect(
        &call(&app, Some("mia"), "PATCH", "/orgs/imaging", change).await,
        200,
        "owner edits",
    );
}

#[tokio::test]
async fn only_owners_touch_owners_and_an_organisation_keeps_one() {
    let app = app_with_org().await;
    let role = |r: &str| json!({ "role": r }).to_string();
    let members = |o: &str| format!("/orgs/{ORG}/members/{o}");
    // An admin manages members, but neither makes nor unmakes owners.
    expect(
        &call(&app, Some("ada"), "PUT", &members("max"), &role("owner")).await,
        403,
        "admin makes owner",
    );
    expect(
        &call(&app, Some("ada"), "DELETE", &members("olga"), "").await,
        403,
        "admin removes owner",
    );
    expect(
        &call(&app, Some("mia"), "PUT", &members("max"), &role("admin")).await,
        403,
        "member promotes",
    );
    expect(
        &call(
            &app,
            Some("ada"),
            "PUT",
            &members("nobody"),
            &role("member"),
        )
        .await,
        404,
        "unknown user",
    );
    expect(
        &call(
            &app,
            Some("ada"),
            "PUT",
            &members("max"),
            r#"{"role":"king"}"#,
        )
        .await,
        400,
        "bad role",
    );
    // The last owner can neither leave nor step down.
    expect(
        &call(&app, Some("olga"), "DELETE", &members("olga"), "").await,
        409,
        "last owner leaves",
    );
    expect(
        &call(&app, Some("olga"), "PUT", &members("olga"), &role("admin")).await,
        409,
        "last owner steps down",
    );
    expect(
        &call(&app, Some("olga"), "PUT", &members("ada"), &role("owner")).await,
        200,
        "second owner",
    );
    expect(
        &call(&app, Some("olga"), "DELETE", &members("olga"), "").await,
        204,
        "owner leaves",
    );
    // Anyone may leave; a member's role is visible to members.
    expect(
        &call(&app, Some("max"), "DELETE", &members("max"), "").await,
        204,
        "member leaves",
    );
    expect(
        &call(&app, Some("mia"), "GET", &members("max"), "").await,
        404,
        "gone",
    );
    let mia = call(&app, Some("mia"), "GET", &members("mia"), "").await;
    assert_eq!(mia.json(), json!({"user": "mia", "role": "member"}));
    expect(
        &call(&app, Some("mallory"), "GET", &members("mia"), "").await,
        403,
        "stranger asks",
    );

    // Teams: only organisation members join; bad names and permissions are refused.
    let teams = format!("/orgs/{ORG}/teams");
    expect(
        &call(
            &app,
            Some("ada"),
            "PUT",
            &format!("{teams}/readers/members/mallory"),
            "",
        )
        .await,
        409,
        "stranger joins",
    );
    expect(
        &call(
            &app,
            Some("ada"),
            "POST",
            &teams,
            r#"{"name":"readers","permission":"read"}"#,
        )
        .await,
        409,
        "duplicate team",
    );
    expect(
        &call(
            &app,
            Some("ada"),
            "POST",
            &teams,
            r#"{"name":"Bad Name","permission":"read"}"#,
        )
        .await,
        400,
        "bad team",
    );
    expect(
        &call(
            &app,
            Some("ada"),
            "POST",
            &teams,
            r#"{"name":"ops","permission":"all"}"#,
        )
        .await,
        400,
        "bad permission",
    );
    expect(
        &call(
            &app,
            Some("ada"),
            "PUT",
            &format!("{teams}/ghosts/members/mia"),
            "",
        )
        .await,
        404,
        "no team",
    );
    expect(
        &call(
            &app,
            Some("ada"),
            "PUT",
            &format!("{teams}/readers/repositories/Bad"),
            r#"{"permission":"read"}"#,
        )
        .await,
        400,
        "bad repository",
    );
    let at_bound = format!("{teams}/readers/repositories/{}", "r".repeat(190));
    let past_bound = format!("{teams}/readers/repositories/{}", "r".repeat(191));
    let read = r#"{"permission":"read"}"#;
    expect(
        &call(&app, Some("ada"), "PUT", &at_bound, read).await,
        200,
        "190 characters",
    );
    expect(
        &call(&app, Some("ada"), "PUT", &past_bound, read).await,
        400,
        "191 characters",
    );
    expect(
        &call(&app, None, "DELETE", "/orgs/nothing", "").await,
        401,
        "anonymous delete",
    );
    expect(
        &call(
            &app,
            Some("mia"),
            "POST",
            &teams,
            r#"{"name":"mine","permission":"admin"}"#,
        )
        .await,
        403,
        "member makes team",
    );
    let listed = call(&app, Some("mia"), "GET", &teams, "").await;
    let names: Vec<String> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["builders", "readers"]);

    // An organisation holding containers is not deleted; an empty one is, by an owner only.
    expect(
        &call(&app, Some("ada"), "DELETE", &format!("/orgs/{ORG}"), "").await,
        409,
        "holds containers",
    );
    let created = call(
        &app,
        Some("max"),
        "POST",
        "/orgs",
        r#"{"name":"empty-lab"}"#,
    )
    .await;
    expect(&created, 201, "create");
    expect(
        &call(&app, Some("mia"), "DELETE", "/orgs/empty-lab", "").await,
        403,
        "stranger deletes",
    );
    expect(
        &call(&app, Some("max"), "DELETE", "/orgs/empty-lab", "").await,
        204,
        "owner deletes",
    );
    expect(
        &call(&app, None, "GET", "/orgs/empty-lab", "").await,
        404,
        "deleted",
    );
}

#[tokio::test]
async fn nobody_takes_a_namespace_that_holds_containers_but_an_admin() {
    let app = TestApp::with(vec![private("core-facility/old", 1)]).await;
    people(&app).await;
    let body = r#"{"name":"core-facility"}"#;
    expect(
        &call(&app, Some("mia"), "POST", "/orgs", body).await,
        409,
        "user adopts",
    );
    expect(
        &call(&app, Some("root"), "POST", "/orgs", body).await,
        201,
        "admin adopts",
    );
}

#[tokio::test]
async fn admins_alone_create_organisations_when_configured() {
    let app = TestApp::with_settings(|s| s.org_creation = OrgCreation::Admins).await;
    people(&app).await;
    expect(
        &call(&app, Some("mia"), "POST", "/orgs", r#"{"name":"lab"}"#).await,
        403,
        "user",
    );
    expect(
        &call(&app, Some("root"), "POST", "/orgs", r#"{"name":"lab"}"#).await,
        201,
        "admin",
    );
}

/// What `who` gets on `repository` from the token service for pull, push and delete.
async fn granted(app: &TestApp, who: &str, repository: &str) -> Vec<String> {
    let uri = format!(
        "/v2/token?service=bioshadock-registry&scope=repository:{repository}:pull,push,delete"
    );
    let credentials = STANDARD.encode(format!("{who}:{}", password(who)));
    let request = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Basic {credentials}"))
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    expect(&response, 200, "token");
    let jwt = response.json()["token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&jwt);
    claims["access"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["actions"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that `who` finds exactly `expected` of the organisation through search (results
/// and total) and through `/container/all`.
async fn sees(app: &TestApp, who: &str, expected: &[&str]) {
    let found = call(
        app,
        Some(who),
        "GET",
        "/container/search?q=namespace:genomics-core&per_page=100",
        "",
    )
    .await;
    let mut ids = ids(&found.json()["results"]);
    ids.sort();
    assert_eq!(ids, expected, "{who} searches");
    assert_eq!(found.json()["total"], expected.len(), "{who}'s total");
    let all = call(app, Some(who), "GET", "/container/all", "").await;
    let mut listed: Vec<String> = all
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .filter(|id| id.starts_with("genomics-core/"))
        .collect();
    listed.sort();
    assert_eq!(listed, expected, "{who}'s /container/all");
}

/// (who, repository, sees, edits, manages, what the token service grants)
type Cell = (
    &'static str,
    &'static str,
    bool,
    bool,
    bool,
    &'static [&'static str],
);

#[tokio::test]
async fn the_organisation_authorisation_matrix() {
    let app = app_with_org().await;
    let cases: &[Cell] = &[
        (
            "olga",
            "tool",
            true,
            true,
            true,
            &["pull", "push", "delete"],
        ),
        (
            "ada",
            "secret",
            true,
            true,
            true,
            &["pull", "push", "delete"],
        ),
        ("mia", "tool", true, false, false, &["pull"]),
        ("mia", "secret", false, false, false, &[]),
        ("mia", "pipeline", true, true, false, &["pull", "push"]),
        ("max", "tool", false, false, false, &[]),
        ("mallory", "tool", false, false, false, &[]),
        (
            "root",
            "secret",
            true,
            true,
            true,
            &["pull", "push", "delete"],
        ),
    ];
    for &(who, repo, see, edit, manage, actions) in cases {
        let id = format!("{ORG}/{repo}");
        let read = call(&app, Some(who), "GET", &format!("/container/{id}"), "").await;
        expect(
            &read,
            if see { 200 } else { 404 },
            &format!("{who} reads {id}"),
        );
        let described = call(
            &app,
            Some(who),
            "PATCH",
            &format!("/container/{id}"),
            r#"{"description":"new"}"#,
        )
        .await;
        let refused = if see { 403 } else { 404 };
        expect(
            &described,
            if edit { 200 } else { refused },
            &format!("{who} edits {id}"),
        );
        let hidden = call(
            &app,
            Some(who),
            "PATCH",
            &format!("/container/{id}"),
            r#"{"visible":false}"#,
        )
        .await;
        expect(
            &hidden,
            if manage { 200 } else { refused },
            &format!("{who} manages {id}"),
        );
        assert_eq!(
            granted(&app, who, &id).await,
            actions,
            "{who}'s token for {id}"
        );
    }

    // Search totals and the whole-catalogue listing agree with the reads.
    let everything = &[
        "genomics-core/open",
        "genomics-core/pipeline",
        "genomics-core/secret",
        "genomics-core/tool",
    ];
    sees(&app, "olga", everything).await;
    sees(
        &app,
        "mia",
        &[
            "genomics-core/open",
            "genomics-core/pipeline",
            "genomics-core/tool",
        ],
    )
    .await;
    sees(&app, "max", &["genomics-core/open"]).await;
    sees(&app, "mallory", &["genomics-core/open"]).await;

    // Members with `write` create repositories where they may write, others do not.
    let new = |name: &str| json!({ "name": format!("{ORG}/{name}") }).to_string();
    expect(
        &call(&app, Some("max"), "POST", "/container/new", &new("fresh")).await,
        403,
        "max creates",
    );
    expect(
        &call(&app, Some("mia"), "POST", "/container/new", &new("fresh")).await,
        403,
        "mia creates elsewhere",
    );
    expect(
        &call(&app, Some("ada"), "POST", "/container/new", &new("fresh")).await,
        201,
        "ada creates",
    );
    assert_eq!(
        granted(&app, "mia", &format!("{ORG}/unpushed")).await,
        Vec::<String>::new()
    );
    assert_eq!(
        granted(&app, "olga", &format!("{ORG}/unpushed")).await,
        ["pull", "push"]
    );
}

#[tokio::test]
async fn leaving_a_team_or_the_organisation_counts_at_once() {
    let app = app_with_org().await;
    let pipeline = format!("/container/{ORG}/pipeline");
    expect(
        &call(&app, Some("mia"), "GET", &pipeline, "").await,
        200,
        "before",
    );
    expect(
        &call(
            &app,
            Some("ada"),
            "DELETE",
            &format!("/orgs/{ORG}/teams/builders/members/mia"),
            "",
        )
        .await,
        204,
        "leaves builders",
    );
    assert_eq!(
        granted(&app, "mia", &format!("{ORG}/pipeline")).await,
        ["pull"]
    );
    expect(
        &call(
            &app,
            Some("ada"),
            "DELETE",
            &format!("/orgs/{ORG}/members/mia"),
            "",
        )
        .await,
        204,
        "removed",
    );
    expect(
        &call(&app, Some("mia"), "GET", &pipeline, "").await,
        404,
        "after",
    );
    assert!(
        granted(&app, "mia", &format!("{ORG}/tool"))
            .await
            .is_empty()
    );
    let found = call(
        &app,
        Some("mia"),
        "GET",
        "/container/search?q=namespace:genomics-core",
        "",
    )
    .await;
    assert_eq!(found.json()["total"], 1, "only the public one");
}

#[tokio::test]
async fn teams_are_members_of_an_organisations_containers() {
    let app = app_with_org().await;
    let members = |repo: &str| format!("/container/members/{ORG}/{repo}");
    let listed = call(&app, Some("ada"), "GET", &members("secret"), "").await;
    expect(&listed, 200, "list");
    assert_eq!(
        listed.json(),
        json!([{"team": "readers", "permission": "none"}])
    );

    // Users and teams in one list: max may pull tool, builders may write it.
    let both = json!({"members": [
        {"user": "max", "access": "pull"},
        {"team": "builders", "permission": "write"},
    ]})
    .to_string();
    expect(
        &call(&app, Some("ada"), "PUT", &members("tool"), &both).await,
        200,
        "set",
    );
    assert_eq!(
        granted(&app, "mia", &format!("{ORG}/tool")).await,
        ["pull", "push"]
    );
    expect(
        &call(
            &app,
            Some("max"),
            "GET",
            &format!("/container/{ORG}/tool"),
            "",
        )
        .await,
        200,
        "max reads",
    );
    let shown = call(&app, Some("olga"), "GET", &members("tool"), "").await;
    assert_eq!(
        shown.json(),
        json!([{"user": "max", "access": "pull"}, {"team": "builders", "permission": "write"}])
    );

    // A list naming an unknown team changes nothing; teams only exist in organisations.
    let unknown = json!({"members": [{"user": "mia", "access": "push"}, {"team": "ghosts", "permission": "read"}]}).to_string();
    expect(
        &call(&app, Some("ada"), "PUT", &members("tool"), &unknown).await,
        404,
        "unknown team",
    );
    let unchanged = call(&app, Some("olga"), "GET", &members("tool"), "").await;
    assert_eq!(unchanged.json(), shown.json(), "nothing changed");
    expect(
        &call(&app, Some("mia"), "PUT", &members("tool"), &both).await,
        403,
        "a team writer manages nothing",
    );
    let bad = json!({"members": [{"team": "builders", "permission": "all"}]}).to_string();
    expect(
        &call(&app, Some("ada"), "PUT", &members("tool"), &bad).await,
        400,
        "bad permission",
    );
    let mixed = json!({"members": [{"team": "builders", "access": "pull"}]}).to_string();
    expect(
        &call(&app, Some("ada"), "PUT", &members("tool"), &mixed).await,
        400,
        "mixed fields",
    );
    app.add(&[private("olga/own", 9)]).await;
    let outside = json!({"members": [{"team": "builders", "permission": "read"}]}).to_string();
    expect(
        &call(
            &app,
            Some("olga"),
            "PUT",
            "/container/members/olga/own",
            &outside,
        )
        .await,
        409,
        "not an organisation's container",
    );

    // The whole list replaces: without readers' override, mia sees secret again.
    expect(
        &call(
            &app,
            Some("ada"),
            "PUT",
            &members("secret"),
            r#"{"members": []}"#,
        )
        .await,
        200,
        "clear",
    );
    expect(
        &call(
            &app,
            Some("mia"),
            "GET",
            &format!("/container/{ORG}/secret"),
            "",
        )
        .await,
        200,
        "mia reads secret",
    );
}
