//! The search language shared by every search backend: free text plus `field:value` filters.
//!
//! `samtools namespace:lab label.org.opencontainers.image.licenses:"MIT"` finds containers
//! matching "samtools" in the `lab` namespace whose licence label is MIT. Filters are exact
//! and case-insensitive; words that look like `x:y` with an unknown field stay free text.
//!
//! The bio filters read what the labels say about the tool (`crate::tool`): `topic:` and
//! `operation:` take an EDAM id, URI, label or synonym, resolved here to the term's id, and
//! match containers annotated with that term **or any term below it** in EDAM (the index holds
//! each container's terms with their ancestors); `license:` matches the licence; `digest:`
//! a manifest digest in full or by a prefix of 12 hex digits or more; `automated:yes|no`
//! whether the builder builds it; `deprecated:yes|no` whether it is deprecated;
//! `updated:day|week|month|year` how recently it changed.

mod refine;

pub use refine::{FACET_SIZE, Facet, FacetCounts, FacetValue, Sort, Within};

use crate::edam::{Branch, Edam, Unresolved};

/// The longest query accepted, in characters.
pub const MAX_QUERY_LEN: usize = 256;
/// The most `field:value` filters one query may carry.
pub const MAX_FILTERS: usize = 16;

/// A field a filter can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The repository name's last part, e.g. `samtools` (or the full id, `lab/samtools`).
    Name,
    Namespace,
    Owner,
    Tag,
    /// An image label by key, e.g. `label.org.opencontainers.image.licenses`.
    Label(String),
    /// An EDAM topic id; matches the term and every term below it.
    Topic,
    /// An EDAM operation id; matches the term and every term below it.
    Operation,
    License,
    /// `ALGO:HEX`, the hex part at least [`MIN_DIGEST_PREFIX`] digits: a full digest or a
    /// prefix of one.
    Digest,
    /// `yes` or `no`.
    Automated,
    /// `yes` or `no`: whether the container is deprecated (`crate::tag_policy`).
    Deprecated,
    /// A [`Within`] window.
    Updated,
    /// Another registry's id for the tool: `biotools:ID` or `doi:DOI` (GA4GH TRS aliases).
    Alias,
    /// The type of workflow descriptor the container names (`cwl`, `wdl`, `nfl`, `galaxy`,
    /// `smk`).
    Descriptor,
}

/// The fewest hex digits a `digest:` prefix may have (as `docker images` shows them).
pub const MIN_DIGEST_PREFIX: usize = 12;

/// One `field:value` filter; `value` is lowercased (EDAM terms and digests normalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub field: Field,
    pub value: String,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    /// The free-text words, space-joined (may be empty: then filters alone decide).
    pub text: String,
    pub filters: Vec<Filter>,
    /// The order of the hits (not part of the typed text: the API and page set it).
    pub sort: Sort,
    /// The facets to count over every visible hit (none unless asked for).
    pub facets: Vec<Facet>,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is longer than {MAX_QUERY_LEN} characters")]
    TooLong,
    #[error("the query has more than {MAX_FILTERS} field filters")]
    TooManyFilters,
    #[error("filter `{0}:` has no value")]
    EmptyFilter(String),
    #[error("unbalanced quote in the query")]
    UnbalancedQuote,
    #[error(
        "`{value}` is not an EDAM {branch} (give an id such as {branch}_0080, a URI, a label or a synonym)"
    )]
    UnknownTerm { branch: &'static str, value: String },
    #[error("`{value}` is an obsolete EDAM {branch} that EDAM replaces with nothing")]
    ObsoleteTerm { branch: &'static str, value: String },
    #[error(
        "`digest:` takes sha256:HEX or HEX with at least {MIN_DIGEST_PREFIX} hex digits, not `{0}`"
    )]
    BadDigest(String),
    #[error("{0}")]
    BadValue(String),
}

impl SearchQuery {
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        if input.chars().count() > MAX_QUERY_LEN {
            return Err(QueryError::TooLong);
        }
        let mut query = SearchQuery::default();
        let mut words = Vec::new();
        for token in tokenize(input)? {
            match split_filter(&token) {
                Some((_, value)) if value.is_empty() => {
                    return Err(QueryError::EmptyFilter(
                        token.trim_end_matches(':').to_owned(),
                    ));
                }
                Some((field, value)) => {
                    let value = normalise(&field, &value)?;
                    query.filters.push(Filter { field, value });
                }
                None => words.push(token.replace('"', "")),
            }
        }
        if query.filters.len() > MAX_FILTERS {
            return Err(QueryError::TooManyFilters);
        }
        query.text = words
            .into_iter()
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(query)
    }

    /// True when the query asks for nothing in particular (everything visible matches).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.filters.is_empty()
    }
}

/// The words and filters of a query as typed, split as [`SearchQuery::parse`] splits them
/// (on whitespace outside double quotes; quotes kept), so a page can drop one filter from a
/// query and keep the rest as the user wrote it.
pub fn tokens(input: &str) -> Result<Vec<String>, QueryError> {
    tokenize(input)
}

/// Splits on whitespace outside double quotes; quotes are kept inside tokens.
fn tokenize(input: &str) -> Result<Vec<String>, QueryError> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in input.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(QueryError::UnbalancedQuote);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    Ok(tokens)
}

/// `field:value` with a known field, the value unquoted; `None` for free text.
fn split_filter(token: &str) -> Option<(Field, String)> {
    let (key, value) = token.split_once(':')?;
    let field = match key.to_ascii_lowercase().as_str() {
        "name" => Field::Name,
        "namespace" | "ns" => Field::Namespace,
        "owner" => Field::Owner,
        "tag" => Field::Tag,
        "topic" => Field::Topic,
        "operation" => Field::Operation,
        "license" | "licence" => Field::License,
        "digest" => Field::Digest,
        "automated" => Field::Automated,
        "deprecated" => Field::Deprecated,
        "updated" => Field::Updated,
        "alias" => Field::Alias,
        "descriptor" => Field::Descriptor,
        other => Field::Label(
            other
                .strip_prefix("label.")
                .filter(|k| !k.is_empty())?
                .to_owned(),
        ),
    };
    Some((field, value.trim_matches('"').to_owned()))
}

/// The value a filter matches on: lowercased, and for the bio fields checked and reduced to
/// the one form the index holds.
fn normalise(field: &Field, value: &str) -> Result<String, QueryError> {
    let edam = |branch: Branch| {
        Edam::get().resolve(value, branch).map_err(|e| match e {
            Unresolved::Unknown => QueryError::UnknownTerm {
                branch: branch.as_str(),
                value: value.to_owned(),
            },
            Unresolved::Obsolete(_) => QueryError::ObsoleteTerm {
                branch: branch.as_str(),
                value: value.to_owned(),
            },
        })
    };
    match field {
        Field::Topic => edam(Branch::Topic),
        Field::Operation => edam(Branch::Operation),
        Field::Digest => {
            digest_prefix(value).ok_or_else(|| QueryError::BadDigest(value.to_owned()))
        }
        Field::Automated | Field::Deprecated => match value.to_lowercase().as_str() {
            "yes" | "true" => Ok("yes".to_owned()),
            "no" | "false" => Ok("no".to_owned()),
            _ => Err(QueryError::BadValue(format!(
                "`{}:` takes yes or no, not `{value}`",
                if *field == Field::Automated {
                    "automated"
                } else {
                    "deprecated"
                }
            ))),
        },
        Field::Updated => value
            .to_lowercase()
            .parse::<Within>()
            .map(|w| w.as_str().to_owned())
            .map_err(QueryError::BadValue),
        _ => Ok(value.to_lowercase()),
    }
}

/// `sha256:HEX` for `sha256:HEX` or a bare `HEX` (other algorithms kept as named), lowercased;
/// `None` unless the hex part has between [`MIN_DIGEST_PREFIX`] and 128 hex digits.
fn digest_prefix(raw: &str) -> Option<String> {
    let raw = raw.to_ascii_lowercase();
    let (algorithm, hex) = raw.split_once(':').unwrap_or(("sha256", raw.as_str()));
    let known = matches!(algorithm, "sha256" | "sha384" | "sha512");
    let hex_ok = (MIN_DIGEST_PREFIX..=128).contains(&hex.len())
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    (known && hex_ok).then(|| format!("{algorithm}:{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_and_filters() {
        let q = SearchQuery::parse("  samtools  namespace:Lab tag:1.19 ").unwrap();
        assert_eq!(q.text, "samtools");
        assert_eq!(
            q.filters,
            vec![
                Filter {
                    field: Field::Namespace,
                    value: "lab".into()
                },
                Filter {
                    field: Field::Tag,
                    value: "1.19".into()
                },
            ]
        );
    }

    #[test]
    fn label_filters_keep_dotted_keys_and_quoted_values() {
        let q =
            SearchQuery::parse(r#"label.org.opencontainers.image.licenses:"GPL 3" align"#).unwrap();
        assert_eq!(q.text, "align");
        assert_eq!(
            q.filters,
            vec![Filter {
                field: Field::Label("org.opencontainers.image.licenses".into()),
                value: "gpl 3".into()
            }]
        );
    }

    #[test]
    fn unknown_fields_stay_free_text() {
        let q = SearchQuery::parse("https://example.org label.:x").unwrap();
        assert_eq!(q.text, "https://example.org label.:x");
        assert!(q.filters.is_empty());
    }

    #[test]
    fn refuses_bad_queries() {
        assert_eq!(
            SearchQuery::parse(&"a".repeat(257)),
            Err(QueryError::TooLong)
        );
        assert!(SearchQuery::parse(&"é".repeat(256)).is_ok());
        assert_eq!(
            SearchQuery::parse("tag:"),
            Err(QueryError::EmptyFilter("tag".into()))
        );
        assert_eq!(
            SearchQuery::parse("\"open"),
            Err(QueryError::UnbalancedQuote)
        );
        let many = (0..17)
            .map(|i| format!("tag:t{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(SearchQuery::parse(&many), Err(QueryError::TooManyFilters));
    }

    #[test]
    fn bio_filters_are_normalised() {
        let q = SearchQuery::parse(
            r#"topic:"Sequence analysis" operation:http://edamontology.org/operation_0292 license:MIT automated:True updated:Week"#,
        )
        .unwrap();
        let values: Vec<&str> = q.filters.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(
            values,
            ["topic_0080", "operation_0292", "mit", "yes", "week"]
        );
        let q = SearchQuery::parse("digest:SHA256:ABCDEF012345 digest:abcdef0123456").unwrap();
        let values: Vec<&str> = q.filters.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(values, ["sha256:abcdef012345", "sha256:abcdef0123456"]);
    }

    #[test]
    fn bad_bio_values_are_refused() {
        assert!(matches!(
            SearchQuery::parse("topic:operation_0292"),
            Err(QueryError::UnknownTerm {
                branch: "topic",
                ..
            })
        ));
        assert!(matches!(
            SearchQuery::parse("operation:operation_XXXX"),
            Err(QueryError::UnknownTerm { .. })
        ));
        for bad in [
            "digest:abcdef01234",
            "digest:md5:abcdef0123456",
            "digest:xyz0123456789",
        ] {
            assert!(
                matches!(SearchQuery::parse(bad), Err(QueryError::BadDigest(_))),
                "{bad}"
            );
        }
        assert!(SearchQuery::parse("automated:maybe").is_err());
        let err = SearchQuery::parse("deprecated:perhaps")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`deprecated:` takes yes or no"), "{err}");
        assert!(SearchQuery::parse("deprecated:True").is_ok());
        assert!(SearchQuery::parse("updated:decade").is_err());
    }

    #[test]
    fn empty_query_is_empty() {
        assert!(SearchQuery::parse("   ").unwrap().is_empty());
    }
}
