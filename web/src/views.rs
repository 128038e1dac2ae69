//! The JSON shapes of the API, documented in the OpenAPI spec.

mod facets;

use std::collections::BTreeMap;

use bioshadock_core::tag_policy::{Deprecation, ImmutableTags};
use bioshadock_core::{Container, Tag};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

pub use facets::{FacetValueView, FacetsView, facet_label, facet_values};

/// A container as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContainerView {
    /// The repository name, `namespace/name`.
    #[schema(example = "lab/samtools")]
    pub id: String,
    pub namespace: String,
    pub name: String,
    pub owner: String,
    /// Markdown.
    pub description: String,
    /// True when anyone may see and pull it.
    pub visible: bool,
    /// `public` or `private`.
    pub visibility: String,
    /// The git source, without any credentials it was saved with (user-info or query).
    pub git: Option<String>,
    pub dockerfile: Option<String>,
    /// The workflow descriptor the builder records: a path in the git source or a URL.
    pub descriptor: Option<String>,
    /// Its own immutability policy; `null`: its namespace's default applies.
    #[schema(schema_with = crate::api::immutable_schema)]
    pub immutable: Option<ImmutableTags>,
    /// Set when the whole container is deprecated.
    pub deprecated: Option<DeprecationView>,
    /// Newest first.
    pub tags: Vec<TagView>,
    pub labels: BTreeMap<String, String>,
    pub pulls: u64,
    /// The command that pulls the newest tag.
    #[schema(example = "docker pull registry.example.org/lab/samtools:1.19")]
    pub pull_command: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One tag of a container.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagView {
    #[schema(example = "1.19")]
    pub name: String,
    /// Manifest digest.
    #[schema(example = "sha256:4c0e...")]
    pub digest: String,
    /// Compressed size in bytes.
    pub size: u64,
    pub platforms: Vec<String>,
    pub pushed_at: DateTime<Utc>,
    /// Whether the tag is immutable (never moved to another image, never deleted). Present
    /// when the answer is about one container, whose namespace's default is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Set when this tag is deprecated on its own.
    pub deprecated: Option<DeprecationView>,
}

/// Why a container or a tag should no longer be used.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeprecationView {
    pub reason: String,
    /// What to use instead.
    pub replacement: Option<String>,
    /// When it was deprecated.
    pub since: DateTime<Utc>,
    /// From then on, pulls through the registry front are refused.
    pub block_pulls_after: Option<DateTime<Utc>>,
}

impl From<Deprecation> for DeprecationView {
    fn from(d: Deprecation) -> Self {
        Self {
            reason: d.reason,
            replacement: d.replacement,
            since: d.since,
            block_pulls_after: d.block_pulls_after,
        }
    }
}

/// One page of search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    /// How many containers match (that the caller may see).
    pub total: u64,
    pub results: Vec<ContainerView>,
    /// Present when `facets=` asked for some: counts over every match, not only this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<FacetsView>,
}

/// The `docker pull` line for a container's newest tag (or `latest` when it has none).
pub fn pull_command(pull_host: &str, container: &Container) -> String {
    let tag = container.latest_tag().map_or("latest", |t| t.name.as_str());
    format!("docker pull {pull_host}/{}:{tag}", container.id)
}

impl ContainerView {
    pub fn new(container: Container, pull_host: &str) -> Self {
        let pull_command = pull_command(pull_host, &container);
        let policy = container.policy;
        let mut deprecated_tags = policy.deprecated_tags;
        let tags = container
            .tags
            .into_iter()
            .map(|tag| {
                let deprecated = deprecated_tags.remove(tag.name.as_str()).map(Into::into);
                TagView {
                    // Known from the container's own policy; else it takes its namespace's.
                    immutable: policy
                        .immutable
                        .as_ref()
                        .map(|p| p.covers(tag.name.as_str())),
                    deprecated,
                    ..TagView::from(tag)
                }
            })
            .collect();
        Self {
            namespace: container.id.namespace().to_owned(),
            name: container.id.short_name().to_owned(),
            id: container.id.to_string(),
            owner: container.owner,
            description: container.description,
            visible: container.visibility.is_public(),
            visibility: container.visibility.as_str().to_owned(),
            git: container
                .git
                .as_deref()
                .map(bioshadock_core::git::redact_userinfo),
            dockerfile: container.dockerfile,
            descriptor: container.descriptor,
            immutable: policy.immutable,
            deprecated: policy.deprecated.map(Into::into),
            tags,
            labels: container.labels,
            pulls: container.pulls,
            pull_command,
            created_at: container.created_at,
            updated_at: container.updated_at,
        }
    }
}

impl From<Tag> for TagView {
    fn from(tag: Tag) -> Self {
        Self {
            name: tag.name.to_string(),
            digest: tag.digest,
            size: tag.size,
            platforms: tag.platforms,
            pushed_at: tag.pushed_at,
            immutable: None,
            deprecated: None,
        }
    }
}

impl ContainerView {
    /// Marks each tag immutable or not when the container has no policy of its own, from its
    /// namespace's default (`None`: no default, so none is).
    pub fn with_namespace_default(mut self, default: Option<&ImmutableTags>) -> Self {
        if self.immutable.is_none() {
            for tag in &mut self.tags {
                tag.immutable = Some(default.is_some_and(|p| p.covers(&tag.name)));
            }
        }
        self
    }
}
