//! The index layout on Elasticsearch: the same facts and the same word splitting as the
//! embedded tantivy index (`tantivy_search/schema.rs`), so both backends answer alike.
//!
//! Keyword fields hold one exact term per value (filters, audience, exact-name boost); their
//! `words` sub-fields hold the same values split into words for free text, and their
//! `prefixes` sub-fields the leading characters of those words (edge n-grams, as tantivy's
//! prefix fields), for search as you type (`crate::search_prefix`). Only `_id` is read back:
//! the caller loads containers from the store.

use bioshadock_core::Container;
use bioshadock_core::indexed::IndexFacts;
use serde_json::{Value, json};

use crate::search_prefix::{MAX_PREFIX_CHARS, MIN_PREFIX_CHARS};

/// Bumped whenever the settings or mappings below change: an index carrying another version
/// in its `_meta` is dropped and created afresh on open (it is derived data, rebuilt from the
/// store by `bioshadock reindex`).
///
/// Version 2 added the `prefixes` sub-fields, version 3 the bio facts (EDAM terms, licence,
/// automated, digests, aliases) and pulls, version 4 `deprecated`: `web` and `serve` refill the
/// recreated, empty index from the store at start-up (`bioshadock reindex` does it by hand).
pub const SCHEMA_VERSION: u64 = 4;
/// Where that version sits in the mapping's `_meta`; an index without it is not ours.
pub const SCHEMA_META_KEY: &str = "bioshadock_schema";

/// Words longer than this (in characters; tantivy counts bytes) are dropped, as tantivy drops
/// hashes and base64 runs of 64 bytes and more.
pub const MAX_WORD_LEN: usize = 63;

/// English stop words: Lucene's list, which tantivy's English `StopWordFilter` also uses.
/// Spelled out rather than `_english_`, so the index and the query side share one list.
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// The body of the create-index request: analysis settings and the strict mapping.
///
/// One primary shard: the catalogue is small, and a single shard gives every document the
/// same term statistics, so scores and paging are consistent. Replicas follow the cluster
/// size (none on a single node, one otherwise).
pub fn index_body() -> Value {
    // Sub-fields of the keyword fields, side by side: Elasticsearch 8 deprecates
    // sub-fields of sub-fields.
    let sub_fields = json!({
        "words": {"type": "text", "analyzer": "bioshadock_words"},
        "prefixes": {"type": "text", "analyzer": "bioshadock_prefixes"},
    });
    json!({
        "settings": {
            "number_of_shards": 1,
            "auto_expand_replicas": "0-1",
            "analysis": {
                "tokenizer": {
                    // Any run of characters that are not letters or digits separates words,
                    // like tantivy's SimpleTokenizer: `lab/bwa-mem2` is `lab`, `bwa`, `mem2`.
                    "bioshadock_alnum": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}
                },
                "filter": {
                    "bioshadock_max_len": {"type": "length", "max": MAX_WORD_LEN},
                    "bioshadock_stop": {"type": "stop", "stopwords": STOP_WORDS},
                    // Snowball English (Porter2), tantivy's `Stemmer::new(Language::English)`.
                    "bioshadock_stem": {"type": "stemmer", "language": "porter2"},
                    "bioshadock_edge": {
                        "type": "edge_ngram",
                        "min_gram": MIN_PREFIX_CHARS,
                        "max_gram": MAX_PREFIX_CHARS
                    }
                },
                "analyzer": {
                    "bioshadock_words": {
                        "type": "custom",
                        "tokenizer": "bioshadock_alnum",
                        "filter": ["bioshadock_max_len", "lowercase"]
                    },
                    "bioshadock_english": {
                        "type": "custom",
                        "tokenizer": "bioshadock_alnum",
                        "filter": ["bioshadock_max_len", "lowercase", "bioshadock_stop", "bioshadock_stem"]
                    },
                    "bioshadock_prefixes": {
                        "type": "custom",
                        "tokenizer": "bioshadock_alnum",
                        "filter": ["bioshadock_max_len", "lowercase", "bioshadock_edge"]
                    },
                    // Unstemmed, so the prefix of a word is found whatever its stem.
                    "bioshadock_english_prefixes": {
                        "type": "custom",
                        "tokenizer": "bioshadock_alnum",
                        "filter": ["bioshadock_max_len", "lowercase", "bioshadock_stop", "bioshadock_edge"]
                    }
                },
                "normalizer": {
                    "bioshadock_lowercase": {"type": "custom", "filter": ["lowercase"]}
                }
            }
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {SCHEMA_META_KEY: SCHEMA_VERSION},
            "properties": {
                // The full id as one term, and its words (the `name` words of tantivy).
                "id": {"type": "keyword", "fields": sub_fields},
                // Full id and short name, lowercase: the `name:` filter and the exact boost.
                "name_exact": {"type": "keyword"},
                "namespace": {"type": "keyword"},
                // Owner, lowercased for the case-insensitive `owner:` filter.
                "owner": {"type": "keyword", "normalizer": "bioshadock_lowercase"},
                // Owner and members exactly as stored: user names are case-sensitive.
                "readers": {"type": "keyword"},
                "visibility": {"type": "keyword"},
                "description": {
                    "type": "text",
                    "analyzer": "bioshadock_english",
                    "fields": {"prefixes": {"type": "text", "analyzer": "bioshadock_english_prefixes"}}
                },
                "tags": {
                    "type": "keyword",
                    "normalizer": "bioshadock_lowercase",
                    "fields": sub_fields
                },
                // `key=value` per label: the keyword serves `label.KEY:VALUE`, the words
                // sub-field finds label keys and values alike (`=` splits words). A huge
                // label is left out of the keyword (Lucene refuses terms over 32 kB) but its
                // words are still indexed.
                "labels": {
                    "type": "keyword",
                    "normalizer": "bioshadock_lowercase",
                    "ignore_above": 8191,
                    "fields": sub_fields
                },
                // Milliseconds since the epoch: newest first, and score ties.
                "updated_at": {"type": "long"},
                "pulls": {"type": "long"},
                // EDAM terms as annotated (facets), and with their ancestors (filters).
                "topic": {"type": "keyword"},
                "topic_tree": {"type": "keyword"},
                "operation": {"type": "keyword"},
                "operation_tree": {"type": "keyword"},
                // The licence as written (facet), and lowercased for the `license:` filter.
                "license": {
                    "type": "keyword",
                    "fields": {"lc": {"type": "keyword", "normalizer": "bioshadock_lowercase"}}
                },
                "automated": {"type": "keyword"},
                "deprecated": {"type": "keyword"},
                "digests": {"type": "keyword"},
                "aliases": {"type": "keyword"},
                "descriptor": {"type": "keyword"}
            }
        }
    })
}

/// The document for one container. Keyword values the mapping does not normalise are
/// lowercased here, as the tantivy index does.
pub fn document(c: &Container) -> Value {
    let id = c.id.as_str();
    let mut readers = vec![c.owner.clone()];
    readers.extend(c.members.iter().map(|m| m.user.as_str().to_owned()));
    let tags: Vec<&str> = c.tags.iter().map(|t| t.name.as_str()).collect();
    let facts = IndexFacts::of(c);
    json!({
        "id": id,
        "name_exact": [id.to_lowercase(), c.id.short_name().to_lowercase()],
        "namespace": c.id.namespace().to_lowercase(),
        "owner": c.owner,
        "readers": readers,
        "visibility": c.visibility.as_str(),
        "description": c.description,
        "tags": tags,
        "labels": c.labels.iter().map(|(k, v)| label_term(k, v)).collect::<Vec<_>>(),
        "updated_at": c.updated_at.timestamp_millis(),
        "pulls": c.pulls,
        "topic": facts.topics,
        "topic_tree": facts.topic_tree,
        "operation": facts.operations,
        "operation_tree": facts.operation_tree,
        "license": facts.license,
        "automated": facts.automated,
        "deprecated": facts.deprecated,
        "digests": facts.digests,
        "aliases": facts.aliases,
        "descriptor": facts.descriptor,
    })
}

/// The keyword term of one label, shared by indexing and the `label.KEY:` filter.
pub fn label_term(key: &str, value: &str) -> String {
    format!("{}={}", key.to_lowercase(), value.to_lowercase())
}
