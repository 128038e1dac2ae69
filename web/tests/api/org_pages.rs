//! The organisation pages and the account page's organisations and robots, as a browser
//! session uses them: forms with CSRF tokens, errors shown on the page, tokens shown once, and
//! members, teams and private containers shown only to those who may see them.

use axum::http::header;
use bioshadock_core::accounts::Role;

use crate::support::*;

const PASSWORD: &str = "a long password";

async fn app() -> TestApp {
    let app = TestApp::new().await;
    for name in ["olga", "mia", "mallory"] {
        app.user(name, Role::User, PASSWORD).await;
    }
    app
}

fn location(response: &TestResponse) -> String {
    response
        .headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_owner_runs_an_organisation_from_its_pages() {
    let app = app().await;
    let mut olga = app.login("olga", PASSWORD).await;
    olga.get("/account").await;
    let csrf = olga.csrf.clone();
    let created = olga
        .post_form("/account/orgs", &format!("csrf={csrf}&name=genomics-core"))
        .await;
    assert_eq!(created.status.as_u16(), 303, "{}", created.body);
    assert_eq!(location(&created), "/org/genomics-core/settings");
    let taken = olga
        .post_form("/account/orgs", &format!("csrf={csrf}&name=olga"))
        .await;
    assert_eq!(taken.status.as_u16(), 409);
    assert!(taken.body.contains("is taken"), "{}", taken.body);
    let account = olga.get("/account").await;
    assert!(
        account
            .body
            .contains(r#"<a href="/org/genomics-core">genomics-core</a>"#)
    );

    let settings = "/org/genomics-core/settings";
    for (path, form) in [
        ("member", "user=mia&role=member"),
        ("team", "name=readers&permission=read"),
    ] {
        let done = olga
            .post_form(
                &format!("{settings}/{path}"),
                &format!("csrf={csrf}&{form}"),
            )
            .await;
        assert_eq!(done.status.as_u16(), 303, "{path}: {}", done.body);
    }
    let joined = olga
        .post_form(
            &format!("{settings}/teams/readers/add-member"),
            &format!("csrf={csrf}&user=mia"),
        )
        .await;
    assert_eq!(joined.status.as_u16(), 303);
    let secret = olga
        .post_form(
            &format!("{settings}/teams/readers/repository"),
            &format!("csrf={csrf}&name=secret&permission=none"),
        )
        .await;
    assert_eq!(secret.status.as_u16(), 303);
    // A refusal is shown on the page with its status, and changes nothing.
    let unknown = olga
        .post_form(
            &format!("{settings}/member"),
            &format!("csrf={csrf}&user=nobody&role=member"),
        )
        .await;
    assert_eq!(unknown.status.as_u16(), 404);
    assert!(
        unknown.body.contains("there is no user `nobody`"),
        "{}",
        unknown.body
    );
    let last_owner = olga
        .post_form(
            &format!("{settings}/members/olga/remove"),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(last_owner.status.as_u16(), 409);
    // Without the session's token, nothing happens.
    let forged = olga
        .post_form(&format!("{settings}/member"), "user=mallory&role=owner")
        .await;
    assert_eq!(forged.status.as_u16(), 403);

    // A robot: its token shown once.
    let robot = olga
        .post_form(
            &format!("{settings}/robots"),
            &format!("csrf={csrf}&name=ci&permission=write&repositories=pipeline%2C+tool"),
        )
        .await;
    assert_eq!(robot.status.as_u16(), 201, "{}", robot.body);
    let token = robot
        .body
        .split(r#"<code id="new-token-value">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(token.starts_with("bsr_"), "{token}");
    let page = olga.get(settings).await;
    assert!(page.body.contains("genomics-core+ci"));
    assert!(page.body.contains("pipeline, tool"));
    assert!(!page.body.contains(&token), "the token is shown once");
    let disabled = olga
        .post_form(
            &format!("{settings}/robots/ci/disable"),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(disabled.status.as_u16(), 303);

    // Containers and members: mia sees what her team gives her, mallory the public ones.
    app.add(&[
        private("genomics-core/tool", 1),
        private("genomics-core/secret", 2),
        public("genomics-core/open", 3),
    ])
    .await;
    let mut mia = app.login("mia", PASSWORD).await;
    let seen = mia.get("/org/genomics-core").await;
    assert_eq!(seen.status.as_u16(), 200);
    assert!(seen.body.contains("/r/genomics-core/tool"));
    assert!(!seen.body.contains("/r/genomics-core/secret"));
    assert!(seen.body.contains(r#"id="org-members""#));
    assert!(!seen.body.contains(r#"id="org-settings""#));
    assert_eq!(mia.get(settings).await.status.as_u16(), 403);
    let container = mia.get("/r/genomics-core/tool").await;
    assert!(
        container
            .body
            .contains(r#"<a href="/org/genomics-core" id="namespace-link">"#),
        "a container links to its organisation"
    );
    let mut mallory = app.login("mallory", PASSWORD).await;
    let seen = mallory.get("/org/genomics-core").await;
    assert!(seen.body.contains("/r/genomics-core/open"));
    assert!(!seen.body.contains("/r/genomics-core/tool"));
    assert!(!seen.body.contains(r#"id="org-members""#));
    assert_eq!(app.get("/org/nothing").await.status.as_u16(), 404);
}

#[tokio::test]
async fn a_user_keeps_robots_on_the_account_page() {
    let app = app().await;
    app.add(&[private("mia/data", 1)]).await;
    let mut mia = app.login("mia", PASSWORD).await;
    mia.get("/account").await;
    let csrf = mia.csrf.clone();
    let bad = mia
        .post_form(
            "/account/robots",
            &format!("csrf={csrf}&name=Laptop&permission=read"),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 400);
    let made = mia
        .post_form(
            "/account/robots",
            &format!("csrf={csrf}&name=laptop&permission=read&expires_in_days=30"),
        )
        .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.body);
    assert!(made.body.contains("mia+laptop"));
    let renewed = mia
        .post_form("/account/robots/laptop/token", &format!("csrf={csrf}"))
        .await;
    assert_eq!(renewed.status.as_u16(), 201);
    assert!(renewed.body.contains(r#"id="new-token-value">bsr_"#));
    let deleted = mia
        .post_form("/account/robots/laptop/delete", &format!("csrf={csrf}"))
        .await;
    assert_eq!(deleted.status.as_u16(), 303);
    assert!(!mia.get("/account").await.body.contains("mia+laptop"));
}
