//! Server-rendered pages (askama). Every page works without JavaScript.

mod account;
mod admin;
mod audit;
mod builds;
mod catalogue;
mod container;
mod format;
mod login;
mod new;
mod oidc;
mod orgs;
mod retention;
mod rules;
mod search;
mod settings;
mod storage;
pub(crate) mod viewer;
mod webhooks;

use askama::Template;
use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(catalogue::page))
        .route("/search", get(search::page))
        .route("/r/{namespace}/{name}", get(container::page))
        .route(
            "/r/{namespace}/{name}/settings",
            get(settings::page).post(settings::save),
        )
        .route("/r/{namespace}/{name}/build", post(builds::queue))
        .route("/r/{namespace}/{name}/builds/{build}", get(builds::page))
        .route(
            "/r/{namespace}/{name}/builds/{build}/cancel",
            post(builds::cancel),
        )
        .route("/r/{namespace}/{name}/members", post(settings::members))
        .route("/r/{namespace}/{name}/policy", post(settings::policy))
        .route(
            "/r/{namespace}/{name}/build-settings",
            post(settings::build_settings),
        )
        .route(
            "/r/{namespace}/{name}/retention",
            get(retention::page).post(retention::post),
        )
        .route(
            "/r/{namespace}/{name}/webhooks",
            get(webhooks::container_page).post(webhooks::container_post),
        )
        .route(
            "/org/{org}/webhooks",
            get(webhooks::org_page).post(webhooks::org_post),
        )
        .route("/r/{namespace}/{name}/delete", post(settings::delete))
        .route(
            "/r/{namespace}/{name}/tags/{tag}/delete",
            post(settings::delete_tag),
        )
        .route("/login", get(login::form).post(login::submit))
        .route("/auth/oidc/{id}/login", get(oidc::start))
        .route("/auth/oidc/{id}/callback", get(oidc::callback))
        .route("/logout", post(login::logout))
        .route("/account", get(account::page))
        .route("/account/keys", post(account::create_key))
        .route("/account/keys/{id}/revoke", post(account::revoke_key))
        .route("/account/orgs", post(account::create_org))
        .route("/account/robots", post(account::create_robot))
        .route(
            "/account/robots/{robot}/{action}",
            post(account::robot_action),
        )
        .route("/new", get(new::form).post(new::submit))
        .route("/org/{org}", get(orgs::page))
        .route("/org/{org}/settings", get(orgs::settings))
        .route("/org/{org}/settings/robots", post(orgs::create_robot))
        .route("/org/{org}/settings/{action}", post(orgs::change))
        .route(
            "/org/{org}/settings/members/{user}/remove",
            post(orgs::remove_member),
        )
        .route(
            "/org/{org}/settings/teams/{team}/{action}",
            post(orgs::team_change),
        )
        .route(
            "/org/{org}/settings/robots/{robot}/{action}",
            post(orgs::robot_action),
        )
        .route("/org/{org}/delete", post(orgs::delete))
        .route("/admin", get(admin::page))
        .route("/admin/rules", get(rules::page).post(rules::save))
        .route("/admin/audit-log", get(audit::page))
        .route("/admin/storage", get(storage::page))
        .route("/admin/new-user", post(admin::create))
        .route("/admin/user/{name}", post(admin::change))
        .route("/admin/registry/check", post(admin::check_registry))
        // Docker clients may ask for the realm with a trailing slash.
        .route(
            "/v2/token/",
            get(crate::registry::token::get_token).post(crate::registry::token::post_token),
        )
}

/// Renders a template; a rendering failure is logged and becomes the generic 500 page.
fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Html(FALLBACK_500)).into_response()
        }
    }
}

/// The last resort when even the error template cannot render.
const FALLBACK_500: &str = "<!doctype html><title>Error</title><h1>Something went wrong</h1><p>The server log has the details.</p>";

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: viewer::Nav,
    status: u16,
    title: String,
    message: String,
}

/// An error shown as a page, with the same status an API caller would get.
pub(crate) struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl From<bioshadock_core::PortError> for PageError {
    fn from(err: bioshadock_core::PortError) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status;
        let title = match status {
            StatusCode::NOT_FOUND => "Not found".to_owned(),
            StatusCode::BAD_REQUEST => "That request does not look right".to_owned(),
            StatusCode::UNAUTHORIZED => "Please sign in".to_owned(),
            StatusCode::FORBIDDEN => "Not allowed".to_owned(),
            s if s.is_server_error() => "Something went wrong on our side".to_owned(),
            s => s.canonical_reason().unwrap_or("Error").to_owned(),
        };
        render(
            status,
            &ErrorPage {
                nav: viewer::Nav::default(),
                status: status.as_u16(),
                title,
                message: self.0.message,
            },
        )
    }
}

/// Unknown paths: a JSON error for API callers, the 404 page for people.
pub async fn not_found(request: Request) -> Response {
    let path = request.uri().path();
    let wants_json = path.starts_with("/container")
        || path.starts_with("/api/")
        || path.starts_with("/admin/users")
        || path.starts_with("/user")
        || path.starts_with("/build")
        || request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| {
                accept.contains("application/json") && !accept.contains("text/html")
            });
    let error = ApiError::not_found(format!("nothing at `{path}`"));
    if wants_json {
        error.into_response()
    } else {
        PageError(error).into_response()
    }
}
