//! The access-rules page (administrators): the document in an editor, saved through the same
//! service as `PUT /admin/access-rules` (a mistake is shown with its line, and changes
//! nothing), and a form that tests a caller: which rule decides for an account, a repository
//! and an address.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::accounts::{Scope, UserName};
use bioshadock_core::orgs::Memberships;
use bioshadock_core::permissions::rule_labels;
use bioshadock_core::rules::{RuleCaller, RuleSet};
use serde::Deserialize;

use super::viewer::{Nav, Viewer, login_redirect};
use super::{PageError, render};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin_rules.html")]
struct RulesPage {
    nav: Nav,
    csrf: String,
    source: String,
    version: u64,
    count: usize,
    saved: bool,
    error: Option<String>,
    test: TestForm,
    /// What the test found, when one was asked.
    verdict: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct TestForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    saved: Option<String>,
}

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    version: u64,
}

/// `GET /admin/rules[?account=&repository=&ip=]`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(test): Query<TestForm>,
) -> Result<Response, PageError> {
    if viewer.signed_in().is_none() {
        return Ok(login_redirect("/admin/rules"));
    }
    viewer
        .principal
        .require_admin(Scope::Read)
        .map_err(|e| PageError(e.into()))?;
    let stored = state.rules.get_rules().await?;
    let verdict = if test.repository.is_empty() {
        None
    } else {
        Some(verdict(&state, &stored.source, &test).await?)
    };
    let page = RulesPage {
        nav: viewer.nav.clone(),
        csrf: viewer.nav.csrf.clone(),
        count: RuleSet::parse(&stored.source).map_or(0, |r| r.len()),
        source: stored.source,
        version: stored.version,
        saved: test.saved.is_some(),
        error: None,
        test,
        verdict,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/rules`: saves the document; a refusal shows on the page, the text kept.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<SaveForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    if viewer.signed_in().is_none() {
        return Ok(login_redirect("/admin/rules"));
    }
    let source = form.source.replace("\r\n", "\n");
    match crate::services::rules::replace(&state, &viewer.principal, &source, form.version).await {
        Ok(_) => Ok(Redirect::to("/admin/rules?saved=1").into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::CONFLICT => {
            let page = RulesPage {
                nav: viewer.nav.clone(),
                csrf: viewer.nav.csrf.clone(),
                count: 0,
                source,
                version: form.version,
                saved: false,
                error: Some(e.message),
                test: TestForm::default(),
                verdict: None,
            };
            Ok(render(e.status, &page))
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Which rule decides for the tested caller, in a sentence. A known user's labels (`role`,
/// `org`) are theirs, as on a real request.
async fn verdict(state: &AppState, source: &str, test: &TestForm) -> Result<String, ApiError> {
    let rules = RuleSet::parse(source).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let ip = match test.ip.trim() {
        "" => None,
        raw => Some(
            raw.parse()
                .map_err(|_| ApiError::bad_request(format!("`{raw}` is not an address")))?,
        ),
    };
    let account = test.account.trim();
    let mut labels = std::collections::BTreeMap::new();
    if let Ok(name) = UserName::parse(account)
        && let Ok(user) = state.users.get_user(&name).await
    {
        let orgs = state.orgs.orgs_of(&name).await?;
        labels = rule_labels(&user, &Memberships::of(&name, &orgs));
    }
    let caller = RuleCaller {
        account,
        ip,
        labels,
    };
    let service = state.registry.tokens.service();
    let who = if account.is_empty() {
        "an anonymous caller"
    } else {
        account
    };
    Ok(
        match rules.decide(&caller, "repository", service, test.repository.trim()) {
            Some(decision) => {
                let grant = &decision.grant;
                let actions: Vec<&str> = [
                    (grant.pull, "pull"),
                    (grant.push, "push"),
                    (grant.delete, "delete"),
                ]
                .into_iter()
                .filter_map(|(on, a)| on.then_some(a))
                .collect();
                format!(
                    "Rule {} decides for {who} on {}: {}{}",
                    decision.index + 1,
                    test.repository.trim(),
                    if actions.is_empty() {
                        "denied".to_owned()
                    } else {
                        actions.join(", ")
                    },
                    decision
                        .comment
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                )
            }
            None => format!(
                "No rule matches {who} on {}: the built-in rules decide.",
                test.repository.trim()
            ),
        },
    )
}
