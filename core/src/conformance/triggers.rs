//! The behaviour every [`TriggerStore`] must show. Each scenario gets a fresh, empty store.

use std::future::Future;
use std::sync::Arc;

use super::at;
use crate::PortError;
use crate::ports::triggers::TriggerStore;
use crate::triggers::{Decision, Origin, Outcome, Provider, Trigger, TriggerRules};

/// Runs every scenario, each on a store from `fresh`; panics on the first deviation.
pub async fn run_all<S, F, Fut>(fresh: F)
where
    S: TriggerStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    eprintln!("triggers conformance: triggers_are_kept_per_container");
    triggers_are_kept_per_container(fresh().await.as_ref()).await;
    eprintln!("triggers conformance: decisions_come_back_newest_first_and_are_pruned_by_age");
    decisions_come_back_newest_first_and_are_pruned_by_age(fresh().await.as_ref()).await;
}

fn trigger(id: &str, container: &str, minute: i64) -> Trigger {
    Trigger {
        id: id.into(),
        container: container.into(),
        provider: Provider::Github,
        sealed_secret: "v1.c2VhbGVk".into(),
        rules: TriggerRules {
            refs: vec!["main".into(), "tag:v*".into()],
            tag_templates: vec!["{branch}-{short_sha}".into(), "latest".into()],
            paths: vec!["samtools/*".into()],
        },
        build_args: [("VERSION".to_owned(), "{tag}".to_owned())].into(),
        created_by: "ada".into(),
        created_at: at(minute),
    }
}

fn decision(container: &str, minute: i64, outcome: Outcome) -> Decision {
    Decision {
        at: at(minute),
        container: container.into(),
        trigger: Some("tr_1".into()),
        provider: Origin::Schedule,
        reference: Some("branch main".into()),
        commit: Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c".into()),
        outcome,
        reason: format!("decided at minute {minute}"),
        builds: vec![(42, "latest".into())],
    }
}

async fn triggers_are_kept_per_container(store: &dyn TriggerStore) {
    let a = trigger("tr_a", "lab/samtools", 1);
    let b = trigger("tr_b", "lab/samtools", 2);
    let c = trigger("tr_c", "lab/bwa", 3);
    for t in [&a, &b, &c] {
        store.create_trigger(t).await.unwrap();
    }
    assert!(matches!(
        store.create_trigger(&a).await,
        Err(PortError::Conflict(_))
    ));
    assert_eq!(
        store.triggers_of("lab/samtools").await.unwrap(),
        [a, b.clone()]
    );
    assert_eq!(store.triggers_of("lab/bwa").await.unwrap(), [c]);
    assert!(store.triggers_of("lab/none").await.unwrap().is_empty());
    store.delete_trigger("tr_a").await.unwrap();
    assert!(matches!(
        store.delete_trigger("tr_a").await,
        Err(PortError::NotFound)
    ));
    assert_eq!(store.triggers_of("lab/samtools").await.unwrap(), [b]);
    store.delete_triggers_of("lab/samtools").await.unwrap();
    assert!(store.triggers_of("lab/samtools").await.unwrap().is_empty());
    assert_eq!(store.triggers_of("lab/bwa").await.unwrap().len(), 1);
}

async fn decisions_come_back_newest_first_and_are_pruned_by_age(store: &dyn TriggerStore) {
    let first = decision("lab/samtools", 1, Outcome::Queued);
    let second = decision("lab/samtools", 2, Outcome::IgnoredByPath);
    let other = decision("lab/bwa", 3, Outcome::BadSignature);
    for d in [&first, &second, &other] {
        store.record_decision(d).await.unwrap();
    }
    assert_eq!(
        store.decisions("lab/samtools", 10).await.unwrap(),
        [second.clone(), first.clone()]
    );
    assert_eq!(
        store.decisions("lab/samtools", 1).await.unwrap(),
        vec![second.clone()]
    );
    assert_eq!(
        store.decisions("lab/bwa", 10).await.unwrap(),
        vec![other.clone()]
    );
    assert_eq!(store.prune_decisions(at(2)).await.unwrap(), 1);
    assert_eq!(
        store.decisions("lab/samtools", 10).await.unwrap(),
        vec![second]
    );
}
