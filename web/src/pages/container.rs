//! A container's page: description, the `docker pull` line, tags, labels, Dockerfile, and its
//! builds (history, a chart of their durations, the Build form for those who may push).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bioshadock_core::model::now;
use bioshadock_core::ports::builds::Build;
use bioshadock_core::query::Facet;
use bioshadock_core::tag_policy::Deprecation;
use bioshadock_core::tool::ToolMetadata;
use bioshadock_core::{Container, RepoName};

use super::builds::{BuildRow, page_path};
use super::format::{ago, count, duration, encode_query, size};
use super::viewer::{Nav, Viewer};
use super::{PageError, render};
use crate::error::ApiError;
use crate::extract::ContainerId;
use crate::markdown;
use crate::services::builds::DEFAULT_TAG;
use crate::services::containers;
use crate::services::tag_policies::TagRules;
use crate::state::AppState;
use crate::views::{facet_label, pull_command};

/// Builds shown in the history and the chart.
const HISTORY: usize = 20;

struct TagRow {
    name: String,
    digest: String,
    short_digest: String,
    size: String,
    platforms: String,
    pushed: String,
    pushed_iso: String,
    /// Never moved to another image, never deleted.
    immutable: bool,
    /// Why it should no longer be used, when it is deprecated on its own.
    deprecated: Option<String>,
}

#[derive(Template)]
#[template(path = "container.html")]
struct ContainerPage {
    nav: Nav,
    csrf: String,
    /// The viewer may open the settings page.
    can_edit: bool,
    /// The viewer may queue builds.
    can_build: bool,
    /// The container has a git source or a Dockerfile to build from.
    has_source: bool,
    /// The Build form's tag.
    build_tag: String,
    /// Why the last Build did not queue.
    error: Option<String>,
    private: bool,
    id: String,
    namespace: String,
    /// Where the namespace's link goes: its organisation's page, or a search of it.
    namespace_link: String,
    name: String,
    owner: String,
    description_html: String,
    pull_command: String,
    tags: Vec<TagRow>,
    /// The banner of a deprecated container.
    deprecation: Option<String>,
    labels: Vec<(String, String)>,
    /// What the labels say about the tool, when they say anything.
    tool: Option<ToolCard>,
    dockerfile: Option<String>,
    /// Which build's Dockerfile is shown (`tools/x/Dockerfile at build #12 (lab/x:1.0)`);
    /// `None`: the one saved in the portal.
    dockerfile_origin: Option<String>,
    git: Option<String>,
    pulls: String,
    updated: String,
    updated_iso: String,
    created: String,
    /// Newest first.
    builds: Vec<BuildRow>,
    chart: Option<Chart>,
    /// The push triggers' recent decisions, for the container's managers.
    decisions: Vec<DecisionRow>,
}

/// One push-trigger decision, as the builds section shows it.
struct DecisionRow {
    at: String,
    /// `github`, `schedule`, `base image`…
    cause: String,
    reference: String,
    commit: String,
    outcome: &'static str,
    reason: String,
    /// `(build id, tag, status)`; the status of builds among the recent history (a skipped
    /// build, say, tells the rest of the story).
    builds: Vec<(i64, String, Option<&'static str>)>,
}

impl DecisionRow {
    fn new(d: bioshadock_core::triggers::Decision, recent: &[Build]) -> Self {
        use bioshadock_core::triggers::Outcome;
        Self {
            at: d.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            cause: d.provider.as_str().replace('_', " "),
            reference: d.reference.unwrap_or_default(),
            commit: d
                .commit
                .map(|c| c.chars().take(12).collect())
                .unwrap_or_default(),
            outcome: match d.outcome {
                Outcome::Queued => "queued",
                Outcome::IgnoredByRef => "ignored by ref filter",
                Outcome::IgnoredByPath => "ignored by path filter",
                Outcome::NoTag => "no tag",
                Outcome::Deduplicated => "deduplicated",
                Outcome::OverLimit => "over the limit",
                Outcome::BadSignature => "bad signature",
                Outcome::Ignored => "ignored",
                Outcome::Failed => "failed",
            },
            reason: d.reason,
            builds: d
                .builds
                .into_iter()
                .map(|(id, tag)| {
                    let status = recent
                        .iter()
                        .find(|b| b.id == id)
                        .map(|b| b.status.as_str());
                    (id, tag, status)
                })
                .collect(),
        }
    }
}

/// The tool card: the labels' tool metadata, with the links it makes. Every link is built here
/// from a checked value (an http(s) URL, a bio.tools id, a DOI, an EDAM id), never from a raw
/// label; the problems are shown to the container's editors only.
struct ToolCard {
    name: Option<String>,
    version: Option<String>,
    summary: Option<String>,
    license: Option<String>,
    homepage: Option<String>,
    documentation: Option<String>,
    authors: Vec<String>,
    /// `(id, https://bio.tools/id)`.
    biotools: Vec<(String, String)>,
    /// `(doi, https://doi.org/doi)`.
    dois: Vec<(String, String)>,
    /// `(id, label, its EDAM page)`, topics then operations.
    edam: Vec<(String, String, String)>,
    keywords: Vec<String>,
    executables: Vec<String>,
    problems: Vec<String>,
}

impl ToolCard {
    fn of(tool: &ToolMetadata) -> Option<Self> {
        if tool.is_empty() && tool.problems.is_empty() {
            return None;
        }
        let mut problems = tool.problems.clone();
        let biotools = tool
            .biotools
            .iter()
            .filter(|id| {
                let ok = id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~'));
                if !ok {
                    problems.push(format!("{id:?} is not a bio.tools id"));
                }
                ok
            })
            .map(|id| (id.clone(), format!("https://bio.tools/{id}")))
            .collect();
        Some(Self {
            name: tool.name.clone(),
            version: tool.version.clone(),
            summary: tool.summary.clone(),
            license: tool.license.clone(),
            homepage: tool.homepage.clone(),
            documentation: tool.documentation.clone(),
            authors: tool.authors.clone(),
            biotools,
            dois: tool
                .dois
                .iter()
                .map(|doi| (doi.clone(), format!("https://doi.org/{doi}")))
                .collect(),
            // Each term links to a search for it (which also finds the terms below it).
            edam: tool
                .topics
                .iter()
                .map(|id| (Facet::Topic, id))
                .chain(tool.operations.iter().map(|id| (Facet::Operation, id)))
                .map(|(facet, id)| {
                    let label = facet_label(facet, id);
                    let search = format!("/search?q={}", encode_query(&format!("{facet}:{id}")));
                    (id.clone(), label, search)
                })
                .collect(),
            keywords: tool.keywords.clone(),
            executables: tool.executables.clone(),
            problems,
        })
    }
}

/// A refused Build form, shown on the container page.
pub(crate) struct Flash {
    pub status: StatusCode,
    pub message: String,
    pub tag: String,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<ContainerId, ApiError>,
) -> Result<Response, PageError> {
    let ContainerId(id) = id?;
    show(&state, &viewer, &id, None).await
}

/// Push-trigger decisions shown under the build history.
const DECISIONS_SHOWN: usize = 10;

/// The page, with `flash` (and its status) when a Build form was refused.
pub(crate) async fn show(
    state: &AppState,
    viewer: &Viewer,
    id: &RepoName,
    flash: Option<Flash>,
) -> Result<Response, PageError> {
    let (container, rights) = containers::visible(state, &viewer.principal, id).await?;
    let builds = state.builds.list(id, HISTORY).await?;
    let mut page = view(&container, &state.settings.pull_host, &builds);
    page.nav = viewer.nav.clone();
    page.csrf = viewer.nav.csrf.clone();
    page.can_edit = rights.edit;
    page.can_build = rights.push && viewer.signed_in().is_some();
    // The Dockerfile of the newest successful build, as its source held it: every built tag
    // shows what it was built from, not only a Dockerfile pasted here.
    if let Some(built) = builds
        .iter()
        .find(|b| b.status == bioshadock_core::ports::builds::BuildStatus::Success)
        && let Some(recorded) = state.builds.dockerfile(built.id).await?
    {
        page.dockerfile = Some(recorded.text);
        page.dockerfile_origin = Some(format!(
            "{} at build #{} ({}:{})",
            recorded.path, built.id, built.container, built.tag
        ));
    }
    if let Some(org) = containers::organisation_of(state, id).await? {
        page.namespace_link = format!("/org/{}", org.name);
    }
    // Why the latest pushes did or did not build: for those who manage its triggers.
    if rights.manage {
        page.decisions = state
            .triggers
            .decisions(id.as_str(), DECISIONS_SHOWN)
            .await?
            .into_iter()
            .map(|d| DecisionRow::new(d, &builds))
            .collect();
    }
    let rules = TagRules::for_container(state, id, Some(container)).await?;
    for row in &mut page.tags {
        row.immutable = rules.is_immutable(&row.name);
    }
    let status = match flash {
        Some(flash) => {
            page.error = Some(flash.message);
            page.build_tag = flash.tag;
            flash.status
        }
        None => StatusCode::OK,
    };
    Ok(render(status, &page))
}

/// A deprecation in one sentence: the reason, what to use instead, when pulls stop.
fn deprecation_text(d: &Deprecation) -> String {
    let mut text = d.reason.clone();
    if let Some(replacement) = &d.replacement {
        text.push_str(&format!(" Use {replacement} instead."));
    }
    if let Some(after) = d.block_pulls_after {
        text.push_str(&format!(
            " Pulls are refused from {}.",
            after.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    text
}

fn view(c: &Container, pull_host: &str, builds: &[Build]) -> ContainerPage {
    let at = now();
    let has = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    ContainerPage {
        nav: Nav::default(),
        csrf: String::new(),
        can_edit: false,
        can_build: false,
        has_source: has(&c.git) || has(&c.dockerfile),
        build_tag: DEFAULT_TAG.to_owned(),
        error: None,
        private: !c.visibility.is_public(),
        id: c.id.to_string(),
        namespace: c.id.namespace().to_owned(),
        namespace_link: format!("/search?q=namespace:{}", c.id.namespace()),
        name: c.id.short_name().to_owned(),
        owner: c.owner.clone(),
        description_html: markdown::render(&c.description),
        pull_command: pull_command(pull_host, c),
        tags: c
            .tags
            .iter()
            .map(|t| TagRow {
                name: t.name.to_string(),
                digest: t.digest.clone(),
                short_digest: t.digest.chars().take(19).collect(),
                size: size(t.size),
                platforms: t.platforms.join(", "),
                pushed: ago(t.pushed_at),
                pushed_iso: t.pushed_at.to_rfc3339(),
                immutable: false,
                deprecated: c
                    .policy
                    .deprecated_tags
                    .get(t.name.as_str())
                    .map(deprecation_text),
            })
            .collect(),
        deprecation: c.policy.deprecated.as_ref().map(deprecation_text),
        labels: c
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        tool: ToolCard::of(&ToolMetadata::from_labels(&c.labels)),
        dockerfile: c.dockerfile.clone(),
        dockerfile_origin: None,
        git: c.git.as_deref().map(bioshadock_core::git::redact_userinfo),
        pulls: count(c.pulls),
        updated: ago(c.updated_at),
        updated_iso: c.updated_at.to_rfc3339(),
        created: c.created_at.format("%Y-%m-%d").to_string(),
        builds: builds.iter().map(|b| BuildRow::new(b, at)).collect(),
        chart: Chart::of(builds, at),
        decisions: Vec::new(),
    }
}

/// The durations of recent builds as bars, oldest on the left, drawn as inline SVG.
struct Chart {
    width: u32,
    height: u32,
    bars: Vec<Bar>,
    /// "longest 3m 05s", written above the bars.
    label: String,
}

struct Bar {
    url: String,
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    status: &'static str,
    /// The hover text.
    title: String,
}

impl Chart {
    const SLOT: u32 = 30;
    const BAR: u32 = 22;
    const TOP: u32 = 16;
    const AREA: u32 = 100;

    /// `None` when no build has a duration yet (none started).
    fn of(newest_first: &[Build], at: chrono::DateTime<chrono::Utc>) -> Option<Self> {
        let timed: Vec<(&Build, Option<f64>)> = newest_first
            .iter()
            .rev()
            .map(|b| (b, b.duration_secs(at)))
            .collect();
        let longest = timed.iter().filter_map(|(_, d)| *d).fold(0.0, f64::max);
        if !timed.iter().any(|(_, d)| d.is_some()) {
            return None;
        }
        let bars = timed
            .iter()
            .zip(0u32..)
            .map(|((build, secs), slot)| {
                let height = match secs {
                    Some(secs) if longest > 0.0 => {
                        ((secs / longest) * f64::from(Self::AREA)).round() as u32
                    }
                    _ => 0,
                }
                .max(2);
                let took = secs.map_or_else(|| "not started".to_owned(), duration);
                Bar {
                    url: page_path(build),
                    x: slot * Self::SLOT + (Self::SLOT - Self::BAR) / 2,
                    y: Self::TOP + Self::AREA - height,
                    width: Self::BAR,
                    height,
                    status: build.status.as_str(),
                    title: format!(
                        "#{} {}: {}, {} (queued {})",
                        build.id,
                        build.tag,
                        build.status.as_str(),
                        took,
                        ago(build.queued_at)
                    ),
                }
            })
            .collect::<Vec<_>>();
        Some(Self {
            // At least ten slots wide, so a few bars stay thin and the label fits.
            width: (bars.len() as u32).max(10) * Self::SLOT,
            height: Self::TOP + Self::AREA + 1,
            bars,
            label: format!("longest {}", duration(longest)),
        })
    }
}
