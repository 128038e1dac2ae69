//! Recording the stream of events: the service functions call [`record`] once a change is
//! made, and nothing else writes the stream (the audit log reads it, the webhooks follow it).
//!
//! Who acted comes from the caller's principal; where from (client address, request id) comes
//! from the request being served, kept in a task-local by [`with_request_facts`] (a layer of
//! the middleware stack) so that every service can name it without each signature carrying
//! it. Outside a request (the builder, a periodic run, the command line) there is none.

use std::future::Future;

use bioshadock_core::RepoName;
use bioshadock_core::events::{ActorKind, Credential, Event, EventActor, EventKind};
use bioshadock_core::permissions::{self, Principal};

use crate::state::AppState;

/// Where the request being served came from.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub client: Option<String>,
    pub request_id: Option<String>,
}

tokio::task_local! {
    static REQUEST: RequestFacts;
}

/// Runs `work` with `facts` as the current request's.
pub async fn with_request_facts<F: Future>(facts: RequestFacts, work: F) -> F::Output {
    REQUEST.scope(facts, work).await
}

fn current_request() -> RequestFacts {
    REQUEST.try_with(Clone::clone).unwrap_or_default()
}

/// The actor of a signed-in user, with the current request's client and id.
pub fn actor_of_user(actor: &permissions::Actor) -> EventActor {
    actor_of(&Principal::User(actor.clone()))
}

/// The actor of `principal`, with the current request's client and id.
pub fn actor_of(principal: &Principal) -> EventActor {
    let (kind, name, credential) = match principal {
        Principal::User(actor) => {
            let credential = match &actor.credential {
                permissions::Credential::Session => Credential::Session,
                permissions::Credential::ApiKey { .. } => Credential::ApiKey,
                permissions::Credential::Password => Credential::Password,
                permissions::Credential::Local => Credential::CommandLine,
            };
            (ActorKind::User, actor.user.name.to_string(), credential)
        }
        Principal::Robot(robot, _) => (
            ActorKind::Robot,
            robot.name.to_string(),
            Credential::RobotToken,
        ),
        Principal::Anonymous | Principal::Guest(_) => (
            ActorKind::Anonymous,
            "anonymous".to_owned(),
            Credential::None,
        ),
    };
    request_actor(kind, name, credential)
}

/// Appends `event` to the stream. The change it records is already made, so a store that
/// fails now loses the record, not the change: that is logged as an error, with the event.
pub async fn record(state: &AppState, event: Event) {
    if let Err(e) = state
        .events
        .append(&event, bioshadock_core::model::now())
        .await
    {
        tracing::error!(
            error = %e,
            kind = event.kind.as_str(),
            target = %event.target,
            actor = %event.actor.name,
            "an event could not be recorded"
        );
    }
}

/// Records `kind` on `target` (a container, or one of its tags) by `principal`, as an event of
/// the container's organisation when its namespace is one.
pub async fn record_on_container(
    state: &AppState,
    principal: &Principal,
    kind: EventKind,
    id: &RepoName,
    target: String,
    summary: String,
) {
    record_on_repository(state, actor_of(principal), kind, id, target, summary).await;
}

/// The same, by `actor` (the registry's pusher, say, who is no principal of this request).
/// A store failure finding the organisation records the event all the same, only not as the
/// organisation's.
pub async fn record_on_repository(
    state: &AppState,
    actor: EventActor,
    kind: EventKind,
    id: &RepoName,
    target: String,
    summary: String,
) {
    let mut event = Event::new(kind, target, actor, summary);
    if let Ok(Some(org)) = super::containers::organisation_of(state, id).await {
        event = event.in_org(org.name.as_str());
    }
    record(state, event).await;
}

/// An actor named outright (a sign-in, before any principal exists), with the current
/// request's client and id.
pub fn request_actor(kind: ActorKind, name: String, credential: Credential) -> EventActor {
    let request = current_request();
    EventActor {
        kind,
        name,
        credential,
        client: request.client,
        request_id: request.request_id,
    }
}
