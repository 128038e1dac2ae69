//! The search language shared by every search backend: free text plus `field:value` filters.
//!
//! `samtools namespace:lab label.org.opencontainers.image.licenses:"MIT"` finds containers
//! matching "samtools" in the `lab` namespace whose licence label is MIT. Filters are exact
//! and case-insensitive; words that look like `x:y` with an unknown field stay free text.

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
}

/// One `field:value` filter; `value` is lowercased.
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
                Some((field, value)) => query.filters.push(Filter {
                    field,
                    value: value.to_lowercase(),
                }),
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
        other => Field::Label(
            other
                .strip_prefix("label.")
                .filter(|k| !k.is_empty())?
                .to_owned(),
        ),
    };
    Some((field, value.trim_matches('"').to_owned()))
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
    fn empty_query_is_empty() {
        assert!(SearchQuery::parse("   ").unwrap().is_empty());
    }
}
