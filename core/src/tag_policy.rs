//! What a container promises about its tags: which are immutable (never moved to another
//! image, never deleted), and which are deprecated (with a reason, a replacement, and perhaps a
//! date after which pulls are refused). A container sets its own; an organisation or a user sets
//! the immutability default of its namespace.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::rules::Pattern;

/// Patterns in one immutability policy, at most.
pub const MAX_PATTERNS: usize = 50;
/// Characters of one pattern, at most (a tag is at most 128).
pub const MAX_PATTERN_CHARS: usize = 256;
/// Characters of a deprecation's reason, at most.
pub const MAX_REASON_CHARS: usize = 500;
/// Characters of a deprecation's replacement, at most.
pub const MAX_REPLACEMENT_CHARS: usize = 256;
/// Deprecated tags of one container, at most.
pub const MAX_DEPRECATED_TAGS: usize = 1000;

/// Which tags are immutable: `"none"`, `"all"`, or patterns (globs or `/regex/`, as access
/// rules take them) where a leading `!` makes an exception. With exceptions only, every other
/// tag is immutable: `["!latest"]` is "everything but `latest`".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "ImmutableValue", into = "ImmutableValue")]
pub enum ImmutableTags {
    None,
    All,
    Patterns(TagPatterns),
}

/// Compiled patterns, with the text they were written as.
#[derive(Debug, Clone)]
pub struct TagPatterns {
    written: Vec<String>,
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

impl PartialEq for ImmutableTags {
    fn eq(&self, other: &Self) -> bool {
        ImmutableValue::from(self.clone()) == ImmutableValue::from(other.clone())
    }
}

impl Eq for ImmutableTags {}

/// The written form: a word or a list of patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum ImmutableValue {
    Word(String),
    Patterns(Vec<String>),
}

impl TryFrom<ImmutableValue> for ImmutableTags {
    type Error = String;

    fn try_from(value: ImmutableValue) -> Result<Self, String> {
        match value {
            ImmutableValue::Word(word) => match word.as_str() {
                "none" => Ok(Self::None),
                "all" => Ok(Self::All),
                other => Err(format!(
                    "immutable is \"none\", \"all\" or a list of patterns, not `{other}`"
                )),
            },
            ImmutableValue::Patterns(patterns) => Self::patterns(patterns),
        }
    }
}

impl From<ImmutableTags> for ImmutableValue {
    fn from(tags: ImmutableTags) -> Self {
        match tags {
            ImmutableTags::None => Self::Word("none".into()),
            ImmutableTags::All => Self::Word("all".into()),
            ImmutableTags::Patterns(patterns) => Self::Patterns(patterns.written),
        }
    }
}

impl ImmutableTags {
    /// Patterns as written: each a glob or `/regex/`, `!` in front for an exception. An empty
    /// list is `none`.
    pub fn patterns(written: Vec<String>) -> Result<Self, String> {
        if written.is_empty() {
            return Ok(Self::None);
        }
        if written.len() > MAX_PATTERNS {
            return Err(format!("at most {MAX_PATTERNS} immutability patterns"));
        }
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        for raw in &written {
            if raw.chars().count() > MAX_PATTERN_CHARS {
                return Err(format!(
                    "an immutability pattern is at most {MAX_PATTERN_CHARS} characters"
                ));
            }
            let (list, text) = match raw.strip_prefix('!') {
                Some(rest) => (&mut exclude, rest),
                None => (&mut include, raw.as_str()),
            };
            if text.is_empty() || text.chars().any(char::is_control) {
                return Err(format!("`{raw}` is not a tag pattern"));
            }
            list.push(Pattern::compile(text).map_err(|e| format!("`{raw}`: {e}"))?);
        }
        Ok(Self::Patterns(TagPatterns {
            written,
            include,
            exclude,
        }))
    }

    /// Whether `tag` is immutable under this policy.
    pub fn covers(&self, tag: &str) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Patterns(p) => {
                (p.include.is_empty() || p.include.iter().any(|i| i.matches(tag)))
                    && !p.exclude.iter().any(|e| e.matches(tag))
            }
        }
    }

    /// The policy as one line for people: `none`, `all`, or the patterns joined by commas.
    pub fn describe(&self) -> String {
        match ImmutableValue::from(self.clone()) {
            ImmutableValue::Word(word) => word,
            ImmutableValue::Patterns(patterns) => patterns.join(", "),
        }
    }
}

/// Why a container or a tag should no longer be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deprecation {
    pub reason: String,
    /// What to use instead (`genomics-core/samtools:1.20`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// When it was deprecated.
    pub since: DateTime<Utc>,
    /// After this, pulls through the registry front are refused with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_pulls_after: Option<DateTime<Utc>>,
}

impl Deprecation {
    /// A deprecation as asked for, checked; `since` is now.
    pub fn new(
        reason: String,
        replacement: Option<String>,
        block_pulls_after: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        if reason.trim().is_empty() {
            return Err("a deprecation needs a reason".into());
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(format!(
                "a deprecation's reason is at most {MAX_REASON_CHARS} characters"
            ));
        }
        let replacement = replacement.filter(|r| !r.trim().is_empty());
        if let Some(replacement) = &replacement
            && (replacement.chars().count() > MAX_REPLACEMENT_CHARS
                || replacement.chars().any(char::is_control))
        {
            return Err(format!(
                "a replacement is at most {MAX_REPLACEMENT_CHARS} characters on one line"
            ));
        }
        Ok(Self {
            reason,
            replacement,
            since: now,
            block_pulls_after,
        })
    }

    /// Whether pulls are refused at `now`.
    pub fn blocks_pulls(&self, now: DateTime<Utc>) -> bool {
        self.block_pulls_after.is_some_and(|after| now >= after)
    }

    /// The sentence a refused pull prints.
    pub fn refusal(&self, what: &str) -> String {
        match &self.replacement {
            Some(replacement) => format!(
                "{what} is deprecated and no longer pulled: {} (use {replacement})",
                self.reason
            ),
            None => format!("{what} is deprecated and no longer pulled: {}", self.reason),
        }
    }
}

/// A container's own tag policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPolicy {
    /// Its immutability; `None`: its namespace's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<ImmutableTags>,
    /// The whole container is deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecation>,
    /// Tags deprecated one by one, by name (kept when a tag is pushed again).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deprecated_tags: BTreeMap<String, Deprecation>,
    /// Its retention policy; `None`: its organisation's, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::retention::RetentionPolicy>,
    /// The expiry label (`org.bioshadock.expires-after`) of each tag whose image carries one,
    /// as written: read from the image when the tag is pushed, so retention need not ask the
    /// registry for every tag of every container on every run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expiring: BTreeMap<String, String>,
    /// How its builds are made (arguments) and when they start by themselves (a schedule).
    #[serde(
        default,
        skip_serializing_if = "crate::build_settings::ContainerBuildSettings::is_empty"
    )]
    pub build: crate::build_settings::ContainerBuildSettings,
}

impl ContainerPolicy {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The immutability in force: the container's own, else its namespace's default.
    pub fn immutable_in<'a>(
        &'a self,
        namespace_default: Option<&'a ImmutableTags>,
    ) -> Immutable<'a> {
        Immutable(self.immutable.as_ref().or(namespace_default))
    }

    /// The deprecation of `tag`: its own, else the container's.
    pub fn deprecation_of(&self, tag: &str) -> Option<&Deprecation> {
        self.deprecated_tags.get(tag).or(self.deprecated.as_ref())
    }
}

/// The immutability in force for one container.
#[derive(Debug, Clone, Copy)]
pub struct Immutable<'a>(Option<&'a ImmutableTags>);

impl Immutable<'_> {
    pub fn covers(&self, tag: &str) -> bool {
        self.0.is_some_and(|policy| policy.covers(tag))
    }
}

/// The refusal of a change to an immutable tag, as the docker CLI prints it after `denied:`.
pub fn immutable_refusal(tag: &str, repository: &str) -> String {
    format!("tag {tag} of {repository} is immutable")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Result<ImmutableTags, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn words_and_patterns_decide_which_tags_are_immutable() {
        assert!(!policy(r#""none""#).unwrap().covers("1.0"));
        assert!(policy(r#""all""#).unwrap().covers("latest"));
        let releases = policy(r#"["1.*", "/^v[0-9]+$/"]"#).unwrap();
        assert!(releases.covers("1.0"));
        assert!(releases.covers("v2"));
        assert!(!releases.covers("2.0"));
        assert!(!releases.covers("v2-rc"));
        // Pier One's exception: everything but latest, in one line.
        let but_latest = policy(r#"["!latest"]"#).unwrap();
        assert!(but_latest.covers("1.0"));
        assert!(!but_latest.covers("latest"));
        let mixed = policy(r#"["*", "!latest", "!*-dev"]"#).unwrap();
        assert!(mixed.covers("1.0"));
        assert!(!mixed.covers("1.0-dev"));
        assert_eq!(policy("[]").unwrap(), ImmutableTags::None);
    }

    #[test]
    fn policies_are_written_back_as_they_were_given() {
        for json in [r#""none""#, r#""all""#, r#"["1.*","!latest"]"#] {
            let parsed = policy(json).unwrap();
            assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        }
        assert_eq!(
            policy(r#"["1.*","!latest"]"#).unwrap().describe(),
            "1.*, !latest"
        );
    }

    #[test]
    fn bad_policies_are_refused_with_a_reason() {
        for bad in [
            r#""some""#,
            r#"["!"]"#,
            r#"[""]"#,
            r#"["/(/"]"#,
            r#"["a\nb"]"#,
            "42",
        ] {
            assert!(policy(bad).is_err(), "{bad}");
        }
        let many = serde_json::to_string(&vec!["x"; MAX_PATTERNS + 1]).unwrap();
        assert!(policy(&many).unwrap_err().to_string().contains("at most"));
        let long = serde_json::to_string(&vec!["x".repeat(MAX_PATTERN_CHARS + 1)]).unwrap();
        assert!(policy(&long).is_err());
        let at_bounds = serde_json::to_string(&vec!["x".repeat(MAX_PATTERN_CHARS); MAX_PATTERNS]);
        assert!(policy(&at_bounds.unwrap()).is_ok());
    }

    #[test]
    fn a_containers_own_policy_wins_over_its_namespace() {
        let all = ImmutableTags::All;
        let own = ContainerPolicy {
            immutable: Some(ImmutableTags::None),
            ..ContainerPolicy::default()
        };
        assert!(!own.immutable_in(Some(&all)).covers("1.0"));
        assert!(
            ContainerPolicy::default()
                .immutable_in(Some(&all))
                .covers("1.0")
        );
        assert!(!ContainerPolicy::default().immutable_in(None).covers("1.0"));
    }

    #[test]
    fn deprecations_are_checked_and_block_pulls_after_their_date() {
        let now = crate::model::now();
        assert!(Deprecation::new(" ".into(), None, None, now).is_err());
        assert!(Deprecation::new("x".repeat(MAX_REASON_CHARS + 1), None, None, now).is_err());
        assert!(Deprecation::new("old".into(), Some("a\nb".into()), None, now).is_err());
        let later = now + chrono::Duration::days(1);
        let d = Deprecation::new(
            "CVE-2026-1".into(),
            Some("lab/t:2".into()),
            Some(later),
            now,
        )
        .unwrap();
        assert!(!d.blocks_pulls(now));
        assert!(d.blocks_pulls(later));
        assert_eq!(
            d.refusal("lab/t:1"),
            "lab/t:1 is deprecated and no longer pulled: CVE-2026-1 (use lab/t:2)"
        );
        let mut container = ContainerPolicy {
            deprecated: Some(d.clone()),
            ..ContainerPolicy::default()
        };
        assert_eq!(container.deprecation_of("1.0"), Some(&d));
        let own = Deprecation::new("tag only".into(), None, None, now).unwrap();
        container.deprecated_tags.insert("1.0".into(), own.clone());
        assert_eq!(container.deprecation_of("1.0"), Some(&own));
        let json = serde_json::to_string(&container).unwrap();
        assert_eq!(
            serde_json::from_str::<ContainerPolicy>(&json).unwrap(),
            container
        );
        assert!(ContainerPolicy::default().is_empty());
        assert_eq!(
            serde_json::to_string(&ContainerPolicy::default()).unwrap(),
            "{}"
        );
    }
}
