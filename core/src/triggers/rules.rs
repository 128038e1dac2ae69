//! What a trigger builds from a push: its ref filter (branches and tags, as globs or `/regex/`,
//! `branch:` or `tag:` before a pattern to name the kind), its path filter (build only when a
//! changed file matches), and its tag templates (`{branch}`, `{tag}`, `{short_sha}`, `{date}`,
//! and `latest`, which applies to the default branch only).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Push, RefKind};
use crate::rules::Pattern;

/// Ref patterns of one trigger, at most.
pub const MAX_REF_PATTERNS: usize = 20;
/// Path patterns of one trigger, at most.
pub const MAX_PATH_PATTERNS: usize = 50;
/// Tag templates of one trigger, at most.
pub const MAX_TEMPLATES: usize = 10;
/// Characters of one pattern or template, at most.
pub const MAX_PATTERN_CHARS: usize = 256;
/// The templates used when a trigger names none: `latest` for the default branch, the tag's
/// own name for a tag.
pub const DEFAULT_TEMPLATES: [&str; 2] = ["latest", "{tag}"];
const PLACEHOLDERS: [&str; 4] = ["{branch}", "{tag}", "{short_sha}", "{date}"];
/// The longest image tag (Distribution's grammar).
const MAX_TAG_CHARS: usize = 128;

/// A trigger's filters and templates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRules {
    /// Empty: every branch and tag.
    #[serde(default)]
    pub refs: Vec<String>,
    /// Empty: [`DEFAULT_TEMPLATES`].
    #[serde(default)]
    pub tag_templates: Vec<String>,
    /// Empty: every push builds.
    #[serde(default)]
    pub paths: Vec<String>,
}

/// What a push amounts to under a trigger's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Build the pushed commit under these tags.
    Build {
        tags: Vec<String>,
    },
    IgnoredByRef,
    IgnoredByPath,
    /// No template makes a tag for this ref (`latest` on another branch, say).
    NoTag,
}

/// A ref pattern, compiled: which kinds it applies to and what it matches.
struct RefPattern {
    kind: Option<RefKind>,
    pattern: Pattern,
}

fn ref_pattern(raw: &str) -> Result<RefPattern, String> {
    let (kind, rest) = if let Some(rest) = raw.strip_prefix("branch:") {
        (Some(RefKind::Branch), rest)
    } else if let Some(rest) = raw.strip_prefix("tag:") {
        (Some(RefKind::Tag), rest)
    } else {
        (None, raw)
    };
    Ok(RefPattern {
        kind,
        pattern: pattern(rest)?,
    })
}

fn pattern(raw: &str) -> Result<Pattern, String> {
    if raw.is_empty()
        || raw.chars().count() > MAX_PATTERN_CHARS
        || raw.chars().any(char::is_control)
    {
        return Err(format!("`{raw}` is not a pattern"));
    }
    Pattern::compile(raw).map_err(|e| format!("`{raw}`: {e}"))
}

impl TriggerRules {
    /// The rules, checked: bounded, patterns that compile, templates with known placeholders.
    pub fn checked(self) -> Result<Self, String> {
        if self.refs.len() > MAX_REF_PATTERNS {
            return Err(format!("refs: at most {MAX_REF_PATTERNS} patterns"));
        }
        if self.paths.len() > MAX_PATH_PATTERNS {
            return Err(format!("paths: at most {MAX_PATH_PATTERNS} patterns"));
        }
        if self.tag_templates.len() > MAX_TEMPLATES {
            return Err(format!("tag_templates: at most {MAX_TEMPLATES}"));
        }
        for raw in &self.refs {
            ref_pattern(raw).map_err(|e| format!("refs: {e}"))?;
        }
        for raw in &self.paths {
            pattern(raw).map_err(|e| format!("paths: {e}"))?;
        }
        for template in &self.tag_templates {
            check_template(template)?;
        }
        Ok(self)
    }
}

fn check_template(template: &str) -> Result<(), String> {
    if template.is_empty() || template.chars().count() > MAX_PATTERN_CHARS {
        return Err(format!("tag_templates: `{template}` is not a template"));
    }
    let mut rest = template.to_owned();
    for placeholder in PLACEHOLDERS {
        rest = rest.replace(placeholder, "x");
    }
    if rest.contains(['{', '}']) {
        return Err(format!(
            "tag_templates: `{template}` uses a placeholder other than {}",
            PLACEHOLDERS.join(", ")
        ));
    }
    if sanitize(&rest).is_none() || sanitize(&rest).as_deref() != Some(rest.as_str()) {
        return Err(format!(
            "tag_templates: `{template}` does not make a valid tag (letters, digits, `_`, `.`, `-`)"
        ));
    }
    Ok(())
}

/// What `rules` make of `push` on `today`. `push.changed_paths` of `None` (unknown) passes the
/// path filter: better one build too many than a change never built.
pub fn decide(rules: &TriggerRules, push: &Push, today: NaiveDate) -> Verdict {
    let refs: Vec<RefPattern> = rules
        .refs
        .iter()
        .filter_map(|r| ref_pattern(r).ok())
        .collect();
    let ref_admitted = refs.is_empty()
        || refs
            .iter()
            .any(|r| r.kind.is_none_or(|kind| kind == push.kind) && r.pattern.matches(&push.name));
    if !ref_admitted {
        return Verdict::IgnoredByRef;
    }
    if !rules.paths.is_empty()
        && let Some(changed) = &push.changed_paths
        && !any_path_matches(&rules.paths, changed)
    {
        return Verdict::IgnoredByPath;
    }
    let templates: Vec<&str> = if rules.tag_templates.is_empty() {
        DEFAULT_TEMPLATES.to_vec()
    } else {
        rules.tag_templates.iter().map(String::as_str).collect()
    };
    let mut tags: Vec<String> = Vec::new();
    for template in templates {
        if let Some(tag) = render(template, push, today)
            && !tags.contains(&tag)
        {
            tags.push(tag);
        }
    }
    if tags.is_empty() {
        Verdict::NoTag
    } else {
        Verdict::Build { tags }
    }
}

/// Whether one of the `changed` files matches one of a trigger's path `patterns` (patterns that
/// do not compile match nothing: stored rules were checked). The hook endpoint asks this of the
/// payload's files, and the builder of the files a git diff found.
pub fn any_path_matches<'a>(
    patterns: &[String],
    changed: impl IntoIterator<Item = &'a String>,
) -> bool {
    let patterns: Vec<Pattern> = patterns.iter().filter_map(|p| pattern(p).ok()).collect();
    changed
        .into_iter()
        .any(|file| patterns.iter().any(|p| p.matches(file)))
}

/// One template for one push; `None` when it does not apply (`{tag}` on a branch, `{branch}`
/// on a tag, `latest` off the default branch) or makes no valid tag.
fn render(template: &str, push: &Push, today: NaiveDate) -> Option<String> {
    if template == "latest" {
        return push.to_default_branch().then(|| "latest".to_owned());
    }
    let mut out = template.to_owned();
    if out.contains("{branch}") {
        if push.kind != RefKind::Branch {
            return None;
        }
        out = out.replace("{branch}", &push.name);
    }
    if out.contains("{tag}") {
        if push.kind != RefKind::Tag {
            return None;
        }
        out = out.replace("{tag}", &push.name);
    }
    out = out.replace("{short_sha}", &crate::git::short_commit(&push.commit));
    out = out.replace("{date}", &today.format("%Y%m%d").to_string());
    sanitize(&out)
}

/// A ref name made into an image tag: characters outside `[A-Za-z0-9_.-]` become `-`
/// (`feature/x` → `feature-x`), a leading `.` or `-` goes, at most 128 characters.
fn sanitize(raw: &str) -> Option<String> {
    let replaced: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = replaced.trim_start_matches(['.', '-']);
    let tag: String = trimmed.chars().take(MAX_TAG_CHARS).collect();
    (!tag.is_empty()).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
    }

    fn push(kind: RefKind, name: &str, changed: Option<&[&str]>) -> Push {
        Push {
            kind,
            name: name.into(),
            commit: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c".into(),
            changed_paths: changed.map(|c| c.iter().map(|p| (*p).to_owned()).collect()),
            default_branch: Some("main".into()),
        }
    }

    fn rules(refs: &[&str], templates: &[&str], paths: &[&str]) -> TriggerRules {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        TriggerRules {
            refs: owned(refs),
            tag_templates: owned(templates),
            paths: owned(paths),
        }
        .checked()
        .unwrap()
    }

    fn build(tags: &[&str]) -> Verdict {
        Verdict::Build {
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn by_default_the_default_branch_is_latest_and_tags_are_themselves() {
        let none = TriggerRules::default();
        assert_eq!(
            decide(&none, &push(RefKind::Branch, "main", None), day()),
            build(&["latest"])
        );
        assert_eq!(
            decide(&none, &push(RefKind::Tag, "v1.2", None), day()),
            build(&["v1.2"])
        );
        assert_eq!(
            decide(&none, &push(RefKind::Branch, "feature/x", None), day()),
            Verdict::NoTag
        );
    }

    #[test]
    fn templates_make_one_tag_each() {
        let many = rules(
            &[],
            &[
                "{branch}",
                "{branch}-{short_sha}",
                "{date}",
                "latest",
                "{tag}",
            ],
            &[],
        );
        assert_eq!(
            decide(&many, &push(RefKind::Branch, "feature/x", None), day()),
            build(&["feature-x", "feature-x-0d1a26e", "20261204"])
        );
        assert_eq!(
            decide(&many, &push(RefKind::Branch, "main", None), day()),
            build(&["main", "main-0d1a26e", "20261204", "latest"])
        );
        assert_eq!(
            decide(&many, &push(RefKind::Tag, "v2.0", None), day()),
            build(&["20261204", "v2.0"])
        );
        assert_eq!(sanitize("..x/y z"), Some("x-y-z".into()));
        assert_eq!(sanitize("-/-"), None);
        assert_eq!(sanitize(&"a".repeat(300)).unwrap().len(), 128);
    }

    #[test]
    fn ref_filters_take_globs_regexes_and_kinds() {
        let releases = rules(
            &["tag:v*", "branch:/^release-[0-9]+$/"],
            &["{tag}", "{branch}"],
            &[],
        );
        assert_eq!(
            decide(&releases, &push(RefKind::Tag, "v3", None), day()),
            build(&["v3"])
        );
        assert_eq!(
            decide(&releases, &push(RefKind::Branch, "release-7", None), day()),
            build(&["release-7"])
        );
        for ignored in [
            push(RefKind::Branch, "v3", None),
            push(RefKind::Tag, "release-7", None),
            push(RefKind::Branch, "main", None),
        ] {
            assert_eq!(
                decide(&releases, &ignored, day()),
                Verdict::IgnoredByRef,
                "{ignored:?}"
            );
        }
    }

    #[test]
    fn path_filters_build_only_what_changed() {
        let samtools = rules(&[], &[], &["samtools/*"]);
        let touched = push(
            RefKind::Branch,
            "main",
            Some(&["samtools/Dockerfile", "README.md"]),
        );
        assert_eq!(decide(&samtools, &touched, day()), build(&["latest"]));
        let elsewhere = push(RefKind::Branch, "main", Some(&["bwa/Dockerfile"]));
        assert_eq!(decide(&samtools, &elsewhere, day()), Verdict::IgnoredByPath);
        let unknown = push(RefKind::Branch, "main", None);
        assert_eq!(
            decide(&samtools, &unknown, day()),
            build(&["latest"]),
            "unknown: build"
        );
    }

    #[test]
    fn bad_rules_are_refused() {
        let bad = |refs: &[&str], templates: &[&str], paths: &[&str]| {
            let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
            TriggerRules {
                refs: owned(refs),
                tag_templates: owned(templates),
                paths: owned(paths),
            }
            .checked()
            .is_err()
        };
        assert!(bad(&["/(/"], &[], &[]));
        assert!(bad(&[""], &[], &[]));
        assert!(bad(&[], &["{commit}"], &[]));
        assert!(bad(&[], &["a b"], &[]));
        assert!(bad(&[], &["{branch"], &[]));
        assert!(bad(&[], &[], &["\u{7}"]));
        assert!(bad(&["x"; MAX_REF_PATTERNS + 1], &[], &[]));
        assert!(bad(&[], &["x"; MAX_TEMPLATES + 1], &[]));
        assert!(!bad(
            &["main", "tag:v*"],
            &["{branch}-{date}", "latest"],
            &["docker/**"]
        ));
    }
}
