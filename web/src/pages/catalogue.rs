//! The catalogue: public containers, newest first, page by page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::format::{Card, Pager, count};
use super::viewer::{Nav, Viewer};
use super::{PageError, render};
use crate::api::paging::Paging;
use crate::error::ApiError;
use crate::extract::ApiQuery;
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
    let audience = viewer.principal.audience();
    let (total, containers) = tokio::try_join!(
        state.store.count(&audience),
        state.store.list(&audience, paging.offset(), paging.limit())
    )?;
    let page = CataloguePage {
        nav: viewer.nav,
        total: count(total),
        cards: containers.iter().map(Card::new).collect(),
        pager: Pager {
            page: u64::from(paging.page),
            pages: paging.page_count(total),
            base: "/?page=".to_owned(),
        },
    };
    Ok(render(StatusCode::OK, &page))
}
