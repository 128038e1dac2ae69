//! Push triggers: a git server (GitHub, GitLab, Gitea/Forgejo, or anything that can sign a
//! small JSON body) tells the portal about a push, and a trigger decides whether, and under
//! which tags, the container is built from the pushed commit.
//!
//! Pure rules, no I/O: [`signatures`] checks that a delivery comes from who holds the secret,
//! [`payloads`] reads each provider's documented push and tag payloads into one [`Push`], and
//! [`rules`] turns a push into tags to build or a reason not to. The web's hook endpoint records
//! every decision, whatever it is.

pub mod payloads;
pub mod rules;
pub mod signatures;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use payloads::{Received, parse};
pub use rules::{TriggerRules, Verdict, decide};
pub use signatures::{SignatureError, verify};

/// The largest hook body read (GitHub's own limit is 25 MB, but a push's payload is a few KiB;
/// 1 MiB holds 2,000 commits' file lists).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Changed paths kept from one push, at most; beyond, they are "unknown" (build).
pub const MAX_CHANGED_PATHS: usize = 10_000;

/// Who sends the hook, which decides how it is signed and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// `X-Hub-Signature-256: sha256=HMAC`.
    Github,
    /// `X-Gitlab-Token: SECRET`.
    Gitlab,
    /// Gitea and Forgejo: `X-Gitea-Signature: HMAC` (Forgejo also sends `X-Forgejo-Signature`).
    Gitea,
    /// Anything else: `{ref, commit, changed_paths?}` with `Bioshadock-Signature-256:
    /// sha256=HMAC` of the body.
    Generic,
}

impl Provider {
    pub const ALL: [Provider; 4] = [Self::Github, Self::Gitlab, Self::Gitea, Self::Generic];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Gitea => "gitea",
            Self::Generic => "generic",
        }
    }

    /// The provider named in a hook URL (`forgejo` is Gitea's).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "github" => Some(Self::Github),
            "gitlab" => Some(Self::Gitlab),
            "gitea" | "forgejo" => Some(Self::Gitea),
            "generic" => Some(Self::Generic),
            _ => None,
        }
    }
}

/// What asked for a build: a git server's hook (by its provider), the container's schedule,
/// or a new image of one of its base images. Decisions record it as `provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Github,
    Gitlab,
    Gitea,
    Generic,
    /// The container's cron schedule.
    Schedule,
    /// A new image pushed to a base image the container was built from.
    BaseImage,
}

impl From<Provider> for Origin {
    fn from(provider: Provider) -> Self {
        match provider {
            Provider::Github => Self::Github,
            Provider::Gitlab => Self::Gitlab,
            Provider::Gitea => Self::Gitea,
            Provider::Generic => Self::Generic,
        }
    }
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Gitea => "gitea",
            Self::Generic => "generic",
            Self::Schedule => "schedule",
            Self::BaseImage => "base_image",
        }
    }
}

/// A branch or a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefKind {
    Branch,
    Tag,
}

impl RefKind {
    /// `branch main` or `tag v1.2`.
    pub fn describe(self, name: &str) -> String {
        match self {
            Self::Branch => format!("branch {name}"),
            Self::Tag => format!("tag {name}"),
        }
    }
}

/// A push, whoever sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub kind: RefKind,
    /// The branch or tag name, without `refs/heads/` or `refs/tags/`.
    pub name: String,
    /// The pushed commit (hex).
    pub commit: String,
    /// The files the pushed commits touched; `None` when the payload does not say (a tag, a new
    /// branch, a list the provider cut short): then the git history is asked, or it is built.
    pub changed_paths: Option<BTreeSet<String>>,
    /// The repository's default branch, when the payload names it.
    pub default_branch: Option<String>,
}

impl Push {
    /// Whether this is a push to the repository's default branch.
    pub fn to_default_branch(&self) -> bool {
        self.kind == RefKind::Branch && self.default_branch.as_deref() == Some(self.name.as_str())
    }

    /// `branch main` or `tag v1.2`, for decisions.
    pub fn describe(&self) -> String {
        self.kind.describe(&self.name)
    }
}

/// Whether `commit` looks like a git object id (SHA-1 or SHA-256, hex).
pub fn is_commit_id(commit: &str) -> bool {
    matches!(commit.len(), 40 | 64) && commit.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A container's push trigger, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// `tr_` and 16 hex digits; the hook URL is `/hooks/{provider}/{namespace}/{name}` and the
    /// id tells triggers of one container apart in the decision log.
    pub id: String,
    /// The container (`namespace/name`).
    pub container: String,
    pub provider: Provider,
    /// The secret, sealed (`core::sealed`): GitHub and Gitea sign with it, GitLab sends it.
    pub sealed_secret: String,
    #[serde(flatten)]
    pub rules: rules::TriggerRules,
    /// Build arguments of this trigger's builds (`{tag}` and `{sha}` are filled in).
    #[serde(default)]
    pub build_args: std::collections::BTreeMap<String, String>,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A new trigger's id.
pub fn new_trigger_id() -> String {
    format!("tr_{:016x}", rand::random::<u64>())
}

/// What became of one hook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Queued,
    IgnoredByRef,
    IgnoredByPath,
    /// No tag template applies to the ref.
    NoTag,
    /// The same build was already queued.
    Deduplicated,
    /// The trigger's owner has too many builds queued or running.
    OverLimit,
    BadSignature,
    /// A ping, another event, a deletion, a body that is not a push.
    Ignored,
    /// Queueing failed (the store, the owner's rights).
    Failed,
}

/// One decision, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub at: chrono::DateTime<chrono::Utc>,
    /// The container (`namespace/name`).
    pub container: String,
    /// The trigger that decided (none when no trigger of the provider matched the signature).
    pub trigger: Option<String>,
    /// What asked: a hook's provider, the schedule or a base image.
    pub provider: Origin,
    /// `branch main`, `tag v1.2`, when the payload was read.
    pub reference: Option<String>,
    pub commit: Option<String>,
    pub outcome: Outcome,
    /// Why, in a sentence.
    pub reason: String,
    /// The builds queued (or found already queued), with their tags.
    #[serde(default)]
    pub builds: Vec<(i64, String)>,
}

/// Characters of a decision's reason, at most (it may quote a stranger's payload).
pub const MAX_REASON_CHARS: usize = 500;

impl Decision {
    /// The decision with its reason cut to [`MAX_REASON_CHARS`] and its control characters
    /// dropped.
    pub fn bounded(mut self) -> Self {
        self.reason = self
            .reason
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_REASON_CHARS)
            .collect();
        self
    }
}
