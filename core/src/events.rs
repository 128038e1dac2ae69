//! One stream of typed events. Every change is recorded once, as an [`Event`], at the one place
//! where it is made (the service functions the pages, the API, the token service and the front
//! share), and appended to the [`EventStore`](crate::ports::events::EventStore): the audit log
//! reads the stream, and the webhooks follow it by id. No handler writes an audit row itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Characters of an event's summary, at most: a short before/after, never a secret.
pub const MAX_SUMMARY_CHARS: usize = 1000;
/// Characters of a target, an actor name, a client address or a request id, at most.
pub const MAX_FIELD_CHARS: usize = 300;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "container.created")]
    ContainerCreated,
    #[serde(rename = "container.edited")]
    ContainerEdited,
    #[serde(rename = "container.deleted")]
    ContainerDeleted,
    #[serde(rename = "container.visibility")]
    VisibilityChanged,
    #[serde(rename = "container.members")]
    MembersChanged,
    #[serde(rename = "container.deprecated")]
    Deprecated,
    #[serde(rename = "container.immutability")]
    ImmutabilityChanged,
    #[serde(rename = "tag.pushed")]
    TagPushed,
    #[serde(rename = "tag.deleted")]
    TagDeleted,
    #[serde(rename = "org.created")]
    OrgCreated,
    #[serde(rename = "org.changed")]
    OrgChanged,
    #[serde(rename = "org.deleted")]
    OrgDeleted,
    #[serde(rename = "robot.created")]
    RobotCreated,
    #[serde(rename = "robot.changed")]
    RobotChanged,
    #[serde(rename = "robot.deleted")]
    RobotDeleted,
    #[serde(rename = "rules.changed")]
    RulesChanged,
    #[serde(rename = "key.created")]
    KeyCreated,
    #[serde(rename = "key.revoked")]
    KeyRevoked,
    #[serde(rename = "user.signed_in")]
    SignedIn,
    #[serde(rename = "user.sign_in_failed")]
    SignInFailed,
    #[serde(rename = "user.changed")]
    UserChanged,
    #[serde(rename = "registry.token")]
    RegistryToken,
    #[serde(rename = "build.queued")]
    BuildQueued,
    #[serde(rename = "build.started")]
    BuildStarted,
    #[serde(rename = "build.finished")]
    BuildFinished,
    #[serde(rename = "build.cancelled")]
    BuildCancelled,
    #[serde(rename = "retention.deleted")]
    RetentionDeleted,
    #[serde(rename = "webhook.created")]
    WebhookCreated,
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted,
    #[serde(rename = "admin.action")]
    AdminAction,
}

impl EventKind {
    /// Every kind, in the order of the list above.
    pub const ALL: [Self; 30] = [
        Self::ContainerCreated,
        Self::ContainerEdited,
        Self::ContainerDeleted,
        Self::VisibilityChanged,
        Self::MembersChanged,
        Self::Deprecated,
        Self::ImmutabilityChanged,
        Self::TagPushed,
        Self::TagDeleted,
        Self::OrgCreated,
        Self::OrgChanged,
        Self::OrgDeleted,
        Self::RobotCreated,
        Self::RobotChanged,
        Self::RobotDeleted,
        Self::RulesChanged,
        Self::KeyCreated,
        Self::KeyRevoked,
        Self::SignedIn,
        Self::SignInFailed,
        Self::UserChanged,
        Self::RegistryToken,
        Self::BuildQueued,
        Self::BuildStarted,
        Self::BuildFinished,
        Self::BuildCancelled,
        Self::RetentionDeleted,
        Self::WebhookCreated,
        Self::WebhookDeleted,
        Self::AdminAction,
    ];

    /// The name stored and shown: `tag.pushed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContainerCreated => "container.created",
            Self::ContainerEdited => "container.edited",
            Self::ContainerDeleted => "container.deleted",
            Self::VisibilityChanged => "container.visibility",
            Self::MembersChanged => "container.members",
            Self::Deprecated => "container.deprecated",
            Self::ImmutabilityChanged => "container.immutability",
            Self::TagPushed => "tag.pushed",
            Self::TagDeleted => "tag.deleted",
            Self::OrgCreated => "org.created",
            Self::OrgChanged => "org.changed",
            Self::OrgDeleted => "org.deleted",
            Self::RobotCreated => "robot.created",
            Self::RobotChanged => "robot.changed",
            Self::RobotDeleted => "robot.deleted",
            Self::RulesChanged => "rules.changed",
            Self::KeyCreated => "key.created",
            Self::KeyRevoked => "key.revoked",
            Self::SignedIn => "user.signed_in",
            Self::SignInFailed => "user.sign_in_failed",
            Self::UserChanged => "user.changed",
            Self::RegistryToken => "registry.token",
            Self::BuildQueued => "build.queued",
            Self::BuildStarted => "build.started",
            Self::BuildFinished => "build.finished",
            Self::BuildCancelled => "build.cancelled",
            Self::RetentionDeleted => "retention.deleted",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookDeleted => "webhook.deleted",
            Self::AdminAction => "admin.action",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    User,
    Robot,
    /// The registry (its notifications) or the portal acting on its own (retention, restores).
    Registry,
    System,
    /// Nobody signed in (a failed sign-in names what was typed in the summary, not here).
    Anonymous,
}

/// How the actor proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    Session,
    ApiKey,
    Password,
    RobotToken,
    AccessToken,
    RegistryToken,
    NotificationSecret,
    CommandLine,
    None,
}

/// The actor of an event, with where the request came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    pub kind: ActorKind,
    /// A user or robot name, an API key's id for a key, `registry` or `system`.
    pub name: String,
    pub credential: Credential,
    /// The client's address, when the change came with a request.
    pub client: Option<String>,
    /// The request's id (`x-request-id`), to find it in the logs.
    pub request_id: Option<String>,
}

impl EventActor {
    /// The portal itself (a periodic run, a restore).
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            name: "system".into(),
            credential: Credential::None,
            client: None,
            request_id: None,
        }
    }
}

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// What changed: `lab/samtools`, `lab/samtools:1.0`, `org:lab`, `user:alice`, `build:42`.
    pub target: String,
    /// The organisation the target belongs to, when it does (its owners and admins read the
    /// organisation's entries).
    pub org: Option<String>,
    pub actor: EventActor,
    /// A short before/after, never a secret.
    pub summary: String,
}

impl Event {
    /// An event with its free-text fields cut to their bounds (characters, not bytes), so a
    /// stranger's input cannot make a record unbounded.
    pub fn new(
        kind: EventKind,
        target: impl Into<String>,
        actor: EventActor,
        summary: impl Into<String>,
    ) -> Self {
        let mut actor = actor;
        actor.name = bounded(&actor.name, MAX_FIELD_CHARS);
        actor.client = actor.client.map(|c| bounded(&c, MAX_FIELD_CHARS));
        actor.request_id = actor.request_id.map(|r| bounded(&r, MAX_FIELD_CHARS));
        Self {
            kind,
            target: bounded(&target.into(), MAX_FIELD_CHARS),
            org: None,
            actor,
            summary: bounded(&summary.into(), MAX_SUMMARY_CHARS),
        }
    }

    /// The same event, belonging to organisation `org`.
    pub fn in_org(mut self, org: impl Into<String>) -> Self {
        self.org = Some(bounded(&org.into(), MAX_FIELD_CHARS));
        self
    }
}

/// An event with its place in the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// Grows with every event appended (by any process); consumers remember the last they saw.
    pub id: u64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: Event,
}

/// What an audit query asks for; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// The actor's name, exactly.
    pub actor: Option<String>,
    /// The target, exactly, or every target under it (`lab/samtools` also finds
    /// `lab/samtools:1.0`).
    pub target: Option<String>,
    pub kind: Option<EventKind>,
    /// Only this organisation's events.
    pub org: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
}

impl EventFilter {
    /// Whether `recorded` passes (the backends filter in their queries; this is the
    /// reference they are held to).
    pub fn admits(&self, recorded: &Recorded) -> bool {
        let event = &recorded.event;
        self.actor.as_ref().is_none_or(|a| &event.actor.name == a)
            && self.target.as_ref().is_none_or(|t| {
                event.target == *t
                    || event
                        .target
                        .strip_prefix(t.as_str())
                        .is_some_and(|rest| rest.starts_with(':'))
            })
            && self.kind.is_none_or(|k| event.kind == k)
            && self
                .org
                .as_ref()
                .is_none_or(|o| event.org.as_ref() == Some(o))
            && self.since.is_none_or(|s| recorded.at >= s)
            && self.until.is_none_or(|u| recorded.at < u)
    }
}

/// `text` cut to `max` characters (with `…` when cut).
fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> EventActor {
        EventActor {
            kind: ActorKind::User,
            name: "alice".into(),
            credential: Credential::Session,
            client: Some("192.0.2.1".into()),
            request_id: Some("r1".into()),
        }
    }

    #[test]
    fn kinds_have_stable_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(EventKind::parse("tag.moved"), None);
    }

    #[test]
    fn free_text_is_bounded() {
        let event = Event::new(
            EventKind::ContainerEdited,
            "x".repeat(MAX_FIELD_CHARS * 2),
            actor(),
            "é".repeat(MAX_SUMMARY_CHARS + 5),
        );
        assert_eq!(event.target.chars().count(), MAX_FIELD_CHARS);
        assert_eq!(event.summary.chars().count(), MAX_SUMMARY_CHARS);
        assert!(event.summary.ends_with('…'));
        let short = Event::new(EventKind::TagPushed, "lab/t:1", actor(), "pushed");
        assert_eq!(short.summary, "pushed");
    }

    #[test]
    fn filters_narrow_by_every_field() {
        let at = DateTime::from_timestamp_millis(1_750_000_000_000).unwrap();
        let recorded = Recorded {
            id: 7,
            at,
            event: Event::new(EventKind::TagPushed, "lab/tool:1.0", actor(), "").in_org("lab"),
        };
        assert!(EventFilter::default().admits(&recorded));
        let by = |f: EventFilter| f.admits(&recorded);
        assert!(by(EventFilter {
            target: Some("lab/tool".into()),
            ..Default::default()
        }));
        assert!(by(EventFilter {
            target: Some("lab/tool:1.0".into()),
            ..Default::default()
        }));
        assert!(!by(EventFilter {
            target: Some("lab/to".into()),
            ..Default::default()
        }));
        assert!(by(EventFilter {
            actor: Some("alice".into()),
            ..Default::default()
        }));
        assert!(!by(EventFilter {
            actor: Some("bob".into()),
            ..Default::default()
        }));
        assert!(!by(EventFilter {
            kind: Some(EventKind::TagDeleted),
            ..Default::default()
        }));
        assert!(by(EventFilter {
            org: Some("lab".into()),
            ..Default::default()
        }));
        assert!(!by(EventFilter {
            org: Some("viz".into()),
            ..Default::default()
        }));
        assert!(by(EventFilter {
            since: Some(at),
            ..Default::default()
        }));
        assert!(!by(EventFilter {
            until: Some(at),
            ..Default::default()
        }));
    }
}
