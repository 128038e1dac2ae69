//! The tool endpoints: service-info, tool classes, the tool list with its filters and paging
//! headers, one tool, its versions, and a version's containerfile.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use bioshadock_core::descriptor::DescriptorType;
use bioshadock_core::indexed::tool_aliases;
use bioshadock_core::ports::builds::BuildStatus;
use bioshadock_core::query::{Field, Filter, MAX_QUERY_LEN, SearchQuery, Sort};
use bioshadock_core::tag_policy::Deprecation;
use bioshadock_core::tool::ToolMetadata;
use bioshadock_core::{Container, RepoName, Tag};
use serde::Deserialize;

use super::model::{
    COMMAND_LINE_TOOL, Checksum, FileWrapper, ImageData, Organization, ServiceInfo, ServiceType,
    Tool, ToolClass, ToolVersion,
};
use super::{BASE, TrsError};
use crate::auth::Caller;
use crate::services::containers;
use crate::services::search::search_range;
use crate::services::tag_policies::TagRules;
use crate::state::AppState;

/// The page size when the caller names none: the specification's default.
const DEFAULT_LIMIT: usize = 1000;
/// The largest page served (a larger `limit` is cut to it).
const MAX_LIMIT: usize = 1000;
/// Builds looked at per container to find which tags were built (the newest first).
const BUILDS_PER_TOOL: usize = 100;

pub async fn service_info(State(state): State<AppState>) -> Json<ServiceInfo> {
    let base = public_url(&state);
    let host = base
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    // Reverse-DNS, as service-info recommends: portal.example.org → org.example.portal.trs.
    let mut id: Vec<&str> = host.split('.').filter(|p| !p.is_empty()).rev().collect();
    id.push("trs");
    Json(ServiceInfo {
        id: id.join("."),
        name: "Bioshadock".to_owned(),
        service_type: ServiceType {
            group: "org.ga4gh",
            artifact: "trs",
            version: "2.0.1",
        },
        description: "The container catalogue of this site: research tools as container \
                      images, with the Dockerfiles they were built from."
            .to_owned(),
        organization: Organization {
            name: host.to_owned(),
            url: base.clone(),
        },
        documentation_url: format!("{base}/api/docs"),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

pub async fn tool_classes() -> Json<Vec<ToolClass>> {
    Json(vec![ToolClass::command_line_tool()])
}

/// The filters of `GET /tools`. Every parameter is optional and none is refused: an unknown
/// class, descriptor type or registry simply matches nothing, and an offset this server never
/// handed out (not a number) is past the end.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    id: Option<String>,
    alias: Option<String>,
    tool_class: Option<String>,
    descriptor_type: Option<String>,
    registry: Option<String>,
    organization: Option<String>,
    name: Option<String>,
    toolname: Option<String>,
    description: Option<String>,
    author: Option<String>,
    checker: Option<String>,
    offset: Option<String>,
    limit: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, TrsError> {
    // Read leniently: the specification documents only a 200 answer for this operation.
    let params: ListParams = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let limit = params
        .limit
        .as_deref()
        .and_then(|l| l.trim().parse::<i64>().ok())
        .map_or(DEFAULT_LIMIT, |l| l.clamp(1, MAX_LIMIT as i64) as usize);
    let offset = match params.offset.as_deref().map(str::trim) {
        None | Some("") => Some(0),
        Some(o) => o.parse::<usize>().ok(),
    };
    let query = list_query(&state, &params);
    let (total, tools) = match (offset, query) {
        (Some(offset), Some(query)) => {
            let found = search_range(&state, &caller, &query, offset, limit).await?;
            let mut tools = Vec::with_capacity(found.containers.len());
            for c in &found.containers {
                let facts = tool_facts(&state, c).await?;
                tools.push(tool(&state, c, &facts));
            }
            (found.total as usize, tools)
        }
        _ => (0, Vec::new()),
    };
    let offset = offset.unwrap_or(total);
    let headers = paging_headers(&state, raw.as_deref(), offset, limit, total);
    Ok((headers, Json(tools)).into_response())
}

/// The search that answers `GET /tools`, or `None` when a filter rules out every tool here.
fn list_query(state: &AppState, params: &ListParams) -> Option<SearchQuery> {
    let mut query = SearchQuery {
        sort: Sort::Name,
        ..SearchQuery::default()
    };
    let mut filter = |field: Field, value: &str| {
        query.filters.push(Filter {
            field,
            value: value.trim().to_lowercase(),
        });
    };
    if let Some(id) = &params.id {
        RepoName::parse(id.trim()).ok()?;
        filter(Field::Name, id);
    }
    if let Some(alias) = &params.alias {
        filter(Field::Alias, alias);
    }
    if let Some(organization) = &params.organization {
        filter(Field::Namespace, organization);
    }
    for name in [&params.name, &params.toolname].into_iter().flatten() {
        filter(Field::Name, name);
    }
    let is_ours = |class: &String| class == COMMAND_LINE_TOOL;
    if params.tool_class.as_ref().is_some_and(|c| !is_ours(c))
        || params
            .registry
            .as_ref()
            .is_some_and(|r| !r.eq_ignore_ascii_case(&state.settings.pull_host))
        || params.checker.as_deref() == Some("true")
    {
        return None;
    }
    if let Some(kind) = &params.descriptor_type {
        filter(Field::Descriptor, DescriptorType::parse(kind)?.as_str());
    }
    // The description and the author are matched as words, like the search box.
    let words: String = [&params.description, &params.author]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    query.text = words.chars().take(MAX_QUERY_LEN).collect();
    Some(query)
}

/// `next_page`, `last_page`, `self_link`, `current_offset` and `current_limit`.
fn paging_headers(
    state: &AppState,
    raw: Option<&str>,
    offset: usize,
    limit: usize,
    total: usize,
) -> HeaderMap {
    // The caller's filters, as sent, without its paging.
    let kept: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k != "offset" && k != "limit")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let link = |at: usize| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(&kept);
        query.append_pair("offset", &at.to_string());
        query.append_pair("limit", &limit.to_string());
        format!("{}{BASE}/tools?{}", public_url(state), query.finish())
    };
    let last = total.saturating_sub(1) / limit * limit;
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("self_link", link(offset));
    put("last_page", link(last));
    if offset + limit < total {
        put("next_page", link(offset + limit));
    }
    put("current_offset", offset.to_string());
    put("current_limit", limit.to_string());
    headers
}

pub async fn one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Tool>, TrsError> {
    let c = visible(&state, &caller, &id).await?;
    let facts = tool_facts(&state, &c).await?;
    Ok(Json(tool(&state, &c, &facts)))
}

pub async fn versions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ToolVersion>>, TrsError> {
    let c = visible(&state, &caller, &id).await?;
    let facts = tool_facts(&state, &c).await?;
    Ok(Json(tool(&state, &c, &facts).versions))
}

pub async fn version(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id)): Path<(String, String)>,
) -> Result<Json<ToolVersion>, TrsError> {
    let c = visible(&state, &caller, &id).await?;
    let tag = tag_of(&c, &version_id)?;
    let facts = tool_facts(&state, &c).await?;
    let tool_metadata = ToolMetadata::from_labels(&c.labels);
    Ok(Json(tool_version(&state, &c, tag, &tool_metadata, &facts)))
}

/// The Dockerfile the version's image was built from, as the builder recorded it.
pub async fn containerfile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version_id)): Path<(String, String)>,
) -> Result<Json<Vec<FileWrapper>>, TrsError> {
    let c = visible(&state, &caller, &id).await?;
    let tag = tag_of(&c, &version_id)?;
    let none = || {
        TrsError::not_found(format!(
            "`{}` version `{}` was not built here: it has no recorded Dockerfile",
            c.id, tag.name
        ))
    };
    let built = built_tags(&state, &c).await?;
    let build = built.get(tag.name.as_str()).ok_or_else(none)?.build;
    let recorded = state.builds.dockerfile(build).await?.ok_or_else(none)?;
    Ok(Json(vec![FileWrapper {
        checksum: vec![Checksum::sha256_of(&recorded.text)],
        content: recorded.text,
        url: None,
    }]))
}

/// The container behind a tool id, if the caller may see it (else 404, as for one that does
/// not exist).
pub(super) async fn visible(
    state: &AppState,
    caller: &bioshadock_core::permissions::Principal,
    id: &str,
) -> Result<Container, TrsError> {
    // Clients that percent-encode an id they were given already encoded (trs-cli quotes
    // `lab%2Fsamtools` into `lab%252Fsamtools`) send `%2F` in the decoded id. A repository
    // name never holds `%`, so reading it as the separator is safe.
    let id = if id.contains('/') {
        id.to_owned()
    } else {
        id.replace("%2F", "/").replace("%2f", "/")
    };
    let name =
        RepoName::parse(&id).map_err(|_| TrsError::not_found(format!("no tool with id `{id}`")))?;
    let (c, _) = containers::visible(state, caller, &name)
        .await
        .map_err(|_| TrsError::not_found(format!("no tool with id `{id}`")))?;
    Ok(c)
}

pub(super) fn tag_of<'c>(c: &'c Container, version_id: &str) -> Result<&'c Tag, TrsError> {
    c.tags
        .iter()
        .find(|t| t.name.as_str() == version_id)
        .ok_or_else(|| TrsError::not_found(format!("`{}` has no version `{version_id}`", c.id)))
}

/// What the build that produced a tag's image recorded.
#[derive(Debug, Clone)]
pub(super) struct BuiltTag {
    pub build: i64,
    /// The TRS type of the descriptor it recorded, if any.
    pub descriptor: Option<String>,
}

/// What TRS says of one container beyond the container itself: which tags a build here
/// produced, and the tag policies in force (immutable, deprecated).
pub(super) struct ToolFacts {
    built: HashMap<String, BuiltTag>,
    rules: TagRules,
}

pub(super) async fn tool_facts(state: &AppState, c: &Container) -> Result<ToolFacts, TrsError> {
    Ok(ToolFacts {
        built: built_tags(state, c).await?,
        rules: TagRules::for_container(state, &c.id, Some(c.clone())).await?,
    })
}

/// The tags whose current image a successful build here produced, with that build: the
/// build whose digest is the tag's, so the Dockerfile and descriptor are exactly the image's.
pub(super) async fn built_tags(
    state: &AppState,
    c: &Container,
) -> Result<HashMap<String, BuiltTag>, TrsError> {
    if c.git.is_none() && c.dockerfile.is_none() {
        return Ok(HashMap::new());
    }
    let builds = state.builds.list(&c.id, BUILDS_PER_TOOL).await?;
    let mut built = HashMap::new();
    for tag in &c.tags {
        let produced = builds.iter().find(|b| {
            b.status == BuildStatus::Success
                && b.tag == tag.name
                && b.digest.as_deref() == Some(tag.digest.as_str())
        });
        if let Some(build) = produced {
            // Only a container that names a descriptor can have recorded one.
            let descriptor = match &c.descriptor {
                Some(_) => state.builds.descriptor(build.id).await?.map(|d| d.kind),
                None => None,
            };
            let built_tag = BuiltTag {
                build: build.id,
                descriptor,
            };
            built.insert(tag.name.as_str().to_owned(), built_tag);
        }
    }
    Ok(built)
}

/// The reason, and what to use instead.
fn deprecation_sentence(d: &Deprecation) -> String {
    match &d.replacement {
        Some(replacement) => format!("{} (use {replacement})", d.reason),
        None => d.reason.clone(),
    }
}

fn public_url(state: &AppState) -> String {
    state.settings.public_url.trim_end_matches('/').to_owned()
}

/// The tool id as one path segment: `lab/samtools` is `lab%2Fsamtools`.
fn encoded(id: &RepoName) -> String {
    id.as_str().replace('/', "%2F")
}

fn tool_url(state: &AppState, c: &Container) -> String {
    format!("{}{BASE}/tools/{}", public_url(state), encoded(&c.id))
}

fn tool(state: &AppState, c: &Container, facts: &ToolFacts) -> Tool {
    let metadata = ToolMetadata::from_labels(&c.labels);
    let versions = c
        .tags
        .iter()
        .map(|tag| tool_version(state, c, tag, &metadata, facts))
        .collect();
    let description = metadata
        .summary
        .clone()
        .unwrap_or_else(|| c.description.clone());
    // TRS has no field for it: a deprecated tool says so first thing in its description.
    let description = match &c.policy.deprecated {
        Some(d) => format!("Deprecated: {}. {description}", deprecation_sentence(d)),
        None => description,
    };
    Tool {
        url: tool_url(state, c),
        id: c.id.as_str().to_owned(),
        aliases: tool_aliases(&metadata),
        organization: c.id.namespace().to_owned(),
        name: c.id.short_name().to_owned(),
        toolclass: ToolClass::command_line_tool(),
        description,
        meta_version: c.updated_at.timestamp_millis().to_string(),
        has_checker: false,
        versions,
    }
}

fn tool_version(
    state: &AppState,
    c: &Container,
    tag: &Tag,
    metadata: &ToolMetadata,
    facts: &ToolFacts,
) -> ToolVersion {
    let built = facts.built.get(tag.name.as_str());
    let name = tag.name.as_str();
    ToolVersion {
        author: metadata.authors.clone(),
        name: tag.name.as_str().to_owned(),
        url: format!("{}/versions/{}", tool_url(state, c), tag.name),
        id: tag.name.as_str().to_owned(),
        // Production: the tag can never be moved to another image, and nobody said to stop
        // using it.
        is_production: facts.rules.is_immutable(name) && c.policy.deprecation_of(name).is_none(),
        images: vec![ImageData {
            registry_host: state.settings.pull_host.clone(),
            image_name: format!("{}:{}", c.id, tag.name),
            size: tag.size,
            updated: tag.pushed_at.to_rfc3339(),
            checksum: Checksum::of_digest(&tag.digest).into_iter().collect(),
            image_type: "Docker",
        }],
        descriptor_type: built
            .and_then(|b| b.descriptor.clone())
            .into_iter()
            .collect(),
        containerfile: built.is_some(),
        meta_version: tag.pushed_at.timestamp_millis().to_string(),
        verified: false,
        verified_source: Vec::new(),
        signed: false,
        included_apps: metadata
            .biotools
            .iter()
            .map(|id| format!("https://bio.tools/{id}"))
            .collect(),
    }
}
