//! The search conformance suite: what every [`SearchIndex`] backend must do.
//!
//! Each scenario gets a fresh, empty index from the caller's factory and panics, naming
//! itself, on the first deviation. Scenarios state behaviour through the query language users
//! type (`SearchQuery::parse`), so a backend is tested the way the portal drives it.

use std::future::Future;
use std::sync::Arc;

mod bio;
mod prefixes;
mod queries;

use crate::conformance::container;
use crate::ports::search::{SearchHits, SearchIndex};
use crate::query::SearchQuery;
use crate::{Audience, Container, Visibility};

use Visibility::{Private, Public};
use bio::{
    deprecated_containers_rank_last_and_filter, edam_filters_include_descendants,
    facets_count_only_what_the_caller_sees, licence_digest_automated_and_updated_filters,
    sorts_order_the_hits,
};
use prefixes::{
    long_and_odd_queries_stay_plain_text, one_character_words_match_whole_words_only,
    prefixes_match_description_tag_and_label_words, prefixes_match_name_words_and_namespaces,
    prefixes_never_reach_hidden_containers, whole_words_rank_above_prefixes,
};
use queries::{
    access_rules_decide_results_and_totals, empty_query_lists_visible_newest_first,
    exact_name_ranks_first, filters_are_exact_and_case_insensitive,
    free_text_matches_description_labels_and_tags, free_text_matches_name_parts,
    members_see_private_containers, organisation_readers_see_their_namespaces, paging_is_stable,
    private_containers_are_hidden_and_uncounted, several_words_must_all_match,
};

/// Runs every scenario, each on a fresh index from `fresh`.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn SearchIndex>>,
{
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {$(
            eprintln!("search conformance: {}", stringify!($name));
            $name(Check { index: fresh().await, scenario: stringify!($name) }).await;
        )*};
    }
    scenarios!(
        upsert_then_search_finds_it,
        upsert_replaces_by_id,
        remove_deletes_and_tolerates_absent,
        free_text_matches_name_parts,
        free_text_matches_description_labels_and_tags,
        several_words_must_all_match,
        filters_are_exact_and_case_insensitive,
        exact_name_ranks_first,
        private_containers_are_hidden_and_uncounted,
        members_see_private_containers,
        organisation_readers_see_their_namespaces,
        access_rules_decide_results_and_totals,
        paging_is_stable,
        empty_query_lists_visible_newest_first,
        prefixes_match_name_words_and_namespaces,
        prefixes_match_description_tag_and_label_words,
        whole_words_rank_above_prefixes,
        prefixes_never_reach_hidden_containers,
        one_character_words_match_whole_words_only,
        long_and_odd_queries_stay_plain_text,
        edam_filters_include_descendants,
        licence_digest_automated_and_updated_filters,
        facets_count_only_what_the_caller_sees,
        sorts_order_the_hits,
        deprecated_containers_rank_last_and_filter,
        clear_and_doc_count,
    );
}

/// One scenario's index plus helpers whose panics say which scenario and query failed.
struct Check {
    index: Arc<dyn SearchIndex>,
    scenario: &'static str,
}

impl Check {
    async fn upsert(&self, containers: &[Container]) {
        let result = self.index.upsert(containers).await;
        result.unwrap_or_else(|e| panic!("[{}] upsert failed: {e}", self.scenario));
    }

    async fn page(&self, q: &str, who: &Audience, offset: usize, limit: usize) -> SearchHits {
        let query = SearchQuery::parse(q).expect("suite queries parse");
        self.run(&query, who, offset, limit).await
    }

    /// Runs a query built in code (with a sort or facets, which the typed language lacks).
    async fn run(
        &self,
        query: &SearchQuery,
        who: &Audience,
        offset: usize,
        limit: usize,
    ) -> SearchHits {
        let hits = self.index.search(query, who, offset, limit).await;
        hits.unwrap_or_else(|e| panic!("[{}] search {query:?} failed: {e}", self.scenario))
    }

    /// The ids of the first 100 hits, best first.
    async fn ids(&self, q: &str, who: &Audience) -> Vec<String> {
        let hits = self.page(q, who, 0, 100).await;
        hits.ids.iter().map(ToString::to_string).collect()
    }

    /// Asserts the hits, in this order, and that `total` agrees.
    async fn expect(&self, q: &str, who: &Audience, expected: &[&str]) {
        let hits = self.page(q, who, 0, 100).await;
        let ids: Vec<String> = hits.ids.iter().map(ToString::to_string).collect();
        assert_eq!(
            ids, expected,
            "[{}] hits of {q:?} for {who:?}",
            self.scenario
        );
        assert_eq!(
            hits.total,
            expected.len() as u64,
            "[{}] total of {q:?}",
            self.scenario
        );
    }

    /// Asserts the set of hits, in any order, and that `total` agrees.
    async fn expect_set(&self, q: &str, who: &Audience, expected: &[&str]) {
        let hits = self.page(q, who, 0, 100).await;
        let mut ids: Vec<String> = hits.ids.iter().map(ToString::to_string).collect();
        ids.sort();
        let mut expected: Vec<&str> = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(
            ids, expected,
            "[{}] hits of {q:?} for {who:?}",
            self.scenario
        );
        assert_eq!(
            hits.total,
            expected.len() as u64,
            "[{}] total of {q:?}",
            self.scenario
        );
    }

    async fn doc_count(&self) -> u64 {
        let count = self.index.doc_count().await;
        count.unwrap_or_else(|e| panic!("[{}] doc_count failed: {e}", self.scenario))
    }
}

const ALL: &Audience = &Audience::Everyone;
const ANON: &Audience = &Audience::Public;

fn with_description(id: &str, minute: i64, description: &str) -> Container {
    let mut c = container(id, Public, minute);
    c.description = description.to_owned();
    c
}

async fn upsert_then_search_finds_it(t: Check) {
    t.upsert(&[container("lab/samtools", Public, 1)]).await;
    t.expect("samtools", ANON, &["lab/samtools"]).await;
    t.expect("nothingmatches", ANON, &[]).await;
}

async fn upsert_replaces_by_id(t: Check) {
    t.upsert(&[with_description("lab/tool", 1, "aligns reads quickly")])
        .await;
    t.upsert(&[with_description("lab/tool", 2, "assembles genomes")])
        .await;
    t.expect("assembles", ANON, &["lab/tool"]).await;
    t.expect("quickly", ANON, &[]).await;
    assert_eq!(
        t.doc_count().await,
        1,
        "[{}] a replaced container is counted once",
        t.scenario
    );
    // The same id twice in one batch: the last copy wins.
    let (first, last) = (
        with_description("lab/twice", 3, "first"),
        with_description("lab/twice", 4, "last"),
    );
    t.upsert(&[first, last]).await;
    t.expect("last", ANON, &["lab/twice"]).await;
    t.expect("first", ANON, &[]).await;
    assert_eq!(
        t.doc_count().await,
        2,
        "[{}] a batch with a repeated id",
        t.scenario
    );
}

async fn remove_deletes_and_tolerates_absent(t: Check) {
    t.upsert(&[
        container("lab/keep", Public, 1),
        container("lab/gone", Public, 2),
    ])
    .await;
    let gone = crate::RepoName::parse("lab/gone").expect("valid");
    t.index
        .remove(&gone)
        .await
        .unwrap_or_else(|e| panic!("[{}] remove: {e}", t.scenario));
    t.expect("gone", ANON, &[]).await;
    t.expect("keep", ANON, &["lab/keep"]).await;
    let result = t.index.remove(&gone).await;
    assert!(
        result.is_ok(),
        "[{}] removing an absent id is not an error",
        t.scenario
    );
    assert_eq!(
        t.doc_count().await,
        1,
        "[{}] doc_count after remove",
        t.scenario
    );
}

async fn clear_and_doc_count(t: Check) {
    assert_eq!(
        t.doc_count().await,
        0,
        "[{}] a fresh index is empty",
        t.scenario
    );
    t.upsert(&[]).await;
    let batch: Vec<Container> = (0..5)
        .map(|i| {
            container(
                &format!("lab/c{i}"),
                if i % 2 == 0 { Public } else { Private },
                i,
            )
        })
        .collect();
    t.upsert(&batch).await;
    assert_eq!(
        t.doc_count().await,
        5,
        "[{}] doc_count counts private ones too",
        t.scenario
    );
    t.index
        .clear()
        .await
        .unwrap_or_else(|e| panic!("[{}] clear: {e}", t.scenario));
    assert_eq!(
        t.doc_count().await,
        0,
        "[{}] doc_count after clear",
        t.scenario
    );
    t.expect("", ALL, &[]).await;
    t.upsert(&batch[..1]).await;
    t.expect("", ALL, &["lab/c0"]).await;
}
