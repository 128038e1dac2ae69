//! What a hook receives: the documented JSON payload (its schema is in the OpenAPI document as
//! `WebhookPayload`) or a Slack/Mattermost message.

use bioshadock_core::events::Recorded;
use bioshadock_core::webhooks::{HookFormat, HookScope, Occurrence};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::WebSettings;

/// The body of a webhook request in the JSON format. Receivers should verify the
/// `Bioshadock-Signature` header before trusting it, and may use `event_id` to ignore a
/// delivery they already handled (a resend carries the same `event_id`).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPayload {
    /// `push`, `tag_deleted`, `build_started`, `build_succeeded`, `build_failed`,
    /// `build_skipped`, `deprecated`, `retention_deleted`, or `test`.
    #[schema(example = "push")]
    pub event: String,
    /// The event's id in the portal's event stream (0 for a test).
    pub event_id: u64,
    pub occurred_at: DateTime<Utc>,
    /// The container, `namespace/name` (for a test: the hook's scope).
    #[schema(example = "genomics-core/samtools")]
    pub repository: String,
    /// The tag concerned, when one is.
    #[schema(example = "1.20")]
    pub tag: Option<String>,
    /// Who did it: a user or robot name, `registry`, `builder`, `retention`.
    #[schema(example = "alice")]
    pub actor: String,
    /// What happened, in a sentence (as the audit log shows it).
    pub summary: String,
    /// The build, for build events.
    pub build: Option<BuildRef>,
    pub links: Links,
}

/// A build in a payload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuildRef {
    pub id: i64,
    /// `queued`, `running`, `success`, `failed`, `cancelled`, …
    pub status: String,
}

/// Where to look.
#[derive(Debug, Serialize, ToSchema)]
pub struct Links {
    /// The container's page.
    pub container: String,
    /// `docker pull` this, when a tag is concerned and still there.
    pub pull: Option<String>,
}

/// The JSON payload of `occurrence`, recorded as `recorded`.
pub fn of_event(
    settings: &WebSettings,
    occurrence: &Occurrence,
    recorded: &Recorded,
    build: Option<BuildRef>,
) -> WebhookPayload {
    let pull = occurrence
        .tag
        .as_ref()
        .filter(|_| {
            !matches!(
                occurrence.event,
                bioshadock_core::webhooks::HookEvent::TagDeleted
                    | bioshadock_core::webhooks::HookEvent::RetentionDeleted
            )
        })
        .map(|tag| format!("{}/{}:{tag}", settings.pull_host, occurrence.repository));
    WebhookPayload {
        event: occurrence.event.as_str().to_owned(),
        event_id: recorded.id,
        occurred_at: recorded.at,
        repository: occurrence.repository.clone(),
        tag: occurrence.tag.clone(),
        actor: recorded.event.actor.name.clone(),
        summary: recorded.event.summary.clone(),
        build,
        links: Links {
            container: container_link(settings, &occurrence.repository),
            pull,
        },
    }
}

/// The payload of "send a test event" for a hook of `scope`.
pub fn test(
    settings: &WebSettings,
    scope: &HookScope,
    by: &str,
    now: DateTime<Utc>,
) -> WebhookPayload {
    let repository = match scope {
        HookScope::Container(id) => id.clone(),
        HookScope::Organisation(org) => format!("{org}/*"),
        HookScope::Global => "*/*".to_owned(),
    };
    WebhookPayload {
        event: "test".to_owned(),
        event_id: 0,
        occurred_at: now,
        links: Links {
            container: container_link(settings, &repository),
            pull: None,
        },
        repository,
        tag: None,
        actor: by.to_owned(),
        summary: "a test event: this hook works".to_owned(),
        build: None,
    }
}

fn container_link(settings: &WebSettings, repository: &str) -> String {
    format!(
        "{}/r/{repository}",
        settings.public_url.trim_end_matches('/')
    )
}

/// The bytes sent for `payload` in `format`.
pub fn render(payload: &WebhookPayload, format: HookFormat) -> String {
    match format {
        HookFormat::Json => serde_json::to_string(payload).unwrap_or_default(),
        HookFormat::Slack => {
            let what = match &payload.tag {
                Some(tag) => format!("{}:{tag}", payload.repository),
                None => payload.repository.clone(),
            };
            // Slack's and Mattermost's link syntax; `<`, `>` and `&` are escaped as they ask.
            let escape = |text: &str| {
                text.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            };
            let text = format!(
                "[{}] <{}|{}> {} (by {})",
                payload.event,
                payload.links.container,
                escape(&what),
                escape(&payload.summary),
                escape(&payload.actor)
            );
            serde_json::json!({ "text": text }).to_string()
        }
    }
}
