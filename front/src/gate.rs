//! The port through which the front asks the portal about manifests: whether a manifest
//! request may reach the registry (immutable tags, blocked pulls), and that an image was
//! pulled. The portal implements it on its own rules (`core`); the front only carries requests.

use async_trait::async_trait;

/// What a manifest request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestAction {
    /// `GET` or `HEAD`: a pull (or a look).
    Read { head: bool },
    /// `PUT`: a push to a tag or a digest.
    Write,
    /// `DELETE`: a tag or a digest.
    Delete,
}

/// A manifest request, as the portal needs to judge it.
#[derive(Debug, Clone)]
pub struct ManifestCall<'a> {
    pub action: ManifestAction,
    /// The repository (`namespace/name`) as the path names it; not yet checked for grammar.
    pub repository: &'a str,
    /// A tag, or a digest (`sha256:…`).
    pub reference: &'a str,
    /// Tags a push names in its query (`?tag=…`, OCI distribution 1.1) besides the reference.
    pub query_tags: Vec<String>,
    /// The request's `Authorization` header, so the portal judges only what the registry
    /// would let this caller do (a stranger learns nothing of a private repository's tags).
    pub authorization: Option<&'a str>,
    /// For a push: the digest of the manifest as sent (`sha256:…`).
    pub digest: Option<String>,
}

/// The portal's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Forward it to the registry.
    Forward,
    /// Answer it here, with a Distribution-style error the docker CLI prints.
    Refuse(Refusal),
}

/// A refusal: `status`, and an error `code` (`DENIED`, `UNAVAILABLE`, …) with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    /// 403 `DENIED`: the docker CLI prints `denied: MESSAGE`.
    pub fn denied(message: impl Into<String>) -> Self {
        Self {
            status: 403,
            code: "DENIED",
            message: message.into(),
        }
    }

    /// 503 `UNAVAILABLE`: the portal cannot decide now (its store is down); nothing reaches
    /// the registry that a rule might have refused.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: 503,
            code: "UNAVAILABLE",
            message: message.into(),
        }
    }
}

/// The portal side of the front.
#[async_trait]
pub trait Gate: Send + Sync + 'static {
    /// Whether `call` may reach the registry.
    async fn check(&self, call: &ManifestCall<'_>) -> Verdict;

    /// An image manifest (not an index) was served by a `GET` on `repository`: one pull.
    /// Awaited before the response goes out, so a finished `docker pull` is already counted.
    async fn pulled(&self, repository: &str);
}

/// A gate that forwards everything and counts nothing (a front for a registry alone).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenGate;

#[async_trait]
impl Gate for OpenGate {
    async fn check(&self, _: &ManifestCall<'_>) -> Verdict {
        Verdict::Forward
    }

    async fn pulled(&self, _: &str) {}
}
