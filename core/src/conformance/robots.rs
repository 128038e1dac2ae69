//! The behaviour every [`RobotStore`] must show. Each scenario gets a fresh, empty store.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use super::at;
use crate::accounts::UserName;
use crate::ports::robots::RobotStore;
use crate::robots::{Robot, RobotName, RobotPermission};
use crate::{PortError, PortResult};

/// Runs every scenario, each on a store from `fresh`; panics on the first deviation.
pub async fn run_all<S, F, Fut>(fresh: F)
where
    S: RobotStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {
            $(
                eprintln!("robots conformance: {}", stringify!($name));
                $name(fresh().await.as_ref()).await;
            )*
        };
    }
    scenarios!(
        round_trips_every_field_and_the_hash,
        names_are_unique,
        lists_an_owners_robots_by_name,
        updates_replace_the_changeable_fields,
        new_tokens_replace_old_ones,
        deletes_one_or_all_of_an_owner,
    );
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

fn name(raw: &str) -> RobotName {
    RobotName::parse(raw).expect("test robot name is valid")
}

fn robot(raw: &str, minute: i64) -> Robot {
    Robot {
        name: name(raw),
        permission: RobotPermission::Write,
        repositories: vec!["pipeline".into(), "tool".into()],
        created_by: UserName::parse("olga").unwrap(),
        created_at: at(minute),
        expires_at: Some(at(minute + 60 * 24)),
        disabled: false,
    }
}

async fn round_trips_every_field_and_the_hash(s: &dyn RobotStore) {
    let ci = robot("genomics-core+ci", 1);
    ok(s.create_robot(&ci, "hash-1").await, "create_robot");
    assert_eq!(
        ok(s.find_robot(&ci.name).await, "find_robot"),
        (ci.clone(), "hash-1".to_owned())
    );
    let mut plain = robot("alice+laptop", 2);
    plain.repositories.clear();
    plain.expires_at = None;
    plain.permission = RobotPermission::Read;
    plain.disabled = true;
    ok(s.create_robot(&plain, "hash-2").await, "create_robot");
    assert_eq!(ok(s.find_robot(&plain.name).await, "find_robot").0, plain);
    expect_not_found(s.find_robot(&name("alice+nothing")).await, "find_robot");
}

async fn names_are_unique(s: &dyn RobotStore) {
    let ci = robot("genomics-core+ci", 1);
    ok(s.create_robot(&ci, "hash-1").await, "create_robot");
    let again = s
        .create_robot(&robot("genomics-core+ci", 5), "hash-2")
        .await;
    assert!(
        matches!(again, Err(PortError::Conflict(_))),
        "a second robot of the same name: {again:?}"
    );
    assert_eq!(ok(s.find_robot(&ci.name).await, "find_robot").1, "hash-1");
}

async fn lists_an_owners_robots_by_name(s: &dyn RobotStore) {
    for raw in ["lab+zeta", "lab+alpha", "lab-x+ci", "other+ci"] {
        ok(s.create_robot(&robot(raw, 1), "hash").await, "create_robot");
    }
    let names: Vec<String> = ok(s.list_robots("lab").await, "list_robots")
        .into_iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(names, ["lab+alpha", "lab+zeta"]);
    assert!(ok(s.list_robots("nobody").await, "list_robots").is_empty());
}

async fn updates_replace_the_changeable_fields(s: &dyn RobotStore) {
    let ci = robot("lab+ci", 1);
    ok(s.create_robot(&ci, "hash").await, "create_robot");
    let mut changed = ci.clone();
    changed.permission = RobotPermission::Read;
    changed.repositories = vec!["only".into()];
    changed.expires_at = None;
    changed.disabled = true;
    ok(s.update_robot(&changed).await, "update_robot");
    let (stored, hash) = ok(s.find_robot(&ci.name).await, "find_robot");
    assert_eq!(stored, changed);
    assert_eq!(hash, "hash", "an update keeps the token");
    expect_not_found(
        s.update_robot(&robot("lab+absent", 1)).await,
        "update_robot",
    );
}

async fn new_tokens_replace_old_ones(s: &dyn RobotStore) {
    let ci = robot("lab+ci", 1);
    ok(s.create_robot(&ci, "old").await, "create_robot");
    ok(
        s.set_robot_token(&ci.name, "new", Some(at(99))).await,
        "set_robot_token",
    );
    let (stored, hash) = ok(s.find_robot(&ci.name).await, "find_robot");
    assert_eq!(hash, "new");
    assert_eq!(stored.expires_at, Some(at(99)));
    ok(
        s.set_robot_token(&ci.name, "newer", None).await,
        "set_robot_token",
    );
    assert_eq!(
        ok(s.find_robot(&ci.name).await, "find_robot").0.expires_at,
        None
    );
    expect_not_found(
        s.set_robot_token(&name("lab+absent"), "x", None).await,
        "set_robot_token",
    );
}

async fn deletes_one_or_all_of_an_owner(s: &dyn RobotStore) {
    for raw in ["lab+a", "lab+b", "lab+c", "other+a"] {
        ok(s.create_robot(&robot(raw, 1), "hash").await, "create_robot");
    }
    ok(s.delete_robot(&name("lab+a")).await, "delete_robot");
    expect_not_found(s.delete_robot(&name("lab+a")).await, "second delete_robot");
    expect_not_found(s.find_robot(&name("lab+a")).await, "find after delete");
    assert_eq!(ok(s.delete_robots_of("lab").await, "delete_robots_of"), 2);
    assert!(ok(s.list_robots("lab").await, "list_robots").is_empty());
    assert_eq!(ok(s.list_robots("other").await, "list_robots").len(), 1);
}
