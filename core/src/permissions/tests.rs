use super::*;
use crate::RepoName;
use crate::model::{Member, Visibility};
use crate::orgs::{OrgName, OrgRole, Organisation, TeamName};

fn user(name: &str, role: Role) -> User {
    User::new(UserName::parse(name).unwrap(), role)
}

fn signed_in(name: &str, role: Role) -> Principal {
    Principal::user(user(name, role), Scopes::all(), Credential::Session)
}

fn with_key(name: &str, scopes: &str) -> Principal {
    Principal::user(
        user(name, Role::User),
        Scopes::parse_list(scopes).unwrap(),
        Credential::ApiKey {
            id: "0123456789ab".into(),
            expires_at: None,
        },
    )
}

fn container(visibility: Visibility) -> Container {
    let mut c = Container::new(
        RepoName::parse("olivia/tool").unwrap(),
        "olivia",
        visibility,
    );
    c.members = vec![
        Member {
            user: crate::MemberName::from(UserName::parse("pam").unwrap()),
            access: Access::Pull,
        },
        Member {
            user: crate::MemberName::from(UserName::parse("pete").unwrap()),
            access: Access::Push,
        },
    ];
    c
}

/// (see, edit, push, manage)
fn rights(p: &Principal, c: &Container) -> (bool, bool, bool, bool) {
    let r = p.rights_on(c);
    (r.see, r.edit, r.push, r.manage)
}

#[test]
fn the_rights_matrix() {
    let none = (false, false, false, false);
    let see = (true, false, false, false);
    let member_push = (true, true, true, false);
    let all = (true, true, true, true);
    let cases = [
        (Principal::Anonymous, see, none),
        (signed_in("mallory", Role::User), see, none),
        (signed_in("pam", Role::User), see, see),
        (signed_in("pete", Role::User), member_push, member_push),
        (signed_in("olivia", Role::User), all, all),
        (signed_in("root", Role::Admin), all, all),
        (signed_in("eddie", Role::Editor), see, none),
    ];
    let public = container(Visibility::Public);
    let private = container(Visibility::Private);
    for (who, on_public, on_private) in cases {
        assert_eq!(rights(&who, &public), on_public, "{who:?} on public");
        assert_eq!(rights(&who, &private), on_private, "{who:?} on private");
    }
}

#[test]
fn editors_curate_library() {
    let mut c = container(Visibility::Private);
    c.id = RepoName::parse("library/tool").unwrap();
    c.owner = "someone".into();
    let editor = signed_in("eddie", Role::Editor);
    assert_eq!(rights(&editor, &c), (true, true, true, true));
    assert!(editor.may_create_in("library").is_ok());
    assert!(
        signed_in("olivia", Role::User)
            .may_create_in("library")
            .is_err()
    );
    assert!(
        signed_in("root", Role::Admin)
            .may_create_in("library")
            .is_ok()
    );
}

#[test]
fn users_create_only_in_their_own_namespace() {
    let olivia = signed_in("olivia", Role::User);
    assert!(olivia.may_create_in("olivia").is_ok());
    assert!(matches!(
        olivia.may_create_in("pam"),
        Err(Denied::Forbidden(_))
    ));
    assert_eq!(
        Principal::Anonymous.may_create_in("olivia").unwrap_err(),
        Denied::NotSignedIn
    );
    assert_eq!(
        with_key("olivia", "read")
            .may_create_in("olivia")
            .unwrap_err(),
        Denied::MissingScope(Scope::Push)
    );
    assert!(
        signed_in("root", Role::Admin)
            .may_create_in("olivia")
            .is_ok()
    );
}

#[test]
fn keys_hold_only_their_scopes() {
    let private = container(Visibility::Private);
    let public = container(Visibility::Public);
    assert_eq!(
        rights(&with_key("olivia", "read"), &private),
        (true, false, false, false)
    );
    assert_eq!(
        rights(&with_key("olivia", "push"), &private),
        (false, true, true, true)
    );
    assert_eq!(
        rights(&with_key("olivia", "build"), &public),
        (true, false, false, false)
    );
    assert_eq!(with_key("olivia", "build").audience(), Audience::Public);
    assert_eq!(
        with_key("olivia", "read").audience(),
        Audience::User("olivia".into())
    );
}

#[test]
fn audiences_follow_roles() {
    assert_eq!(Principal::Anonymous.audience(), Audience::Public);
    assert_eq!(
        signed_in("root", Role::Admin).audience(),
        Audience::Everyone
    );
    assert_eq!(
        signed_in("pam", Role::User).audience(),
        Audience::User("pam".into())
    );
}

#[test]
fn admin_only_actions_need_the_admin_role() {
    let admin = signed_in("root", Role::Admin);
    assert!(admin.require_admin(Scope::Read).is_ok());
    assert!(matches!(
        signed_in("pam", Role::User).require_admin(Scope::Read),
        Err(Denied::Forbidden(_))
    ));
    assert_eq!(
        Principal::Anonymous.require_admin(Scope::Read).unwrap_err(),
        Denied::NotSignedIn
    );
}

#[test]
fn library_owner_is_the_creator_elsewhere_the_namespace() {
    let eddie = UserName::parse("eddie").unwrap();
    assert_eq!(owner_for("library", &eddie), "eddie");
    assert_eq!(owner_for("olivia", &eddie), "olivia");
}

#[test]
fn keys_mint_and_revoke_only_within_themselves() {
    use crate::accounts::ApiKey;
    let now = crate::model::now();
    let in_days = |d: i64| Some(now + chrono::Duration::days(d));
    let actor = |scopes: &str, credential: Credential| Actor {
        user: user("olivia", Role::User),
        scopes: Scopes::parse_list(scopes).unwrap(),
        credential,
        memberships: Memberships::default(),
        gate: None,
    };
    let key = |scopes: &str, expires_at| {
        actor(
            scopes,
            Credential::ApiKey {
                id: "0123456789ab".into(),
                expires_at,
            },
        )
    };
    let read = Scopes::parse_list("read").unwrap();
    let push = Scopes::parse_list("read,push").unwrap();

    let expiring = key("read,push", in_days(10));
    assert!(expiring.may_mint_key(&read, in_days(9)).is_ok());
    assert!(expiring.may_mint_key(&read, in_days(10)).is_ok());
    assert!(expiring.may_mint_key(&read, in_days(11)).is_err());
    assert!(expiring.may_mint_key(&read, None).is_err(), "never expires");
    let forever = key("read", None);
    assert!(forever.may_mint_key(&read, None).is_ok());
    assert!(forever.may_mint_key(&push, None).is_err(), "wider scopes");
    for free in [Credential::Session, Credential::Password, Credential::Local] {
        assert!(
            actor("read,push,build", free)
                .may_mint_key(&push, None)
                .is_ok()
        );
    }

    let stored = |scopes: &Scopes| ApiKey {
        id: "ba9876543210".into(),
        user: UserName::parse("olivia").unwrap(),
        label: "other".into(),
        scopes: scopes.clone(),
        created_at: now,
        expires_at: None,
        last_used_at: None,
        revoked: false,
    };
    assert!(forever.may_revoke_key(&stored(&push)).is_err());
    assert!(forever.may_revoke_key(&stored(&read)).is_ok());
    assert!(
        actor("read", Credential::Session)
            .may_revoke_key(&stored(&push))
            .is_ok()
    );
}

#[test]
fn a_build_runs_only_while_its_requester_may_still_push() {
    let tool = container(Visibility::Private);
    assert!(may_run_build(&user("olivia", Role::User), &Memberships::default(), &tool).is_ok());
    assert!(may_run_build(&user("pete", Role::User), &Memberships::default(), &tool).is_ok());
    let error =
        may_run_build(&user("pam", Role::User), &Memberships::default(), &tool).unwrap_err();
    assert_eq!(
        error.to_string(),
        "pam no longer has push rights on olivia/tool"
    );
    let mut disabled = user("olivia", Role::User);
    disabled.disabled = true;
    let error = may_run_build(&disabled, &Memberships::default(), &tool).unwrap_err();
    assert_eq!(
        error.to_string(),
        "olivia was disabled after queueing this build"
    );
}

/// `genomics-core`: olga owns it, ada administers it, mia is in `readers` (read everywhere,
/// nothing on `secret`) and `builders` (write on `pipeline`), max is a member in no team.
fn genomics_core() -> Organisation {
    let name = |n: &str| UserName::parse(n).unwrap();
    let team = |n: &str| TeamName::parse(n).unwrap();
    let mut org = Organisation::new(
        OrgName::parse("genomics-core").unwrap(),
        String::new(),
        name("olga"),
    )
    .unwrap();
    org.set_member(&name("ada"), OrgRole::Admin).unwrap();
    org.set_member(&name("mia"), OrgRole::Member).unwrap();
    org.set_member(&name("max"), OrgRole::Member).unwrap();
    org.add_team(team("readers"), Permission::Read).unwrap();
    org.add_team(team("builders"), Permission::None).unwrap();
    org.set_team_member(&team("readers"), &name("mia"), true)
        .unwrap();
    org.set_team_member(&team("builders"), &name("mia"), true)
        .unwrap();
    org.set_team_repository(&team("readers"), "secret", Some(Permission::None))
        .unwrap();
    org.set_team_repository(&team("builders"), "pipeline", Some(Permission::Write))
        .unwrap();
    org
}

fn in_org(name: &str, scopes: &str) -> Principal {
    let org = genomics_core();
    let user = user(name, Role::User);
    let memberships = Memberships::of(&user.name, [&org]);
    let credential = if scopes == "all" {
        Credential::Session
    } else {
        Credential::ApiKey {
            id: "0123456789ab".into(),
            expires_at: None,
        }
    };
    let scopes = if scopes == "all" {
        Scopes::all()
    } else {
        Scopes::parse_list(scopes).unwrap()
    };
    Principal::user(user, scopes, credential).with_memberships(memberships)
}

fn org_container(name: &str, visibility: Visibility) -> Container {
    Container::new(
        RepoName::parse(&format!("genomics-core/{name}")).unwrap(),
        "genomics-core",
        visibility,
    )
}

#[test]
fn the_organisation_rights_matrix() {
    let none = (false, false, false, false);
    let see = (true, false, false, false);
    let write = (true, true, true, false);
    let all = (true, true, true, true);
    // (who, repository, rights when private, rights when public)
    let cases = [
        ("olga", "tool", all, all),
        ("ada", "secret", all, all),
        ("mia", "tool", see, see),
        ("mia", "secret", none, see),
        ("mia", "pipeline", write, write),
        ("max", "tool", none, see),
        ("mallory", "tool", none, see),
    ];
    for (who, repo, private, public) in cases {
        let p = in_org(who, "all");
        assert_eq!(
            rights(&p, &org_container(repo, Visibility::Private)),
            private,
            "{who} on private {repo}"
        );
        assert_eq!(
            rights(&p, &org_container(repo, Visibility::Public)),
            public,
            "{who} on public {repo}"
        );
    }
    // A key holds only its scopes, in an organisation as anywhere.
    assert_eq!(
        rights(
            &in_org("olga", "read"),
            &org_container("tool", Visibility::Private)
        ),
        see
    );
    assert_eq!(
        rights(
            &in_org("olga", "build"),
            &org_container("tool", Visibility::Private)
        ),
        none
    );
}

#[test]
fn organisation_members_create_where_they_may_write() {
    let id = |n: &str| RepoName::parse(n).unwrap();
    assert!(
        in_org("olga", "all")
            .may_create(&id("genomics-core/new"))
            .is_ok()
    );
    assert!(
        in_org("ada", "all")
            .may_create(&id("genomics-core/new"))
            .is_ok()
    );
    assert!(
        in_org("mia", "all")
            .may_create(&id("genomics-core/pipeline"))
            .is_ok()
    );
    assert!(
        in_org("mia", "all")
            .may_create(&id("genomics-core/new"))
            .is_err()
    );
    assert!(
        in_org("max", "all")
            .may_create(&id("genomics-core/new"))
            .is_err()
    );
    assert!(
        in_org("mallory", "all")
            .may_create(&id("genomics-core/new"))
            .is_err()
    );
    assert_eq!(
        in_org("olga", "read")
            .may_create(&id("genomics-core/new"))
            .unwrap_err(),
        Denied::MissingScope(Scope::Push)
    );
    // Own namespace as before.
    assert!(in_org("mia", "all").may_create(&id("mia/new")).is_ok());
}

#[test]
fn the_audience_follows_the_standing() {
    let Audience::User(mia) = in_org("mia", "all").audience() else {
        panic!("a user's audience")
    };
    assert_eq!(mia.namespaces, ["genomics-core"]);
    assert_eq!(mia.hidden, ["genomics-core/secret"]);
    assert!(mia.repositories.is_empty());
    let Audience::User(max) = in_org("max", "all").audience() else {
        panic!("a user's audience")
    };
    assert!(max.namespaces.is_empty() && max.hidden.is_empty());
    let mut org = genomics_core();
    let name = UserName::parse("max").unwrap();
    let team = TeamName::parse("builders").unwrap();
    org.set_team_member(&team, &name, true).unwrap();
    let max = Principal::user(user("max", Role::User), Scopes::all(), Credential::Session)
        .with_memberships(Memberships::of(&name, [&org]));
    let Audience::User(max) = max.audience() else {
        panic!("a user's audience")
    };
    assert_eq!(max.repositories, ["genomics-core/pipeline"]);
    // Every container the audience names is one the rights let them see, and back.
    for repo in ["tool", "secret", "pipeline"] {
        let c = org_container(repo, Visibility::Private);
        for who in ["olga", "ada", "mia", "max", "mallory"] {
            let p = in_org(who, "all");
            let Audience::User(r) = p.audience() else {
                panic!()
            };
            let listed = r.name == c.owner
                || r.repositories.iter().any(|x| x == c.id.as_str())
                || (r.namespaces.iter().any(|n| n == c.id.namespace())
                    && !r.hidden.iter().any(|x| x == c.id.as_str()));
            assert_eq!(listed, p.rights_on(&c).see, "{who} on {repo}");
        }
    }
}

#[test]
fn builds_are_rechecked_against_the_standing() {
    let org = genomics_core();
    let mia = user("mia", Role::User);
    let pipeline = org_container("pipeline", Visibility::Private);
    assert!(may_run_build(&mia, &Memberships::of(&mia.name, [&org]), &pipeline).is_ok());
    assert!(may_run_build(&mia, &Memberships::default(), &pipeline).is_err());
}

#[test]
fn organisation_management_follows_the_role() {
    let org = genomics_core();
    // (who, credential scopes) -> (see members, manage, own)
    let cases = [
        (in_org("olga", "all"), (true, true, true)),
        (in_org("ada", "all"), (true, true, false)),
        (in_org("mia", "all"), (true, false, false)),
        (in_org("mallory", "all"), (false, false, false)),
        (signed_in("root", Role::Admin), (true, true, true)),
        (Principal::Anonymous, (false, false, false)),
        (in_org("olga", "read"), (true, false, false)),
        (in_org("olga", "build"), (false, false, false)),
    ];
    for (who, expected) in cases {
        let r = who.org_rights(&org);
        assert_eq!((r.see_members, r.manage, r.own), expected, "{who:?}");
    }
}

#[test]
fn organisation_creation_follows_the_setting() {
    use crate::config::OrgCreation::{Admins, Users};
    assert!(signed_in("mia", Role::User).may_create_org(Users).is_ok());
    assert!(signed_in("mia", Role::User).may_create_org(Admins).is_err());
    assert!(
        signed_in("root", Role::Admin)
            .may_create_org(Admins)
            .is_ok()
    );
    assert_eq!(
        Principal::Anonymous.may_create_org(Users).unwrap_err(),
        Denied::NotSignedIn
    );
    assert_eq!(
        with_key("mia", "read").may_create_org(Users).unwrap_err(),
        Denied::MissingScope(Scope::Push)
    );
}

fn robot(permission: crate::robots::RobotPermission, repositories: &[&str]) -> Principal {
    Principal::robot(crate::robots::Robot {
        name: crate::robots::RobotName::parse("genomics-core+ci").unwrap(),
        permission,
        repositories: repositories.iter().map(|r| (*r).to_owned()).collect(),
        created_by: UserName::parse("olga").unwrap(),
        created_at: crate::model::now(),
        expires_at: None,
        disabled: false,
    })
}

#[test]
fn robots_pull_and_push_inside_their_owner_only() {
    use crate::robots::RobotPermission::{Read, Write};
    let none = (false, false, false, false);
    let see = (true, false, false, false);
    let push = (true, false, true, false);
    let writer = robot(Write, &[]);
    let reader = robot(Read, &[]);
    let limited = robot(Write, &["pipeline"]);
    for (who, repo, private, public) in [
        (&writer, "tool", push, push),
        (&reader, "tool", see, see),
        (&limited, "pipeline", push, push),
        (&limited, "tool", none, see),
    ] {
        assert_eq!(
            rights(who, &org_container(repo, Visibility::Private)),
            private,
            "{who:?} {repo}"
        );
        assert_eq!(
            rights(who, &org_container(repo, Visibility::Public)),
            public,
            "{who:?} {repo}"
        );
    }
    // Nothing outside the owner's namespace, whoever owns it.
    assert_eq!(rights(&writer, &container(Visibility::Private)), none);
    assert_eq!(rights(&writer, &container(Visibility::Public)), see);
    // Robots create by pushing where they may write, and do nothing else.
    let id = |n: &str| RepoName::parse(n).unwrap();
    assert!(writer.may_push_new(&id("genomics-core/new")));
    assert!(!reader.may_push_new(&id("genomics-core/new")));
    assert!(!limited.may_push_new(&id("genomics-core/new")));
    assert!(!writer.may_push_new(&id("olivia/new")));
    assert!(matches!(
        writer.require(Scope::Read),
        Err(Denied::Forbidden(_))
    ));
    assert!(writer.may_create(&id("genomics-core/new")).is_err());
    assert_eq!(writer.subject(), Some("genomics-core+ci"));
    let Audience::User(seen) = limited.audience() else {
        panic!("a robot's audience")
    };
    assert_eq!(seen.repositories, ["genomics-core/pipeline"]);
    assert!(seen.namespaces.is_empty());
    let Audience::User(seen) = writer.audience() else {
        panic!("a robot's audience")
    };
    assert_eq!(seen.namespaces, ["genomics-core"]);
}

#[test]
fn a_robot_member_of_a_container_pulls_or_pushes_it() {
    use crate::robots::RobotPermission::Read;
    let limited = robot(Read, &["pipeline"]);
    let mut tool = org_container("tool", Visibility::Private);
    assert_eq!(rights(&limited, &tool), (false, false, false, false));
    tool.members = vec![Member {
        user: crate::MemberName::parse("genomics-core+ci").unwrap(),
        access: Access::Push,
    }];
    assert_eq!(rights(&limited, &tool), (true, false, true, false));
    let Audience::User(reader) = limited.audience() else {
        panic!("a robot's audience")
    };
    assert_eq!(
        reader.name, "genomics-core+ci",
        "its memberships are found by its name"
    );
}

/// A gate of `rules` (docker_auth YAML) for `principal`'s account, from `ip`.
fn gated(principal: Principal, rules: &str, ip: Option<&str>) -> Principal {
    let rules = std::sync::Arc::new(crate::rules::RuleSet::parse(rules).unwrap());
    let account = principal.subject().unwrap_or_default().to_owned();
    let gate = crate::rules::RuleGate::for_caller(
        &rules,
        "bioshadock-registry",
        &account,
        ip.map(|ip| ip.parse().unwrap()),
        Default::default(),
    );
    principal.with_gate(gate)
}

#[test]
fn the_first_matching_access_rule_decides_over_the_built_in_rules() {
    let rules = "- match: {account: olivia, name: olivia/tool}\n  actions: []\n\
                 - match: {account: mallory, name: \"olivia/*\"}\n  actions: [pull]\n\
                 - match: {ip: 10.0.0.0/8}\n  actions: [pull, push]\n";
    let private = container(Visibility::Private);
    // A denying rule hides a container even from its owner.
    let owner = gated(signed_in("olivia", Role::User), rules, None);
    assert_eq!(rights(&owner, &private), (false, false, false, false));
    // A granting rule shows a private container to a stranger, for pulling only.
    let stranger = gated(signed_in("mallory", Role::User), rules, None);
    assert_eq!(rights(&stranger, &private), (true, false, false, false));
    // A key still holds only its scopes.
    let keyed = gated(with_key("mallory", "build"), rules, None);
    assert_eq!(rights(&keyed, &private), (false, false, false, false));
    // No rule matches pam: the built-in rules decide, as without rules.
    let pam = gated(signed_in("pam", Role::User), rules, None);
    assert!(pam.gate().is_none(), "no rule may match pam: no gate");
    assert_eq!(rights(&pam, &private), (true, false, false, false));
    // By address: an anonymous caller from 10/8 is a guest who may push (docker_auth allows it).
    let guest = gated(Principal::Anonymous, rules, Some("10.1.2.3"));
    assert!(matches!(guest, Principal::Guest(_)));
    assert!(guest.is_anonymous());
    assert_eq!(rights(&guest, &private), (true, true, true, false));
    let outsider = gated(Principal::Anonymous, rules, Some("192.168.0.1"));
    assert_eq!(outsider, Principal::Anonymous);
    assert_eq!(rights(&outsider, &private), (false, false, false, false));
    // Creating by pushing follows the deciding rule too.
    let id = RepoName::parse("olivia/new").unwrap();
    assert!(!stranger.may_push_new(&id));
    assert!(guest.may_push_new(&id));
    assert!(
        owner.may_push_new(&id),
        "no rule names olivia/new for olivia: her namespace"
    );
}

#[test]
fn robots_under_rules_still_only_pull_and_push() {
    use crate::robots::RobotPermission::Read;
    let rules = "- match: {account: \"genomics-core+ci\"}\n  actions: [\"*\"]\n";
    let ci = gated(robot(Read, &[]), rules, None);
    let anywhere = container(Visibility::Private);
    assert_eq!(rights(&ci, &anywhere), (true, false, true, false));
    assert!(
        ci.may_create(&RepoName::parse("olivia/new").unwrap())
            .is_err()
    );
}

#[test]
fn a_registry_rule_opens_the_catalogue() {
    let rules = "- match: {type: registry, account: ops}\n  actions: [pull]\n";
    assert_eq!(
        gated(signed_in("ops", Role::User), rules, None).may_list_catalog(),
        Some(true)
    );
    assert_eq!(
        gated(signed_in("dev", Role::User), rules, None).may_list_catalog(),
        None
    );
}
