//! Turns a [`SearchQuery`] and an [`Audience`] into an Elasticsearch search body, with the
//! semantics of the embedded index (`tantivy_search/query.rs`):
//!
//! - Free text is split into words as names are indexed (`bwa-mem2` is `bwa` and `mem2`);
//!   every word must match at least one of name, description (stemmed), tag or label words
//!   (AND across words, OR across fields). English stop words are optional unless the text
//!   has nothing else. Name words weigh more, and a whole query word equal to a full id or
//!   short name weighs far more, so `samtools` puts `lab/samtools` first. A word of two
//!   characters or more also matches the words it begins, through the `prefixes` sub-fields,
//!   with `PREFIX_WEIGHT` of a whole word's weight (`crate::search_prefix`).
//! - Filters and the audience sit in filter context: they narrow the hits without scoring,
//!   and because they are part of the query, `total` never counts a hidden container.
//! - Order: as the query's `Sort` says, with the id as the last tie-break (stable paging):
//!   relevance is score, then newest first (without free text, newest first); pulls is most
//!   pulled, then newest; name is the id.
//! - Facets: the aggregations of `crate::search_facets`, over the same query.

use bioshadock_core::Audience;
use bioshadock_core::query::{Field, Filter, SearchQuery, Sort, Within};
use serde_json::{Value, json};

use super::mapping::{MAX_WORD_LEN, STOP_WORDS, label_term};
use crate::search_facets::{self, FacetFields};
use crate::search_prefix::{PREFIX_WEIGHT, prefix_term};

/// Where each facet's values live in this index.
const FACET_FIELDS: FacetFields = FacetFields {
    namespace: "namespace",
    topic: "topic",
    operation: "operation",
    license: "license",
    automated: "automated",
    updated_at: "updated_at",
};

/// Extra weight of a word found in the name over the same word elsewhere (as tantivy).
const NAME_BOOST: f32 = 3.0;
/// Extra weight of a query word that *is* a container's name: always ranks first.
const EXACT_NAME_BOOST: f32 = 20.0;
/// Elasticsearch's default `index.max_result_window`: `from + size` may not pass it.
pub const MAX_RESULT_WINDOW: usize = 10_000;

/// The search request body for one page.
pub fn search_body(
    query: &SearchQuery,
    audience: &Audience,
    offset: usize,
    limit: usize,
    now_millis: i64,
) -> Value {
    let text = text_clauses(&query.text);
    let scored = text.is_some();
    let mut filter: Vec<Value> = query
        .filters
        .iter()
        .map(|f| filter_clause(f, now_millis))
        .collect();
    filter.extend(audience_clause(audience));
    let mut bool_query = serde_json::Map::new();
    if let Some((must, should)) = text {
        bool_query.insert("must".into(), Value::Array(must));
        if !should.is_empty() {
            bool_query.insert("should".into(), Value::Array(should));
        }
    }
    if !filter.is_empty() {
        bool_query.insert("filter".into(), Value::Array(filter));
    }
    let matcher = if bool_query.is_empty() {
        json!({"match_all": {}})
    } else {
        json!({"bool": bool_query})
    };
    let newest = json!({"updated_at": {"order": "desc"}});
    // Relevance ranks deprecated containers after the others ("no" sorts before "yes").
    let current_first = json!({"deprecated": {"order": "asc", "missing": "_first"}});
    let mut sort = match query.sort {
        Sort::Relevance if scored => {
            vec![current_first, json!({"_score": {"order": "desc"}}), newest]
        }
        Sort::Relevance => vec![current_first, newest],
        Sort::Updated => vec![newest],
        Sort::Pulls => vec![json!({"pulls": {"order": "desc"}}), newest],
        Sort::Name => Vec::new(),
    };
    sort.push(json!({"id": {"order": "asc"}}));
    // Never ask past the result window: a page out there is empty, the total still counts.
    let (from, size) = if offset >= MAX_RESULT_WINDOW {
        (0, 0)
    } else {
        (offset, limit.min(MAX_RESULT_WINDOW - offset))
    };
    let mut body = json!({
        "query": matcher,
        "sort": sort,
        "from": from,
        "size": size,
        "track_total_hits": true,
        "_source": false,
    });
    if !query.facets.is_empty() {
        body["aggs"] = search_facets::aggregations(&query.facets, &FACET_FIELDS, now_millis);
    }
    body
}

/// The required word groups (`must`) and the optional ones plus exact-name boosts (`should`),
/// or `None` when the text has no word (empty, or only punctuation): it then filters nothing.
fn text_clauses(text: &str) -> Option<(Vec<Value>, Vec<Value>)> {
    let terms = words(text);
    if terms.is_empty() {
        return None;
    }
    let any_content = terms.iter().any(|t| !is_stop_word(t));
    let (mut must, mut should) = (Vec::new(), Vec::new());
    for term in &terms {
        let stop = is_stop_word(term);
        let group = word_group(term, stop);
        if !stop || !any_content {
            must.push(group);
        } else {
            should.push(group);
        }
    }
    for word in text.split_whitespace() {
        should.push(json!({"term": {"name_exact": {
            "value": word.to_lowercase(),
            "boost": EXACT_NAME_BOOST,
        }}}));
    }
    Some((must, should))
}

/// Matches `term` in any free-text field, as a whole word or as the start of one; stop words
/// are not looked up as whole words in descriptions, whose analyser drops them.
fn word_group(term: &str, stop: bool) -> Value {
    let mut any = vec![
        json!({"match": {"id.words": {"query": term, "boost": NAME_BOOST}}}),
        json!({"match": {"tags.words": {"query": term}}}),
        json!({"match": {"labels.words": {"query": term}}}),
    ];
    if !stop {
        // The index analyser stems the description; `match` stems the word the same way.
        any.push(json!({"match": {"description": {"query": term}}}));
    }
    if let Some(prefix) = prefix_term(term) {
        for (field, weight) in [
            ("id.prefixes", NAME_BOOST * PREFIX_WEIGHT),
            ("description.prefixes", PREFIX_WEIGHT),
            ("tags.prefixes", PREFIX_WEIGHT),
            ("labels.prefixes", PREFIX_WEIGHT),
        ] {
            any.push(json!({"term": {field: {"value": prefix, "boost": weight}}}));
        }
    }
    json!({"bool": {"should": any, "minimum_should_match": 1}})
}

fn filter_clause(filter: &Filter, now_millis: i64) -> Value {
    let value = filter.value.to_lowercase();
    let (field, value) = match &filter.field {
        Field::Name => ("name_exact", value),
        Field::Namespace => ("namespace", value),
        Field::Owner => ("owner", value),
        Field::Tag => ("tags", value),
        Field::Label(key) => ("labels", label_term(key, &value)),
        Field::Topic => ("topic_tree", value),
        Field::Operation => ("operation_tree", value),
        Field::License => ("license.lc", value),
        Field::Automated => ("automated", value),
        Field::Deprecated => ("deprecated", value),
        Field::Alias => ("aliases", value),
        Field::Descriptor => ("descriptor", value),
        Field::Digest => return json!({"prefix": {"digests": value}}),
        Field::Updated => {
            return match value.parse::<Within>() {
                Ok(window) => json!({"range": {"updated_at": {
                    "gte": window.since_millis(now_millis)
                }}}),
                Err(_) => json!({"bool": {"must_not": [{"match_all": {}}]}}),
            };
        }
    };
    json!({"term": {field: value}})
}

/// What the audience may see, or `None` when it may see everything.
fn audience_clause(audience: &Audience) -> Option<Value> {
    let public = json!({"term": {"visibility": "public"}});
    match audience {
        Audience::Everyone => None,
        Audience::Public => Some(public),
        Audience::User(reader) => {
            let mut any = vec![public, json!({"term": {"readers": reader.name}})];
            if !reader.repositories.is_empty() {
                any.push(json!({"terms": {"id": reader.repositories}}));
            }
            if !reader.namespaces.is_empty() {
                // The organisations' containers, less those an override hides.
                any.push(json!({"bool": {
                    "filter": [{"terms": {"namespace": reader.namespaces}}],
                    "must_not": [{"terms": {"id": reader.hidden}}],
                }}));
            }
            Some(json!({"bool": {"should": any, "minimum_should_match": 1}}))
        }
        // The first rule whose names match decides; a container no rule matches is shown as
        // to the base audience.
        Audience::Ruled(ruled) => {
            let matcher = |pattern: &str| json!({"regexp": {"id": {"value": pattern}}});
            let mut any = Vec::new();
            for (i, rule) in ruled.rules.iter().enumerate().filter(|(_, r)| r.pull) {
                let earlier: Vec<Value> = ruled.rules[..i]
                    .iter()
                    .map(|r| matcher(&r.pattern))
                    .collect();
                any.push(json!({"bool": {
                    "filter": [matcher(&rule.pattern)],
                    "must_not": earlier,
                }}));
            }
            let all: Vec<Value> = ruled.rules.iter().map(|r| matcher(&r.pattern)).collect();
            let base = audience_clause(&ruled.base).unwrap_or_else(|| json!({"match_all": {}}));
            any.push(json!({"bool": {"filter": [base], "must_not": all}}));
            Some(json!({"bool": {"should": any, "minimum_should_match": 1}}))
        }
    }
}

/// The distinct words of `text` as the index splits them: runs of letters and digits,
/// lowercased, overlong ones dropped (tantivy's SimpleTokenizer, RemoveLongFilter, LowerCaser).
pub fn words(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() || word.chars().count() > MAX_WORD_LEN {
            continue;
        }
        let word = word.to_lowercase();
        if !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

fn is_stop_word(term: &str) -> bool {
    STOP_WORDS.contains(&term)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_the_index() {
        assert_eq!(words("lab/BWA-mem2 bwa --- "), vec!["lab", "bwa", "mem2"]);
        assert!(words("---").is_empty());
        assert!(words(&"x".repeat(64)).is_empty());
        assert_eq!(words(&"x".repeat(63)).len(), 1);
    }

    #[test]
    fn stop_words_are_optional_unless_alone() {
        let (must, should) = text_clauses("the aligner").expect("clauses");
        assert_eq!(must.len(), 1);
        assert_eq!(
            should.len(),
            3,
            "the optional `the` and two exact-name boosts"
        );
        let (must, _) = text_clauses("the").expect("clauses");
        assert_eq!(must.len(), 1);
        assert!(text_clauses(" -- ").is_none());
    }

    #[test]
    fn pages_stay_inside_the_result_window() {
        let q = SearchQuery::parse("x").expect("parses");
        let body = search_body(&q, &Audience::Public, MAX_RESULT_WINDOW - 5, 100, 0);
        assert_eq!(
            (body["from"].as_u64(), body["size"].as_u64()),
            (Some(9_995), Some(5))
        );
        let body = search_body(&q, &Audience::Public, MAX_RESULT_WINDOW + 5, 100, 0);
        assert_eq!(body["size"].as_u64(), Some(0));
    }

    #[test]
    fn everyone_has_no_audience_filter() {
        let body = search_body(&SearchQuery::default(), &Audience::Everyone, 0, 10, 0);
        assert_eq!(body["query"], json!({"match_all": {}}));
        // Relevance without text: current containers first, then the newest.
        assert_eq!(
            body["sort"][0],
            json!({"deprecated": {"order": "asc", "missing": "_first"}})
        );
        assert_eq!(body["sort"][1], json!({"updated_at": {"order": "desc"}}));
    }
}
