//! Tool metadata from image labels: what a bioinformatician looks for (name, version, summary,
//! homepage, licence, bio.tools ids, DOIs, EDAM terms, keywords, executables), derived from the
//! raw labels of the newest tag's image config, which stay untouched beside it.
//!
//! Three label families are read, and for a field found in several the first wins:
//! 1. the BioContainers keys (`software`, `software.version`, `about.*`, `extra.*`): the bio
//!    convention, checked by BioContainers' CI;
//! 2. the original Bioshadock's `ANNOT.*` keys;
//! 3. the OCI annotations (`org.opencontainers.image.*`), the generic fallback.
//!
//! List fields (EDAM terms, DOIs, keywords, executables, authors) take the union of every
//! family. Labels are written by whoever pushed the image, so every value is bounded, every
//! list is capped, and what cannot be used is reported in `problems` (for the container's
//! editors) rather than silently dropped. EDAM terms are resolved against the shipped ontology
//! (`crate::edam`): ids, labels and synonyms become ids in use (`topic_0080`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::edam::{Branch, Edam, Unresolved};

/// The longest single value kept (a summary, a URL, one list item); longer ones are cut.
pub const MAX_VALUE_LEN: usize = 1000;
/// Items kept per list field.
pub const MAX_ITEMS: usize = 100;

/// What the labels say about the tool in the image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolMetadata {
    pub name: Option<String>,
    pub version: Option<String>,
    pub summary: Option<String>,
    /// An http(s) URL (anything else is a problem, never a link).
    pub homepage: Option<String>,
    pub documentation: Option<String>,
    /// SPDX-style, with a `SPDX:` prefix removed.
    pub license: Option<String>,
    pub authors: Vec<String>,
    /// bio.tools ids (`fastqc`).
    pub biotools: Vec<String>,
    /// DOIs, without `doi:` or a resolver prefix (`10.1093/bioinformatics/btp324`).
    pub dois: Vec<String>,
    /// EDAM topic ids (`topic_0080`).
    pub topics: Vec<String>,
    /// EDAM operation ids (`operation_0292`).
    pub operations: Vec<String>,
    pub keywords: Vec<String>,
    pub executables: Vec<String>,
    /// Values that could not be used, one sentence each (`ANNOT.EDAM_Operation: "operation_XXXX"
    /// is not an EDAM operation id`).
    pub problems: Vec<String>,
}

impl ToolMetadata {
    /// Whether the labels said anything about the tool.
    pub fn is_empty(&self) -> bool {
        *self
            == Self {
                problems: self.problems.clone(),
                ..Self::default()
            }
    }

    pub fn from_labels(labels: &BTreeMap<String, String>) -> Self {
        let mut harvest = Harvest {
            labels,
            found: Self::default(),
        };
        let found = &mut harvest;
        let name = found.first(&["software", "ANNOT.Name", "org.opencontainers.image.title"]);
        let version = found.first(&[
            "software.version",
            "ANNOT.Version",
            "org.opencontainers.image.version",
        ]);
        let summary = found.first(&[
            "about.summary",
            "ANNOT.Description",
            "org.opencontainers.image.description",
        ]);
        let homepage = found.url(&[
            "about.home",
            "ANNOT.Homepage",
            "org.opencontainers.image.url",
        ]);
        let documentation = found.url(&[
            "about.documentation",
            "org.opencontainers.image.documentation",
        ]);
        let license = found
            .first(&["about.license", "org.opencontainers.image.licenses"])
            .map(|raw| normalise_license(&raw));
        let authors = found.list(&[
            "maintainer",
            "MAINTAINER",
            "org.opencontainers.image.authors",
        ]);
        let biotools = found.words(&["extra.identifiers.biotools", "extra.identifier.biotools"]);
        let keywords = found.list(&["about.tags"]);
        let executables = found.words(&["extra.binaries", "ANNOT.Provides"]);
        let dois = found.dois(&["ANNOT.Reference", "extra.identifiers.doi"]);
        let topics = found.edam(
            &["ANNOT.EDAM_Topic", "edam.topic", "edam.topics"],
            Branch::Topic,
        );
        let operations = found.edam(
            &["ANNOT.EDAM_Operation", "edam.operation", "edam.operations"],
            Branch::Operation,
        );
        let mut metadata = harvest.found;
        metadata.name = name;
        metadata.version = version;
        metadata.summary = summary.filter(|s| !is_placeholder(s));
        metadata.homepage = homepage;
        metadata.documentation = documentation;
        metadata.license = license;
        metadata.authors = authors;
        metadata.biotools = biotools;
        metadata.keywords = keywords;
        metadata.executables = executables;
        metadata.dois = dois;
        metadata.topics = topics;
        metadata.operations = operations;
        metadata
    }
}

/// The labels being read, and the problems found so far.
struct Harvest<'a> {
    labels: &'a BTreeMap<String, String>,
    found: ToolMetadata,
}

impl Harvest<'_> {
    /// The non-empty values of `keys`, in order, bounded.
    fn values(
        &self,
        keys: &'static [&'static str],
    ) -> impl Iterator<Item = (&'static str, String)> + '_ {
        keys.iter().filter_map(|key| {
            let value = self.labels.get(*key)?.trim();
            (!value.is_empty()).then(|| (*key, bounded(value)))
        })
    }

    fn first(&mut self, keys: &'static [&'static str]) -> Option<String> {
        self.values(keys).next().map(|(_, value)| value)
    }

    /// The first value that is an http(s) URL; others are problems.
    fn url(&mut self, keys: &'static [&'static str]) -> Option<String> {
        let mut found = None;
        let mut problems = Vec::new();
        for (key, value) in self.values(keys) {
            if is_web_url(&value) {
                found.get_or_insert(value);
            } else {
                problems.push(format!("{key}: {value:?} is not an http(s) URL"));
            }
        }
        self.found.problems.extend(problems);
        found
    }

    /// Lists whose items may hold spaces (`Name <email>`, `implemented-in::c`): separated by
    /// commas, or written as an array.
    fn list(&mut self, keys: &'static [&'static str]) -> Vec<String> {
        self.split_with(keys, split_items)
    }

    /// Lists of words (ids, executables): also space-separated.
    fn words(&mut self, keys: &'static [&'static str]) -> Vec<String> {
        self.split_with(keys, split_list)
    }

    fn split_with(
        &mut self,
        keys: &'static [&'static str],
        split: fn(&str) -> Vec<String>,
    ) -> Vec<String> {
        let items = self
            .values(keys)
            .flat_map(|(_, value)| split(&value))
            .collect();
        dedup_capped(items)
    }

    fn dois(&mut self, keys: &'static [&'static str]) -> Vec<String> {
        let items = self
            .values(keys)
            .flat_map(|(_, value)| {
                DOI.find_iter(&value)
                    .map(|m| m.as_str().trim_end_matches(['.', ',', ';', ')']).to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        dedup_capped(items)
    }

    /// The EDAM terms of `branch` the labels name, as ids in use: by id (any form), label or
    /// synonym, obsolete ones forwarded. Items are separated by commas or written as a list
    /// (labels hold spaces); an item that names no term is tried again word by word
    /// (`topic_0102 topic_0080`, the space-separated form).
    fn edam(&mut self, keys: &'static [&'static str], branch: Branch) -> Vec<String> {
        let edam = Edam::get();
        let mut ids = Vec::new();
        let mut problems = Vec::new();
        let mut record =
            |key: &str, item: &str, resolved: Result<String, Unresolved>| match resolved {
                Ok(id) => ids.push(id),
                Err(Unresolved::Unknown) => problems.push(format!(
                    "{key}: {item:?} is not an EDAM {} (id, label or synonym)",
                    branch.as_str()
                )),
                Err(Unresolved::Obsolete(id)) => problems.push(format!(
                    "{key}: {id} is obsolete in EDAM {} and has no replacement",
                    crate::edam::VERSION
                )),
            };
        for (key, value) in self.values(keys) {
            for item in split_items(&value) {
                // Word by word only when every word is written like an id: a label that names
                // nothing must not turn into the terms its words happen to name ("Topic").
                let ids_by_spaces = item.contains(char::is_whitespace)
                    && item.split_whitespace().all(|word| word.contains('_'));
                let resolved = edam.resolve(&item, branch);
                if resolved.is_ok() || !ids_by_spaces {
                    record(key, &item, resolved);
                } else {
                    for word in item.split_whitespace() {
                        record(key, word, edam.resolve(word, branch));
                    }
                }
            }
        }
        self.found.problems.extend(problems);
        dedup_capped(ids)
    }
}

/// A DOI in free text (Crossref's recommended pattern, bounded).
static DOI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"10\.\d{4,9}/[-._;()/:A-Za-z0-9]{1,200}").expect("a valid pattern")
});

/// `value` cut to [`MAX_VALUE_LEN`] characters.
fn bounded(value: &str) -> String {
    value.chars().take(MAX_VALUE_LEN).collect()
}

fn dedup_capped(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .take(MAX_ITEMS)
        .collect()
}

/// The items of a list written any of the ways labels write lists: a JSON array, a Python list
/// literal (`['a', 'b']`), an unquoted `[a, b]`, comma-separated or space-separated values.
pub fn split_list(raw: &str) -> Vec<String> {
    split(raw, true)
}

/// The same, for items that may hold spaces: only arrays and commas separate them.
pub fn split_items(raw: &str) -> Vec<String> {
    split(raw, false)
}

fn split(raw: &str, on_spaces: bool) -> Vec<String> {
    let trimmed = raw.trim();
    if let Ok(items) = serde_json::from_str::<Vec<String>>(trimmed) {
        return items
            .into_iter()
            .map(|i| bounded(i.trim()))
            .filter(|i| !i.is_empty())
            .collect();
    }
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(trimmed);
    let separator: &[char] = if inner.contains(',') || !on_spaces {
        &[',']
    } else {
        &[' ', '\t', '\n']
    };
    inner
        .split(separator)
        .map(|item| item.trim().trim_matches(['\'', '"']).trim())
        .filter(|item| !item.is_empty())
        .map(bounded)
        .collect()
}

/// The short EDAM id (`topic_0080`) that `raw` names in one of its id forms: the short id, the
/// URI (`http://edamontology.org/topic_0080`) or the CURIE (`EDAM:topic_0080`). `None` for
/// anything else, including placeholders such as `operation_XXXX` and another branch's id.
pub fn edam_id(raw: &str, branch: &str) -> Option<String> {
    let raw = raw.trim();
    let short = raw
        .strip_prefix("http://edamontology.org/")
        .or_else(|| raw.strip_prefix("https://edamontology.org/"))
        .or_else(|| raw.strip_prefix("EDAM:"))
        .or_else(|| raw.strip_prefix("edam:"))
        .unwrap_or(raw);
    let digits = short.strip_prefix(branch)?.strip_prefix('_')?;
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{branch}_{digits}"))
}

/// A licence as SPDX-style text: a `SPDX:` prefix removed, the rest kept as written.
pub fn normalise_license(raw: &str) -> String {
    let raw = raw.trim();
    match raw.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("spdx:") => raw[5..].trim().to_owned(),
        _ => raw.to_owned(),
    }
}

/// Whether `value` is an http(s) URL (the only links a tool card makes).
pub fn is_web_url(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && value.len() > "http://".len()
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Text that stands for "nothing yet" (`TODO`, `...`).
fn is_placeholder(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "todo" | "tbd" | "..." | "none" | "n/a" | "-"
    )
}

#[cfg(test)]
mod tests;
