//! The behaviour every [`LogWakeups`] must show. Each scenario gets a fresh instance.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use crate::ports::log_wakeups::{LogWakeups, Wakeups};

/// How long a wake-up may take to arrive (Redis pub/sub crosses a connection).
const PROMPTLY: Duration = Duration::from_secs(2);
/// How long to wait before concluding that no wake-up comes.
const QUIET: Duration = Duration::from_millis(300);

pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn LogWakeups>>,
{
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {
            $(
                eprintln!("log wakeups conformance: {}", stringify!($name));
                $name(fresh().await).await;
            )*
        };
    }
    scenarios!(
        a_notify_wakes_every_subscriber_of_that_build_only,
        notifies_without_subscribers_are_fine,
        dropped_subscriptions_do_not_stop_others,
    );
}

async fn woken(wakeups: &mut Wakeups) -> bool {
    tokio::time::timeout(PROMPTLY, wakeups.next())
        .await
        .is_ok_and(|w| w.is_some())
}

async fn quiet(wakeups: &mut Wakeups) -> bool {
    tokio::time::timeout(QUIET, wakeups.next()).await.is_err()
}

async fn subscribe(w: &dyn LogWakeups, id: i64) -> Wakeups {
    w.subscribe(id).await.expect("subscribe")
}

async fn a_notify_wakes_every_subscriber_of_that_build_only(w: Arc<dyn LogWakeups>) {
    let mut first = subscribe(w.as_ref(), 7).await;
    let mut second = subscribe(w.as_ref(), 7).await;
    let mut other = subscribe(w.as_ref(), 8).await;
    w.notify(7).await.expect("notify");
    assert!(woken(&mut first).await, "the subscriber is woken");
    assert!(
        woken(&mut second).await,
        "every subscriber of the build is woken"
    );
    assert!(quiet(&mut other).await, "another build's subscriber is not");
    w.notify(7).await.expect("notify again");
    assert!(
        woken(&mut first).await,
        "and woken again by the next notify"
    );
}

async fn notifies_without_subscribers_are_fine(w: Arc<dyn LogWakeups>) {
    w.notify(1).await.expect("notify with nobody listening");
    let mut late = subscribe(w.as_ref(), 1).await;
    assert!(
        quiet(&mut late).await,
        "a subscriber sees only later notifies"
    );
    w.notify(1).await.expect("notify");
    assert!(woken(&mut late).await);
}

async fn dropped_subscriptions_do_not_stop_others(w: Arc<dyn LogWakeups>) {
    let gone = subscribe(w.as_ref(), 3).await;
    let mut kept = subscribe(w.as_ref(), 3).await;
    drop(gone);
    w.notify(3).await.expect("notify");
    assert!(woken(&mut kept).await);
}
