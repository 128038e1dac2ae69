//! The search results page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::format::{Card, Pager, count, encode_query};
use super::viewer::{Nav, Viewer};
use super::{PageError, render};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::services::paging::Paging;
use crate::services::search::search_containers;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Params {
    #[serde(default)]
    q: String,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    nav: Nav,
    query: String,
    total: u64,
    total_text: String,
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
    let (total, containers) =
        search_containers(&state, &viewer.principal, &params.q, paging).await?;
    let page = SearchPage {
        nav: viewer.nav,
        total,
        total_text: count(total),
        cards: containers.iter().map(Card::new).collect(),
        pager: Pager {
            page: u64::from(paging.page),
            pages: paging.page_count(total),
            base: format!("/search?q={}&page=", encode_query(&params.q)),
        },
        query: params.q,
    };
    Ok(render(StatusCode::OK, &page))
}
