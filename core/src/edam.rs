//! The EDAM ontology (topics, operations, data, formats), shipped as `core/data/edam/edam.tsv` and
//! parsed once on first use: terms by id, label or synonym; obsolete ids forwarded to their
//! replacement; the hierarchy, so that a search for a term can include its descendants.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

/// The EDAM release the data file was generated from.
pub const VERSION: &str = "1.25.3";

const DATA: &str = include_str!("../data/edam/edam.tsv");

/// How many replacements are followed from an obsolete term (EDAM's chains are short; a loop
/// in the data must not hang a request).
const MAX_REPLACEMENTS: usize = 8;

/// An EDAM branch that annotates tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branch {
    Topic,
    Operation,
    Data,
    Format,
}

impl Branch {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Topic => "topic",
            Self::Operation => "operation",
            Self::Data => "data",
            Self::Format => "format",
        }
    }

    fn of(id: &str) -> Option<Self> {
        match id.split_once('_')?.0 {
            "topic" => Some(Self::Topic),
            "operation" => Some(Self::Operation),
            "data" => Some(Self::Data),
            "format" => Some(Self::Format),
            _ => None,
        }
    }
}

/// One EDAM class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub id: String,
    pub label: String,
    pub obsolete: bool,
    pub replaced_by: Option<String>,
    pub parents: Vec<String>,
    pub synonyms: Vec<String>,
}

/// Why a name did not resolve to a term in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// No term of the branch has this id, label or synonym.
    Unknown,
    /// The term is obsolete and EDAM names no replacement.
    Obsolete(String),
}

/// The ontology.
pub struct Edam {
    terms: HashMap<String, Term>,
    /// Lowercased label or synonym → ids (labels first).
    by_name: HashMap<String, Vec<String>>,
    children: HashMap<String, Vec<String>>,
}

static EDAM: LazyLock<Edam> = LazyLock::new(|| Edam::parse(DATA));

impl Edam {
    /// The shipped ontology.
    pub fn get() -> &'static Edam {
        &EDAM
    }

    fn parse(data: &str) -> Self {
        let mut terms = HashMap::new();
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut synonyms: Vec<(String, String)> = Vec::new();
        for line in data
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut columns = line.split('\t');
            let mut next = || columns.next().unwrap_or_default();
            let (id, label, obsolete, replaced_by, parents, names) =
                (next(), next(), next(), next(), next(), next());
            let list = |raw: &str| -> Vec<String> {
                raw.split('|')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            let term = Term {
                id: id.to_owned(),
                label: label.to_owned(),
                obsolete: obsolete == "1",
                replaced_by: Some(replaced_by.to_owned()).filter(|r| !r.is_empty()),
                parents: list(parents),
                synonyms: list(names),
            };
            labels.push((label.to_lowercase(), id.to_owned()));
            synonyms.extend(
                term.synonyms
                    .iter()
                    .map(|s| (s.to_lowercase(), id.to_owned())),
            );
            terms.insert(id.to_owned(), term);
        }
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for (name, id) in labels.into_iter().chain(synonyms) {
            let ids = by_name.entry(name).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for term in terms.values() {
            for parent in &term.parents {
                children
                    .entry(parent.clone())
                    .or_default()
                    .push(term.id.clone());
            }
        }
        Self {
            terms,
            by_name,
            children,
        }
    }

    pub fn term(&self, id: &str) -> Option<&Term> {
        self.terms.get(id)
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The id of the term of `branch` in use that `raw` names: an id in any of its forms
    /// (`topic_0080`, its URI, `EDAM:topic_0080`), a label or a synonym (any case). Obsolete
    /// terms are forwarded to their replacement.
    pub fn resolve(&self, raw: &str, branch: Branch) -> Result<String, Unresolved> {
        let raw = raw.trim();
        let by_id =
            crate::tool::edam_id(raw, branch.as_str()).filter(|id| self.terms.contains_key(id));
        let id = match by_id {
            Some(id) => id,
            None => self
                .by_name
                .get(&raw.to_lowercase())
                .and_then(|ids| {
                    // A live term of the branch first; an obsolete one is forwarded below.
                    let of_branch = || ids.iter().filter(|id| Branch::of(id) == Some(branch));
                    of_branch()
                        .find(|id| self.terms.get(*id).is_some_and(|t| !t.obsolete))
                        .or_else(|| of_branch().next())
                })
                .cloned()
                .ok_or(Unresolved::Unknown)?,
        };
        self.in_use(id)
    }

    /// `id`, or the term that replaces it when it is obsolete.
    fn in_use(&self, mut id: String) -> Result<String, Unresolved> {
        for _ in 0..MAX_REPLACEMENTS {
            let term = self.terms.get(&id).ok_or(Unresolved::Unknown)?;
            if !term.obsolete {
                return Ok(id);
            }
            match &term.replaced_by {
                Some(next) => id = next.clone(),
                None => return Err(Unresolved::Obsolete(id)),
            }
        }
        Err(Unresolved::Obsolete(id))
    }

    /// Every ancestor of `id` (parents, their parents, …), without `id` itself.
    pub fn ancestors(&self, id: &str) -> BTreeSet<String> {
        self.walk(id, |term| term.parents.clone())
    }

    /// Every descendant of `id`, without `id` itself.
    pub fn descendants(&self, id: &str) -> BTreeSet<String> {
        self.walk(id, |term| {
            self.children.get(&term.id).cloned().unwrap_or_default()
        })
    }

    fn walk(&self, id: &str, next: impl Fn(&Term) -> Vec<String>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue = vec![id.to_owned()];
        while let Some(current) = queue.pop() {
            let Some(term) = self.terms.get(&current) else {
                continue;
            };
            for found in next(term) {
                if seen.insert(found.clone()) {
                    queue.push(found);
                }
            }
        }
        seen.remove(id);
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_ontology_has_its_four_branches() {
        let edam = Edam::get();
        assert!(edam.len() > 3000, "{}", edam.len());
        assert_eq!(edam.term("topic_0080").unwrap().label, "Sequence analysis");
        assert_eq!(
            edam.term("operation_0292").unwrap().label,
            "Sequence alignment"
        );
        assert_eq!(edam.term("format_1929").unwrap().label, "FASTA");
        assert!(edam.term("data_0006").is_some());
    }

    #[test]
    fn terms_resolve_by_id_uri_label_and_synonym_within_their_branch() {
        let edam = Edam::get();
        for raw in [
            "topic_0080",
            "http://edamontology.org/topic_0080",
            "EDAM:topic_0080",
            "Sequence analysis",
            "sequence ANALYSIS",
            "Biological sequences",
        ] {
            assert_eq!(
                edam.resolve(raw, Branch::Topic),
                Ok("topic_0080".into()),
                "{raw}"
            );
        }
        assert_eq!(
            edam.resolve("Sequence alignment", Branch::Operation),
            Ok("operation_0292".into())
        );
        assert_eq!(
            edam.resolve("Read mapping", Branch::Topic),
            Err(Unresolved::Unknown),
            "an operation's name is no topic"
        );
        assert_eq!(
            edam.resolve("Sequence alignment", Branch::Topic),
            Ok("topic_0080".into()),
            "the obsolete topic of that name forwards to its replacement"
        );
        for bad in ["operation_XXXX", "operation_9999", "not a term", ""] {
            assert_eq!(
                edam.resolve(bad, Branch::Operation),
                Err(Unresolved::Unknown),
                "{bad}"
            );
        }
    }

    #[test]
    fn obsolete_terms_forward_to_their_replacement() {
        let edam = Edam::get();
        let (obsolete, replacement) = edam
            .terms
            .values()
            .filter(|t| t.obsolete && Branch::of(&t.id) == Some(Branch::Operation))
            .find_map(|t| {
                let next = t.replaced_by.as_ref()?;
                edam.terms
                    .get(next)
                    .filter(|n| !n.obsolete)
                    .map(|n| (t.id.clone(), n.id.clone()))
            })
            .expect("EDAM has obsolete operations with a replacement");
        assert_eq!(edam.resolve(&obsolete, Branch::Operation), Ok(replacement));
    }

    #[test]
    fn the_hierarchy_runs_both_ways() {
        let edam = Edam::get();
        let below = edam.descendants("operation_2403");
        assert!(
            below.contains("operation_0292"),
            "Sequence analysis ⊃ Sequence alignment"
        );
        assert!(edam.ancestors("operation_0292").contains("operation_2403"));
        assert!(
            !edam
                .descendants("operation_0292")
                .contains("operation_0292")
        );
    }
}
