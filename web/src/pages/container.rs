//! A container's page: description, the `docker pull` line, tags, labels, Dockerfile.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bioshadock_core::Container;

use super::format::{ago, count, size};
use super::viewer::{Nav, Viewer};
use super::{PageError, render};
use crate::error::ApiError;
use crate::extract::ContainerId;
use crate::manage;
use crate::markdown;
use crate::state::AppState;
use crate::views::pull_command;

struct TagRow {
    name: String,
    digest: String,
    short_digest: String,
    size: String,
    platforms: String,
    pushed: String,
    pushed_iso: String,
}

#[derive(Template)]
#[template(path = "container.html")]
struct ContainerPage {
    nav: Nav,
    /// The viewer may open the settings page.
    can_edit: bool,
    private: bool,
    id: String,
    namespace: String,
    name: String,
    owner: String,
    description_html: String,
    pull_command: String,
    tags: Vec<TagRow>,
    labels: Vec<(String, String)>,
    dockerfile: Option<String>,
    git: Option<String>,
    pulls: String,
    updated: String,
    updated_iso: String,
    created: String,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
) -> Result<Response, PageError> {
    let ContainerId(id) = id?;
    let (container, rights) = manage::visible(&state, &viewer.principal, &id).await?;
    let mut page = view(&container, &state.settings.pull_host);
    page.nav = viewer.nav;
    page.can_edit = rights.edit;
    Ok(render(StatusCode::OK, &page))
}

fn view(c: &Container, pull_host: &str) -> ContainerPage {
    ContainerPage {
        nav: Nav::default(),
        can_edit: false,
        private: !c.visibility.is_public(),
        id: c.id.to_string(),
        namespace: c.id.namespace().to_owned(),
        name: c.id.short_name().to_owned(),
        owner: c.owner.clone(),
        description_html: markdown::render(&c.description),
        pull_command: pull_command(pull_host, c),
        tags: c
            .tags
            .iter()
            .map(|t| TagRow {
                name: t.name.to_string(),
                digest: t.digest.clone(),
                short_digest: t.digest.chars().take(19).collect(),
                size: size(t.size),
                platforms: t.platforms.join(", "),
                pushed: ago(t.pushed_at),
                pushed_iso: t.pushed_at.to_rfc3339(),
            })
            .collect(),
        labels: c
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        dockerfile: c.dockerfile.clone(),
        git: c.git.clone(),
        pulls: count(c.pulls),
        updated: ago(c.updated_at),
        updated_iso: c.updated_at.to_rfc3339(),
        created: c.created_at.format("%Y-%m-%d").to_string(),
    }
}
