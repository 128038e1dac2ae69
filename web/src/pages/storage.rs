//! The storage page (administrators): what each namespace holds in the registry, largest
//! first, and when the registry last collected its garbage.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::format::size;
use super::viewer::{Nav, Viewer, login_redirect};
use super::{PageError, render};
use crate::services::storage;
use crate::state::AppState;

struct Row {
    namespace: String,
    containers: u64,
    tags: u64,
    images: u64,
    size: String,
}

#[derive(Template)]
#[template(path = "admin_storage.html")]
struct StoragePage {
    nav: Nav,
    rows: Vec<Row>,
    total: String,
    /// When garbage was last collected, and what it freed; `None`: never here.
    last_gc: Option<String>,
}

/// `GET /admin/storage`.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    if viewer.signed_in().is_none() {
        return Ok(login_redirect("/admin/storage"));
    }
    let usage = storage::per_namespace(&state, &viewer.principal).await?;
    let total: u64 = usage.iter().map(|u| u.bytes).sum();
    let rows = usage
        .into_iter()
        .map(|u| Row {
            namespace: u.namespace,
            containers: u.containers,
            tags: u.tags,
            images: u.images,
            size: size(u.bytes),
        })
        .collect();
    let last_gc = storage::last_gc(&state).map(|gc| {
        let freed = gc.bytes_before.saturating_sub(gc.bytes_after);
        format!(
            "{}{}: {} before, {} after ({} freed)",
            gc.finished_at.format("%Y-%m-%d %H:%M UTC"),
            if gc.ok { "" } else { " (it failed)" },
            size(gc.bytes_before),
            size(gc.bytes_after),
            size(freed)
        )
    });
    let page = StoragePage {
        nav: viewer.nav.clone(),
        rows,
        total: size(total),
        last_gc,
    };
    Ok(render(StatusCode::OK, &page))
}
