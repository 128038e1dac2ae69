//! What the search index holds of a container besides its raw fields, derived here once so
//! that every search backend indexes the same facts: the tool's EDAM terms (as annotated, for
//! the facets, and with all their ancestors, for filters that include descendants), its
//! licence, whether it is automated, and its manifest digests.

use std::collections::BTreeSet;

use crate::Container;
use crate::descriptor::DescriptorSource;
use crate::edam::Edam;
use crate::tool::ToolMetadata;

/// The derived search facts of one container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexFacts {
    /// EDAM topic ids as the labels give them (the `topic` facet).
    pub topics: Vec<String>,
    /// Those topics and every ancestor of each (the `topic:` filter).
    pub topic_tree: Vec<String>,
    pub operations: Vec<String>,
    pub operation_tree: Vec<String>,
    /// The licence as written (the facet shows it so); filters compare it lowercased.
    pub license: Option<String>,
    /// `yes` when the builder builds it (a git source or a pasted Dockerfile), else `no`.
    pub automated: &'static str,
    /// `yes` when the container is deprecated, else `no`: a filter, and what relevance ranks
    /// last.
    pub deprecated: &'static str,
    /// Each tag's manifest digest, lowercased, once each.
    pub digests: Vec<String>,
    /// The tool's ids elsewhere, lowercased: `biotools:ID` and `doi:DOI` (the `alias:` filter).
    pub aliases: Vec<String>,
    /// The type of descriptor the container names, lowercased (`cwl`): the `descriptor:` filter.
    pub descriptor: Option<String>,
}

impl IndexFacts {
    pub fn of(container: &Container) -> Self {
        let tool = ToolMetadata::from_labels(&container.labels);
        let aliases = tool_aliases(&tool)
            .into_iter()
            .map(|a| a.to_lowercase())
            .collect();
        let digests: BTreeSet<String> = container
            .tags
            .iter()
            .map(|t| t.digest.to_ascii_lowercase())
            .collect();
        Self {
            topic_tree: with_ancestors(&tool.topics),
            operation_tree: with_ancestors(&tool.operations),
            topics: tool.topics,
            operations: tool.operations,
            license: tool.license.filter(|l| !l.is_empty()),
            automated: if container.git.is_some() || container.dockerfile.is_some() {
                "yes"
            } else {
                "no"
            },
            deprecated: if container.policy.deprecated.is_some() {
                "yes"
            } else {
                "no"
            },
            digests: digests.into_iter().collect(),
            aliases,
            descriptor: container
                .descriptor
                .as_deref()
                .and_then(|raw| DescriptorSource::parse(raw).ok())
                .and_then(|source| source.kind())
                .map(|kind| kind.as_str().to_lowercase()),
        }
    }
}

/// The tool's ids in other registries, as TRS lists them: `biotools:ID` for each bio.tools id
/// and `doi:DOI` for each citation.
pub fn tool_aliases(tool: &ToolMetadata) -> Vec<String> {
    tool.biotools
        .iter()
        .map(|id| format!("biotools:{id}"))
        .chain(tool.dois.iter().map(|doi| format!("doi:{doi}")))
        .collect()
}

/// The terms and all their ancestors, sorted, once each.
fn with_ancestors(ids: &[String]) -> Vec<String> {
    let edam = Edam::get();
    let mut all: BTreeSet<String> = ids.iter().cloned().collect();
    for id in ids {
        all.extend(edam.ancestors(id));
    }
    all.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RepoName, Tag, TagName, Visibility};

    #[test]
    fn derives_terms_with_ancestors_licence_and_digests() {
        let mut c = Container::new(
            RepoName::parse("lab/bwa").unwrap(),
            "alice",
            Visibility::Public,
        );
        c.labels
            .insert("ANNOT.EDAM_Operation".into(), "['operation_0292']".into());
        c.labels
            .insert("edam.topic".into(), "Sequence assembly".into());
        c.labels
            .insert("about.license".into(), "SPDX:GPL-3.0".into());
        c.git = Some("https://example.org/bwa.git".into());
        c.labels
            .insert("extra.identifiers.biotools".into(), "BWA".into());
        for (name, digest) in [("1", "sha256:AB"), ("2", "sha256:ab"), ("3", "sha256:cd")] {
            c.tags.push(Tag {
                name: TagName::parse(name).unwrap(),
                digest: digest.into(),
                size: 0,
                platforms: Vec::new(),
                pushed_at: c.created_at,
            });
        }
        let facts = IndexFacts::of(&c);
        assert_eq!(facts.topics, ["topic_0196"]);
        assert!(
            facts.topic_tree.contains(&"topic_0080".to_owned()),
            "{facts:?}"
        );
        assert!(facts.topic_tree.contains(&"topic_0196".to_owned()));
        assert_eq!(facts.operations, ["operation_0292"]);
        assert!(facts.operation_tree.len() > 1);
        assert_eq!(facts.license.as_deref(), Some("GPL-3.0"));
        assert_eq!(facts.automated, "yes");
        assert_eq!(facts.digests, ["sha256:ab", "sha256:cd"]);
        assert_eq!(facts.aliases, ["biotools:bwa"]);
        assert_eq!(facts.descriptor, None);
        c.descriptor = Some("cwl/bwa-mem.cwl".into());
        assert_eq!(IndexFacts::of(&c).descriptor.as_deref(), Some("cwl"));
    }
}
