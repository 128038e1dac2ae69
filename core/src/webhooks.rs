//! Outgoing webhooks: who hears what (a hook's scope, events and tag filter), what is sent (the
//! documented JSON payload, or a Slack/Mattermost message), how it is signed
//! (`Bioshadock-Signature: t=TIMESTAMP,v1=HEX(HMAC_SHA256(secret, "TIMESTAMP.BODY"))`, as
//! Stripe signs), and how a delivery is retried (exponential back-off for 24 hours).
//!
//! Hooks consume the event stream (`core::events`): nothing here sends anything; the web's
//! dispatcher turns each recorded event into deliveries and the sender makes the requests.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{EventKind, Recorded};
use crate::rules::Pattern;

/// The longest hook URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// Hooks of one container, organisation, or global, at most.
pub const MAX_HOOKS_PER_SCOPE: usize = 20;
/// Tag patterns of one hook, at most.
pub const MAX_TAG_PATTERNS: usize = 20;
/// How much of a receiver's answer the delivery log keeps.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;
/// How long a failing delivery is retried.
pub const RETRY_FOR: Duration = Duration::hours(24);
/// Attempts a delivery keeps the details of (the newest; the count covers all).
pub const ATTEMPTS_KEPT: usize = 10;
/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::seconds(5);
const MAX_BACKOFF: Duration = Duration::hours(1);

/// The signature header: `t=TIMESTAMP,v1=HEX`.
pub const SIGNATURE_HEADER: &str = "Bioshadock-Signature";
/// The delivery's id (the same on every retry of it).
pub const DELIVERY_HEADER: &str = "Bioshadock-Delivery";
/// The event's name (`push`, `test`, …).
pub const EVENT_HEADER: &str = "Bioshadock-Event";

/// What a hook may subscribe to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    /// A tag was pushed (to a new or another image).
    Push,
    /// A tag was deleted by someone.
    TagDeleted,
    BuildStarted,
    BuildSucceeded,
    /// A build ended otherwise than with success (failed, timed out, lost its worker).
    BuildFailed,
    /// A build ended without building: a push trigger's path filter matched no file changed
    /// since the tag was last built.
    BuildSkipped,
    /// A container or one of its tags was deprecated (or the deprecation lifted).
    Deprecated,
    /// A tag was deleted by a retention policy.
    RetentionDeleted,
}

impl HookEvent {
    pub const ALL: [HookEvent; 8] = [
        Self::Push,
        Self::TagDeleted,
        Self::BuildStarted,
        Self::BuildSucceeded,
        Self::BuildFailed,
        Self::BuildSkipped,
        Self::Deprecated,
        Self::RetentionDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::TagDeleted => "tag_deleted",
            Self::BuildStarted => "build_started",
            Self::BuildSucceeded => "build_succeeded",
            Self::BuildFailed => "build_failed",
            Self::BuildSkipped => "build_skipped",
            Self::Deprecated => "deprecated",
            Self::RetentionDeleted => "retention_deleted",
        }
    }
}

/// Whose events a hook hears.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum HookScope {
    /// Everything (administrators).
    Global,
    /// Every container of an organisation.
    Organisation(String),
    /// One container (`namespace/name`).
    Container(String),
}

impl std::fmt::Display for HookScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Global => f.write_str("global"),
            Self::Organisation(org) => write!(f, "org:{org}"),
            Self::Container(id) => write!(f, "container:{id}"),
        }
    }
}

impl From<HookScope> for String {
    fn from(scope: HookScope) -> Self {
        scope.to_string()
    }
}

impl TryFrom<String> for HookScope {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        if raw == "global" {
            return Ok(Self::Global);
        }
        if let Some(org) = raw.strip_prefix("org:") {
            return Ok(Self::Organisation(org.to_owned()));
        }
        if let Some(id) = raw.strip_prefix("container:") {
            return Ok(Self::Container(id.to_owned()));
        }
        Err(format!("`{raw}` is not a webhook scope"))
    }
}

/// How a payload is written.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HookFormat {
    /// The documented JSON payload.
    #[default]
    Json,
    /// `{"text": "…"}`, which Slack's and Mattermost's incoming webhooks take.
    Slack,
}

/// A hook as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// `wh_` and 16 hex digits.
    pub id: String,
    pub scope: HookScope,
    pub url: String,
    /// The signing secret, sealed (`core::sealed`): never stored or shown in clear after its
    /// creation.
    pub sealed_secret: String,
    pub events: BTreeSet<HookEvent>,
    /// Only events about tags matching one of these (globs or `/regex/`); empty: every tag,
    /// and events about no tag (builds, a container's deprecation).
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub format: HookFormat,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A new hook's id.
pub fn new_hook_id() -> String {
    format!("wh_{:016x}", rand::random::<u64>())
}

/// A new signing secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", hex::encode(bytes))
}

/// Checks a hook's URL as written: http(s), a host, no credentials, no control characters,
/// bounded. Where it resolves to is checked when it is created and again at every delivery.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!(
            "a webhook URL is at most {MAX_URL_CHARS} characters"
        ));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("a webhook URL has no spaces or control characters".into());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("a webhook URL starts with http:// or https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("a webhook URL carries no credentials: the signature proves the sender".into());
    }
    if authority.is_empty() {
        return Err("a webhook URL names a host".into());
    }
    Ok(())
}

/// Checks a tag filter: at most [`MAX_TAG_PATTERNS`] patterns that compile.
pub fn check_tags(tags: &[String]) -> Result<(), String> {
    if tags.len() > MAX_TAG_PATTERNS {
        return Err(format!("at most {MAX_TAG_PATTERNS} tag patterns"));
    }
    for raw in tags {
        if raw.is_empty() || raw.chars().count() > 256 || raw.chars().any(char::is_control) {
            return Err(format!("`{raw}` is not a tag pattern"));
        }
        Pattern::compile(raw).map_err(|e| format!("`{raw}`: {e}"))?;
    }
    Ok(())
}

/// What an event is about, as hooks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub event: HookEvent,
    /// The container (`namespace/name`).
    pub repository: String,
    pub tag: Option<String>,
    /// The container's organisation, when its namespace is one.
    pub org: Option<String>,
}

/// How a recorded event concerns hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concern {
    /// Not at all (a sign-in, a key).
    None,
    /// This occurrence.
    About(Occurrence),
    /// A build's start or end: what it is about is in the build's record (its id here).
    Build { id: u64, started: bool },
}

/// `namespace/name:tag` or `namespace/name` split (a repository name holds no `:`).
fn repository_and_tag(target: &str) -> (String, Option<String>) {
    match target.split_once(':') {
        Some((repository, tag)) => (repository.to_owned(), Some(tag.to_owned())),
        None => (target.to_owned(), None),
    }
}

/// How `recorded` concerns hooks.
pub fn concern(recorded: &Recorded) -> Concern {
    let event = &recorded.event;
    let about = |hook_event: HookEvent| {
        let (repository, tag) = repository_and_tag(&event.target);
        Concern::About(Occurrence {
            event: hook_event,
            repository,
            tag,
            org: event.org.clone(),
        })
    };
    match event.kind {
        EventKind::TagPushed => about(HookEvent::Push),
        EventKind::TagDeleted => about(HookEvent::TagDeleted),
        EventKind::RetentionDeleted => about(HookEvent::RetentionDeleted),
        EventKind::Deprecated => about(HookEvent::Deprecated),
        EventKind::BuildStarted | EventKind::BuildFinished => {
            match event
                .target
                .strip_prefix("build:")
                .and_then(|n| n.parse().ok())
            {
                Some(id) => Concern::Build {
                    id,
                    started: event.kind == EventKind::BuildStarted,
                },
                None => Concern::None,
            }
        }
        _ => Concern::None,
    }
}

impl Webhook {
    /// Whether this hook hears `occurrence`.
    pub fn wants(&self, occurrence: &Occurrence) -> bool {
        let in_scope = match &self.scope {
            HookScope::Global => true,
            HookScope::Organisation(org) => {
                occurrence.org.as_deref() == Some(org.as_str())
                    || occurrence.repository.split('/').next() == Some(org.as_str())
            }
            HookScope::Container(id) => occurrence.repository == *id,
        };
        in_scope && self.events.contains(&occurrence.event) && self.tag_admits(occurrence)
    }

    fn tag_admits(&self, occurrence: &Occurrence) -> bool {
        if self.tags.is_empty() {
            return true;
        }
        let Some(tag) = occurrence.tag.as_deref() else {
            return false;
        };
        self.tags
            .iter()
            .filter_map(|raw| Pattern::compile(raw).ok())
            .any(|pattern| pattern.matches(tag))
    }
}

/// The value of [`SIGNATURE_HEADER`] for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = ring::hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    format!("t={timestamp},v1={}", hex::encode(context.sign().as_ref()))
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet answered with a 2xx: tried again at `next_attempt_at`.
    Pending,
    Delivered,
    /// Retried for [`RETRY_FOR`] without a 2xx; "resend" makes a new delivery of it.
    Failed,
}

/// One try of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    pub duration_ms: u64,
    /// The first [`RESPONSE_EXCERPT_BYTES`] of the answer (lossy UTF-8).
    pub response: String,
    /// Why there was no answer (refused address, timeout, connection error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One payload to one hook, with its tries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `HOOK.EVENT_ID` for a delivery of an event (so making it twice is making it once), else
    /// `HOOK.t` and random hex (a test, a resend).
    pub id: String,
    pub hook: String,
    /// [`HookEvent::as_str`], or `test`.
    pub event: String,
    /// The event's id in the stream, when it delivers one.
    pub event_id: Option<u64>,
    /// The exact bytes sent (UTF-8 JSON).
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub state: DeliveryState,
    pub next_attempt_at: DateTime<Utc>,
    /// Tries so far.
    pub attempts: u32,
    /// The newest [`ATTEMPTS_KEPT`] tries, oldest first.
    pub tries: Vec<Attempt>,
}

impl Delivery {
    /// A delivery due now.
    pub fn new(
        id: String,
        hook: &str,
        event: &str,
        event_id: Option<u64>,
        body: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            hook: hook.to_owned(),
            event: event.to_owned(),
            event_id,
            body,
            created_at: now,
            state: DeliveryState::Pending,
            next_attempt_at: now,
            attempts: 0,
            tries: Vec::new(),
        }
    }

    /// Records a try made at `attempt.at`: a 2xx delivers it; otherwise it is tried again after
    /// the back-off, until [`RETRY_FOR`] after its creation.
    pub fn record(&mut self, attempt: Attempt) {
        let at = attempt.at;
        let delivered = attempt.status.is_some_and(|s| (200..300).contains(&s));
        self.attempts = self.attempts.saturating_add(1);
        self.tries.push(attempt);
        if self.tries.len() > ATTEMPTS_KEPT {
            self.tries.remove(0);
        }
        if delivered {
            self.state = DeliveryState::Delivered;
            return;
        }
        let next = at + backoff(self.attempts);
        if next > self.created_at + RETRY_FOR {
            self.state = DeliveryState::Failed;
        } else {
            self.state = DeliveryState::Pending;
            self.next_attempt_at = next;
        }
    }
}

/// The wait after the `attempts`-th failed try: 5 s, 10 s, 20 s, … up to an hour.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    (FIRST_BACKOFF * 2_i32.pow(doublings)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ActorKind, Credential, Event, EventActor};

    fn hook(scope: HookScope, events: &[HookEvent], tags: &[&str]) -> Webhook {
        Webhook {
            id: new_hook_id(),
            scope,
            url: "https://example.org/hook".into(),
            sealed_secret: String::new(),
            events: events.iter().copied().collect(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            format: HookFormat::Json,
            created_by: "ada".into(),
            created_at: Utc::now(),
        }
    }

    fn recorded(kind: EventKind, target: &str, org: Option<&str>) -> Recorded {
        let actor = EventActor {
            kind: ActorKind::User,
            name: "ada".into(),
            credential: Credential::RegistryToken,
            client: None,
            request_id: None,
        };
        let mut event = Event::new(kind, target, actor, "pushed");
        if let Some(org) = org {
            event = event.in_org(org);
        }
        Recorded {
            id: 7,
            at: Utc::now(),
            event,
        }
    }

    fn occurrence(recorded: &Recorded) -> Occurrence {
        match concern(recorded) {
            Concern::About(o) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hooks_hear_their_scope_their_events_and_their_tags() {
        let push = occurrence(&recorded(EventKind::TagPushed, "lab/tool:1.2", Some("lab")));
        assert_eq!(push.repository, "lab/tool");
        assert_eq!(push.tag.as_deref(), Some("1.2"));
        let pushes = [HookEvent::Push];
        assert!(hook(HookScope::Global, &pushes, &[]).wants(&push));
        assert!(hook(HookScope::Organisation("lab".into()), &pushes, &[]).wants(&push));
        assert!(!hook(HookScope::Organisation("lab2".into()), &pushes, &[]).wants(&push));
        assert!(hook(HookScope::Container("lab/tool".into()), &pushes, &[]).wants(&push));
        assert!(!hook(HookScope::Container("lab/tools".into()), &pushes, &[]).wants(&push));
        assert!(!hook(HookScope::Global, &[HookEvent::TagDeleted], &[]).wants(&push));
        assert!(hook(HookScope::Global, &pushes, &["1.*"]).wants(&push));
        assert!(hook(HookScope::Global, &pushes, &["/^1\\.[0-9]+$/"]).wants(&push));
        assert!(!hook(HookScope::Global, &pushes, &["latest"]).wants(&push));
        // A tag filter leaves out events about no tag.
        let deprecated = occurrence(&recorded(EventKind::Deprecated, "lab/tool", None));
        let deprecations = [HookEvent::Deprecated];
        assert!(!hook(HookScope::Global, &deprecations, &["1.*"]).wants(&deprecated));
        assert!(hook(HookScope::Organisation("lab".into()), &deprecations, &[]).wants(&deprecated));

        assert_eq!(
            concern(&recorded(EventKind::BuildFinished, "build:42", None)),
            Concern::Build {
                id: 42,
                started: false
            }
        );
        assert_eq!(
            concern(&recorded(EventKind::SignedIn, "user:ada", None)),
            Concern::None
        );
    }

    #[test]
    fn signatures_are_stripe_style_hmacs_of_timestamp_dot_body() {
        // The same value `printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_x`
        // prints.
        let signed = signature("whsec_x", 1_700_000_000, br#"{"a":1}"#);
        assert!(signed.starts_with("t=1700000000,v1="), "{signed}");
        let hex = signed.split("v1=").nth(1).unwrap();
        assert_eq!(hex.len(), 64);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"whsec_x");
        let expected = ring::hmac::sign(&key, br#"1700000000.{"a":1}"#);
        assert_eq!(hex, hex::encode(expected.as_ref()));
        assert_ne!(signed, signature("whsec_y", 1_700_000_000, br#"{"a":1}"#));
    }

    #[test]
    fn failing_deliveries_back_off_and_give_up_after_a_day() {
        let t0 = Utc::now();
        let mut delivery = Delivery::new("wh_1.7".into(), "wh_1", "push", Some(7), "{}".into(), t0);
        let fail = |at, status| Attempt {
            at,
            status,
            duration_ms: 3,
            response: "oops".into(),
            error: None,
        };
        delivery.record(fail(t0, Some(500)));
        assert_eq!(delivery.state, DeliveryState::Pending);
        assert_eq!(delivery.next_attempt_at, t0 + Duration::seconds(5));
        delivery.record(fail(t0 + Duration::seconds(5), None));
        assert_eq!(delivery.next_attempt_at, t0 + Duration::seconds(15));
        assert_eq!(backoff(30), Duration::hours(1));
        delivery.record(fail(t0 + Duration::hours(24), Some(502)));
        assert_eq!(delivery.state, DeliveryState::Failed);
        assert_eq!(delivery.attempts, 3);
        for n in 0..15 {
            delivery.record(fail(
                t0 + Duration::hours(25) + Duration::seconds(n),
                Some(500),
            ));
        }
        assert_eq!(delivery.tries.len(), ATTEMPTS_KEPT);
        let mut ok = Delivery::new("wh_1.8".into(), "wh_1", "push", Some(8), "{}".into(), t0);
        ok.record(fail(t0, Some(204)));
        assert_eq!(ok.state, DeliveryState::Delivered);
    }

    #[test]
    fn urls_and_filters_are_checked() {
        assert!(check_url("https://hooks.example.org/x?y=1").is_ok());
        assert!(
            check_url("http://10.0.0.1:8080/").is_ok(),
            "addresses are checked later"
        );
        for bad in [
            "ftp://example.org/",
            "https://",
            "https://user:pw@example.org/",
            "https://example.org/a b",
            "javascript:alert(1)",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://e.org/{}", "a".repeat(MAX_URL_CHARS))).is_err());
        assert!(check_tags(&["1.*".into(), "/^v/".into()]).is_ok());
        assert!(check_tags(&["/(/".into()]).is_err());
        assert!(check_tags(&vec!["x".into(); MAX_TAG_PATTERNS + 1]).is_err());
        assert_eq!(
            serde_json::to_string(&HookScope::Container("lab/tool".into())).unwrap(),
            "\"container:lab/tool\""
        );
        assert!(serde_json::from_str::<HookScope>("\"somewhere\"").is_err());
    }
}
