//! The behaviour every [`WebhookStore`] must show. Each scenario gets a fresh, empty store.

use std::future::Future;
use std::sync::Arc;

use super::at;
use crate::PortError;
use crate::ports::webhooks::WebhookStore;
use crate::webhooks::{
    Attempt, Delivery, DeliveryState, HookEvent, HookFormat, HookScope, Webhook,
};

/// Runs every scenario, each on a store from `fresh`; panics on the first deviation.
pub async fn run_all<S, F, Fut>(fresh: F)
where
    S: WebhookStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    eprintln!("webhooks conformance: hooks_are_stored_whole_and_deleted_with_their_deliveries");
    hooks_are_stored_whole_and_deleted_with_their_deliveries(fresh().await.as_ref()).await;
    eprintln!("webhooks conformance: deliveries_are_made_once_and_come_due_in_order");
    deliveries_are_made_once_and_come_due_in_order(fresh().await.as_ref()).await;
    eprintln!("webhooks conformance: the_cursor_only_moves_forward");
    the_cursor_only_moves_forward(fresh().await.as_ref()).await;
}

fn hook(id: &str, scope: HookScope, minute: i64) -> Webhook {
    Webhook {
        id: id.into(),
        scope,
        url: format!("https://hooks.example.org/{id}"),
        sealed_secret: "v1.c2VhbGVk".into(),
        events: [HookEvent::Push, HookEvent::BuildFailed].into(),
        tags: vec!["1.*".into(), "/^v[0-9]+$/".into()],
        format: HookFormat::Slack,
        created_by: "ada".into(),
        created_at: at(minute),
    }
}

fn delivery(hook: &str, event_id: u64, minute: i64) -> Delivery {
    Delivery::new(
        format!("{hook}.{event_id}"),
        hook,
        "push",
        Some(event_id),
        format!(r#"{{"event":"push","event_id":{event_id}}}"#),
        at(minute),
    )
}

async fn hooks_are_stored_whole_and_deleted_with_their_deliveries(store: &dyn WebhookStore) {
    assert!(store.hooks().await.unwrap().is_empty());
    let a = hook("wh_a", HookScope::Container("lab/tool".into()), 1);
    let b = hook("wh_b", HookScope::Organisation("lab".into()), 2);
    let c = hook("wh_c", HookScope::Global, 3);
    for h in [&a, &b, &c] {
        store.create_hook(h).await.unwrap();
    }
    assert!(matches!(
        store.create_hook(&a).await,
        Err(PortError::Conflict(_))
    ));
    assert_eq!(
        store.hooks().await.unwrap(),
        [a.clone(), b.clone(), c.clone()]
    );
    assert!(store.add_delivery(&delivery("wh_a", 1, 4)).await.unwrap());
    assert!(store.add_delivery(&delivery("wh_b", 1, 4)).await.unwrap());
    store.delete_hook("wh_a").await.unwrap();
    assert_eq!(store.hooks().await.unwrap(), [b, c]);
    assert!(store.deliveries("wh_a", 10).await.unwrap().is_empty());
    assert!(matches!(
        store.delivery("wh_a.1").await,
        Err(PortError::NotFound)
    ));
    assert_eq!(store.deliveries("wh_b", 10).await.unwrap().len(), 1);
    assert!(
        matches!(
            store.add_delivery(&delivery("wh_a", 2, 5)).await,
            Err(PortError::NotFound)
        ),
        "no delivery to a deleted hook"
    );
    assert!(matches!(
        store.delete_hook("wh_a").await,
        Err(PortError::NotFound)
    ));
}

async fn deliveries_are_made_once_and_come_due_in_order(store: &dyn WebhookStore) {
    store
        .create_hook(&hook("wh_a", HookScope::Global, 0))
        .await
        .unwrap();
    let first = delivery("wh_a", 1, 1);
    let second = delivery("wh_a", 2, 2);
    assert!(store.add_delivery(&first).await.unwrap());
    assert!(store.add_delivery(&second).await.unwrap());
    assert!(
        !store.add_delivery(&first).await.unwrap(),
        "the same delivery again is not a second one"
    );
    assert_eq!(store.delivery("wh_a.1").await.unwrap(), first);
    // Newest first in the log; longest waiting first when due.
    let log = store.deliveries("wh_a", 10).await.unwrap();
    assert_eq!(log, [second.clone(), first.clone()]);
    assert_eq!(
        store.deliveries("wh_a", 1).await.unwrap(),
        vec![second.clone()]
    );
    assert_eq!(
        store.due(at(5), 10).await.unwrap(),
        [first.clone(), second.clone()]
    );
    assert_eq!(store.due(at(1), 10).await.unwrap(), vec![first.clone()]);
    assert_eq!(store.due(at(5), 1).await.unwrap(), vec![first.clone()]);

    // A failed try puts it off; a 2xx ends it.
    let mut tried = first.clone();
    tried.record(Attempt {
        at: at(3),
        status: Some(500),
        duration_ms: 12,
        response: "internal error ✗".into(),
        error: None,
    });
    store.update_delivery(&tried).await.unwrap();
    assert_eq!(store.delivery("wh_a.1").await.unwrap(), tried);
    assert_eq!(store.due(at(3), 10).await.unwrap(), vec![second.clone()]);
    let mut done = second.clone();
    done.record(Attempt {
        at: at(4),
        status: Some(200),
        duration_ms: 3,
        response: String::new(),
        error: None,
    });
    store.update_delivery(&done).await.unwrap();
    assert_eq!(done.state, DeliveryState::Delivered);
    // The failed one waits its back-off (five seconds past minute 3).
    assert!(store.due(at(3), 10).await.unwrap().is_empty());
    assert_eq!(store.due(at(60), 10).await.unwrap(), [tried.clone()]);

    // Pruning keeps what is pending.
    assert_eq!(store.prune_deliveries(at(100)).await.unwrap(), 1);
    assert_eq!(store.deliveries("wh_a", 10).await.unwrap(), [tried]);
    let gone = delivery("wh_gone", 9, 1);
    assert!(matches!(
        store.update_delivery(&gone).await,
        Err(PortError::NotFound)
    ));
}

async fn the_cursor_only_moves_forward(store: &dyn WebhookStore) {
    assert_eq!(store.cursor().await.unwrap(), 0);
    store.set_cursor(41).await.unwrap();
    store.set_cursor(42).await.unwrap();
    assert_eq!(store.cursor().await.unwrap(), 42);
    store.set_cursor(7).await.unwrap();
    assert_eq!(store.cursor().await.unwrap(), 42);
}
