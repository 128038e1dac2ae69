//! How the API documents the grammar of its inputs: the rules the extractors and services
//! enforce, written as JSON Schema patterns and bounds (from `core`), so that a client that
//! follows the document is never refused for the shape of what it sent, and what the document
//! rules out is refused. The schemathesis run of the end-to-end tests holds the two together.
//!
//! The path structs exist for the OpenAPI document only; the handlers keep extracting with
//! [`crate::extract::ContainerId`] and `Path`, which apply the same rules.

use bioshadock_core::accounts::{LIBRARY_NAMESPACE, MAX_USER_NAME_LEN};
use bioshadock_core::accounts::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
use bioshadock_core::git::GIT_SOURCE_PATTERN;
use bioshadock_core::names::{
    MAX_NAMESPACE_LEN, MAX_NEW_NAME_LEN, MAX_TAG_LEN, PATH_COMPONENT_PATTERN, RESERVED_NAMESPACES,
    TAG_PATTERN, component_pattern_excluding, not_one_of,
};
use bioshadock_core::orgs::{MAX_DESCRIPTION, MAX_TEAM_NAME_LEN};
use bioshadock_core::robots::{MAX_ROBOT_NAME_LEN, MAX_ROBOT_REPOSITORIES};
use utoipa::IntoParams;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};

// Path parameters. (`schema_with` drops the fields' doc comments: the schemas describe
// themselves.) A namespace of a pushed container may be longer than 64 characters (the
// registry's rule is 255 for the whole name); such a path is still served, the document simply
// does not promise it.

/// `{namespace}/{name}`: a container id.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI derive only
pub struct ContainerPath {
    /// The namespace: a user, an organisation, or `library`.
    #[param(required = true, schema_with = namespace_schema)]
    namespace: String,
    /// The container's name inside the namespace.
    #[param(required = true, schema_with = short_name_schema)]
    name: String,
}

/// `{namespace}/{name}/{tag}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct TagPath {
    #[param(required = true, schema_with = namespace_schema)]
    namespace: String,
    #[param(required = true, schema_with = short_name_schema)]
    name: String,
    /// An image tag.
    #[param(required = true, schema_with = tag_schema)]
    tag: String,
}

/// `{build}`: a build's number.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct BuildPath {
    /// The build's id, as returned when it was queued.
    #[param(required = true, schema_with = build_id_schema)]
    build: i64,
}

/// `{name}`: a user.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct UserPath {
    /// The user name.
    #[param(required = true, schema_with = user_name_schema)]
    name: String,
}

/// `{org}`: an organisation.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct OrgPath {
    #[param(required = true, schema_with = org_name_schema)]
    org: String,
}

/// `{org}/members/{user}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct OrgMemberPath {
    #[param(required = true, schema_with = org_name_schema)]
    org: String,
    #[param(required = true, schema_with = user_name_schema)]
    user: String,
}

/// `{org}/teams/{team}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct TeamPath {
    #[param(required = true, schema_with = org_name_schema)]
    org: String,
    #[param(required = true, schema_with = team_name_schema)]
    team: String,
}

/// `{org}/teams/{team}/members/{user}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct TeamMemberPath {
    #[param(required = true, schema_with = org_name_schema)]
    org: String,
    #[param(required = true, schema_with = team_name_schema)]
    team: String,
    #[param(required = true, schema_with = user_name_schema)]
    user: String,
}

/// `{org}/teams/{team}/repositories/{name}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct TeamRepositoryPath {
    #[param(required = true, schema_with = org_name_schema)]
    org: String,
    #[param(required = true, schema_with = team_name_schema)]
    team: String,
    /// A repository's name inside the organisation (it need not exist yet).
    #[param(required = true, schema_with = short_name_schema)]
    name: String,
}

/// `{name}`: one of the caller's robots.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct RobotPath {
    #[param(required = true, schema_with = robot_name_schema)]
    name: String,
}

/// `{org}/robots/{name}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct OrgRobotPath {
    #[param(required = true, schema_with = org_name_schema)]
    org: String,
    #[param(required = true, schema_with = robot_name_schema)]
    name: String,
}

fn string_schema(pattern: String, max_length: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max_length))
        .pattern(Some(pattern))
}

fn namespace_schema() -> ObjectBuilder {
    string_schema(
        component_pattern_excluding(RESERVED_NAMESPACES),
        MAX_NAMESPACE_LEN,
    )
    .description(Some(
        "A namespace: a user, an organisation, or `library`. Lowercase letters and digits in runs joined by `.`, \
         `_`, `__` or dashes, not a reserved word.",
    ))
}

fn short_name_schema() -> ObjectBuilder {
    string_schema(PATH_COMPONENT_PATTERN.to_owned(), MAX_NEW_NAME_LEN)
        .description(Some("The container's name inside its namespace."))
}

fn tag_schema() -> ObjectBuilder {
    string_schema(TAG_PATTERN.to_owned(), MAX_TAG_LEN).description(Some("An image tag."))
}

/// User names: a path component of at most 64 characters that is not reserved or `library`.
pub(crate) fn user_name_schema() -> ObjectBuilder {
    let mut excluded = RESERVED_NAMESPACES.to_vec();
    excluded.push(LIBRARY_NAMESPACE);
    string_schema(component_pattern_excluding(&excluded), MAX_USER_NAME_LEN).description(Some(
        "A user name: lowercase letters and digits in runs joined by `.`, `_`, `__` or dashes, \
         not a reserved word nor `library`.",
    ))
}

/// Organisation names: the grammar of user names (the two share one set of names).
fn org_name_schema() -> ObjectBuilder {
    user_name_schema().description(Some(
        "An organisation: lowercase letters and digits in runs joined by `.`, `_`, `__` or \
         dashes, not a reserved word nor `library`.",
    ))
}

/// Team names: one path component of at most 64 characters.
pub(crate) fn team_name_schema() -> ObjectBuilder {
    string_schema(PATH_COMPONENT_PATTERN.to_owned(), MAX_TEAM_NAME_LEN).description(Some(
        "A team: lowercase letters and digits in runs joined by `.`, `_`, `__` or dashes.",
    ))
}

/// A robot's name within its owner (the part after `owner+`).
pub(crate) fn robot_name_schema() -> ObjectBuilder {
    string_schema(PATH_COMPONENT_PATTERN.to_owned(), MAX_ROBOT_NAME_LEN).description(Some(
        "A robot's name within its owner (after `owner+`): lowercase letters and digits in runs \
         joined by `.`, `_`, `__` or dashes.",
    ))
}

/// A robot's repositories: names within its owner's namespace.
pub(crate) fn robot_repositories_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .description(Some(
            "At most 100 repository names within the owner's namespace (each as a new \
             container's name: at most 190 characters); empty: all of them.",
        ))
        .items(string_schema(
            PATH_COMPONENT_PATTERN.to_owned(),
            MAX_NEW_NAME_LEN,
        ))
        .max_items(Some(MAX_ROBOT_REPOSITORIES))
        // Absent or null: unchanged (on creation, all of them).
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Array,
            Type::Null,
        ]))
}

/// A robot's full name, `owner+name` (the grammar is core's, held to its parser by a test).
pub(crate) fn robot_full_name_schema() -> ObjectBuilder {
    string_schema(
        bioshadock_core::robots::robot_name_pattern(),
        MAX_USER_NAME_LEN + 1 + MAX_ROBOT_NAME_LEN,
    )
    .description(Some(
        "A robot account, `owner+name`: the owner a user or an organisation, the name \
         lowercase letters and digits in runs joined by `.`, `_`, `__` or dashes.",
    ))
}

/// An organisation's description.
pub(crate) fn org_description_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some("Markdown, at most 4096 characters."))
        .schema_type(Type::String)
        .max_length(Some(MAX_DESCRIPTION))
}

/// The same where leaving it out (or `null`) keeps the description.
pub(crate) fn optional_org_description_schema() -> ObjectBuilder {
    nullable(ObjectBuilder::new())
        .description(Some(
            "Markdown, at most 4096 characters; absent or null keeps it.",
        ))
        .max_length(Some(MAX_DESCRIPTION))
}

fn build_id_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some("A build's id, as returned when it was queued."))
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(i64::MAX))
}

// Body fields.

fn nullable(schema: ObjectBuilder) -> ObjectBuilder {
    schema.schema_type(utoipa::openapi::schema::SchemaType::from_iter([
        Type::String,
        Type::Null,
    ]))
}

/// `namespace/name`, or `name` in the caller's namespace, at most [`MAX_NEW_NAME_LEN`]
/// characters.
pub(crate) fn new_container_name_schema() -> ObjectBuilder {
    let component = unanchored(PATH_COMPONENT_PATTERN);
    let namespace = format!("{}{component}/", not_one_of(RESERVED_NAMESPACES, "/"));
    ObjectBuilder::new()
        .description(Some(
            "`namespace/name`, or just `name` for the caller's own namespace: lowercase letters \
             and digits in runs joined by `.`, `_`, `__` or dashes, the namespace not a reserved \
             word; at most 190 characters as typed.",
        ))
        .schema_type(Type::String)
        .max_length(Some(MAX_NEW_NAME_LEN))
        .pattern(Some(format!("^(?:{namespace})?{component}$")))
        .examples(["alice/samtools"])
}

fn unanchored(pattern: &str) -> &str {
    pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .unwrap_or(pattern)
}

/// A git source, or the empty string for none.
pub(crate) fn git_source_schema() -> ObjectBuilder {
    nullable(ObjectBuilder::new())
        .description(Some(
            "Git source to build from: `URL`, `URL#ref` or `URL#ref:subdir` (https, http, git or \
             ssh URLs, or scp-like `user@host:path`); an empty string for none.",
        ))
        .max_length(Some(bioshadock_core::git::MAX_LEN))
        .pattern(Some(format!("^$|{GIT_SOURCE_PATTERN}")))
}

/// A container's workflow descriptor, or an empty string for none.
pub(crate) fn descriptor_schema() -> ObjectBuilder {
    use bioshadock_core::descriptor::{DESCRIPTOR_PATTERN, MAX_DESCRIPTOR_REF_LEN};
    nullable(ObjectBuilder::new())
        .description(Some(
            "A workflow descriptor the builder records with each build and GA4GH TRS serves: a \
             path in the git source (`cwl/tool.cwl`) or an http(s) URL, naming a .cwl, .wdl, \
             .nf, .ga, .gxwf.yml, .smk file or a Snakefile; an empty string for none.",
        ))
        .max_length(Some(MAX_DESCRIPTOR_REF_LEN))
        .pattern(Some(format!("^$|{DESCRIPTOR_PATTERN}")))
}

const DESCRIPTION: &str = "Markdown, at most 65536 characters.";
const DOCKERFILE: &str = "A Dockerfile, built when there is no git source; at most 65536 \
                          characters. An empty or blank one is none.";

pub(crate) fn description_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some(DESCRIPTION))
        .schema_type(Type::String)
        .max_length(Some(crate::services::containers::MAX_TEXT))
}

pub(crate) fn optional_description_schema() -> ObjectBuilder {
    optional_text(DESCRIPTION)
}

pub(crate) fn dockerfile_schema() -> ObjectBuilder {
    optional_text(DOCKERFILE)
}

fn optional_text(description: &str) -> ObjectBuilder {
    nullable(ObjectBuilder::new())
        .description(Some(description))
        .max_length(Some(crate::services::containers::MAX_TEXT))
}

/// A new password.
pub(crate) fn password_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some("8-1024 characters."))
        .schema_type(Type::String)
        .min_length(Some(MIN_PASSWORD_LEN))
        .max_length(Some(MAX_PASSWORD_LEN))
}

/// A tag policy's immutability: `"none"`, `"all"`, or patterns; `null` (where allowed) for the
/// namespace's default.
pub(crate) fn immutable_schema() -> utoipa::openapi::schema::OneOfBuilder {
    use bioshadock_core::tag_policy::{MAX_PATTERN_CHARS, MAX_PATTERNS};
    use utoipa::openapi::schema::OneOfBuilder;
    let word = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["none", "all"]));
    let pattern = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_PATTERN_CHARS))
        // `!` starts an exception and must be followed by a pattern; no control characters
        // (C0, DEL and C1, as Rust's `char::is_control` counts them).
        .pattern(Some(r"^!?[^!\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"));
    let patterns = ArrayBuilder::new()
        .items(pattern)
        .max_items(Some(MAX_PATTERNS));
    OneOfBuilder::new()
        .item(word)
        .item(patterns)
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "Which tags are immutable: \"none\", \"all\", or patterns (globs with * and ?, or \
             /regex/; a leading ! makes an exception, and exceptions alone mean every other \
             tag: [\"!latest\"]). null: the namespace's default.",
        ))
}

/// A deprecation's reason: some text, at most [`MAX_REASON_CHARS`] characters.
pub(crate) fn deprecation_reason_schema() -> ObjectBuilder {
    use bioshadock_core::tag_policy::MAX_REASON_CHARS;
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_REASON_CHARS))
        .pattern(Some(r"\S"))
        .description(Some("Why it should no longer be used."))
}

/// What to use instead: one line.
pub(crate) fn deprecation_replacement_schema() -> ObjectBuilder {
    use bioshadock_core::tag_policy::MAX_REPLACEMENT_CHARS;
    nullable(ObjectBuilder::new())
        .max_length(Some(MAX_REPLACEMENT_CHARS))
        .pattern(Some(r"^[^\x00-\x1F\x7F-\x9F]*$"))
        .description(Some(
            "What to use instead, e.g. genomics-core/samtools:1.20.",
        ))
}

/// An event kind of the audit log.
pub(crate) fn event_kind_schema() -> ObjectBuilder {
    use bioshadock_core::events::EventKind;
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(EventKind::ALL.iter().map(|k| k.as_str())))
}

/// A retention policy's `keep` list: globs or `/regex/` (no control characters, not starting
/// like a version range), or version ranges of up to four comparators (`>=1.0 <2`, `^1.2`).
pub(crate) fn retention_keep_schema() -> ArrayBuilder {
    use bioshadock_core::retention::MAX_KEEP_PATTERNS;
    // Numbers without leading zeros, as semver reads them.
    let comparator = r"(?:>=|<=|>|<|=|\^|~)(?:0|[1-9][0-9]{0,8})(?:\.(?:0|[1-9][0-9]{0,8})){0,2}";
    let pattern = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(256))
        .pattern(Some(format!(
            r"^(?:[^<>=^~\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*|{comparator}(?: {comparator}){{0,3}})$"
        )));
    ArrayBuilder::new()
        .items(pattern)
        .max_items(Some(MAX_KEEP_PATTERNS))
        .description(Some(
            "Tags never deleted: globs (`release-*`), `/regex/`, or version ranges \
             (`>=1.0 <2`, `^1.2`, `~1.4`).",
        ))
}

/// A webhook's URL: http(s), a host, no credentials, at most 2048 characters. Where it
/// resolves must be a public address (unless `webhooks.allow_private`): refused with 400.
pub(crate) fn webhook_url_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(bioshadock_core::webhooks::MAX_URL_CHARS))
        .pattern(Some(r"^https?://[^\s@/?#]+(?:[/?#]\S*)?$"))
        .examples(["https://ci.example.org/hooks/bioshadock"])
}

/// A secret a caller may choose: 16 to 256 characters, no spaces or control characters.
pub(crate) fn chosen_secret_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(16))
        .max_length(Some(256))
        .pattern(Some(r"^[^\s\x00-\x1F\x7F-\x9F]+$"))
}

/// A trigger's ref patterns: globs or `/regex/`, `branch:` or `tag:` before one to name the
/// kind.
pub(crate) fn trigger_refs_schema() -> ArrayBuilder {
    use bioshadock_core::triggers::rules::{MAX_PATTERN_CHARS, MAX_REF_PATTERNS};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_PATTERN_CHARS))
                .pattern(Some(r"^(?!(?:branch|tag):$)[^\x00-\x1F\x7F-\x9F]+$")),
        )
        .max_items(Some(MAX_REF_PATTERNS))
}

/// A trigger's path patterns: globs or `/regex/`.
pub(crate) fn trigger_paths_schema() -> ArrayBuilder {
    use bioshadock_core::triggers::rules::{MAX_PATH_PATTERNS, MAX_PATTERN_CHARS};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_PATTERN_CHARS))
                .pattern(Some(r"^[^\x00-\x1F\x7F-\x9F]+$")),
        )
        .max_items(Some(MAX_PATH_PATTERNS))
}

/// A trigger's tag templates: tag characters and the placeholders `{branch}`, `{tag}`,
/// `{short_sha}`, `{date}`, not starting with `.` or `-`.
pub(crate) fn trigger_templates_schema() -> ArrayBuilder {
    use bioshadock_core::triggers::rules::MAX_TEMPLATES;
    let unit = r"(?:[A-Za-z0-9_.-]|\{(?:branch|tag|short_sha|date)\})";
    let first = r"(?:[A-Za-z0-9_]|\{(?:branch|tag|short_sha|date)\})";
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(128))
                .pattern(Some(format!("^{first}{unit}*$"))),
        )
        .max_items(Some(MAX_TEMPLATES))
}

/// Whether `id` is `prefix` and 16 lowercase hex digits, as webhook (`wh_`) and trigger
/// (`tr_`) ids are made.
pub(crate) fn is_prefixed_hex_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Build arguments: at most 32, named as a Dockerfile `ARG` names them, values of at most
/// 4096 characters without control characters; `{tag}` and `{sha}` are filled in.
pub(crate) fn build_args_schema() -> ObjectBuilder {
    use bioshadock_core::build_settings::{ARG_NAME_PATTERN, MAX_ARG_VALUE, MAX_ARGS};
    ObjectBuilder::new()
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(ARG_NAME_PATTERN)),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_ARG_VALUE))
                .pattern(Some(r"^[^\x00-\x1F\x7F-\x9F]*$")),
        ))
        .max_properties(Some(MAX_ARGS))
}
