//! Access rules in cesanta/docker_auth's ACL format: an ordered list of
//! `{match: {account, name, type, service, ip, labels}, actions: [...], comment}`. The first
//! rule whose every given field matches decides: its `actions` (`pull`, `push`, `delete`, `*`)
//! are what the caller gets for that resource, and `actions: []` denies. When no rule matches,
//! the built-in rules of `core::permissions` decide.
//!
//! A match value is a literal, a glob (`*` any run of characters, `/` included; `?` one
//! character), or a regular expression between slashes (`/^ci-.*$/`, the `regex` crate's
//! syntax, matched in linear time). In `name`, `${account}` stands for the caller's account and
//! `${labels:KEY}` for each of the caller's values of label `KEY` (the rule matches if any
//! expansion does); expanded values are taken literally. `ip` is an address or a CIDR block.
//!
//! This module parses, bounds and evaluates rules; it does not know where callers come from.

use std::collections::BTreeMap;
use std::net::IpAddr;

pub mod whole_term;

use ipnet::IpNet;
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

/// The largest rules document accepted.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
/// Rules in one document, at most.
pub const MAX_RULES: usize = 1000;
/// The longest match value.
pub const MAX_PATTERN_LEN: usize = 1024;
/// The compiled size a regular expression may reach.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// An action a rule grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuleAction {
    Pull,
    Push,
    Delete,
    /// `*`: whatever is asked for.
    All,
}

impl RuleAction {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pull" => Some(Self::Pull),
            "push" => Some(Self::Push),
            "delete" => Some(Self::Delete),
            "*" => Some(Self::All),
            _ => None,
        }
    }
}

/// What a deciding rule grants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grant {
    pub pull: bool,
    pub push: bool,
    pub delete: bool,
}

impl Grant {
    fn of(actions: &[RuleAction]) -> Self {
        let has = |a: RuleAction| actions.contains(&a) || actions.contains(&RuleAction::All);
        Self {
            pull: has(RuleAction::Pull),
            push: has(RuleAction::Push),
            delete: has(RuleAction::Delete),
        }
    }
}

/// One rule as lists and search apply it: the names it matches, as a whole-term expression in
/// the syntax every search backend shares, and whether those names are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRule {
    pub pattern: String,
    pub pull: bool,
}

/// Who asks, as rules see them.
#[derive(Debug, Clone, Default)]
pub struct RuleCaller<'a> {
    /// The account name; empty for anonymous callers.
    pub account: &'a str,
    pub ip: Option<IpAddr>,
    /// Label key → values (the portal gives `role` and `org`).
    pub labels: BTreeMap<String, Vec<String>>,
}

/// The rule that decided, and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    /// 0-based position in the list.
    pub index: usize,
    pub comment: Option<&'a str>,
    pub grant: Grant,
}

/// Why a rules document was refused: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct RulesError {
    pub line: Option<usize>,
    pub message: String,
}

/// An ordered, validated list of rules.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    account: Option<Pattern>,
    name: Option<Template>,
    kind: Option<Pattern>,
    service: Option<Pattern>,
    ip: Option<IpNet>,
    labels: Vec<(String, Pattern)>,
    actions: Vec<RuleAction>,
    comment: Option<String>,
}

/// The document's shape, as docker_auth writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "match")]
    matcher: RawMatch,
    actions: Vec<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    account: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    service: Option<String>,
    ip: Option<String>,
    labels: Option<BTreeMap<String, String>>,
}

impl RuleSet {
    /// Parses a rules document (YAML, or JSON, which is YAML too): a list of rules. An empty
    /// document is an empty list.
    pub fn parse(source: &str) -> Result<Self, RulesError> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(RulesError {
                line: None,
                message: format!("the rules are larger than {} KiB", MAX_SOURCE_BYTES / 1024),
            });
        }
        if source.trim().is_empty() {
            return Ok(Self::default());
        }
        let raw: Vec<RawRule> = serde_yaml::from_str(source).map_err(|e| RulesError {
            line: e.location().map(|l| l.line()),
            message: e.to_string(),
        })?;
        if raw.len() > MAX_RULES {
            return Err(RulesError {
                line: None,
                message: format!("at most {MAX_RULES} rules"),
            });
        }
        let starts = rule_lines(source);
        raw.into_iter()
            .enumerate()
            .map(|(i, rule)| {
                Rule::compile(rule).map_err(|message| RulesError {
                    line: starts.get(i).copied(),
                    message: format!("rule {}: {message}", i + 1),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|rules| Self { rules })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first rule matching `caller` asking for resource `name` of type `kind`
    /// (`repository`, `registry`) on registry `service`; `None` when none does.
    pub fn decide(
        &self,
        caller: &RuleCaller<'_>,
        kind: &str,
        service: &str,
        name: &str,
    ) -> Option<Decision<'_>> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.matches(caller, kind, service, name))
            .map(|(index, rule)| Decision {
                index,
                comment: rule.comment.as_deref(),
                grant: Grant::of(&rule.actions),
            })
    }

    /// The rules that may decide for `caller` on resources of type `kind`, in order, each as a
    /// whole-term expression of the names it matches and whether it lets them be seen: what
    /// lists and search filter by, inside the search backends. A rule matching every name ends
    /// the list (nothing after it can decide).
    pub fn name_rules(&self, caller: &RuleCaller<'_>, kind: &str, service: &str) -> Vec<NameRule> {
        let mut out = Vec::new();
        for rule in &self.rules {
            if !rule.may_match_caller(caller)
                || !rule.kind.as_ref().is_none_or(|p| p.matches(kind))
                || !rule.service.as_ref().is_none_or(|p| p.matches(service))
            {
                continue;
            }
            let pull = Grant::of(&rule.actions).pull;
            match &rule.name {
                None => {
                    out.push(NameRule {
                        pattern: ".*".into(),
                        pull,
                    });
                    break;
                }
                Some(template) => {
                    if let Some(pattern) = template.whole_term(caller) {
                        out.push(NameRule { pattern, pull });
                    }
                }
            }
        }
        out
    }

    /// Whether any rule could match `caller` for some resource: when none can, the built-in
    /// rules alone decide for them, and lists need no rule-aware filtering.
    pub fn may_apply_to(&self, caller: &RuleCaller<'_>) -> bool {
        self.rules.iter().any(|rule| rule.may_match_caller(caller))
    }
}

/// The rules as they bear on one caller: the rule set, and who the caller is to the rules.
/// Built only when some rule may match the caller ([`RuleSet::may_apply_to`]), so that callers
/// no rule names pay nothing and keep the built-in rules alone.
#[derive(Debug, Clone)]
pub struct RuleGate {
    rules: std::sync::Arc<RuleSet>,
    service: String,
    account: String,
    ip: Option<IpAddr>,
    labels: BTreeMap<String, Vec<String>>,
}

impl RuleGate {
    /// The gate for a caller, or `None` when no rule can match them.
    pub fn for_caller(
        rules: &std::sync::Arc<RuleSet>,
        service: &str,
        account: &str,
        ip: Option<IpAddr>,
        labels: BTreeMap<String, Vec<String>>,
    ) -> Option<std::sync::Arc<Self>> {
        let caller = RuleCaller {
            account,
            ip,
            labels,
        };
        rules.may_apply_to(&caller).then(|| {
            std::sync::Arc::new(Self {
                rules: rules.clone(),
                service: service.to_owned(),
                account: account.to_owned(),
                ip,
                labels: caller.labels,
            })
        })
    }

    /// The rules that may decide on this caller's repositories, for lists and search.
    pub fn name_rules(&self) -> Vec<NameRule> {
        let caller = RuleCaller {
            account: &self.account,
            ip: self.ip,
            labels: self.labels.clone(),
        };
        self.rules.name_rules(&caller, "repository", &self.service)
    }

    /// What the deciding rule grants on resource `name` of type `kind`, or `None` when no rule
    /// matches (the built-in rules decide).
    pub fn decide(&self, kind: &str, name: &str) -> Option<Grant> {
        let caller = RuleCaller {
            account: &self.account,
            ip: self.ip,
            labels: self.labels.clone(),
        };
        self.rules
            .decide(&caller, kind, &self.service, name)
            .map(|d| d.grant)
    }
}

impl PartialEq for RuleGate {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.rules, &other.rules)
            && self.service == other.service
            && self.account == other.account
            && self.ip == other.ip
            && self.labels == other.labels
    }
}

impl Eq for RuleGate {}

impl Rule {
    fn compile(raw: RawRule) -> Result<Self, String> {
        let m = raw.matcher;
        let actions = raw
            .actions
            .iter()
            .map(|a| {
                RuleAction::parse(a)
                    .ok_or_else(|| format!("unknown action `{a}` (use pull, push, delete or *)"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ip =
            m.ip.as_deref()
                .map(|raw| {
                    raw.parse::<IpNet>()
                        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| format!("`ip: {raw}` is neither an address nor a CIDR block"))
                })
                .transpose()?;
        let labels = m
            .labels
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| Pattern::compile(&value).map(|p| (key, p)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            account: m.account.as_deref().map(Pattern::compile).transpose()?,
            name: m.name.as_deref().map(Template::compile).transpose()?,
            kind: m.kind.as_deref().map(Pattern::compile).transpose()?,
            service: m.service.as_deref().map(Pattern::compile).transpose()?,
            ip,
            labels,
            actions,
            comment: raw.comment,
        })
    }

    fn may_match_caller(&self, caller: &RuleCaller<'_>) -> bool {
        self.account
            .as_ref()
            .is_none_or(|p| p.matches(caller.account))
            && self
                .ip
                .is_none_or(|net| caller.ip.is_some_and(|ip| net.contains(&ip)))
            && self.labels.iter().all(|(key, pattern)| {
                caller
                    .labels
                    .get(key)
                    .is_some_and(|values| values.iter().any(|v| pattern.matches(v)))
            })
    }

    fn matches(&self, caller: &RuleCaller<'_>, kind: &str, service: &str, name: &str) -> bool {
        self.may_match_caller(caller)
            && self.kind.as_ref().is_none_or(|p| p.matches(kind))
            && self.service.as_ref().is_none_or(|p| p.matches(service))
            && self.name.as_ref().is_none_or(|t| t.matches(caller, name))
    }
}

/// A compiled match value: literal, glob (`*`, `?`) or `/regex/`, as access rules read them
/// (and tag policies, which take the same values).
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    Literal(String),
    /// A glob or a `/regex/`, as an anchored regular expression.
    Regex(Regex),
}

impl Pattern {
    pub(crate) fn compile(raw: &str) -> Result<Self, String> {
        if raw.len() > MAX_PATTERN_LEN {
            return Err(format!(
                "a match value is longer than {MAX_PATTERN_LEN} characters"
            ));
        }
        if let Some(expression) = regex_body(raw) {
            return build(expression).map(Self::Regex);
        }
        if raw.contains(['*', '?']) {
            return build(&glob_to_regex(raw)).map(Self::Regex);
        }
        Ok(Self::Literal(raw.to_owned()))
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            Self::Literal(literal) => literal == value,
            Self::Regex(regex) => regex.is_match(value),
        }
    }
}

/// A `name` value, which may hold `${account}` and `${labels:KEY}`: compiled once when it
/// holds neither; else kept in parts and compiled per decision, with the caller's values put
/// in literally (escaped), so an account named `a.*` matches only itself.
#[derive(Debug, Clone)]
enum Template {
    /// The compiled pattern, and the value as written (for [`Template::whole_terms`]).
    Fixed(Pattern, String),
    WithPlaceholders {
        regex: bool,
        parts: Vec<Part>,
    },
}

#[derive(Debug, Clone)]
enum Part {
    /// Pattern text: regular expression text in a `/regex/`, glob text otherwise.
    Text(String),
    Account,
    Label(String),
}

/// Combinations of label values tried for one rule, at most.
const MAX_EXPANSIONS: usize = 64;

impl Template {
    fn compile(raw: &str) -> Result<Self, String> {
        // Lists and search filter by a rule's name inside each search backend: a regular
        // expression they cannot all say the same way is refused here, not misread there.
        if !raw.contains("${") {
            if let Some(body) = regex_body(raw) {
                whole_term::from_regex(body)?;
            }
            return Pattern::compile(raw).map(|p| Self::Fixed(p, raw.to_owned()));
        }
        if raw.len() > MAX_PATTERN_LEN {
            return Err(format!(
                "a match value is longer than {MAX_PATTERN_LEN} characters"
            ));
        }
        let (regex, body) = match regex_body(raw) {
            Some(body) => (true, body),
            None => (false, raw),
        };
        let template = Self::WithPlaceholders {
            regex,
            parts: parts(body)?,
        };
        // Compiled once with stand-in values, so a malformed pattern is refused up front.
        let mut labels = BTreeMap::new();
        for part in template.parts() {
            if let Part::Label(key) = part {
                labels.insert(key.clone(), vec!["x".to_owned()]);
            }
        }
        let sample = RuleCaller {
            account: "x",
            ip: None,
            labels,
        };
        for expression in template.expressions(&sample) {
            build(&expression)?;
            if regex {
                whole_term::from_regex(&expression)?;
            }
        }
        Ok(template)
    }

    fn parts(&self) -> &[Part] {
        match self {
            Self::Fixed(..) => &[],
            Self::WithPlaceholders { parts, .. } => parts,
        }
    }

    fn matches(&self, caller: &RuleCaller<'_>, name: &str) -> bool {
        match self {
            Self::Fixed(pattern, _) => pattern.matches(name),
            Self::WithPlaceholders { .. } => self
                .expressions(caller)
                .iter()
                .any(|expression| build(expression).is_ok_and(|r| r.is_match(name))),
        }
    }

    /// This value for `caller` as one whole-term expression (see [`whole_term`]); `None` when
    /// the caller lacks a label it names (then it matches nothing).
    fn whole_term(&self, caller: &RuleCaller<'_>) -> Option<String> {
        match self {
            Self::Fixed(_, raw) => Some(match regex_body(raw) {
                // Checked when the rule was compiled.
                Some(body) => whole_term::from_regex(body).ok()?,
                None if raw.contains(['*', '?']) => whole_term::from_glob(raw),
                None => whole_term::from_literal(raw),
            }),
            Self::WithPlaceholders { .. } => {
                let each: Vec<String> = self
                    .expressions(caller)
                    .iter()
                    .filter_map(|e| whole_term::from_regex(e).ok())
                    .collect();
                match each.as_slice() {
                    [] => None,
                    [one] => Some(one.clone()),
                    many => Some(format!("({})", many.join("|"))),
                }
            }
        }
    }

    /// The regular expressions this template stands for with `caller`'s values: one per
    /// combination of label values; none when the caller lacks a label it names.
    fn expressions(&self, caller: &RuleCaller<'_>) -> Vec<String> {
        let Self::WithPlaceholders { regex, parts } = self else {
            return Vec::new();
        };
        let text = |t: &str| {
            if *regex {
                t.to_owned()
            } else {
                glob_fragment(t)
            }
        };
        let mut results = vec![String::new()];
        for part in parts {
            let values: Vec<String> = match part {
                Part::Text(t) => vec![text(t)],
                Part::Account => vec![regex::escape(caller.account)],
                Part::Label(key) => match caller.labels.get(key) {
                    Some(values) => values.iter().map(|v| regex::escape(v)).collect(),
                    None => return Vec::new(),
                },
            };
            results = results
                .iter()
                .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{v}")))
                .take(MAX_EXPANSIONS)
                .collect();
        }
        if *regex {
            results
        } else {
            results.into_iter().map(|r| format!("^{r}$")).collect()
        }
    }
}

/// Splits a value into text and placeholders.
fn parts(raw: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or("an unclosed `${` placeholder")?;
        let inner = &after[..end];
        parts.push(match inner.strip_prefix("labels:") {
            _ if inner == "account" => Part::Account,
            Some(key) if !key.is_empty() => Part::Label(key.to_owned()),
            _ => {
                return Err(format!(
                    "unknown placeholder `${{{inner}}}` (use ${{account}} or ${{labels:KEY}})"
                ));
            }
        });
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(parts)
}

/// The expression of a `/regex/` value.
fn regex_body(raw: &str) -> Option<&str> {
    raw.strip_prefix('/')
        .and_then(|r| r.strip_suffix('/'))
        .filter(|_| raw.len() >= 2)
}

fn build(expression: &str) -> Result<Regex, String> {
    RegexBuilder::new(expression)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("bad regular expression `{expression}`: {e}"))
}

/// A glob as an anchored regular expression: `*` any run, `?` one character.
fn glob_to_regex(glob: &str) -> String {
    format!("^{}$", glob_fragment(glob))
}

/// Glob text as regular-expression text, unanchored.
fn glob_fragment(glob: &str) -> String {
    let mut out = String::new();
    for c in glob.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out
}

/// The line each top-level list item starts on (`- ` at the list's indentation), for errors.
fn rule_lines(source: &str) -> Vec<usize> {
    let indent = source
        .lines()
        .filter_map(|l| {
            let trimmed = l.trim_start();
            trimmed.starts_with('-').then(|| l.len() - trimmed.len())
        })
        .min();
    let Some(indent) = indent else {
        return Vec::new();
    };
    source
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            l.len() > indent && l[indent..].starts_with('-') && l[..indent].trim().is_empty()
        })
        .map(|(i, _)| i + 1)
        .collect()
}

#[cfg(test)]
mod tests;
