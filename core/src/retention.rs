//! Retention: which tags of a container a policy deletes, and why. The rules are pure (no
//! store, no registry): the dry run and the real run ask the same [`plan`], so a preview lists
//! exactly what a run would delete.
//!
//! A tag is never deleted when it is immutable or matches a `keep` pattern (a glob or
//! `/regex/`, read as access rules read them, or a semver range such as `>=1.0 <2`). Any other
//! tag goes when its image's expiry label (`org.bioshadock.expires-after=2w`, Quay's
//! convention) has passed, when it is older than `delete_older_than_days`, or when it is not
//! among the `keep_newest` most recently pushed tags.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::rules::Pattern;

/// The image label that makes a tag expire: a number and a unit, `s`, `m`, `h`, `d` or `w`
/// (`2w`), counted from the push.
pub const EXPIRES_AFTER_LABEL: &str = "org.bioshadock.expires-after";
/// `keep` patterns in one policy, at most.
pub const MAX_KEEP_PATTERNS: usize = 50;
/// The longest expiry a label may ask for: ten years.
const MAX_EXPIRY_HOURS: i64 = 24 * 3653;

/// A container's (or an organisation's default) retention policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Keep the N most recently pushed tags; older ones go (unless kept otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_newest: Option<usize>,
    /// Tags never deleted: globs, `/regex/`, or semver ranges (`>=1.0 <2`, `^1.2`, `~1.4`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<String>,
    /// Tags pushed longer ago than this go (unless kept otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_older_than_days: Option<u32>,
}

/// A tag as retention sees it.
#[derive(Debug, Clone)]
pub struct TagFacts {
    pub name: String,
    pub pushed_at: DateTime<Utc>,
    /// The image's expiry label, as written.
    pub expires_after: Option<String>,
}

impl TagFacts {
    /// The tags of `container` as retention sees them, with the expiry labels recorded when
    /// each was pushed.
    pub fn of(container: &crate::Container) -> Vec<Self> {
        container
            .tags
            .iter()
            .map(|tag| Self {
                name: tag.name.as_str().to_owned(),
                pushed_at: tag.pushed_at,
                expires_after: container.policy.expiring.get(tag.name.as_str()).cloned(),
            })
            .collect()
    }
}

/// The expiry label among an image's labels, if it has one that is not blank; kept as written
/// (up to 32 characters: [`expiry`] reads no longer one) so a preview can quote it.
pub fn expiry_label(labels: &std::collections::BTreeMap<String, String>) -> Option<String> {
    labels
        .get(EXPIRES_AFTER_LABEL)
        .map(|label| label.trim().chars().take(32).collect::<String>())
        .filter(|label| !label.is_empty())
}

/// Why a tag goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Reason {
    /// Its image's expiry label has passed.
    Expired { label: String },
    /// Pushed more than this many days ago.
    OlderThan { days: u32 },
    /// Not among the newest N.
    BeyondNewest { keep: usize },
}

impl Reason {
    /// The reason in a sentence.
    pub fn describe(&self) -> String {
        match self {
            Self::Expired { label } => format!("its image expires after {label}, which has passed"),
            Self::OlderThan { days } => format!("pushed more than {days} days ago"),
            Self::BeyondNewest { keep } => format!("not among the {keep} most recently pushed"),
        }
    }
}

/// One tag a policy deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Doomed {
    pub tag: String,
    pub reason: Reason,
}

/// A compiled `keep` pattern.
enum Keep {
    Pattern(Pattern),
    Range(semver::VersionReq),
}

impl Keep {
    fn parse(raw: &str) -> Result<Self, String> {
        let starts_like_a_range = raw.starts_with(['>', '<', '=', '^', '~']);
        if starts_like_a_range {
            // `>=1.0 <2` as the semver crate writes it: `>=1.0, <2`.
            let written = raw.split_whitespace().collect::<Vec<_>>().join(", ");
            return semver::VersionReq::parse(&written)
                .map(Self::Range)
                .map_err(|e| format!("`{raw}` is not a version range: {e}"));
        }
        if raw.is_empty() || raw.chars().any(char::is_control) {
            return Err(format!("`{raw}` is not a tag pattern"));
        }
        Pattern::compile(raw)
            .map(Self::Pattern)
            .map_err(|e| format!("`{raw}`: {e}"))
    }

    fn keeps(&self, tag: &str) -> bool {
        match self {
            Self::Pattern(pattern) => pattern.matches(tag),
            Self::Range(range) => version_of(tag).is_some_and(|v| range.matches(&v)),
        }
    }
}

/// A tag as a version: `1.19`, `v1.19.2`, `1.19.2-r1` (missing parts are 0); `None` for `latest`.
fn version_of(tag: &str) -> Option<semver::Version> {
    let bare = tag.strip_prefix('v').unwrap_or(tag);
    let (core, pre) = match bare.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (bare, None),
    };
    let mut parts = core.split('.');
    let number = |part: Option<&str>| -> Option<u64> {
        match part {
            None => Some(0),
            Some(p) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => p.parse().ok(),
            Some(_) => None,
        }
    };
    let major = parts.next().and_then(|p| number(Some(p)))?;
    let minor = number(parts.next())?;
    let patch = number(parts.next())?;
    if parts.next().is_some() {
        return None;
    }
    let mut version = semver::Version::new(major, minor, patch);
    if let Some(pre) = pre {
        version.pre = semver::Prerelease::new(pre).ok()?;
    }
    Some(version)
}

/// `2w`, `3d`, `12h`, `30m`, `90s` as a duration (Quay's units); `None` for anything else
/// (or more than ten years).
pub fn expiry(label: &str) -> Option<Duration> {
    let label = label.trim();
    let unit = label.chars().last()?;
    let seconds_per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 24 * 3600,
        'w' => 7 * 24 * 3600,
        _ => return None,
    };
    let number: i64 = label[..label.len() - 1].parse().ok()?;
    let seconds = number.checked_mul(seconds_per)?;
    (1..=MAX_EXPIRY_HOURS * 3600)
        .contains(&seconds)
        .then(|| Duration::seconds(seconds))
}

impl RetentionPolicy {
    /// Whether it deletes nothing of its own (expiry labels still apply).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The policy in one line for people.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.keep_newest {
            parts.push(format!("keep the newest {n}"));
        }
        if !self.keep.is_empty() {
            parts.push(format!("keep {}", self.keep.join(", ")));
        }
        if let Some(days) = self.delete_older_than_days {
            parts.push(format!("delete after {days} days"));
        }
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join("; ")
        }
    }

    /// The policy, checked: its patterns compile and its numbers are sensible.
    pub fn checked(self) -> Result<Self, String> {
        if self.keep.len() > MAX_KEEP_PATTERNS {
            return Err(format!("at most {MAX_KEEP_PATTERNS} keep patterns"));
        }
        for raw in &self.keep {
            Keep::parse(raw)?;
        }
        if self.keep_newest == Some(0) {
            return Err("keep_newest is at least 1 (leave it out to keep any number)".into());
        }
        if self.delete_older_than_days == Some(0) {
            return Err("delete_older_than_days is at least 1".into());
        }
        Ok(self)
    }
}

/// The tags `policy` deletes at `now`, newest first, each with its reason. `immutable` says
/// which tags may never be deleted whatever the policy says.
pub fn plan(
    policy: &RetentionPolicy,
    tags: &[TagFacts],
    immutable: impl Fn(&str) -> bool,
    now: DateTime<Utc>,
) -> Result<Vec<Doomed>, String> {
    let keep: Vec<Keep> = policy
        .keep
        .iter()
        .map(|raw| Keep::parse(raw))
        .collect::<Result<_, _>>()?;
    let mut ordered: Vec<&TagFacts> = tags.iter().collect();
    ordered.sort_by(|a, b| b.pushed_at.cmp(&a.pushed_at).then(a.name.cmp(&b.name)));
    let mut doomed = Vec::new();
    for (rank, tag) in ordered.iter().enumerate() {
        if immutable(&tag.name) || keep.iter().any(|k| k.keeps(&tag.name)) {
            continue;
        }
        let expired = tag
            .expires_after
            .as_deref()
            .and_then(|label| expiry(label).map(|d| (label, d)))
            .filter(|(_, after)| tag.pushed_at + *after <= now);
        let reason = if let Some((label, _)) = expired {
            Some(Reason::Expired {
                label: label.to_owned(),
            })
        } else if let Some(days) = policy
            .delete_older_than_days
            .filter(|days| tag.pushed_at + Duration::days(i64::from(*days)) <= now)
        {
            Some(Reason::OlderThan { days })
        } else {
            policy
                .keep_newest
                .filter(|n| rank >= *n)
                .map(|keep| Reason::BeyondNewest { keep })
        };
        if let Some(reason) = reason {
            doomed.push(Doomed {
                tag: tag.name.clone(),
                reason,
            });
        }
    }
    Ok(doomed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days_ago: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000).unwrap() - Duration::days(days_ago)
    }

    fn now() -> DateTime<Utc> {
        at(0)
    }

    fn tag(name: &str, days_ago: i64, expires: Option<&str>) -> TagFacts {
        TagFacts {
            name: name.into(),
            pushed_at: at(days_ago),
            expires_after: expires.map(str::to_owned),
        }
    }

    fn names(doomed: &[Doomed]) -> Vec<&str> {
        doomed.iter().map(|d| d.tag.as_str()).collect()
    }

    #[test]
    fn the_newest_are_kept_and_the_rest_go_unless_kept_otherwise() {
        let tags = [
            tag("latest", 0, None),
            tag("1.3", 1, None),
            tag("1.2", 2, None),
            tag("1.1", 3, None),
            tag("1.0", 4, None),
            tag("paper-2024", 5, None),
        ];
        let policy = RetentionPolicy {
            keep_newest: Some(2),
            keep: vec!["paper-*".into()],
            ..RetentionPolicy::default()
        };
        let doomed = plan(&policy, &tags, |t| t == "1.0", now()).unwrap();
        assert_eq!(
            names(&doomed),
            ["1.2", "1.1"],
            "1.0 is immutable, paper-* kept"
        );
        assert_eq!(doomed[0].reason, Reason::BeyondNewest { keep: 2 });
        assert_eq!(
            doomed[0].reason.describe(),
            "not among the 2 most recently pushed"
        );
    }

    #[test]
    fn semver_ranges_keep_versions_in_them() {
        let tags = [
            tag("v1.19.2", 1, None),
            tag("1.19", 2, None),
            tag("2.0", 3, None),
            tag("0.9-beta", 4, None),
            tag("latest", 5, None),
        ];
        let policy = RetentionPolicy {
            keep: vec![">=1.0 <2".into()],
            delete_older_than_days: Some(1),
            ..RetentionPolicy::default()
        };
        let doomed = plan(&policy, &tags, |_| false, now()).unwrap();
        assert_eq!(names(&doomed), ["2.0", "0.9-beta", "latest"]);
        assert_eq!(doomed[0].reason, Reason::OlderThan { days: 1 });
        assert_eq!(version_of("1.19"), Some(semver::Version::new(1, 19, 0)));
        assert_eq!(version_of("latest"), None);
        assert_eq!(version_of("1.2.3.4"), None);
    }

    #[test]
    fn an_expiry_label_makes_its_tag_go_once_it_has_passed() {
        let tags = [
            tag("pr-12", 15, Some("2w")),
            tag("pr-13", 3, Some("2w")),
            tag("nightly", 2, Some("1d")),
            tag("odd", 30, Some("soon")),
        ];
        let doomed = plan(&RetentionPolicy::default(), &tags, |_| false, now()).unwrap();
        assert_eq!(names(&doomed), ["nightly", "pr-12"]);
        assert_eq!(doomed[1].reason, Reason::Expired { label: "2w".into() });
        assert_eq!(expiry("12h"), Some(Duration::hours(12)));
        assert_eq!(expiry("90s"), Some(Duration::seconds(90)));
        assert_eq!(expiry("30m"), Some(Duration::minutes(30)));
        assert_eq!(expiry("-3d"), None);
        assert_eq!(expiry("0d"), None);
        assert_eq!(expiry("999999w"), None, "bounded");
        assert_eq!(expiry("2y"), None);
        // Immutable tags stay even when expired.
        let kept = plan(&RetentionPolicy::default(), &tags, |_| true, now()).unwrap();
        assert!(kept.is_empty());
    }

    #[test]
    fn policies_are_checked() {
        let bad = |policy: RetentionPolicy| policy.checked().is_err();
        assert!(bad(RetentionPolicy {
            keep: vec![">=one".into()],
            ..RetentionPolicy::default()
        }));
        assert!(bad(RetentionPolicy {
            keep: vec!["/(/".into()],
            ..RetentionPolicy::default()
        }));
        assert!(bad(RetentionPolicy {
            keep_newest: Some(0),
            ..RetentionPolicy::default()
        }));
        assert!(bad(RetentionPolicy {
            keep: vec!["x".into(); MAX_KEEP_PATTERNS + 1],
            ..RetentionPolicy::default()
        }));
        let json = r#"{"keep_newest": 5, "keep": ["1.*", "~1.4"], "delete_older_than_days": 90}"#;
        let policy: RetentionPolicy = serde_json::from_str(json).unwrap();
        assert!(policy.clone().checked().is_ok());
        assert!(serde_json::from_str::<RetentionPolicy>(r#"{"keep_last": 1}"#).is_err());
        // Nothing set: nothing goes.
        let tags = [tag("old", 400, None)];
        assert!(
            plan(&RetentionPolicy::default(), &tags, |_| false, now())
                .unwrap()
                .is_empty()
        );
    }
}
