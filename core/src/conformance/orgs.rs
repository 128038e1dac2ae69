//! The behaviour every [`OrgStore`] must show, on a store that is also the [`UserStore`] (users
//! and organisations share one set of names). Each scenario gets a fresh, empty store.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use crate::accounts::{Role, User, UserName};
use crate::orgs::{OrgName, OrgRole, Organisation, Permission, TeamName};
use crate::ports::accounts::UserStore;
use crate::ports::orgs::OrgStore;
use crate::{PortError, PortResult};

/// Runs every scenario, each on a store from `fresh`; panics on the first deviation.
pub async fn run_all<S, F, Fut>(fresh: F)
where
    S: OrgStore + UserStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    macro_rules! scenarios {
        ($($name:ident),* $(,)?) => {
            $(
                eprintln!("orgs conformance: {}", stringify!($name));
                $name(fresh().await.as_ref()).await;
            )*
        };
    }
    scenarios!(
        round_trips_every_field_at_version_one,
        names_are_shared_with_users,
        saves_bump_the_version_and_refuse_stale_copies,
        deletes_need_the_current_version,
        orgs_of_follows_membership,
        lists_by_name,
    );
}

fn user(raw: &str) -> UserName {
    UserName::parse(raw).expect("test user name is valid")
}

fn ok<T>(result: PortResult<T>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: unexpected error {e:?}"))
}

fn expect<T: Debug>(result: PortResult<T>, wanted: fn(&PortError) -> bool, what: &str) {
    match &result {
        Err(e) if wanted(e) => {}
        _ => panic!("{what}: got {result:?}"),
    }
}

fn not_found(e: &PortError) -> bool {
    matches!(e, PortError::NotFound)
}

fn conflict(e: &PortError) -> bool {
    matches!(e, PortError::Conflict(_))
}

/// `name` owned by `owner`, with a member, a team and a repository grant, so that a round trip
/// covers every field.
fn organisation(name: &str, owner: &str) -> Organisation {
    let mut org = Organisation::new(
        OrgName::parse(name).expect("valid"),
        format!("{name}, a core facility"),
        user(owner),
    )
    .expect("valid");
    org.created_at = super::at(1);
    org.set_member(&user("mia"), OrgRole::Member)
        .expect("member");
    let team = TeamName::parse("devs").expect("valid");
    org.add_team(team.clone(), Permission::Read).expect("team");
    org.set_team_member(&team, &user("mia"), true)
        .expect("team member");
    org.set_team_repository(&team, "pipeline", Some(Permission::Write))
        .expect("grant");
    org
}

async fn round_trips_every_field_at_version_one(s: &dyn OrgStore) {
    let org = organisation("genomics-core", "olga");
    ok(s.create_org(&org).await, "create_org");
    let stored = ok(s.get_org(&org.name).await, "get_org");
    assert_eq!(stored, Organisation { version: 1, ..org }, "round trip");
    expect(
        s.get_org(&OrgName::parse("nobody").unwrap()).await,
        not_found,
        "get_org of an absent organisation",
    );
}

async fn names_are_shared_with_users<S: OrgStore + UserStore>(s: &S) {
    let org = organisation("genomics-core", "olga");
    ok(s.create_org(&org).await, "create_org");
    expect(s.create_org(&org).await, conflict, "second create_org");
    let same_as_org = User::new(user("genomics-core"), Role::User);
    expect(
        s.create_user(&same_as_org, "hash").await,
        conflict,
        "create_user with an organisation's name",
    );
    expect(
        s.get_user(&same_as_org.name).await,
        not_found,
        "the refused user was not created",
    );
    ok(
        s.create_user(&User::new(user("alice"), Role::User), "hash")
            .await,
        "create_user",
    );
    expect(
        s.create_org(&organisation("alice", "olga")).await,
        conflict,
        "create_org with a user's name",
    );
    expect(
        s.get_org(&OrgName::parse("alice").unwrap()).await,
        not_found,
        "the refused organisation was not created",
    );
}

async fn saves_bump_the_version_and_refuse_stale_copies(s: &dyn OrgStore) {
    let org = organisation("genomics-core", "olga");
    ok(s.create_org(&org).await, "create_org");
    let mut first = ok(s.get_org(&org.name).await, "get_org");
    let mut second = first.clone();
    first.set_description("changed".into()).expect("valid");
    let but_latest = crate::tag_policy::ImmutableTags::patterns(vec!["!latest".into()]).unwrap();
    first.immutable = Some(but_latest.clone());
    ok(s.save_org(&first).await, "save_org");
    let stored = ok(s.get_org(&org.name).await, "get_org");
    assert_eq!(stored.version, 2, "a save bumps the version");
    assert_eq!(stored.description, "changed");
    assert_eq!(
        stored.immutable,
        Some(but_latest),
        "the namespace's immutability default is kept"
    );
    second
        .set_member(&user("max"), OrgRole::Admin)
        .expect("valid");
    expect(
        s.save_org(&second).await,
        conflict,
        "save from a stale copy",
    );
    let stored = ok(s.get_org(&org.name).await, "get_org");
    assert_eq!(
        stored.role_of(&user("max")),
        None,
        "the stale save changed nothing"
    );
    let mut gone = organisation("gone", "olga");
    gone.version = 1;
    expect(
        s.save_org(&gone).await,
        not_found,
        "save of an absent organisation",
    );
}

async fn deletes_need_the_current_version(s: &dyn OrgStore) {
    let org = organisation("genomics-core", "olga");
    ok(s.create_org(&org).await, "create_org");
    let stale = ok(s.get_org(&org.name).await, "get_org");
    let mut current = stale.clone();
    current.set_description("changed".into()).expect("valid");
    ok(s.save_org(&current).await, "save_org");
    expect(
        s.delete_org(&stale).await,
        conflict,
        "delete from a stale copy",
    );
    let current = ok(s.get_org(&org.name).await, "get_org");
    ok(s.delete_org(&current).await, "delete_org");
    expect(s.get_org(&org.name).await, not_found, "get after delete");
    expect(s.delete_org(&current).await, not_found, "second delete");
    assert!(
        ok(s.orgs_of(&user("olga")).await, "orgs_of").is_empty(),
        "a deleted organisation is nobody's"
    );
}

async fn orgs_of_follows_membership(s: &dyn OrgStore) {
    ok(
        s.create_org(&organisation("genomics-core", "olga")).await,
        "create_org",
    );
    ok(
        s.create_org(&organisation("imaging", "ivan")).await,
        "create_org",
    );
    let names = |orgs: Vec<Organisation>| -> Vec<String> {
        orgs.into_iter().map(|o| o.name.to_string()).collect()
    };
    assert_eq!(
        names(ok(s.orgs_of(&user("mia")).await, "orgs_of")),
        ["genomics-core", "imaging"]
    );
    assert_eq!(
        names(ok(s.orgs_of(&user("olga")).await, "orgs_of")),
        ["genomics-core"]
    );
    assert!(ok(s.orgs_of(&user("nobody")).await, "orgs_of").is_empty());
    let mut imaging = ok(
        s.get_org(&OrgName::parse("imaging").unwrap()).await,
        "get_org",
    );
    imaging.remove_member(&user("mia")).expect("valid");
    imaging
        .set_member(&user("olga"), OrgRole::Admin)
        .expect("valid");
    ok(s.save_org(&imaging).await, "save_org");
    assert_eq!(
        names(ok(s.orgs_of(&user("mia")).await, "orgs_of")),
        ["genomics-core"],
        "removal counts at once"
    );
    let olga = ok(s.orgs_of(&user("olga")).await, "orgs_of");
    assert_eq!(names(olga.clone()), ["genomics-core", "imaging"]);
    assert_eq!(olga[1].version, 2, "orgs_of reads the current version");
}

async fn lists_by_name(s: &dyn OrgStore) {
    assert!(ok(s.list_orgs().await, "list_orgs").is_empty());
    for name in ["zebrafish", "imaging", "genomics-core"] {
        ok(
            s.create_org(&organisation(name, "olga")).await,
            "create_org",
        );
    }
    let names: Vec<String> = ok(s.list_orgs().await, "list_orgs")
        .into_iter()
        .map(|o| o.name.to_string())
        .collect();
    assert_eq!(names, ["genomics-core", "imaging", "zebrafish"]);
}
