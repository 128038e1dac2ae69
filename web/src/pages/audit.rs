//! The audit page (administrators): the event stream newest first, filtered by actor, target,
//! action and day, a page at a time, through the same service as `GET /admin/audit`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bioshadock_core::events::{EventFilter, EventKind};
use chrono::NaiveDate;
use serde::Deserialize;

use super::format::encode_query;
use super::viewer::{Nav, Viewer, login_redirect};
use super::{PageError, render};
use crate::error::ApiError;
use crate::services::audit::{self, AuditScope};
use crate::state::AppState;

/// Entries a page.
const PAGE: usize = 50;

#[derive(Deserialize, Default)]
pub struct AuditForm {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    action: String,
    /// `YYYY-MM-DD`, from midnight UTC.
    #[serde(default)]
    since: String,
    before: Option<u64>,
}

struct Row {
    at: String,
    action: &'static str,
    target: String,
    actor: String,
    client: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    nav: Nav,
    form: AuditForm,
    actions: Vec<&'static str>,
    rows: Vec<Row>,
    /// The link to the next (older) page.
    older: Option<String>,
}

/// `GET /admin/audit-log`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(form): Query<AuditForm>,
) -> Result<Response, PageError> {
    if viewer.signed_in().is_none() {
        return Ok(login_redirect("/admin/audit-log"));
    }
    let filter = filter_of(&form)?;
    let (entries, next) = audit::page(
        &state,
        &viewer.principal,
        AuditScope::Everything,
        filter,
        form.before,
        PAGE,
    )
    .await?;
    let rows = entries
        .into_iter()
        .map(|r| Row {
            at: r.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            action: r.event.kind.as_str(),
            target: r.event.target,
            actor: format!("{} ({:?})", r.event.actor.name, r.event.actor.credential)
                .to_lowercase(),
            client: r.event.actor.client.unwrap_or_default(),
            summary: r.event.summary,
        })
        .collect();
    let older = next.map(|before| {
        let before = before.to_string();
        let query: Vec<String> = [
            ("actor", form.actor.as_str()),
            ("target", form.target.as_str()),
            ("action", form.action.as_str()),
            ("since", form.since.as_str()),
            ("before", before.as_str()),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key}={}", encode_query(value)))
        .collect();
        format!("/admin/audit-log?{}", query.join("&"))
    });
    let page = AuditPage {
        nav: viewer.nav.clone(),
        form,
        actions: EventKind::ALL.iter().map(|k| k.as_str()).collect(),
        rows,
        older,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The form's filters; empty fields filter nothing.
fn filter_of(form: &AuditForm) -> Result<EventFilter, ApiError> {
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    // The form's "any" is an empty field.
    let kind = audit::action_filter(Some(form.action.trim()).filter(|a| !a.is_empty()))?;
    let since = match form.since.trim() {
        "" => None,
        day => Some(
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request("the day is YYYY-MM-DD"))?
                .and_time(chrono::NaiveTime::MIN)
                .and_utc(),
        ),
    };
    Ok(EventFilter {
        actor: text(&form.actor),
        target: text(&form.target),
        kind,
        org: None,
        since,
        until: None,
    })
}
