//! The catalogue: public containers, newest first, page by page.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use bioshadock_core::permissions::Principal;
use serde::Deserialize;

use super::PageError;
use super::format::{Card, Pager, count};
use super::viewer::{Nav, Viewer};
use crate::cache::Key;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::services::paging::Paging;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Params {
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "catalogue.html")]
struct CataloguePage {
    nav: Nav,
    total: String,
    cards: Vec<Card>,
    pager: Pager,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Result<ApiQuery<Params>, ApiError>,
) -> Result<Response, PageError> {
    let ApiQuery(params) = params?;
    let per_page = state.settings.page_size as u32;
    let paging = Paging::new(params.page, Some(per_page), per_page)?;
    // Everyone anonymous gets the same page: the first few are micro-cached (`crate::cache`).
    // A signed-in viewer sees private containers and their own header, so never.
    let key = Key::catalogue_page(paging.page)
        .filter(|_| matches!(viewer.principal, Principal::Anonymous));
    let html = match key {
        Some(key) => {
            let build = build(&state, &viewer, &paging);
            state.cache.get_or_build(key, build).await?
        }
        None => build(&state, &viewer, &paging).await?,
    };
    Ok((StatusCode::OK, Html(html)).into_response())
}

async fn build(state: &AppState, viewer: &Viewer, paging: &Paging) -> Result<Bytes, PageError> {
    let audience = viewer.principal.audience();
    let (total, containers) = tokio::try_join!(
        state.store.count(&audience),
        state.store.list(&audience, paging.offset(), paging.limit())
    )?;
    let page = CataloguePage {
        nav: viewer.nav.clone(),
        total: count(total),
        cards: containers.iter().map(Card::new).collect(),
        pager: Pager {
            page: u64::from(paging.page),
            pages: paging.page_count(total),
            base: "/?page=".to_owned(),
        },
    };
    page.render().map(Bytes::from).map_err(|e| {
        tracing::error!(error = %e, "template rendering failed");
        PageError(ApiError::internal())
    })
}
