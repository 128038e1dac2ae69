//! The behaviour every [`RuleStore`] must show. Each scenario gets a fresh, empty store.

use std::future::Future;
use std::sync::Arc;

use crate::PortError;
use crate::ports::rules::{RuleStore, StoredRules};

/// Runs every scenario, each on a store from `fresh`; panics on the first deviation.
pub async fn run_all<S, F, Fut>(fresh: F)
where
    S: RuleStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    eprintln!("rules conformance: starts_empty_then_saves_by_version");
    starts_empty_then_saves_by_version(fresh().await.as_ref()).await;
    eprintln!("rules conformance: keeps_the_text_exactly");
    keeps_the_text_exactly(fresh().await.as_ref()).await;
}

async fn starts_empty_then_saves_by_version(s: &dyn RuleStore) {
    let empty = s.get_rules().await.expect("get_rules");
    assert_eq!(
        empty,
        StoredRules {
            source: String::new(),
            version: 0
        }
    );
    let v1 = s.put_rules("- first", 0).await.expect("first save");
    assert_eq!(v1, 1);
    let stale = s.put_rules("- stale", 0).await;
    assert!(
        matches!(stale, Err(PortError::Conflict(_))),
        "a save from version 0 after version 1: {stale:?}"
    );
    assert_eq!(s.get_rules().await.expect("get_rules").source, "- first");
    assert_eq!(s.put_rules("- second", 1).await.expect("second save"), 2);
    let ahead = s.put_rules("- ahead", 7).await;
    assert!(matches!(ahead, Err(PortError::Conflict(_))), "{ahead:?}");
    assert_eq!(
        s.get_rules().await.expect("get_rules"),
        StoredRules {
            source: "- second".into(),
            version: 2
        }
    );
}

async fn keeps_the_text_exactly(s: &dyn RuleStore) {
    let source =
        "# comments stay\n- match: {account: \"/^ci-.*$/\"}  # ünïcode\n  actions: [\"*\"]\n\n";
    s.put_rules(source, 0).await.expect("put_rules");
    assert_eq!(s.get_rules().await.expect("get_rules").source, source);
    s.put_rules("", 1).await.expect("emptied");
    assert_eq!(s.get_rules().await.expect("get_rules").source, "");
}
