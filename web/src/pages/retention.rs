//! A container's retention page: its policy (its own, or its organisation's), the dry run of
//! that policy (exactly the tags a run now would delete, and why), and a "run now" button.
//! Only the container's owner and admins reach it: the service checks, as for the API.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::retention::{Doomed, RetentionPolicy};
use serde::Deserialize;

use super::viewer::{Nav, Viewer};
use super::{PageError, render};
use crate::error::ApiError;
use crate::extract::ContainerId;
use crate::services::retention::{self, InForce};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "retention.html")]
struct RetentionPage {
    nav: Nav,
    csrf: String,
    id: String,
    error: Option<String>,
    /// A message after a save or a run.
    notice: Option<String>,
    /// Whether the container has a policy of its own (else its organisation's applies).
    own: bool,
    /// The organisation's default, in one line, when there is one.
    organisation: Option<String>,
    keep_newest: String,
    keep: String,
    delete_older_than_days: String,
    /// `(tag, reason)`, newest first.
    preview: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub struct RetentionForm {
    #[serde(default)]
    csrf: String,
    /// `save`, `clear` (back to the organisation's) or `run`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    keep_newest: String,
    #[serde(default)]
    keep: String,
    #[serde(default)]
    delete_older_than_days: String,
}

#[derive(Deserialize)]
pub struct Notice {
    #[serde(default)]
    deleted: Option<usize>,
    #[serde(default)]
    saved: Option<u8>,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    axum::extract::Query(notice): axum::extract::Query<Notice>,
) -> Result<Response, PageError> {
    let ContainerId(id) = id?;
    let preview = retention::preview(&state, &viewer.principal, &id).await?;
    let policies = retention::get(&state, &viewer.principal, &id).await?;
    let mut page = retention_page(&viewer, id.as_str(), &policies, preview, None);
    page.notice = match (notice.deleted, notice.saved) {
        (Some(n), _) => Some(format!("The policy ran: {n} tag(s) deleted.")),
        (None, Some(_)) => Some("Saved.".to_owned()),
        _ => None,
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn post(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    Form(form): Form<RetentionForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    let ContainerId(id) = id?;
    let principal = &viewer.principal;
    let outcome = match form.action.as_str() {
        "run" => {
            let report = retention::run(&state, principal, &id).await?;
            let n = report.deleted.len();
            return Ok(Redirect::to(&format!("/r/{id}/retention?deleted={n}")).into_response());
        }
        "clear" => retention::set(&state, principal, &id, None).await,
        _ => match policy_of(&form) {
            Ok(policy) => retention::set(&state, principal, &id, Some(policy)).await,
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/r/{id}/retention?saved=1")).into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let preview = retention::preview(&state, principal, &id).await?;
            let policies = retention::get(&state, principal, &id).await?;
            let mut page =
                retention_page(&viewer, id.as_str(), &policies, preview, Some(e.message));
            // What was typed stays in the form.
            page.keep_newest = form.keep_newest;
            page.keep = form.keep;
            page.delete_older_than_days = form.delete_older_than_days;
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

/// The form as a policy: blank numbers are unset, patterns one per line.
fn policy_of(form: &RetentionForm) -> Result<RetentionPolicy, ApiError> {
    let number = |field: &str, raw: &str| -> Result<Option<u32>, ApiError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse::<u32>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{field} is a whole number")))
    };
    RetentionPolicy {
        keep_newest: number("keep the newest", &form.keep_newest)?.map(|n| n as usize),
        keep: form
            .keep
            .lines()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        delete_older_than_days: number("delete after days", &form.delete_older_than_days)?,
    }
    .checked()
    .map_err(ApiError::bad_request)
}

fn retention_page(
    viewer: &Viewer,
    id: &str,
    policies: &InForce,
    preview: Vec<Doomed>,
    error: Option<String>,
) -> RetentionPage {
    let shown = policies.own.clone().unwrap_or_default();
    RetentionPage {
        nav: viewer.nav.clone(),
        csrf: viewer.nav.csrf.clone(),
        id: id.to_owned(),
        error,
        notice: None,
        own: policies.own.is_some(),
        organisation: policies
            .organisation
            .as_ref()
            .map(RetentionPolicy::describe),
        keep_newest: shown.keep_newest.map(|n| n.to_string()).unwrap_or_default(),
        keep: shown.keep.join("\n"),
        delete_older_than_days: shown
            .delete_older_than_days
            .map(|n| n.to_string())
            .unwrap_or_default(),
        preview: preview
            .into_iter()
            .map(|d| (d.tag, d.reason.describe()))
            .collect(),
    }
}
