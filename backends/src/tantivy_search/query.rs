//! Turns a [`SearchQuery`] and an [`Audience`] into one tantivy query.
//!
//! Free text: the text is split into words exactly as names are indexed (`bwa-mem2` is `bwa`
//! and `mem2`), and every word must match at least one of name, description (stemmed), tag
//! or label words (AND across words, OR across fields). Name words weigh more than the rest,
//! and a whole query word equal to a full id or short name weighs far
//! more, so `samtools` puts `lab/samtools` above `lab/samtools-extras`. A word of two
//! characters or more also matches the words it begins, through the prefix fields, with
//! [`PREFIX_WEIGHT`] of a whole word's weight (`crate::search_prefix`).
//!
//! Filters and the audience are required clauses scoring zero: they narrow the hits without
//! moving the ranking, and because they sit inside the query the total never counts a
//! container the reader may not see.

use bioshadock_core::Audience;
use std::ops::Bound;

use bioshadock_core::query::{Field as QueryField, Filter, SearchQuery, Within};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, RegexQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};

use super::schema::{ENGLISH, Fields, WORDS, label_term};
use crate::search_prefix::{PREFIX_WEIGHT, prefix_term};

/// Extra weight of a word found in the name over the same word elsewhere.
const NAME_BOOST: f32 = 3.0;
/// Extra weight of a query word that *is* a container's name: always ranks first.
const EXACT_NAME_BOOST: f32 = 20.0;

/// A query ready to run, and whether its hits should be ranked by score.
pub struct Built {
    pub query: Box<dyn Query>,
    /// False when there is no free text: every hit is equally good, order by recency alone.
    pub scored: bool,
}

/// Builds queries with the same analysers the index was written with.
pub struct QueryBuilder {
    fields: Fields,
    words: TextAnalyzer,
    english: TextAnalyzer,
    /// The end of the `updated:` windows.
    now_millis: i64,
}

impl QueryBuilder {
    /// `None` if our analysers were not registered (a bug in `open`).
    pub fn new(fields: Fields, tokenizers: &TokenizerManager, now_millis: i64) -> Option<Self> {
        Some(Self {
            fields,
            words: tokenizers.get(WORDS)?,
            english: tokenizers.get(ENGLISH)?,
            now_millis,
        })
    }

    pub fn build(&mut self, query: &SearchQuery, audience: &Audience) -> Built {
        let mut clauses = self.text_clauses(&query.text);
        let scored = !clauses.is_empty();
        for filter in &query.filters {
            clauses.push((Occur::Must, zero_score(self.filter(filter))));
        }
        if let Some(visible) = self.audience(audience) {
            clauses.push((Occur::Must, zero_score(visible)));
        }
        let query: Box<dyn Query> = if clauses.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        Built { query, scored }
    }

    /// One required group per word, plus optional exact-name boosts. Words that are English
    /// stop words are optional unless the text has nothing else, so `the samtools` still
    /// finds samtools while `the` alone searches for itself. Text without a letter or digit
    /// (`---`) yields no clause: it filters nothing, like empty text.
    fn text_clauses(&mut self, text: &str) -> Vec<(Occur, Box<dyn Query>)> {
        let mut terms: Vec<String> = Vec::new();
        let mut stream = self.words.token_stream(text);
        while stream.advance() {
            let term = stream.token().text.clone();
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        drop(stream);
        let groups: Vec<(Option<String>, String)> =
            terms.into_iter().map(|t| (self.stem(&t), t)).collect();
        let any_content = groups.iter().any(|(stem, _)| stem.is_some());
        let mut clauses = Vec::with_capacity(groups.len() * 2);
        for (stem, term) in &groups {
            let occur = if stem.is_some() || !any_content {
                Occur::Must
            } else {
                Occur::Should
            };
            clauses.push((occur, self.word_group(term, stem.as_deref())));
        }
        if !clauses.is_empty() {
            for word in text.split_whitespace() {
                let exact = keyword(self.fields.name_exact, &word.to_lowercase());
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(exact, EXACT_NAME_BOOST)),
                ));
            }
        }
        clauses
    }

    /// The description form of a word: stemmed, or `None` for a stop word.
    fn stem(&mut self, term: &str) -> Option<String> {
        let mut stream = self.english.token_stream(term);
        stream.advance().then(|| stream.token().text.clone())
    }

    /// Matches `term` in any free-text field, as a whole word or as the start of one.
    fn word_group(&self, term: &str, stem: Option<&str>) -> Box<dyn Query> {
        let f = &self.fields;
        let mut any: Vec<(Occur, Box<dyn Query>)> = vec![
            (
                Occur::Should,
                Box::new(BoostQuery::new(word(f.name, term), NAME_BOOST)),
            ),
            (Occur::Should, word(f.tag_words, term)),
            (Occur::Should, word(f.label_words, term)),
        ];
        if let Some(stem) = stem {
            any.push((Occur::Should, word(f.description, stem)));
        }
        if let Some(prefix) = prefix_term(term) {
            let weighted = |field: Field, weight: f32| -> (Occur, Box<dyn Query>) {
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(word(field, prefix), weight)),
                )
            };
            any.push(weighted(f.name_prefix, NAME_BOOST * PREFIX_WEIGHT));
            any.push(weighted(f.description_prefix, PREFIX_WEIGHT));
            any.push(weighted(f.tag_prefix, PREFIX_WEIGHT));
            any.push(weighted(f.label_prefix, PREFIX_WEIGHT));
        }
        Box::new(BooleanQuery::new(any))
    }

    fn filter(&self, filter: &Filter) -> Box<dyn Query> {
        let f = &self.fields;
        let value = filter.value.to_lowercase();
        match &filter.field {
            QueryField::Name => keyword(f.name_exact, &value),
            QueryField::Namespace => keyword(f.namespace, &value),
            QueryField::Owner => keyword(f.owner_lc, &value),
            QueryField::Tag => keyword(f.tag, &value),
            QueryField::Label(key) => keyword(f.label, &label_term(key, &value)),
            QueryField::Topic => keyword(f.topic_tree, &value),
            QueryField::Operation => keyword(f.operation_tree, &value),
            QueryField::License => keyword(f.license_lc, &value),
            QueryField::Automated => keyword(f.automated, &value),
            QueryField::Deprecated => keyword(f.deprecated, &value),
            QueryField::Alias => keyword(f.alias, &value),
            QueryField::Descriptor => keyword(f.descriptor, &value),
            // Parsing checked the value is `ALGO:HEX`: nothing in it is a regex operator.
            QueryField::Digest => term_regex(f.digest, &format!("{value}.*")),
            QueryField::Updated => match value.parse::<Within>() {
                Ok(window) => Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_i64(
                        f.updated_at,
                        window.since_millis(self.now_millis),
                    )),
                    Bound::Unbounded,
                )),
                Err(_) => Box::new(BooleanQuery::new(Vec::new())),
            },
        }
    }

    /// What the audience may see, or `None` when it may see everything.
    fn audience(&self, audience: &Audience) -> Option<Box<dyn Query>> {
        let public = keyword(self.fields.visibility, "public");
        match audience {
            Audience::Everyone => None,
            Audience::Public => Some(public),
            Audience::User(reader) => {
                let f = &self.fields;
                let mut any = vec![
                    (Occur::Should, public),
                    (Occur::Should, keyword(f.readers, &reader.name)),
                ];
                if !reader.repositories.is_empty() {
                    any.push((Occur::Should, term_set(f.id, &reader.repositories)));
                }
                if !reader.namespaces.is_empty() {
                    // The organisations' containers, less those an override hides.
                    let mut in_namespaces =
                        vec![(Occur::Must, term_set(f.namespace, &reader.namespaces))];
                    if !reader.hidden.is_empty() {
                        in_namespaces.push((Occur::MustNot, term_set(f.id, &reader.hidden)));
                    }
                    any.push((Occur::Should, Box::new(BooleanQuery::new(in_namespaces))));
                }
                Some(Box::new(BooleanQuery::new(any)))
            }
            // The first rule whose names match decides; a container no rule matches is shown
            // as to the base audience.
            Audience::Ruled(ruled) => {
                let matchers: Vec<Box<dyn Query>> = ruled
                    .rules
                    .iter()
                    .map(|rule| term_regex(self.fields.id, &rule.pattern))
                    .collect();
                let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                for (i, rule) in ruled.rules.iter().enumerate() {
                    if !rule.pull {
                        continue;
                    }
                    let mut clauses = vec![(Occur::Must, matchers[i].box_clone())];
                    clauses.extend(
                        matchers[..i]
                            .iter()
                            .map(|m| (Occur::MustNot, m.box_clone())),
                    );
                    any.push((Occur::Should, Box::new(BooleanQuery::new(clauses))));
                }
                let base = self
                    .audience(&ruled.base)
                    .unwrap_or_else(|| Box::new(AllQuery));
                let mut unmatched = vec![(Occur::Must, base)];
                unmatched.extend(matchers.iter().map(|m| (Occur::MustNot, m.box_clone())));
                any.push((Occur::Should, Box::new(BooleanQuery::new(unmatched))));
                Some(Box::new(BooleanQuery::new(any)))
            }
        }
    }
}

fn zero_score(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

/// Terms matching a whole-term expression (a rule's names, a digest prefix); one that does not
/// parse, which validation rules out, matches nothing.
fn term_regex(field: Field, pattern: &str) -> Box<dyn Query> {
    match RegexQuery::from_pattern(pattern, field) {
        Ok(query) => Box::new(query),
        Err(_) => Box::new(BooleanQuery::new(Vec::new())),
    }
}

/// Any of `values` as exact terms of a keyword field.
fn term_set(field: Field, values: &[String]) -> Box<dyn Query> {
    Box::new(TermSetQuery::new(
        values.iter().map(|v| Term::from_field_text(field, v)),
    ))
}

/// An exact term of a keyword field.
fn keyword(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// An analysed word of a word field, scored with its frequency.
fn word(field: Field, term: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, term),
        IndexRecordOption::WithFreqs,
    ))
}
