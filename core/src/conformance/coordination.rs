//! The behaviour every [`Coordination`] must show. Each scenario gets a fresh, empty instance.
//! Windows and lifetimes are short (about a second), so the suite takes a few seconds.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::ports::coordination::Coordination;

const SHORT: Duration = Duration::from_millis(1_000);
const LONG: Duration = Duration::from_secs(60);

/// Runs every scenario, each on an instance from `fresh`. Panics on the first deviation.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Coordination>>,
{
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {
            $(
                eprintln!("coordination conformance: {}", stringify!($name));
                $name(fresh().await).await;
            )*
        };
    }
    scenarios!(
        failures_count_within_a_window_and_reset_after_it,
        failures_are_per_key_and_cleared,
        first_time_is_true_once_until_the_ttl_passes,
        forget_makes_an_id_new_again,
        lock_is_exclusive_and_released_by_its_holder_only,
        lock_expires_after_its_ttl,
    );
}

async fn sleep_past(d: Duration) {
    tokio::time::sleep(d + Duration::from_millis(300)).await;
}

async fn failures_count_within_a_window_and_reset_after_it(c: Arc<dyn Coordination>) {
    assert_eq!(c.failures("k").await.unwrap(), None, "nothing counted yet");
    for expected in 1..=3 {
        assert_eq!(c.add_failure("k", SHORT).await.unwrap(), expected);
    }
    let (count, left) = c.failures("k").await.unwrap().expect("counted");
    assert_eq!(count, 3);
    assert!(left > Duration::ZERO && left <= SHORT, "time left {left:?}");
    sleep_past(SHORT).await;
    assert_eq!(
        c.failures("k").await.unwrap(),
        None,
        "the window has passed"
    );
    assert_eq!(
        c.add_failure("k", SHORT).await.unwrap(),
        1,
        "a new window starts at 1"
    );
}

async fn failures_are_per_key_and_cleared(c: Arc<dyn Coordination>) {
    c.add_failure("a", LONG).await.unwrap();
    c.add_failure("a", LONG).await.unwrap();
    assert_eq!(c.add_failure("b", LONG).await.unwrap(), 1, "keys are apart");
    let (count, left) = c.failures("a").await.unwrap().expect("counted");
    assert_eq!(count, 2);
    assert!(left > LONG - Duration::from_secs(10) && left <= LONG);
    c.clear_failures("a").await.unwrap();
    assert_eq!(c.failures("a").await.unwrap(), None, "cleared");
    assert_eq!(c.failures("b").await.unwrap().map(|f| f.0), Some(1));
    c.clear_failures("never").await.unwrap();
}

async fn first_time_is_true_once_until_the_ttl_passes(c: Arc<dyn Coordination>) {
    assert!(c.first_time("e1", SHORT).await.unwrap());
    assert!(!c.first_time("e1", SHORT).await.unwrap(), "seen already");
    assert!(c.first_time("e2", SHORT).await.unwrap(), "ids are apart");
    sleep_past(SHORT).await;
    assert!(
        c.first_time("e1", SHORT).await.unwrap(),
        "forgotten after ttl"
    );
}

async fn forget_makes_an_id_new_again(c: Arc<dyn Coordination>) {
    assert!(c.first_time("e", LONG).await.unwrap());
    c.forget("e").await.unwrap();
    assert!(c.first_time("e", LONG).await.unwrap());
    assert!(!c.first_time("e", LONG).await.unwrap());
    c.forget("unknown").await.unwrap();
}

async fn lock_is_exclusive_and_released_by_its_holder_only(c: Arc<dyn Coordination>) {
    assert!(c.try_lock("sync", "p1", LONG).await.unwrap());
    assert!(!c.try_lock("sync", "p2", LONG).await.unwrap(), "held by p1");
    assert!(
        !c.try_lock("sync", "p1", LONG).await.unwrap(),
        "not re-entrant"
    );
    assert!(
        c.try_lock("other", "p2", LONG).await.unwrap(),
        "locks are apart"
    );
    c.unlock("sync", "p2").await.unwrap();
    assert!(
        !c.try_lock("sync", "p2", LONG).await.unwrap(),
        "only the holder releases"
    );
    c.unlock("sync", "p1").await.unwrap();
    assert!(c.try_lock("sync", "p2", LONG).await.unwrap(), "released");
    c.unlock("nothing", "p1").await.unwrap();
}

async fn lock_expires_after_its_ttl(c: Arc<dyn Coordination>) {
    assert!(c.try_lock("sync", "p1", SHORT).await.unwrap());
    assert!(!c.try_lock("sync", "p2", SHORT).await.unwrap());
    sleep_past(SHORT).await;
    assert!(c.try_lock("sync", "p2", LONG).await.unwrap(), "expired");
    c.unlock("sync", "p1").await.unwrap();
    assert!(
        !c.try_lock("sync", "p3", LONG).await.unwrap(),
        "the old holder cannot release the new holder's lock"
    );
}
