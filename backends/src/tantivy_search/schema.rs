//! The index layout: which container facts become which tantivy fields, and how text is split.
//!
//! Two kinds of fields: *word* fields, analysed into searchable words for free text, and
//! *keyword* fields, one exact lowercased term per value, for `field:value` filters, the
//! audience check and the exact-name boost. Each word field has a *prefix* field beside it,
//! holding the leading characters of its words, for search as you type
//! (`crate::search_prefix`). Only the id is stored: the caller loads
//! containers from the store, so the index stays small and hits stay cheap.

use bioshadock_core::Container;
use bioshadock_core::indexed::IndexFacts;
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TantivyDocument, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenizerManager,
};

use super::edge_ngram::EdgeNgramFilter;

/// Splits on anything not a letter or digit (`-`, `_`, `.`, `/`, spaces) and lowercases, so
/// `lab/bwa-mem2` is found by `bwa`. Names, tags and labels: no stemming, no stop words.
pub const WORDS: &str = "bioshadock_words";
/// [`WORDS`] plus English stop words and stemming, for descriptions.
pub const ENGLISH: &str = "bioshadock_english";
/// [`WORDS`] cut into edge n-grams: the prefix fields of names, tags and labels.
pub const PREFIXES: &str = "bioshadock_prefixes";
/// [`WORDS`] without English stop words, cut into edge n-grams: the prefixes of
/// descriptions. Unstemmed, so the prefix of a word is found whatever its stem.
pub const ENGLISH_PREFIXES: &str = "bioshadock_english_prefixes";
/// Words longer than this are noise (hashes, base64) and are dropped from word fields.
const MAX_WORD_LEN: usize = 64;

/// Handles on every field of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The full id, stored and indexed as one term: replace and delete by it.
    pub id: Field,
    /// Keyword: full id and short name (the `name:` filter and the exact-name boost).
    pub name_exact: Field,
    /// Words of the full id.
    pub name: Field,
    pub namespace: Field,
    /// Keyword: the owner and every member, as stored. A signed-in user sees the private
    /// containers that hold their exact name here.
    pub readers: Field,
    /// Keyword, owner lowercased: the `owner:` filter is case-insensitive.
    pub owner_lc: Field,
    /// Keyword: `public` or `private`.
    pub visibility: Field,
    pub description: Field,
    /// Keyword: each tag name, lowercased.
    pub tag: Field,
    pub tag_words: Field,
    /// Keyword: `key=value` per label, lowercased.
    pub label: Field,
    /// Words of every label key and value.
    pub label_words: Field,
    /// Prefixes of the words of `name`, `description`, `tag_words` and `label_words`.
    pub name_prefix: Field,
    pub description_prefix: Field,
    pub tag_prefix: Field,
    pub label_prefix: Field,
    /// Milliseconds since the epoch, fast field: newest-first order and score ties.
    pub updated_at: Field,
    /// Fast field: the most-pulled order.
    pub pulls: Field,
    /// Keyword + fast: EDAM topics as annotated (the facet).
    pub topic: Field,
    /// Keyword: the topics and all their ancestors (the `topic:` filter).
    pub topic_tree: Field,
    pub operation: Field,
    pub operation_tree: Field,
    /// Keyword + fast: the licence as written (the facet).
    pub license: Field,
    /// Keyword: the licence lowercased (the `license:` filter).
    pub license_lc: Field,
    /// Keyword + fast: `yes` or `no`.
    pub automated: Field,
    pub deprecated: Field,
    /// Keyword: each tag's manifest digest, lowercased.
    pub digest: Field,
    /// Keyword: `biotools:ID` and `doi:DOI`, lowercased.
    pub alias: Field,
    /// Keyword: the descriptor type the container names, lowercased.
    pub descriptor: Field,
}

/// The column names of the fast fields, for sort keys and aggregations.
pub const ID: &str = "id";
pub const NAMESPACE: &str = "namespace";
pub const UPDATED_AT: &str = "updated_at";
pub const PULLS: &str = "pulls";
pub const TOPIC: &str = "topic";
pub const OPERATION: &str = "operation";
pub const LICENSE: &str = "license";
pub const AUTOMATED: &str = "automated";
pub const DEPRECATED: &str = "deprecated";

impl Fields {
    /// Builds the schema; the same code must run on create and on reopen, or the open fails.
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let words = word_options(WORDS);
        let prefixes = word_options(PREFIXES);
        let fields = Fields {
            id: b.add_text_field(ID, STRING | STORED | FAST),
            name_exact: b.add_text_field("name_exact", STRING),
            name: b.add_text_field("name", words.clone()),
            namespace: b.add_text_field(NAMESPACE, STRING | FAST),
            readers: b.add_text_field("readers", STRING),
            owner_lc: b.add_text_field("owner_lc", STRING),
            visibility: b.add_text_field("visibility", STRING),
            description: b.add_text_field("description", word_options(ENGLISH)),
            tag: b.add_text_field("tag", STRING),
            tag_words: b.add_text_field("tag_words", words.clone()),
            label: b.add_text_field("label", STRING),
            label_words: b.add_text_field("label_words", words),
            name_prefix: b.add_text_field("name_prefix", prefixes.clone()),
            description_prefix: b
                .add_text_field("description_prefix", word_options(ENGLISH_PREFIXES)),
            tag_prefix: b.add_text_field("tag_prefix", prefixes.clone()),
            label_prefix: b.add_text_field("label_prefix", prefixes),
            updated_at: b.add_i64_field(UPDATED_AT, FAST),
            pulls: b.add_u64_field(PULLS, FAST),
            topic: b.add_text_field(TOPIC, STRING | FAST),
            topic_tree: b.add_text_field("topic_tree", STRING),
            operation: b.add_text_field(OPERATION, STRING | FAST),
            operation_tree: b.add_text_field("operation_tree", STRING),
            license: b.add_text_field(LICENSE, STRING | FAST),
            license_lc: b.add_text_field("license_lc", STRING),
            automated: b.add_text_field(AUTOMATED, STRING | FAST),
            deprecated: b.add_text_field(DEPRECATED, STRING | FAST),
            digest: b.add_text_field("digest", STRING),
            alias: b.add_text_field("alias", STRING),
            descriptor: b.add_text_field("descriptor", STRING),
        };
        (b.build(), fields)
    }

    /// The document for one container.
    pub fn document(&self, c: &Container) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        let id = c.id.as_str();
        doc.add_text(self.id, id);
        doc.add_text(self.name_exact, id);
        doc.add_text(self.name_exact, c.id.short_name());
        doc.add_text(self.name, id);
        doc.add_text(self.name_prefix, id);
        doc.add_text(self.namespace, c.id.namespace());
        doc.add_text(self.readers, &c.owner);
        for member in &c.members {
            doc.add_text(self.readers, member.user.as_str());
        }
        doc.add_text(self.owner_lc, c.owner.to_lowercase());
        doc.add_text(self.visibility, c.visibility.as_str());
        doc.add_text(self.description, &c.description);
        doc.add_text(self.description_prefix, &c.description);
        for tag in &c.tags {
            doc.add_text(self.tag, tag.name.as_str().to_lowercase());
            doc.add_text(self.tag_words, tag.name.as_str());
            doc.add_text(self.tag_prefix, tag.name.as_str());
        }
        for (key, value) in &c.labels {
            doc.add_text(self.label, label_term(key, value));
            let words = format!("{key} {value}");
            doc.add_text(self.label_prefix, &words);
            doc.add_text(self.label_words, words);
        }
        doc.add_i64(self.updated_at, c.updated_at.timestamp_millis());
        doc.add_u64(self.pulls, c.pulls);
        let facts = IndexFacts::of(c);
        let mut add_all = |field: Field, values: &[String]| {
            for value in values {
                doc.add_text(field, value);
            }
        };
        add_all(self.topic, &facts.topics);
        add_all(self.topic_tree, &facts.topic_tree);
        add_all(self.operation, &facts.operations);
        add_all(self.operation_tree, &facts.operation_tree);
        add_all(self.digest, &facts.digests);
        add_all(self.alias, &facts.aliases);
        if let Some(descriptor) = &facts.descriptor {
            doc.add_text(self.descriptor, descriptor);
        }
        if let Some(license) = &facts.license {
            doc.add_text(self.license, license);
            doc.add_text(self.license_lc, license.to_lowercase());
        }
        doc.add_text(self.automated, facts.automated);
        doc.add_text(self.deprecated, facts.deprecated);
        doc
    }
}

/// The keyword term of one label, shared by indexing and the `label.KEY:` filter.
pub fn label_term(key: &str, value: &str) -> String {
    format!("{}={}", key.to_lowercase(), value.to_lowercase())
}

/// Word fields keep frequencies (for ranking) but not positions: no phrase search is offered,
/// and positions would roughly double the index.
fn word_options(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqs),
    )
}

/// Registers our analysers; tantivy does not persist them, so every open must call this.
pub fn register_tokenizers(manager: &TokenizerManager) {
    manager.register(WORDS, words_analyzer());
    manager.register(ENGLISH, english_analyzer());
    manager.register(PREFIXES, prefixes_analyzer());
    manager.register(ENGLISH_PREFIXES, english_prefixes_analyzer());
}

fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_LEN))
        .filter(LowerCaser)
        .build()
}

fn prefixes_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_LEN))
        .filter(LowerCaser)
        .filter(EdgeNgramFilter)
        .build()
}

fn english_prefixes_analyzer() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_LEN))
        .filter(LowerCaser)
        .dynamic();
    let builder = match StopWordFilter::new(Language::English) {
        Some(stop) => builder.filter_dynamic(stop),
        None => builder,
    };
    builder.filter_dynamic(EdgeNgramFilter).build()
}

fn english_analyzer() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_LEN))
        .filter(LowerCaser)
        .dynamic();
    // The English list ships with the `stopwords` feature; without it, keep every word.
    let builder = match StopWordFilter::new(Language::English) {
        Some(stop) => builder.filter_dynamic(stop),
        None => builder,
    };
    builder
        .filter_dynamic(Stemmer::new(Language::English))
        .build()
}
