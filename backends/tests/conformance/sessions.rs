//! The web session stores: what tower-sessions expects of any store (the scenarios here also
//! run on Redis, in `redis_backend.rs`), and the SQLite store's expiry sweep.

use std::collections::HashMap;

use bioshadock_backends::sqlite::SqliteSessionStore;
use serde_json::json;
use tower_sessions::SessionStore;
use tower_sessions::cookie::time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};

use crate::store::{Dirs, fresh_pool};

async fn fresh(dirs: &Dirs) -> SqliteSessionStore {
    SqliteSessionStore::new(fresh_pool(dirs).await)
}

/// A record expiring `secs` seconds from now (negative: already expired).
pub(crate) fn record(user: &str, secs: i64) -> Record {
    Record {
        id: Id::default(),
        data: HashMap::from([("user".to_owned(), json!(user))]),
        // Whole seconds: the store keeps expiry at the cookie's precision.
        expiry_date: OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("0 is a valid nanosecond")
            + Duration::seconds(secs),
    }
}

#[tokio::test]
async fn save_load_delete() {
    let dirs = Dirs::default();
    saves_loads_and_deletes(&fresh(&dirs).await).await;
}

/// Create, load, save (replacing data and expiry, or inserting a new id), delete.
pub(crate) async fn saves_loads_and_deletes(store: &dyn SessionStore) {
    let mut alice = record("alice", 3600);
    store.create(&mut alice).await.expect("create");
    assert_eq!(
        store.load(&alice.id).await.expect("load"),
        Some(alice.clone())
    );

    alice.data.insert("csrf".into(), json!("token"));
    alice.expiry_date += Duration::hours(1);
    store.save(&alice).await.expect("save");
    assert_eq!(
        store.load(&alice.id).await.expect("load"),
        Some(alice.clone()),
        "save replaces data and expiry"
    );

    let bob = record("bob", 3600);
    store.save(&bob).await.expect("save of a new id inserts");
    assert_eq!(store.load(&bob.id).await.expect("load"), Some(bob.clone()));

    store.delete(&alice.id).await.expect("delete");
    assert_eq!(store.load(&alice.id).await.expect("load"), None);
    store
        .delete(&alice.id)
        .await
        .expect("deleting twice is fine");
    assert_eq!(
        store.load(&bob.id).await.expect("load"),
        Some(bob),
        "other sessions stay"
    );
    assert_eq!(store.load(&Id::default()).await.expect("load"), None);
}

#[tokio::test]
async fn expired_sessions_are_ignored_then_swept() {
    let dirs = Dirs::default();
    let store = fresh(&dirs).await;
    let live = record("alice", 3600);
    let expired = record("bob", -10);
    let also_expired = record("carol", -3600);
    for r in [&live, &expired, &also_expired] {
        store.save(r).await.expect("save");
    }
    assert_eq!(
        store.load(&expired.id).await.expect("load"),
        None,
        "expired"
    );
    assert_eq!(store.delete_expired().await.expect("delete_expired"), 2);
    assert_eq!(store.delete_expired().await.expect("delete_expired"), 0);
    assert_eq!(store.load(&live.id).await.expect("load"), Some(live));

    // A sweep deletes rows: saving an expired id again does not resurrect anything else.
    let mut revived = expired.clone();
    revived.expiry_date = OffsetDateTime::now_utc() + Duration::hours(1);
    store.save(&revived).await.expect("save");
    assert_eq!(store.load(&revived.id).await.expect("load"), Some(revived));
}

#[tokio::test]
async fn create_never_overwrites_an_existing_id() {
    let dirs = Dirs::default();
    creates_never_overwrite(&fresh(&dirs).await).await;
}

/// `create` on a taken id draws a new one and leaves the existing session alone.
pub(crate) async fn creates_never_overwrite(store: &dyn SessionStore) {
    let first = record("alice", 3600);
    store.save(&first).await.expect("save");

    let mut colliding = record("mallory", 3600);
    colliding.id = first.id;
    store.create(&mut colliding).await.expect("create");
    assert_ne!(colliding.id, first.id, "create draws a new id on collision");
    assert_eq!(
        store.load(&first.id).await.expect("load"),
        Some(first),
        "the existing session is untouched"
    );
    assert_eq!(
        store.load(&colliding.id).await.expect("load"),
        Some(colliding),
        "the new session is stored under its new id"
    );
}
