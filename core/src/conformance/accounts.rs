//! The behaviour every [`UserStore`] + [`KeyStore`] must show. Each scenario gets a fresh,
//! empty store implementing both (they share one database in every backend).
//!
//! Hashes here are placeholders: a store keeps them as given and never checks them.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::at;
use crate::accounts::{ApiKey, ProviderId, Role, Scope, Scopes, Source, User, UserName};
use crate::ports::accounts::{KeyStore, UserStore};
use crate::{PortError, PortResult};

/// Runs every scenario, each on a store from `fresh`. Panics on the first deviation, naming
/// the scenario (printed to stderr before it starts) and what differed.
pub async fn run_all<S, F, Fut>(fresh: F)
where
    S: UserStore + KeyStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {
            $(
                eprintln!("accounts conformance: {}", stringify!($name));
                $name(fresh().await.as_ref()).await;
            )*
        };
    }
    scenarios!(
        users_round_trip_and_conflict,
        users_list_sorted_and_count,
        users_change_role_disabled_password,
        users_keep_their_source,
        users_keep_their_namespace_immutability,
        users_found_by_their_subject,
        keys_round_trip_and_conflict,
        keys_need_an_existing_user,
        keys_list_newest_first,
        keys_revoke_idempotent_and_owned,
        keys_touch_records_last_use,
    );
}

fn name(raw: &str) -> UserName {
    UserName::parse(raw).expect("test user name is valid")
}

fn ok<T>(result: PortResult<T>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: unexpected error {e:?}"))
}

fn expect_not_found<T: Debug>(result: PortResult<T>, what: &str) {
    assert!(
        matches!(result, Err(PortError::NotFound)),
        "{what}: expected NotFound, got {result:?}"
    );
}

fn user(raw: &str, role: Role, minute: i64) -> User {
    User {
        name: name(raw),
        role,
        disabled: false,
        created_at: at(minute),
        source: Source::Local,
        subject: None,
    }
}

/// A key of `owner` with a 12-hex id derived from `n`, created at `at(minute)`.
fn key(owner: &str, n: u32, minute: i64) -> ApiKey {
    ApiKey {
        id: format!("{n:012x}"),
        user: name(owner),
        label: format!("key {n}"),
        scopes: Scopes::all(),
        created_at: at(minute),
        expires_at: None,
        last_used_at: None,
        revoked: false,
    }
}

async fn add_user<S: UserStore + ?Sized>(store: &S, raw: &str) -> User {
    let u = user(raw, Role::User, 1);
    ok(
        store.create_user(&u, &format!("hash of {raw}")).await,
        "create_user",
    );
    u
}

async fn users_round_trip_and_conflict<S: UserStore + KeyStore + ?Sized>(store: &S) {
    let mut alice = user("alice", Role::Editor, 5);
    alice.disabled = true;
    ok(
        store.create_user(&alice, "$argon2id$alice").await,
        "create_user",
    );
    assert_eq!(ok(store.get_user(&alice.name).await, "get_user"), alice);
    assert_eq!(
        ok(store.get_credentials(&alice.name).await, "get_credentials"),
        (alice.clone(), "$argon2id$alice".to_owned()),
        "credentials are the user and the hash as given"
    );

    let impostor = user("alice", Role::Admin, 9);
    let result = store.create_user(&impostor, "$argon2id$other").await;
    assert!(
        matches!(result, Err(PortError::Conflict(_))),
        "second create_user: expected Conflict, got {result:?}"
    );
    assert_eq!(
        ok(store.get_credentials(&alice.name).await, "get_credentials"),
        (alice, "$argon2id$alice".to_owned()),
        "a refused create changes nothing"
    );

    expect_not_found(
        store.get_user(&name("nobody")).await,
        "get_user of a missing user",
    );
    expect_not_found(
        store.get_credentials(&name("nobody")).await,
        "get_credentials of a missing user",
    );
}

async fn users_list_sorted_and_count<S: UserStore + KeyStore + ?Sized>(store: &S) {
    assert_eq!(
        ok(store.count_users().await, "count_users"),
        0,
        "a fresh store"
    );
    assert!(ok(store.list_users().await, "list_users").is_empty());
    let carol = user("carol", Role::Admin, 1);
    let alice = user("alice", Role::User, 3);
    let bob = user("bob", Role::Editor, 2);
    for u in [&carol, &alice, &bob] {
        ok(store.create_user(u, "h").await, "create_user");
    }
    assert_eq!(
        ok(store.list_users().await, "list_users"),
        [alice, bob, carol],
        "every user, by name"
    );
    assert_eq!(ok(store.count_users().await, "count_users"), 3);
}

async fn users_change_role_disabled_password<S: UserStore + KeyStore + ?Sized>(store: &S) {
    let alice = add_user(store, "alice").await;
    let bob = add_user(store, "bob").await;
    ok(store.set_role(&alice.name, Role::Admin).await, "set_role");
    ok(store.set_disabled(&alice.name, true).await, "set_disabled");
    ok(
        store.set_password(&alice.name, "new hash").await,
        "set_password",
    );
    let (got, hash) = ok(store.get_credentials(&alice.name).await, "get_credentials");
    let expected = User {
        role: Role::Admin,
        disabled: true,
        ..alice.clone()
    };
    assert_eq!((got, hash.as_str()), (expected, "new hash"));
    ok(store.set_disabled(&alice.name, false).await, "set_disabled");
    ok(
        store.set_disabled(&alice.name, false).await,
        "set_disabled again",
    );
    assert!(
        !ok(store.get_user(&alice.name).await, "get_user").disabled,
        "re-enabled"
    );
    assert_eq!(
        ok(store.get_credentials(&bob.name).await, "get_credentials"),
        (bob, "hash of bob".to_owned()),
        "other users are untouched"
    );

    let nobody = name("nobody");
    expect_not_found(
        store.set_role(&nobody, Role::Admin).await,
        "set_role of a missing user",
    );
    expect_not_found(
        store.set_disabled(&nobody, true).await,
        "set_disabled of a missing user",
    );
    expect_not_found(
        store.set_password(&nobody, "h").await,
        "set_password of a missing user",
    );
    assert_eq!(
        ok(store.count_users().await, "count_users"),
        2,
        "no user was created"
    );
}

/// A user's namespace immutability default is kept, changed and cleared.
async fn users_keep_their_namespace_immutability<S: UserStore + KeyStore + ?Sized>(store: &S) {
    use crate::tag_policy::ImmutableTags;
    let alice = add_user(store, "alice").await;
    assert_eq!(
        ok(
            store.namespace_immutable(&alice.name).await,
            "namespace_immutable"
        ),
        None,
        "none by default"
    );
    let but_latest = ImmutableTags::patterns(vec!["!latest".into()]).expect("valid");
    ok(
        store
            .set_namespace_immutable(&alice.name, Some(&but_latest))
            .await,
        "set_namespace_immutable",
    );
    assert_eq!(
        ok(
            store.namespace_immutable(&alice.name).await,
            "namespace_immutable"
        ),
        Some(but_latest)
    );
    ok(
        store.set_password(&alice.name, "another hash").await,
        "set_password",
    );
    ok(
        store
            .set_namespace_immutable(&alice.name, Some(&ImmutableTags::All))
            .await,
        "set_namespace_immutable",
    );
    assert_eq!(
        ok(
            store.namespace_immutable(&alice.name).await,
            "namespace_immutable"
        ),
        Some(ImmutableTags::All),
        "kept through other changes, and replaced"
    );
    ok(
        store.set_namespace_immutable(&alice.name, None).await,
        "clear",
    );
    assert_eq!(
        ok(
            store.namespace_immutable(&alice.name).await,
            "namespace_immutable"
        ),
        None
    );
    let nobody = name("nobody");
    expect_not_found(
        store.namespace_immutable(&nobody).await,
        "namespace_immutable",
    );
    expect_not_found(
        store.set_namespace_immutable(&nobody, None).await,
        "set_namespace_immutable",
    );
}

/// Directory accounts come back with their source, through every read; the source survives
/// the other changes.
async fn users_keep_their_source<S: UserStore + KeyStore + ?Sized>(store: &S) {
    let oidc = Source::Oidc(ProviderId::parse("keycloak").unwrap());
    let from_ldap = User {
        source: Source::Ldap,
        ..user("lea", Role::User, 1)
    };
    let from_oidc = User {
        source: oidc.clone(),
        ..user("olga", Role::Editor, 2)
    };
    ok(store.create_user(&from_ldap, "!").await, "create ldap user");
    ok(store.create_user(&from_oidc, "!").await, "create oidc user");
    ok(
        store.set_role(&from_ldap.name, Role::Admin).await,
        "set_role",
    );
    let got = ok(store.get_user(&from_ldap.name).await, "get_user");
    assert_eq!((got.source, got.role), (Source::Ldap, Role::Admin));
    let (got, _) = ok(
        store.get_credentials(&from_oidc.name).await,
        "get_credentials",
    );
    assert_eq!(got.source, oidc);
    let listed: Vec<Source> = ok(store.list_users().await, "list_users")
        .into_iter()
        .map(|u| u.source)
        .collect();
    assert_eq!(listed, [Source::Ldap, oidc.clone()]);
}

/// An OpenID Connect account is found by its provider's id; one account per id and source.
async fn users_found_by_their_subject<S: UserStore + KeyStore + ?Sized>(store: &S) {
    let keycloak = Source::Oidc(ProviderId::parse("keycloak").unwrap());
    let gitlab = Source::Oidc(ProviderId::parse("gitlab").unwrap());
    let olga = User {
        source: keycloak.clone(),
        subject: Some("248289761001".into()),
        ..user("olga", Role::User, 1)
    };
    ok(store.create_user(&olga, "!").await, "create");
    let found = ok(
        store.find_user_by_subject(&keycloak, "248289761001").await,
        "find_user_by_subject",
    );
    assert_eq!(found, olga);
    expect_not_found(
        store.find_user_by_subject(&gitlab, "248289761001").await,
        "same subject, other provider",
    );
    expect_not_found(
        store.find_user_by_subject(&keycloak, "other").await,
        "unknown subject",
    );
    let twin = User {
        subject: Some("248289761001".into()),
        ..user("olga2", Role::User, 2)
    };
    let twin = User {
        source: keycloak.clone(),
        ..twin
    };
    assert!(
        matches!(
            store.create_user(&twin, "!").await,
            Err(PortError::Conflict(_))
        ),
        "a second account for one person of one provider"
    );
    let elsewhere = User {
        source: gitlab,
        ..twin
    };
    ok(
        store.create_user(&elsewhere, "!").await,
        "the same id at another provider",
    );
}

async fn keys_round_trip_and_conflict<S: UserStore + KeyStore + ?Sized>(store: &S) {
    add_user(store, "alice").await;
    let mut full = key("alice", 0xabc, 10);
    full.label = "CI \"deploy\" ✓".into();
    full.scopes = [Scope::Read, Scope::Push].into_iter().collect();
    full.expires_at = Some(at(1000));
    full.last_used_at = Some(at(20));
    let mut narrow = key("alice", 0xdef, 11);
    narrow.scopes = [Scope::Build].into_iter().collect();
    ok(store.create_key(&full, "hash-full").await, "create_key");
    ok(store.create_key(&narrow, "hash-narrow").await, "create_key");
    assert_eq!(
        ok(store.find_key(&full.id).await, "find_key"),
        (full.clone(), "hash-full".to_owned()),
        "every field and the hash read back"
    );
    assert_eq!(
        ok(store.find_key(&narrow.id).await, "find_key"),
        (narrow, "hash-narrow".to_owned())
    );

    let mut again = key("alice", 0xabc, 30);
    again.label = "impostor".into();
    let result = store.create_key(&again, "other").await;
    assert!(
        matches!(result, Err(PortError::Conflict(_))),
        "create_key with an existing id: expected Conflict, got {result:?}"
    );
    assert_eq!(
        ok(store.find_key(&full.id).await, "find_key"),
        (full, "hash-full".to_owned()),
        "a refused create changes nothing"
    );
    expect_not_found(
        store.find_key("000000000999").await,
        "find_key of a missing id",
    );
}

async fn keys_need_an_existing_user<S: UserStore + KeyStore + ?Sized>(store: &S) {
    let orphan = key("ghost", 1, 1);
    expect_not_found(
        store.create_key(&orphan, "h").await,
        "create_key for an unknown user",
    );
    expect_not_found(
        store.find_key(&orphan.id).await,
        "find_key of a refused key",
    );
    assert!(
        ok(store.list_keys(&name("ghost")).await, "list_keys").is_empty(),
        "an unknown user has no keys"
    );
}

async fn keys_list_newest_first<S: UserStore + KeyStore + ?Sized>(store: &S) {
    add_user(store, "alice").await;
    add_user(store, "bob").await;
    add_user(store, "carol").await;
    let (k1, k2, k3) = (key("alice", 1, 1), key("alice", 2, 3), key("alice", 3, 2));
    let b = key("bob", 4, 5);
    for k in [&k1, &k2, &k3, &b] {
        ok(store.create_key(k, "h").await, "create_key");
    }
    ok(store.revoke_key(&k1.user, &k1.id).await, "revoke_key");
    let revoked = ApiKey {
        revoked: true,
        ..k1
    };
    assert_eq!(
        ok(store.list_keys(&name("alice")).await, "list_keys"),
        [k2, k3, revoked],
        "a user's keys, newest first, revoked ones included"
    );
    assert_eq!(ok(store.list_keys(&name("bob")).await, "list_keys"), [b]);
    assert!(ok(store.list_keys(&name("carol")).await, "list_keys").is_empty());
}

async fn keys_revoke_idempotent_and_owned<S: UserStore + KeyStore + ?Sized>(store: &S) {
    add_user(store, "alice").await;
    add_user(store, "bob").await;
    let k = key("alice", 7, 1);
    ok(store.create_key(&k, "h").await, "create_key");

    expect_not_found(
        store.revoke_key(&name("bob"), &k.id).await,
        "revoke_key of another user's key",
    );
    assert!(
        !ok(store.find_key(&k.id).await, "find_key").0.revoked,
        "another user cannot revoke it"
    );
    expect_not_found(
        store.revoke_key(&name("alice"), "000000000999").await,
        "revoke_key of a missing id",
    );

    ok(store.revoke_key(&k.user, &k.id).await, "revoke_key");
    let (got, hash) = ok(store.find_key(&k.id).await, "find_key");
    assert!(got.revoked, "revoked");
    assert_eq!(hash, "h", "a revoked key is kept");
    ok(
        store.revoke_key(&k.user, &k.id).await,
        "revoke_key again (idempotent)",
    );
    assert!(ok(store.find_key(&k.id).await, "find_key").0.revoked);
}

async fn keys_touch_records_last_use<S: UserStore + KeyStore + ?Sized>(store: &S) {
    add_user(store, "alice").await;
    let k = key("alice", 9, 1);
    let other = key("alice", 10, 1);
    ok(store.create_key(&k, "h").await, "create_key");
    ok(store.create_key(&other, "h").await, "create_key");
    let last_used = |at: DateTime<Utc>| ApiKey {
        last_used_at: Some(at),
        ..k.clone()
    };
    ok(store.touch_key(&k.id, at(5)).await, "touch_key");
    assert_eq!(
        ok(store.find_key(&k.id).await, "find_key").0,
        last_used(at(5))
    );
    ok(store.touch_key(&k.id, at(8)).await, "touch_key");
    assert_eq!(
        ok(store.find_key(&k.id).await, "find_key").0,
        last_used(at(8)),
        "only last_used_at changes"
    );
    assert_eq!(
        ok(store.find_key(&other.id).await, "find_key")
            .0
            .last_used_at,
        None,
        "other keys are untouched"
    );
}
