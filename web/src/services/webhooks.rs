//! Webhooks on behalf of a caller: a container's (its owner and admins), an organisation's (its
//! admins and owners) and global ones (administrators); their delivery logs, resends and test
//! events. What is sent, and when, is `crate::webhooks`.

use std::collections::BTreeSet;

use bioshadock_core::accounts::Scope;
use bioshadock_core::events::{Event, EventKind};
use bioshadock_core::permissions::Principal;
use bioshadock_core::ports::webhooks::MAX_DELIVERIES_PER_READ;
use bioshadock_core::webhooks::{
    Delivery, HookEvent, HookFormat, HookScope, MAX_HOOKS_PER_SCOPE, Webhook, check_tags,
    check_url, new_hook_id, new_secret,
};
use bioshadock_core::{PortError, RepoName};

use super::events;
use crate::error::ApiError;
use crate::state::AppState;
use crate::webhooks::payload;

/// Whose hooks a request is about.
#[derive(Debug, Clone)]
pub enum Owner {
    Container(RepoName),
    Organisation(String),
    Global,
}

/// A hook as asked for.
#[derive(Debug)]
pub struct NewHook {
    pub url: String,
    /// The signing secret; generated when absent.
    pub secret: Option<String>,
    pub events: Vec<HookEvent>,
    pub tags: Vec<String>,
    pub format: HookFormat,
}

/// The scope `owner` stands for, once the caller is found to manage it.
async fn managed(
    state: &AppState,
    principal: &Principal,
    owner: &Owner,
    scope: Scope,
) -> Result<HookScope, ApiError> {
    principal.require(scope)?;
    match owner {
        Owner::Container(id) => {
            let (_, rights) = super::containers::visible(state, principal, id).await?;
            if !rights.manage {
                return Err(ApiError::forbidden(
                    "forbidden",
                    "only its owner and admins manage a container's webhooks",
                ));
            }
            Ok(HookScope::Container(id.to_string()))
        }
        Owner::Organisation(name) => {
            let (org, rights) = super::orgs::get(state, principal, name).await?;
            if !rights.manage {
                return Err(ApiError::forbidden(
                    "forbidden",
                    "only the organisation's admins and owners manage its webhooks",
                ));
            }
            Ok(HookScope::Organisation(org.name.to_string()))
        }
        Owner::Global => {
            principal.require_admin(scope)?;
            Ok(HookScope::Global)
        }
    }
}

/// The hooks of `owner`, oldest first.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    owner: &Owner,
) -> Result<Vec<Webhook>, ApiError> {
    let scope = managed(state, principal, owner, Scope::Read).await?;
    Ok(of_scope(state, &scope).await?)
}

async fn of_scope(state: &AppState, scope: &HookScope) -> Result<Vec<Webhook>, PortError> {
    Ok(state
        .webhooks
        .hooks()
        .await?
        .into_iter()
        .filter(|h| h.scope == *scope)
        .collect())
}

/// One hook of `owner`; another's is "not found".
async fn hook_of(
    state: &AppState,
    principal: &Principal,
    owner: &Owner,
    id: &str,
    scope: Scope,
) -> Result<Webhook, ApiError> {
    let hook_scope = managed(state, principal, owner, scope).await?;
    of_scope(state, &hook_scope)
        .await?
        .into_iter()
        .find(|h| h.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no webhook `{id}` here")))
}

/// Creates a hook; answers it with its secret, which is shown this once.
pub async fn create(
    state: &AppState,
    principal: &Principal,
    owner: &Owner,
    new: NewHook,
) -> Result<(Webhook, String), ApiError> {
    let scope = managed(state, principal, owner, Scope::Push).await?;
    check_url(&new.url).map_err(ApiError::bad_request)?;
    // Where it points is checked now (a clear answer) and again at every delivery (DNS may
    // change in between).
    crate::webhooks::send::resolve_allowed(&new.url, state.settings.webhooks_allow_private)
        .await
        .map_err(|e| ApiError::bad_request(format!("url: {e}")))?;
    let events: BTreeSet<HookEvent> = new.events.into_iter().collect();
    if events.is_empty() {
        return Err(ApiError::bad_request(
            "events: name at least one (push, tag_deleted, build_started, build_succeeded, \
             build_failed, build_skipped, deprecated, retention_deleted)",
        ));
    }
    check_tags(&new.tags).map_err(|e| ApiError::bad_request(format!("tags: {e}")))?;
    let secret = match new.secret {
        Some(secret) => checked_secret(secret)?,
        None => new_secret(),
    };
    if of_scope(state, &scope).await?.len() >= MAX_HOOKS_PER_SCOPE {
        return Err(ApiError::conflict(format!(
            "at most {MAX_HOOKS_PER_SCOPE} webhooks here: delete one first"
        )));
    }
    let hook = Webhook {
        id: new_hook_id(),
        scope: scope.clone(),
        url: new.url,
        sealed_secret: state.sealing.seal(&secret),
        events,
        tags: new.tags,
        format: new.format,
        created_by: principal
            .name()
            .map(ToString::to_string)
            .unwrap_or_default(),
        created_at: bioshadock_core::model::now(),
    };
    state.webhooks.create_hook(&hook).await?;
    let summary = format!(
        "webhook {} to {} for {}",
        hook.id,
        host_of(&hook.url),
        hook.events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    record(state, principal, EventKind::WebhookCreated, &scope, summary).await;
    Ok((hook, secret))
}

/// A secret given by the caller (a webhook's, a push trigger's): long enough to resist
/// guessing, short enough to be a secret.
pub(crate) fn checked_secret(secret: String) -> Result<String, ApiError> {
    let n = secret.chars().count();
    if !(16..=256).contains(&n) || secret.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::bad_request(
            "secret: 16 to 256 characters, no spaces (or leave it out to have one made)",
        ));
    }
    Ok(secret)
}

/// The host of a URL, for the audit log (its path and query may hold a token).
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

async fn record(
    state: &AppState,
    principal: &Principal,
    kind: EventKind,
    scope: &HookScope,
    summary: String,
) {
    match scope {
        HookScope::Container(id) => {
            if let Ok(id) = RepoName::parse(id) {
                let target = id.to_string();
                events::record_on_container(state, principal, kind, &id, target, summary).await;
            }
        }
        HookScope::Organisation(org) => {
            let event = Event::new(
                kind,
                format!("org:{org}"),
                events::actor_of(principal),
                summary,
            )
            .in_org(org.as_str());
            events::record(state, event).await;
        }
        HookScope::Global => {
            let event = Event::new(kind, "webhooks", events::actor_of(principal), summary);
            events::record(state, event).await;
        }
    }
}

/// Deletes a hook and its delivery log.
pub async fn delete(
    state: &AppState,
    principal: &Principal,
    owner: &Owner,
    id: &str,
) -> Result<(), ApiError> {
    let hook = hook_of(state, principal, owner, id, Scope::Push).await?;
    match state.webhooks.delete_hook(&hook.id).await {
        Ok(()) | Err(PortError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let summary = format!("webhook {} to {}", hook.id, host_of(&hook.url));
    record(
        state,
        principal,
        EventKind::WebhookDeleted,
        &hook.scope,
        summary,
    )
    .await;
    Ok(())
}

/// A hook's deliveries, newest first.
pub async fn deliveries(
    state: &AppState,
    principal: &Principal,
    owner: &Owner,
    id: &str,
    limit: usize,
) -> Result<Vec<Delivery>, ApiError> {
    let hook = hook_of(state, principal, owner, id, Scope::Read).await?;
    let limit = limit.clamp(1, MAX_DELIVERIES_PER_READ);
    Ok(state.webhooks.deliveries(&hook.id, limit).await?)
}

/// Sends a delivery's payload again, as a new delivery (a new id, the same body and event id).
pub async fn resend(
    state: &AppState,
    principal: &Principal,
    owner: &Owner,
    id: &str,
    delivery: &str,
) -> Result<Delivery, ApiError> {
    let hook = hook_of(state, principal, owner, id, Scope::Push).await?;
    let old = match state.webhooks.delivery(delivery).await {
        Ok(old) if old.hook == hook.id => old,
        Ok(_) | Err(PortError::NotFound) => {
            return Err(ApiError::not_found(format!(
                "webhook `{id}` has no delivery `{delivery}`"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let again = Delivery::new(
        fresh_delivery_id(&hook.id),
        &hook.id,
        &old.event,
        old.event_id,
        old.body,
        bioshadock_core::model::now(),
    );
    add(state, &again).await?;
    Ok(again)
}

/// Queues a test event to the hook.
pub async fn test(
    state: &AppState,
    principal: &Principal,
    owner: &Owner,
    id: &str,
) -> Result<Delivery, ApiError> {
    let hook = hook_of(state, principal, owner, id, Scope::Push).await?;
    let now = bioshadock_core::model::now();
    let by = principal
        .name()
        .map(ToString::to_string)
        .unwrap_or_default();
    let body = payload::render(
        &payload::test(&state.settings, &hook.scope, &by, now),
        hook.format,
    );
    let delivery = Delivery::new(
        fresh_delivery_id(&hook.id),
        &hook.id,
        "test",
        None,
        body,
        now,
    );
    add(state, &delivery).await?;
    Ok(delivery)
}

fn fresh_delivery_id(hook: &str) -> String {
    format!("{hook}.t{:016x}", rand::random::<u64>())
}

async fn add(state: &AppState, delivery: &Delivery) -> Result<(), ApiError> {
    match state.webhooks.add_delivery(delivery).await {
        Ok(_) => Ok(()),
        Err(PortError::NotFound) => Err(ApiError::not_found("the webhook was just deleted")),
        Err(e) => Err(e.into()),
    }
}

/// Deletes every hook of `scope` (its container or organisation was deleted); failures are
/// logged.
pub async fn delete_all_of(state: &AppState, scope: &HookScope) {
    let hooks = match state.webhooks.hooks().await {
        Ok(hooks) => hooks,
        Err(e) => {
            tracing::warn!(error = %e, %scope, "listing the webhooks to delete failed");
            return;
        }
    };
    for hook in hooks.into_iter().filter(|h| h.scope == *scope) {
        match state.webhooks.delete_hook(&hook.id).await {
            Ok(()) | Err(PortError::NotFound) => {}
            Err(e) => tracing::warn!(error = %e, hook = %hook.id, "deleting a webhook failed"),
        }
    }
}
