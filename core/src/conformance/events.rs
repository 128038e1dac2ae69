//! The behaviour every [`EventStore`] must show. Each scenario gets a fresh, empty store.

use std::future::Future;
use std::sync::Arc;

use super::at;
use crate::events::{ActorKind, Credential, Event, EventActor, EventFilter, EventKind, Recorded};
use crate::ports::events::EventStore;

/// Runs every scenario, each on a store from `fresh`; panics on the first deviation.
pub async fn run_all<S, F, Fut>(fresh: F)
where
    S: EventStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    eprintln!("events conformance: appended_events_come_back_in_order_with_growing_ids");
    appended_events_come_back_in_order_with_growing_ids(fresh().await.as_ref()).await;
    eprintln!("events conformance: queries_filter_and_page_newest_first");
    queries_filter_and_page_newest_first(fresh().await.as_ref()).await;
    eprintln!("events conformance: concurrent_appends_get_distinct_ids");
    concurrent_appends_get_distinct_ids(fresh().await).await;
    eprintln!("events conformance: pruning_removes_only_what_is_older");
    pruning_removes_only_what_is_older(fresh().await.as_ref()).await;
    eprintln!("events conformance: cursors_are_per_consumer_and_move_forward_only");
    cursors_are_per_consumer_and_move_forward_only(fresh().await.as_ref()).await;
}

async fn cursors_are_per_consumer_and_move_forward_only(store: &dyn EventStore) {
    assert_eq!(
        store.cursor("base-rebuilds").await.expect("cursor"),
        None,
        "a consumer that never said has no cursor"
    );
    store.set_cursor("base-rebuilds", 7).await.expect("set");
    store.set_cursor("other", 2).await.expect("set");
    assert_eq!(
        store.cursor("base-rebuilds").await.expect("cursor"),
        Some(7)
    );
    assert_eq!(store.cursor("other").await.expect("cursor"), Some(2));
    store
        .set_cursor("base-rebuilds", 5)
        .await
        .expect("set lower");
    assert_eq!(
        store.cursor("base-rebuilds").await.expect("cursor"),
        Some(7),
        "never moved back"
    );
    store.set_cursor("base-rebuilds", 12).await.expect("set");
    assert_eq!(
        store.cursor("base-rebuilds").await.expect("cursor"),
        Some(12)
    );
    store.set_cursor("zero", 0).await.expect("set 0");
    assert_eq!(
        store.cursor("zero").await.expect("cursor"),
        Some(0),
        "0 is a place, not the absence of one"
    );
}

fn actor(name: &str) -> EventActor {
    EventActor {
        kind: ActorKind::User,
        name: name.into(),
        credential: Credential::ApiKey,
        client: Some("192.0.2.7".into()),
        request_id: Some(format!("req-{name}")),
    }
}

fn event(kind: EventKind, target: &str, who: &str) -> Event {
    Event::new(
        kind,
        target,
        actor(who),
        format!("{} {target}", kind.as_str()),
    )
}

/// Four events at minutes 1–4 across two organisations and two actors.
fn story() -> Vec<(Event, i64)> {
    vec![
        (
            event(EventKind::ContainerCreated, "lab/tool", "olga").in_org("lab"),
            1,
        ),
        (
            event(EventKind::MembersChanged, "lab/tool", "olga").in_org("lab"),
            2,
        ),
        (
            event(EventKind::TagPushed, "lab/tool:1.0", "bob").in_org("lab"),
            3,
        ),
        (
            event(EventKind::TagDeleted, "viz/plot:2", "bob").in_org("viz"),
            4,
        ),
    ]
}

async fn append_all(s: &dyn EventStore, events: &[(Event, i64)]) -> Vec<u64> {
    let mut ids = Vec::new();
    for (event, minute) in events {
        ids.push(s.append(event, at(*minute)).await.expect("append"));
    }
    ids
}

fn ids(recorded: &[Recorded]) -> Vec<u64> {
    recorded.iter().map(|r| r.id).collect()
}

async fn appended_events_come_back_in_order_with_growing_ids(s: &dyn EventStore) {
    assert!(s.read_after(0, 10).await.expect("read_after").is_empty());
    let story = story();
    let appended = append_all(s, &story).await;
    assert!(
        appended.windows(2).all(|w| w[0] < w[1]),
        "ids grow: {appended:?}"
    );
    let all = s.read_after(0, 100).await.expect("read_after");
    assert_eq!(ids(&all), appended, "oldest first");
    for (recorded, (event, minute)) in all.iter().zip(&story) {
        assert_eq!(&recorded.event, event, "the event comes back whole");
        assert_eq!(recorded.at, at(*minute));
    }
    let rest = s.read_after(appended[1], 100).await.expect("read_after");
    assert_eq!(ids(&rest), appended[2..].to_vec(), "after an id, exclusive");
    let two = s.read_after(0, 2).await.expect("read_after");
    assert_eq!(ids(&two), appended[..2].to_vec(), "at most the limit");
    assert!(
        s.read_after(appended[3], 10)
            .await
            .expect("read_after")
            .is_empty()
    );
}

async fn queries_filter_and_page_newest_first(s: &dyn EventStore) {
    let story = story();
    let appended = append_all(s, &story).await;
    let newest_first: Vec<u64> = appended.iter().rev().copied().collect();
    let query = |filter: EventFilter, before: Option<u64>, limit: usize| {
        let filter = filter.clone();
        async move { ids(&s.query(&filter, before, limit).await.expect("query")) }
    };
    assert_eq!(query(EventFilter::default(), None, 10).await, newest_first);
    // Pages: before the last id seen.
    assert_eq!(
        query(EventFilter::default(), None, 2).await,
        newest_first[..2].to_vec()
    );
    assert_eq!(
        query(EventFilter::default(), Some(newest_first[1]), 2).await,
        newest_first[2..].to_vec()
    );
    let cases = [
        EventFilter {
            actor: Some("bob".into()),
            ..EventFilter::default()
        },
        EventFilter {
            target: Some("lab/tool".into()),
            ..EventFilter::default()
        },
        EventFilter {
            target: Some("lab/tool:1.0".into()),
            ..EventFilter::default()
        },
        EventFilter {
            // A prefix that is not a whole target finds nothing.
            target: Some("lab/to".into()),
            ..EventFilter::default()
        },
        EventFilter {
            kind: Some(EventKind::TagPushed),
            ..EventFilter::default()
        },
        EventFilter {
            org: Some("lab".into()),
            ..EventFilter::default()
        },
        EventFilter {
            since: Some(at(2)),
            until: Some(at(4)),
            ..EventFilter::default()
        },
        EventFilter {
            actor: Some("bob".into()),
            org: Some("viz".into()),
            ..EventFilter::default()
        },
    ];
    let everything = s.read_after(0, 100).await.expect("read_after");
    for filter in cases {
        let expected: Vec<u64> = everything
            .iter()
            .rev()
            .filter(|r| filter.admits(r))
            .map(|r| r.id)
            .collect();
        assert_eq!(
            query(filter.clone(), None, 10).await,
            expected,
            "{filter:?}"
        );
    }
    // Targets are compared exactly: a pattern character is not a wildcard.
    let like = EventFilter {
        target: Some("lab/%".into()),
        ..EventFilter::default()
    };
    assert!(query(like, None, 10).await.is_empty());
}

async fn concurrent_appends_get_distinct_ids<S: EventStore + 'static>(s: Arc<S>) {
    let mut tasks = Vec::new();
    for n in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let e = event(EventKind::SignedIn, &format!("user:u{n}"), "u");
            s.append(&e, at(n)).await.expect("append")
        }));
    }
    let mut appended = Vec::new();
    for task in tasks {
        appended.push(task.await.expect("task"));
    }
    appended.sort_unstable();
    appended.dedup();
    assert_eq!(appended.len(), 20, "every append has its own id");
    let read = s.read_after(0, 100).await.expect("read_after");
    assert_eq!(ids(&read), appended);
}

async fn pruning_removes_only_what_is_older(s: &dyn EventStore) {
    let appended = append_all(s, &story()).await;
    assert_eq!(s.prune(at(3)).await.expect("prune"), 2);
    let left = s.read_after(0, 100).await.expect("read_after");
    assert_eq!(ids(&left), appended[2..].to_vec());
    assert_eq!(
        s.prune(at(3)).await.expect("prune"),
        0,
        "nothing more to prune"
    );
    // Ids keep growing after a prune.
    let next = s
        .append(&event(EventKind::AdminAction, "system", "root"), at(9))
        .await
        .expect("append");
    assert!(next > appended[3]);
}
