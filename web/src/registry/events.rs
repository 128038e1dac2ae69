//! `POST /registry/events`: the registry's notifications (see docs/registry-protocol.md).
//!
//! Distribution keeps undelivered events in memory and loses them if it stops, so what a 200
//! acknowledges must already be stored: the cheap part of each event (create the container,
//! record the tag, count the pull, drop a deleted tag) is written before answering. The slow
//! part, reading each pushed image back from the registry for its size, platforms and labels,
//! and reindexing, goes to one background worker; if that fails, reconciliation repairs it.

mod payload;
pub(super) mod worker;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use bioshadock_core::permissions::owner_for;
use bioshadock_core::{Container, PortError, PortResult, RepoName, Tag, Visibility};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

use self::payload::{Fact, RegistryEvent, RegistryEvents, classify};
use self::worker::Job;
use crate::error::{ApiError, ErrorBody};
use crate::services::tag_policies::TagRules;
use crate::state::AppState;

/// How long an event id is remembered to drop redeliveries (Distribution redelivers within
/// seconds or minutes; the embedded mode's memory also keeps at most its 10 000 latest ids).
const SEEN_FOR: Duration = Duration::from_secs(3600);
/// Longer ids are not remembered (Distribution's are UUIDs).
const MAX_ID_LEN: usize = 128;
/// Jobs waiting for the worker; beyond this they are dropped (and reconciled later).
const QUEUE: usize = 1_000;

/// What was done with a delivery.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct EventsReceipt {
    /// Events in the body.
    pub received: usize,
    /// Events recorded in the catalogue.
    pub applied: usize,
    /// Events seen before (redelivered), skipped.
    pub duplicates: usize,
    /// Events the catalogue does not track (blobs, `HEAD` pulls, untagged manifests, names
    /// that are not container ids, unreadable events).
    pub ignored: usize,
}

/// The route, with the receiver's worker queue for this router (the ids seen are in the
/// coordination port).
pub(crate) fn route() -> UtoipaMethodRouter<AppState> {
    let (schemas, paths, method) = routes!(receive);
    (schemas, paths, method.layer(Extension(Inbox::default())))
}

/// Events from the registry. Authenticated by the shared secret the registry is configured
/// to send (`bioshadock registry-config` writes it): `Authorization: Bearer SECRET`.
#[utoipa::path(post, path = "/registry/events", tag = "registry",
    request_body(content = RegistryEvents,
        content_type = "application/vnd.docker.distribution.events.v2+json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded; the slow part continues in the background",
            body = EventsReceipt),
        (status = 400, description = "The body is not a JSON event envelope", body = ErrorBody),
        (status = 401, description = "Missing or wrong notification secret", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 503, description = "The store is unavailable; the registry retries",
            body = ErrorBody)))]
pub async fn receive(
    State(state): State<AppState>,
    Extension(inbox): Extension<Inbox>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EventsReceipt>, ApiError> {
    if !authorised(&state, &headers) {
        state.metrics.registry_events("unauthorised", 1);
        return Err(ApiError::unauthorized(
            "missing or wrong notification secret (registry.notification_secret)",
        ));
    }
    let body = body.map_err(|rejection| ApiError {
        status: rejection.status(),
        code: "bad_request",
        message: rejection.body_text(),
    })?;
    let envelope: RegistryEvents = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("not a registry event envelope: {e}")))?;
    let receipt = record(&state, &inbox, envelope.events).await?;
    tracing::debug!(?receipt, "registry events");
    Ok(Json(receipt))
}

/// Whether the request carries the notification secret, compared in constant time (hashes of
/// equal length, so not even the secret's length leaks).
fn authorised(state: &AppState, headers: &HeaderMap) -> bool {
    let expected = state.registry.notification_secret.expose();
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::auth::bearer_credentials);
    match presented {
        Some(presented) if !expected.is_empty() => {
            let a = Sha256::digest(presented.as_bytes());
            let b = Sha256::digest(expected.as_bytes());
            a.ct_eq(&b).into()
        }
        _ => false,
    }
}

/// Applies the durable part of each new event in order. A store failure stops there and
/// fails the delivery (the registry sends it again); the events before it are remembered as
/// done, so the retry skips them.
async fn record(
    state: &AppState,
    inbox: &Inbox,
    events: Vec<serde_json::Value>,
) -> Result<EventsReceipt, ApiError> {
    let mut receipt = EventsReceipt {
        received: events.len(),
        ..EventsReceipt::default()
    };
    let mut changed = false;
    let outcome: PortResult<()> = async {
        for raw in events {
            let event: RegistryEvent = match serde_json::from_value(raw) {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(error = %e, "skipping an unreadable registry event");
                    receipt.ignored += 1;
                    continue;
                }
            };
            let Some(fact) = classify(&event) else {
                receipt.ignored += 1;
                continue;
            };
            // The front counted this pull as it went through.
            if state.front_counts_pulls && matches!(fact, Fact::Pulled { .. }) {
                receipt.ignored += 1;
                continue;
            }
            if !first_sight(state, &event.id).await {
                receipt.duplicates += 1;
                continue;
            }
            if let Err(e) = apply(state, inbox, &fact).await {
                forget(state, &event.id).await;
                tracing::warn!(error = %e, id = %fact.id(), "recording a registry event failed");
                return Err(e);
            }
            receipt.applied += 1;
            // Pull counts may lag the anonymous read cache by its second: counting every
            // pull as a change would defeat the cache on a busy registry.
            changed |= !matches!(fact, Fact::Pulled { .. });
        }
        Ok(())
    }
    .await;
    count(state, &receipt);
    if changed {
        state.cache.catalogue_changed();
    }
    outcome?;
    Ok(receipt)
}

fn count(state: &AppState, receipt: &EventsReceipt) {
    state.metrics.registry_events("received", receipt.received);
    state.metrics.registry_events("applied", receipt.applied);
    state
        .metrics
        .registry_events("duplicate", receipt.duplicates);
    state.metrics.registry_events("ignored", receipt.ignored);
}

/// The durable part of one fact, then the job that finishes it in the background.
async fn apply(state: &AppState, inbox: &Inbox, fact: &Fact) -> PortResult<()> {
    let store = &state.store;
    let job = match fact {
        Fact::Pushed {
            id,
            tag,
            digest,
            size,
            at,
            actor,
        } => {
            let existing = match store.get(id).await {
                Ok(container) => Some(container),
                Err(PortError::NotFound) => None,
                Err(e) => return Err(e),
            };
            // An immutable tag moved at the registry (no front refused it): the catalogue keeps
            // what it had, and the worker puts the old image back under the tag.
            if let Some(container) = &existing
                && let Some(old) = container
                    .tags
                    .iter()
                    .find(|t| t.name == *tag && t.digest != *digest)
            {
                let rules = TagRules::for_container(state, id, Some(container.clone())).await?;
                if rules.is_immutable(tag.as_str()) {
                    tracing::warn!(
                        %id, %tag, from = %old.digest, to = %digest,
                        "a push at the registry moved an immutable tag; restoring it"
                    );
                    inbox.submit(
                        state,
                        Job::Restore {
                            id: id.clone(),
                            tag: tag.clone(),
                            digest: old.digest.clone(),
                        },
                    );
                    return Ok(());
                }
            }
            let known = existing.as_ref().and_then(|c| {
                c.tags
                    .iter()
                    .find(|t| t.name == *tag && t.digest == *digest)
            });
            // The same image pushed again keeps what the worker read of it.
            let (size, platforms) = match known {
                Some(t) => (t.size, t.platforms.clone()),
                None => (*size, Vec::new()),
            };
            let news = known.is_none();
            if existing.is_none() {
                create(state, id, actor.as_ref()).await?;
            }
            let tag = Tag {
                name: tag.clone(),
                digest: digest.clone(),
                size,
                platforms,
                pushed_at: *at,
            };
            store.put_tag(id, &tag).await?;
            if news {
                // Recorded before the 200: the base-image rebuilds follow these events.
                record_push(state, id, &tag, actor.as_ref()).await;
            }
            Job::Enrich {
                id: id.clone(),
                tag: tag.name,
                digest: digest.clone(),
            }
        }
        Fact::Pulled { id } => {
            ignore_missing(store.add_pulls(id, 1).await)?;
            Job::Reindex(id.clone())
        }
        Fact::DeletedTag { id, tag } => {
            ignore_missing(store.delete_tag(id, tag).await)?;
            Job::Reindex(id.clone())
        }
        Fact::DeletedDigest { id, digest } => {
            let container = match store.get(id).await {
                Ok(container) => container,
                Err(PortError::NotFound) => return Ok(()),
                Err(e) => return Err(e),
            };
            for tag in container.tags.iter().filter(|t| t.digest == *digest) {
                ignore_missing(store.delete_tag(id, &tag.name).await)?;
            }
            Job::Reindex(id.clone())
        }
    };
    inbox.submit(state, job);
    Ok(())
}

/// A new or moved tag, in the event stream, by the pusher the registry names (the subject of
/// the token it was pushed with: a user or a robot).
async fn record_push(
    state: &AppState,
    id: &RepoName,
    tag: &Tag,
    pusher: Option<&bioshadock_core::accounts::UserName>,
) {
    use bioshadock_core::events::{ActorKind, Credential, EventActor, EventKind};
    let name = pusher.map_or("registry", |p| p.as_str());
    let actor = EventActor {
        // Robots are `owner+name`; user names cannot hold a `+`.
        kind: if name.contains('+') {
            ActorKind::Robot
        } else if pusher.is_some() {
            ActorKind::User
        } else {
            ActorKind::Registry
        },
        name: name.to_owned(),
        credential: Credential::RegistryToken,
        client: None,
        request_id: None,
    };
    let target = format!("{id}:{}", tag.name);
    let summary = format!("pushed {}", tag.digest);
    let kind = EventKind::TagPushed;
    crate::services::events::record_on_repository(state, actor, kind, id, target, summary).await;
}

/// A container for a first push, as the portal would have created it for the pusher.
pub(super) async fn create(
    state: &AppState,
    id: &RepoName,
    actor: Option<&bioshadock_core::accounts::UserName>,
) -> PortResult<()> {
    let owner = match actor {
        Some(user) => owner_for(id.namespace(), user),
        None => id.namespace().to_owned(),
    };
    let default = if state.settings.default_public {
        Visibility::Public
    } else {
        Visibility::Private
    };
    // A name deleted in the portal while private comes back private: whatever reappears under
    // it (a new push, or remains that reconciliation finds) is never more visible than it was.
    let visibility = match state.store.deleted_visibility(id).await? {
        Some(Visibility::Private) => Visibility::Private,
        _ => default,
    };
    match state
        .store
        .create(&Container::new(id.clone(), owner, visibility))
        .await
    {
        // Created meanwhile by the portal or another delivery: keep that one.
        Ok(()) | Err(PortError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

fn ignore_missing(result: PortResult<()>) -> PortResult<()> {
    match result {
        Err(PortError::NotFound) => Ok(()),
        other => other,
    }
}

/// True the first time an event id is offered, across every web process sharing the
/// coordination port (and for ids too odd to remember). If the port fails, the event is
/// processed (with a warning): applying an event twice only counts a pull twice, dropping it
/// would lose it.
async fn first_sight(state: &AppState, id: &str) -> bool {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return true;
    }
    match state.coordination.first_time(&seen_key(id), SEEN_FOR).await {
        Ok(first) => first,
        Err(e) => {
            tracing::warn!(error = %e, %id, "cannot check a registry event id; processing it");
            true
        }
    }
}

/// Lets an event whose recording failed be applied when it is delivered again.
async fn forget(state: &AppState, id: &str) {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return;
    }
    if let Err(e) = state.coordination.forget(&seen_key(id)).await {
        tracing::warn!(error = %e, %id, "cannot forget a registry event id");
    }
}

fn seen_key(id: &str) -> String {
    format!("registry-event:{id}")
}

/// The receiver's worker queue (started with the first job). One per router; the worker stops
/// when the router is dropped. The event ids seen lately are in the coordination port.
#[derive(Clone, Default)]
pub(crate) struct Inbox(Arc<InboxInner>);

#[derive(Default)]
struct InboxInner {
    worker: OnceLock<mpsc::Sender<Job>>,
}

impl Inbox {
    /// Hands a job to the worker without waiting; a full queue drops it (reconciliation
    /// catches up).
    fn submit(&self, state: &AppState, job: Job) {
        let sender = self.0.worker.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(worker::run(state.clone(), receiver));
            sender
        });
        if let Err(e) = sender.try_send(job) {
            tracing::warn!(error = %e, "the registry event worker is behind; dropping a job");
        }
    }
}
