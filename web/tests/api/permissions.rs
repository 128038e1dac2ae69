//! The permission matrix: who may see and change a public and a private container, through
//! the JSON API (API keys with every scope) and through the pages (browser sessions).
//!
//! Principals: anonymous, another user (mallory), a pull member (pam), a push member (pete),
//! the owner (olivia) and an admin (root). Each table row is one cell of the matrix.

use axum::body::Body;
use axum::http::{Method, Request};
use bioshadock_core::accounts::{Role, UserName};
use bioshadock_core::model::{Access, Member};
use bioshadock_core::{Container, PortError, RepoName, Visibility};

use crate::support::*;

const PASSWORD: &str = "correct horse battery";
const OPEN: &str = "olivia/open";
const CLOSED: &str = "olivia/closed";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anon,
    Mallory,
    Pam,
    Pete,
    Olivia,
    Root,
}
use Who::*;

impl Who {
    fn name(self) -> Option<&'static str> {
        match self {
            Anon => None,
            Mallory => Some("mallory"),
            Pam => Some("pam"),
            Pete => Some("pete"),
            Olivia => Some("olivia"),
            Root => Some("root"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vis {
    Pub,
    Priv,
}
use Vis::*;

impl Vis {
    fn id(self) -> &'static str {
        match self {
            Pub => OPEN,
            Priv => CLOSED,
        }
    }
}

/// A change, through the API or a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    /// Edit the description.
    Describe,
    /// Flip the visibility.
    Visibility,
    /// Add or replace members.
    Members,
    Delete,
}
use Act::*;

struct World {
    app: TestApp,
    keys: Vec<(Who, String)>,
}

impl World {
    fn key(&self, who: Who) -> Option<&str> {
        self.keys
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, k)| k.as_str())
    }

    async fn api(&self, who: Who, method: Method, uri: &str, body: Option<&str>) -> TestResponse {
        let mut request = Request::builder().method(method).uri(uri);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
            .unwrap();
        match self.key(who) {
            Some(key) => self.app.with_key(key, request).await,
            None => self.app.send(request).await,
        }
    }

    async fn stored(&self, id: &str) -> Option<Container> {
        match self
            .app
            .backends
            .store
            .get(&RepoName::parse(id).unwrap())
            .await
        {
            Ok(c) => Some(c),
            Err(PortError::NotFound) => None,
            Err(e) => panic!("{e}"),
        }
    }

    /// A browser signed in as `who`, or an anonymous one holding a session and CSRF token.
    async fn browser(&self, who: Who) -> Browser<'_> {
        match who.name() {
            Some(name) => {
                let mut browser = self.app.login(name, PASSWORD).await;
                browser.get("/account").await;
                assert!(!browser.csrf.is_empty(), "{who:?} has a CSRF token");
                browser
            }
            None => {
                let mut browser = self.app.browser();
                browser.get("/login").await;
                assert!(!browser.csrf.is_empty(), "the login page hands out a token");
                browser
            }
        }
    }
}

fn member(name: &str, access: Access) -> Member {
    Member {
        user: bioshadock_core::MemberName::from(UserName::parse(name).unwrap()),
        access,
    }
}

/// olivia's public and private containers, both with pam (pull) and pete (push) as members.
async fn world() -> World {
    let mut open = container(OPEN, Visibility::Public, 1, "zebrafish open tool");
    let mut closed = container(CLOSED, Visibility::Private, 2, "zebrafish closed tool");
    for c in [&mut open, &mut closed] {
        c.members = vec![member("pam", Access::Pull), member("pete", Access::Push)];
    }
    let app = TestApp::with(vec![open, closed]).await;
    let mut keys = Vec::new();
    for who in [Mallory, Pam, Pete, Olivia, Root] {
        let name = who.name().unwrap();
        let role = if who == Root { Role::Admin } else { Role::User };
        app.user(name, role, PASSWORD).await;
        keys.push((who, app.key(name, "read,build,push").await));
    }
    World { app, keys }
}

/// Who sees which container: in every list, in search and its total, by id, and on pages.
const SEES: &[(Who, Vis, bool)] = &[
    (Anon, Pub, true),
    (Anon, Priv, false),
    (Mallory, Pub, true),
    (Mallory, Priv, false),
    (Pam, Pub, true),
    (Pam, Priv, true),
    (Pete, Pub, true),
    (Pete, Priv, true),
    (Olivia, Pub, true),
    (Olivia, Priv, true),
    (Root, Pub, true),
    (Root, Priv, true),
];

fn visible_count(who: Who) -> usize {
    SEES.iter()
        .filter(|(w, _, sees)| *w == who && *sees)
        .count()
}

#[tokio::test]
async fn who_sees_what_through_the_api() {
    let world = world().await;
    for &(who, vis, sees) in SEES {
        let id = vis.id();
        let cell = format!("{who:?} × {vis:?}");
        let one = world
            .api(who, Method::GET, &format!("/container/{id}"), None)
            .await;
        if sees {
            assert_eq!(one.status, 200, "{cell}: {}", one.body);
            assert_eq!(one.json()["id"], id, "{cell}");
        } else {
            one.assert_error(404, "not_found");
        }
        let all = world.api(who, Method::GET, "/container/all", None).await;
        assert_eq!(all.status, 200, "{cell}");
        assert_eq!(
            ids(&all.json()).contains(&id.to_owned()),
            sees,
            "{cell}: all"
        );
        assert_eq!(
            all.json().as_array().unwrap().len(),
            visible_count(who),
            "{cell}: all"
        );
        let latest = world.api(who, Method::GET, "/container/latest", None).await;
        assert_eq!(latest.status, 200, "{cell}");
        assert_eq!(
            ids(&latest.json()).contains(&id.to_owned()),
            sees,
            "{cell}: latest"
        );
        let search = world
            .api(who, Method::GET, "/container/search?q=zebrafish", None)
            .await;
        assert_eq!(search.status, 200, "{cell}: {}", search.body);
        let body = search.json();
        assert_eq!(
            ids(&body["results"]).contains(&id.to_owned()),
            sees,
            "{cell}: search {body}"
        );
        assert_eq!(body["total"], visible_count(who), "{cell}: search total");
        let tags = world
            .api(who, Method::GET, &format!("/container/tags/{id}"), None)
            .await;
        assert_eq!(tags.status, if sees { 200 } else { 404 }, "{cell}: tags");
    }
}

#[tokio::test]
async fn who_sees_what_on_the_pages() {
    let world = world().await;
    for &(who, vis, sees) in SEES {
        let id = vis.id();
        let cell = format!("{who:?} × {vis:?}");
        let mut browser = world.browser(who).await;
        let page = browser.get(&format!("/r/{id}")).await;
        assert_eq!(
            page.status,
            if sees { 200 } else { 404 },
            "{cell}: container page"
        );
        assert_eq!(
            page.body.contains("zebrafish"),
            sees,
            "{cell}: description shown"
        );
        let catalogue = browser.get("/").await;
        assert_eq!(catalogue.status, 200, "{cell}");
        assert_eq!(catalogue.body.contains(id), sees, "{cell}: catalogue");
        let search = browser.get("/search?q=zebrafish").await;
        assert_eq!(search.status, 200, "{cell}");
        assert_eq!(search.body.contains(id), sees, "{cell}: search page");
    }
}

/// API writes: the expected status of each change. Refusals: 401 anonymous, 404 when the
/// container is invisible to the caller, 403 when visible but not allowed.
const API_WRITES: &[(Who, Vis, Act, u16)] = &[
    (Anon, Pub, Describe, 401),
    (Anon, Pub, Visibility, 401),
    (Anon, Pub, Members, 401),
    (Anon, Pub, Delete, 401),
    (Anon, Priv, Describe, 401),
    (Anon, Priv, Visibility, 401),
    (Anon, Priv, Members, 401),
    (Anon, Priv, Delete, 401),
    (Mallory, Pub, Describe, 403),
    (Mallory, Pub, Visibility, 403),
    (Mallory, Pub, Members, 403),
    (Mallory, Pub, Delete, 403),
    (Mallory, Priv, Describe, 404),
    (Mallory, Priv, Visibility, 404),
    (Mallory, Priv, Members, 404),
    (Mallory, Priv, Delete, 404),
    (Pam, Pub, Describe, 403),
    (Pam, Pub, Visibility, 403),
    (Pam, Pub, Members, 403),
    (Pam, Pub, Delete, 403),
    (Pam, Priv, Describe, 403),
    (Pam, Priv, Visibility, 403),
    (Pam, Priv, Members, 403),
    (Pam, Priv, Delete, 403),
    (Pete, Pub, Describe, 200),
    (Pete, Pub, Visibility, 403),
    (Pete, Pub, Members, 403),
    (Pete, Pub, Delete, 403),
    (Pete, Priv, Describe, 200),
    (Pete, Priv, Visibility, 403),
    (Pete, Priv, Members, 403),
    (Pete, Priv, Delete, 403),
    (Olivia, Pub, Describe, 200),
    (Olivia, Pub, Visibility, 200),
    (Olivia, Pub, Members, 200),
    (Olivia, Pub, Delete, 204),
    (Olivia, Priv, Describe, 200),
    (Olivia, Priv, Visibility, 200),
    (Olivia, Priv, Members, 200),
    (Olivia, Priv, Delete, 204),
    (Root, Pub, Describe, 200),
    (Root, Pub, Visibility, 200),
    (Root, Pub, Members, 200),
    (Root, Pub, Delete, 204),
    (Root, Priv, Describe, 200),
    (Root, Priv, Visibility, 200),
    (Root, Priv, Members, 200),
    (Root, Priv, Delete, 204),
];

fn error_code(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        other => panic!("no error code for {other}"),
    }
}

/// Whether the field `act` touches differs between `before` and `after`.
fn changed(act: Act, before: &Container, after: Option<&Container>) -> bool {
    let Some(after) = after else {
        return true;
    };
    match act {
        Describe => before.description != after.description,
        Visibility => before.visibility != after.visibility,
        Members => before.members != after.members,
        Delete => false,
    }
}

#[tokio::test]
async fn who_changes_what_through_the_api() {
    let mut world = world().await;
    for &(who, vis, act, expected) in API_WRITES {
        let id = vis.id();
        let cell = format!("{who:?} × {vis:?} × {act:?}");
        let before = world.stored(id).await.unwrap();
        let uri = format!("/container/{id}");
        let response = match act {
            Describe => {
                world
                    .api(
                        who,
                        Method::PATCH,
                        &uri,
                        Some(r#"{"description":"changed by the matrix"}"#),
                    )
                    .await
            }
            Visibility => {
                let flip = format!(r#"{{"visible":{}}}"#, vis == Priv);
                world.api(who, Method::PATCH, &uri, Some(&flip)).await
            }
            Members => {
                world
                    .api(
                        who,
                        Method::PUT,
                        &format!("/container/members/{id}"),
                        Some(r#"{"members":[{"user":"mallory","access":"pull"}]}"#),
                    )
                    .await
            }
            Delete => world.api(who, Method::DELETE, &uri, None).await,
        };
        let after = world.stored(id).await;
        if expected < 300 {
            assert_eq!(
                response.status.as_u16(),
                expected,
                "{cell}: {}",
                response.body
            );
            assert!(changed(act, &before, after.as_ref()), "{cell}: applied");
            if act == Delete {
                assert!(after.is_none(), "{cell}: deleted");
            }
            // Start the next cell from the original state.
            world = self::world().await;
        } else {
            response.assert_error(expected, error_code(expected));
            assert_eq!(after.as_ref(), Some(&before), "{cell}: nothing changed");
        }
    }
}

/// Page writes: the settings page and its posts. `changed` says whether the field moved. A push
/// member is not offered the visibility control, and a crafted post of it is refused.
const PAGE_WRITES: &[(Who, Vis, Act, u16, bool)] = &[
    (Anon, Pub, Describe, 401, false),
    (Anon, Pub, Visibility, 401, false),
    (Anon, Pub, Members, 401, false),
    (Anon, Pub, Delete, 401, false),
    (Anon, Priv, Describe, 404, false),
    (Anon, Priv, Visibility, 404, false),
    (Anon, Priv, Members, 404, false),
    (Anon, Priv, Delete, 401, false),
    (Mallory, Pub, Describe, 403, false),
    (Mallory, Pub, Visibility, 403, false),
    (Mallory, Pub, Members, 403, false),
    (Mallory, Pub, Delete, 403, false),
    (Mallory, Priv, Describe, 404, false),
    (Mallory, Priv, Visibility, 404, false),
    (Mallory, Priv, Members, 404, false),
    (Mallory, Priv, Delete, 404, false),
    (Pam, Pub, Describe, 403, false),
    (Pam, Pub, Visibility, 403, false),
    (Pam, Pub, Members, 403, false),
    (Pam, Pub, Delete, 403, false),
    (Pam, Priv, Describe, 403, false),
    (Pam, Priv, Visibility, 403, false),
    (Pam, Priv, Members, 403, false),
    (Pam, Priv, Delete, 403, false),
    (Pete, Pub, Describe, 303, true),
    (Pete, Pub, Visibility, 403, false),
    (Pete, Pub, Members, 403, false),
    (Pete, Pub, Delete, 403, false),
    (Pete, Priv, Describe, 303, true),
    (Pete, Priv, Visibility, 403, false),
    (Pete, Priv, Members, 403, false),
    (Pete, Priv, Delete, 403, false),
    (Olivia, Pub, Describe, 303, true),
    (Olivia, Pub, Visibility, 303, true),
    (Olivia, Pub, Members, 303, true),
    (Olivia, Pub, Delete, 303, true),
    (Olivia, Priv, Describe, 303, true),
    (Olivia, Priv, Visibility, 303, true),
    (Olivia, Priv, Members, 303, true),
    (Olivia, Priv, Delete, 303, true),
    (Root, Pub, Describe, 303, true),
    (Root, Pub, Visibility, 303, true),
    (Root, Pub, Members, 303, true),
    (Root, Pub, Delete, 303, true),
    (Root, Priv, Describe, 303, true),
    (Root, Priv, Visibility, 303, true),
    (Root, Priv, Members, 303, true),
    (Root, Priv, Delete, 303, true),
];

#[tokio::test]
async fn who_changes_what_on_the_pages() {
    let mut world = world().await;
    for &(who, vis, act, expected, applies) in PAGE_WRITES {
        let id = vis.id();
        let cell = format!("{who:?} × {vis:?} × {act:?}");
        let before = world.stored(id).await.unwrap();
        let (status, body) = {
            let mut browser = world.browser(who).await;
            let csrf = browser.csrf.clone();
            let (uri, form) = match act {
                Describe => (
                    format!("/r/{id}/settings"),
                    format!("csrf={csrf}&action=save&description=changed+by+a+page"),
                ),
                Visibility => (
                    format!("/r/{id}/settings"),
                    format!(
                        "csrf={csrf}&action=save&visibility={}",
                        if vis == Pub { "private" } else { "public" }
                    ),
                ),
                Members => (
                    format!("/r/{id}/members"),
                    format!("csrf={csrf}&action=add&user=mallory&access=pull"),
                ),
                Delete => (format!("/r/{id}/delete"), format!("csrf={csrf}")),
            };
            let response = browser.post_form(&uri, &form).await;
            (response.status.as_u16(), response.body)
        };
        assert_eq!(status, expected, "{cell}: {body}");
        let after = world.stored(id).await;
        assert_eq!(changed(act, &before, after.as_ref()), applies, "{cell}");
        if status >= 400 {
            assert_eq!(after.as_ref(), Some(&before), "{cell}: nothing changed");
        }
        if applies || status == 303 {
            world = self::world().await;
        }
    }
}

/// The settings page itself: offered to those who may edit, refused to the others.
const SETTINGS_PAGE: &[(Who, Vis, u16)] = &[
    (Anon, Pub, 401),
    (Anon, Priv, 404),
    (Mallory, Pub, 403),
    (Mallory, Priv, 404),
    (Pam, Pub, 403),
    (Pam, Priv, 403),
    (Pete, Pub, 200),
    (Pete, Priv, 200),
    (Olivia, Pub, 200),
    (Olivia, Priv, 200),
    (Root, Pub, 200),
    (Root, Priv, 200),
];

#[tokio::test]
async fn who_opens_the_settings_page() {
    let world = world().await;
    for &(who, vis, expected) in SETTINGS_PAGE {
        let id = vis.id();
        let mut browser = world.browser(who).await;
        let page = browser.get(&format!("/r/{id}/settings")).await;
        assert_eq!(page.status, expected, "{who:?} × {vis:?}: {}", page.body);
        if expected == 200 {
            // Only managers are offered the visibility control and the members list.
            let manages = matches!(who, Olivia | Root);
            assert_eq!(
                page.body.contains("name=\"visibility\""),
                manages,
                "{who:?} × {vis:?}: visibility control"
            );
        }
    }
}

#[tokio::test]
async fn a_push_member_cannot_list_members_but_the_owner_can() {
    let world = world().await;
    for (who, vis, expected) in [
        (Anon, Pub, 401),
        (Anon, Priv, 401),
        (Mallory, Pub, 403),
        (Mallory, Priv, 404),
        (Pam, Pub, 403),
        (Pam, Priv, 403),
        (Pete, Pub, 403),
        (Pete, Priv, 403),
        (Olivia, Pub, 200),
        (Olivia, Priv, 200),
        (Root, Pub, 200),
        (Root, Priv, 200),
    ] {
        let uri = format!("/container/members/{}", vis.id());
        let response = world.api(who, Method::GET, &uri, None).await;
        if expected == 200 {
            assert_eq!(response.status, 200, "{who:?} × {vis:?}");
            assert_eq!(
                response.json(),
                serde_json::json!([{"user":"pam","access":"pull"},{"user":"pete","access":"push"}])
            );
        } else {
            response.assert_error(expected, error_code(expected));
        }
    }
}
