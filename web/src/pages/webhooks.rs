//! The webhooks page of a container (`/r/{namespace}/{name}/webhooks`) and of an organisation
//! (`/org/{org}/webhooks`): the hooks, a form for a new one (its secret shown once, on the page
//! that answers the form), and each hook's recent deliveries with "resend" and "send a test
//! event". Everything goes through `services::webhooks`, as the API does.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bioshadock_core::webhooks::{DeliveryState, HookEvent, HookFormat};

use super::viewer::{Nav, Viewer, login_redirect};
use super::{PageError, render};
use crate::error::ApiError;
use crate::extract::ContainerId;
use crate::services::webhooks::{self, NewHook, Owner};
use crate::state::AppState;

/// Deliveries shown per hook.
const SHOWN_DELIVERIES: usize = 10;

struct DeliveryRow {
    id: String,
    event: String,
    at: String,
    state: &'static str,
    attempts: u32,
    /// The last try: status (or error), duration, the start of the answer.
    last: String,
}

struct HookRow {
    id: String,
    url: String,
    events: String,
    tags: String,
    format: &'static str,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    nav: Nav,
    csrf: String,
    /// What the hooks are of, as shown: `lab/tool` or `the organisation lab`.
    title: String,
    /// The page's own path, where its forms post.
    path: String,
    /// Where "back" goes.
    back: String,
    hooks: Vec<HookRow>,
    /// The secret of the hook just created, shown this once.
    new_secret: Option<(String, String)>,
    error: Option<String>,
    events: Vec<&'static str>,
}

/// The form as posted.
pub struct HookForm {
    csrf: String,
    /// `create`, `delete`, `test` or `resend`.
    action: String,
    url: String,
    /// Checked event names, repeated (`events=push&events=tag_deleted`) or comma-joined.
    events: String,
    tags: String,
    format: String,
    hook: String,
    delivery: String,
}

/// Where a page stands: whose hooks, at which path, back to where.
struct Place {
    owner: Owner,
    title: String,
    path: String,
    back: String,
}

fn container_place(id: bioshadock_core::RepoName) -> Place {
    Place {
        title: id.to_string(),
        path: format!("/r/{id}/webhooks"),
        back: format!("/r/{id}/settings"),
        owner: Owner::Container(id),
    }
}

fn org_place(org: String) -> Place {
    Place {
        title: format!("the organisation {org}"),
        path: format!("/org/{org}/webhooks"),
        back: format!("/org/{org}/settings"),
        owner: Owner::Organisation(org),
    }
}

pub async fn container_page(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
) -> Result<Response, PageError> {
    let ContainerId(id) = id?;
    show(&state, &viewer, container_place(id), None, None).await
}

pub async fn container_post(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let ContainerId(id) = id?;
    act(&state, &viewer, container_place(id), &body).await
}

pub async fn org_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
) -> Result<Response, PageError> {
    show(&state, &viewer, org_place(org), None, None).await
}

pub async fn org_post(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    act(&state, &viewer, org_place(org), &body).await
}

/// The form, read by hand: its event checkboxes repeat a name, which `Form` does not take.
fn read_form(body: &[u8]) -> HookForm {
    let mut form = HookForm {
        csrf: String::new(),
        action: String::new(),
        url: String::new(),
        events: String::new(),
        tags: String::new(),
        format: String::new(),
        hook: String::new(),
        delivery: String::new(),
    };
    let mut events = Vec::new();
    for (key, value) in form_urlencoded::parse(body) {
        let value = value.into_owned();
        match key.as_ref() {
            "csrf" => form.csrf = value,
            "action" => form.action = value,
            "url" => form.url = value,
            "events" => events.push(value),
            "tags" => form.tags = value,
            "format" => form.format = value,
            "hook" => form.hook = value,
            "delivery" => form.delivery = value,
            _ => {}
        }
    }
    form.events = events.join(",");
    form
}

async fn act(
    state: &AppState,
    viewer: &Viewer,
    place: Place,
    body: &[u8],
) -> Result<Response, PageError> {
    let form = read_form(body);
    viewer.check_csrf(&form.csrf).await?;
    let principal = &viewer.principal;
    let outcome = match form.action.as_str() {
        "create" => match new_hook(&form) {
            Ok(new) => match webhooks::create(state, principal, &place.owner, new).await {
                Ok((hook, secret)) => {
                    return show(state, viewer, place, Some((hook.id, secret)), None).await;
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        },
        "delete" => webhooks::delete(state, principal, &place.owner, &form.hook).await,
        "test" => webhooks::test(state, principal, &place.owner, &form.hook)
            .await
            .map(|_| ()),
        "resend" => webhooks::resend(state, principal, &place.owner, &form.hook, &form.delivery)
            .await
            .map(|_| ()),
        _ => Err(ApiError::bad_request("unknown action")),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&place.path).into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::CONFLICT => {
            let mut page = show(state, viewer, place, None, Some(e.message)).await?;
            *page.status_mut() = e.status;
            Ok(page)
        }
        Err(e) => Err(PageError(e)),
    }
}

fn new_hook(form: &HookForm) -> Result<NewHook, ApiError> {
    let events = form
        .events
        .split(',')
        .filter(|e| !e.is_empty())
        .map(|name| {
            HookEvent::ALL
                .into_iter()
                .find(|e| e.as_str() == name)
                .ok_or_else(|| ApiError::bad_request(format!("no event `{name}`")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let format = match form.format.as_str() {
        "" | "json" => HookFormat::Json,
        "slack" => HookFormat::Slack,
        other => return Err(ApiError::bad_request(format!("no format `{other}`"))),
    };
    Ok(NewHook {
        url: form.url.trim().to_owned(),
        secret: None,
        events,
        tags: form
            .tags
            .split([',', '\n'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        format,
    })
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    place: Place,
    new_secret: Option<(String, String)>,
    error: Option<String>,
) -> Result<Response, PageError> {
    if viewer.signed_in().is_none() {
        return Ok(login_redirect(&place.path));
    }
    let principal = &viewer.principal;
    let hooks = webhooks::list(state, principal, &place.owner).await?;
    let mut rows = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let deliveries =
            webhooks::deliveries(state, principal, &place.owner, &hook.id, SHOWN_DELIVERIES)
                .await?;
        rows.push(HookRow {
            deliveries: deliveries.into_iter().map(delivery_row).collect(),
            id: hook.id,
            url: hook.url,
            events: hook
                .events
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            tags: hook.tags.join(", "),
            format: match hook.format {
                HookFormat::Json => "json",
                HookFormat::Slack => "slack",
            },
        });
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = WebhooksPage {
        nav: viewer.nav.clone(),
        csrf: viewer.nav.csrf.clone(),
        title: place.title,
        path: place.path,
        back: place.back,
        hooks: rows,
        new_secret,
        error,
        events: HookEvent::ALL.iter().map(|e| e.as_str()).collect(),
    };
    Ok(render(status, &page))
}

fn delivery_row(d: bioshadock_core::webhooks::Delivery) -> DeliveryRow {
    let last = d.tries.last().map_or_else(
        || "not tried yet".to_owned(),
        |t| {
            let outcome = match (&t.status, &t.error) {
                (Some(status), _) => status.to_string(),
                (None, Some(error)) => error.clone(),
                (None, None) => "no answer".to_owned(),
            };
            let answer: String = t.response.chars().take(120).collect();
            format!("{outcome} in {} ms {answer}", t.duration_ms)
        },
    );
    DeliveryRow {
        at: d.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        state: match d.state {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        },
        id: d.id,
        event: d.event,
        attempts: d.attempts,
        last,
    }
}
