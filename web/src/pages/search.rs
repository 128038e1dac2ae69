//! The search results page: the hits in the chosen order, and a filter sidebar of facet
//! counts whose links add or remove one filter and keep the rest of the query (plain links:
//! usable without JavaScript).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bioshadock_core::query::{Facet, FacetCounts, SearchQuery, Sort, tokens};
use serde::Deserialize;

use super::format::{Card, Pager, count, encode_query};
use super::viewer::{Nav, Viewer};
use super::{PageError, render};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::services::paging::Paging;
use crate::services::search::search_catalogue;
use crate::state::AppState;
use crate::views::facet_label;

#[derive(Deserialize)]
pub struct Params {
    #[serde(default)]
    q: String,
    page: Option<u32>,
    sort: Option<String>,
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
    sorts: Vec<SortLink>,
    facets: Vec<FacetGroup>,
}

/// One order the hits can be shown in.
struct SortLink {
    label: &'static str,
    href: String,
    current: bool,
}

/// A facet of the sidebar.
struct FacetGroup {
    id: &'static str,
    title: &'static str,
    values: Vec<FacetLink>,
}

/// One value: a link that adds its filter, or (when the query has it) one that removes it.
struct FacetLink {
    label: String,
    count: String,
    href: String,
    active: bool,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Result<ApiQuery<Params>, ApiError>,
) -> Result<Response, PageError> {
    let ApiQuery(params) = params?;
    let per_page = state.settings.page_size as u32;
    let paging = Paging::new(params.page, Some(per_page), per_page)?;
    let sort: Sort = match params.sort.as_deref() {
        None | Some("") => Sort::default(),
        Some(raw) => raw.parse().map_err(ApiError::bad_request)?,
    };
    let mut query = SearchQuery::parse(&params.q).map_err(ApiError::from)?;
    query.sort = sort;
    query.facets = Facet::ALL.to_vec();
    let found = search_catalogue(&state, &viewer.principal, &query, paging).await?;
    let typed = tokens(&params.q).map_err(ApiError::from)?;
    let page = SearchPage {
        nav: viewer.nav,
        total: found.total,
        total_text: count(found.total),
        cards: found.containers.iter().map(Card::new).collect(),
        pager: Pager {
            page: u64::from(paging.page),
            pages: paging.page_count(found.total),
            base: format!("{}&page=", search_href(&params.q, sort)),
        },
        sorts: Sort::ALL
            .into_iter()
            .map(|s| SortLink {
                label: sort_label(s),
                href: search_href(&params.q, s),
                current: s == sort,
            })
            .collect(),
        facets: found
            .facets
            .iter()
            .filter(|f| f.values.iter().any(|v| v.count > 0))
            .map(|f| facet_group(f, &typed, sort))
            .collect(),
        query: params.q,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The search page for `q` in order `sort` (the default order is left out of the link).
fn search_href(q: &str, sort: Sort) -> String {
    let mut href = format!("/search?q={}", encode_query(q));
    if sort != Sort::default() {
        href.push_str("&sort=");
        href.push_str(sort.as_str());
    }
    href
}

fn sort_label(sort: Sort) -> &'static str {
    match sort {
        Sort::Relevance => "Best match",
        Sort::Pulls => "Most pulled",
        Sort::Updated => "Recently updated",
        Sort::Name => "Name",
    }
}

fn facet_title(facet: Facet) -> &'static str {
    match facet {
        Facet::Namespace => "Namespace",
        Facet::Topic => "EDAM topic",
        Facet::Operation => "EDAM operation",
        Facet::License => "Licence",
        Facet::Automated => "Source",
        Facet::Updated => "Updated",
    }
}

fn facet_group(counted: &FacetCounts, typed: &[String], sort: Sort) -> FacetGroup {
    let facet = counted.facet;
    let values = counted
        .values
        .iter()
        .filter(|v| v.count > 0)
        .map(|v| {
            let filter = filter_token(facet, &v.value);
            // The typed tokens that already ask for this value (in any of its spellings).
            let same = |token: &String| same_filter(token, &filter);
            let active = typed.iter().any(same);
            let next: Vec<&str> = if active {
                typed
                    .iter()
                    .filter(|t| !same(t))
                    .map(String::as_str)
                    .collect()
            } else {
                typed
                    .iter()
                    .map(String::as_str)
                    .chain([filter.as_str()])
                    .collect()
            };
            FacetLink {
                label: facet_label(facet, &v.value),
                count: count(v.count),
                href: search_href(&next.join(" "), sort),
                active,
            }
        })
        .collect();
    FacetGroup {
        id: facet.as_str(),
        title: facet_title(facet),
        values,
    }
}

/// The filter that selects one facet value, quoted when it holds spaces.
fn filter_token(facet: Facet, value: &str) -> String {
    let value: String = value.chars().filter(|c| *c != '"').collect();
    if value.chars().any(char::is_whitespace) {
        format!("{}:\"{value}\"", facet.as_str())
    } else {
        format!("{}:{value}", facet.as_str())
    }
}

/// Whether a typed token is the same filter as `filter` once both are normalised
/// (`topic:"Sequence analysis"` is `topic:topic_0080`).
fn same_filter(token: &str, filter: &str) -> bool {
    let parsed = |text: &str| SearchQuery::parse(text).ok().map(|q| q.filters);
    match (parsed(token), parsed(filter)) {
        (Some(a), Some(b)) => !a.is_empty() && a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facet_links_add_or_remove_one_filter() {
        let typed = tokens(r#"bwa topic:"Sequence analysis" license:MIT"#).unwrap();
        let counted = FacetCounts {
            facet: Facet::Topic,
            values: vec![
                bioshadock_core::query::FacetValue {
                    value: "topic_0080".into(),
                    count: 3,
                },
                bioshadock_core::query::FacetValue {
                    value: "topic_0196".into(),
                    count: 1,
                },
            ],
        };
        let group = facet_group(&counted, &typed, Sort::Pulls);
        assert!(group.values[0].active);
        assert_eq!(
            group.values[0].href,
            "/search?q=bwa+license%3AMIT&sort=pulls"
        );
        assert!(!group.values[1].active);
        assert_eq!(
            group.values[1].href,
            "/search?q=bwa+topic%3A%22Sequence+analysis%22+license%3AMIT+topic%3Atopic_0196&sort=pulls"
        );
        assert_eq!(group.values[1].label, "Sequence assembly");
        assert_eq!(filter_token(Facet::License, "GPL 3"), r#"license:"GPL 3""#);
    }
}
