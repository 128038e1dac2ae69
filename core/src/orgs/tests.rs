use super::*;

fn user(name: &str) -> UserName {
    UserName::parse(name).unwrap()
}

fn team(name: &str) -> TeamName {
    TeamName::parse(name).unwrap()
}

fn org() -> Organisation {
    Organisation::new(
        OrgName::parse("genomics-core").unwrap(),
        String::new(),
        user("olga"),
    )
    .unwrap()
}

#[test]
fn names_follow_the_namespace_grammar() {
    assert!(OrgName::parse("genomics-core").is_ok());
    assert!(OrgName::parse("library").is_err());
    assert!(OrgName::parse("Genomics").is_err());
    assert!(OrgName::parse(&"a".repeat(65)).is_err());
    assert!(TeamName::parse("devs").is_ok());
    assert!(TeamName::parse("dev team").is_err());
    assert!(TeamName::parse("").is_err());
    assert!(TeamName::parse(&"a".repeat(65)).is_err());
}

#[test]
fn an_organisation_always_keeps_an_owner() {
    let mut org = org();
    assert_eq!(
        org.set_member(&user("olga"), OrgRole::Admin),
        Err(OrgError::LastOwner)
    );
    assert_eq!(org.remove_member(&user("olga")), Err(OrgError::LastOwner));
    org.set_member(&user("otto"), OrgRole::Owner).unwrap();
    org.set_member(&user("olga"), OrgRole::Member).unwrap();
    assert_eq!(org.remove_member(&user("otto")), Err(OrgError::LastOwner));
    assert_eq!(org.role_of(&user("olga")), Some(OrgRole::Member));
    assert_eq!(
        org.remove_member(&user("nobody")),
        Err(OrgError::NotAMember("nobody".into()))
    );
}

#[test]
fn members_stay_sorted_and_unique() {
    let mut org = org();
    for name in ["zoe", "adam", "mia", "adam"] {
        org.set_member(&user(name), OrgRole::Member).unwrap();
    }
    let names: Vec<&str> = org.members.iter().map(|m| m.user.as_str()).collect();
    assert_eq!(names, ["adam", "mia", "olga", "zoe"]);
}

#[test]
fn only_members_join_teams_and_leaving_the_organisation_leaves_its_teams() {
    let mut org = org();
    org.add_team(team("devs"), Permission::Read).unwrap();
    assert_eq!(
        org.add_team(team("devs"), Permission::Write),
        Err(OrgError::TeamExists("devs".into()))
    );
    assert_eq!(
        org.set_team_member(&team("devs"), &user("mia"), true),
        Err(OrgError::NotAMember("mia".into()))
    );
    org.set_member(&user("mia"), OrgRole::Member).unwrap();
    org.set_team_member(&team("devs"), &user("mia"), true)
        .unwrap();
    org.set_team_member(&team("devs"), &user("mia"), true)
        .unwrap();
    assert_eq!(org.team(&team("devs")).unwrap().members, [user("mia")]);
    org.remove_member(&user("mia")).unwrap();
    assert!(org.team(&team("devs")).unwrap().members.is_empty());
    assert_eq!(
        org.set_team_member(&team("ops"), &user("olga"), true),
        Err(OrgError::NoSuchTeam("ops".into()))
    );
}

#[test]
fn standing_combines_roles_teams_and_overrides() {
    let mut org = org();
    for name in ["mia", "max", "ada"] {
        org.set_member(&user(name), OrgRole::Member).unwrap();
    }
    org.set_member(&user("ada"), OrgRole::Admin).unwrap();
    org.add_team(team("readers"), Permission::Read).unwrap();
    org.add_team(team("builders"), Permission::None).unwrap();
    org.set_team_member(&team("readers"), &user("mia"), true)
        .unwrap();
    org.set_team_member(&team("builders"), &user("mia"), true)
        .unwrap();
    // `readers` may not see `secret`; `builders` may write `pipeline`.
    org.set_team_repository(&team("readers"), "secret", Some(Permission::None))
        .unwrap();
    org.set_team_repository(&team("builders"), "pipeline", Some(Permission::Write))
        .unwrap();

    let mia = org.standing_of(&user("mia")).unwrap();
    assert_eq!(mia.role, OrgRole::Member);
    assert_eq!(mia.on("anything"), Permission::Read);
    assert_eq!(mia.on("secret"), Permission::None);
    assert_eq!(mia.on("pipeline"), Permission::Write);

    // A member in no team holds nothing on repositories.
    assert_eq!(
        org.standing_of(&user("max")).unwrap().on("anything"),
        Permission::None
    );
    // Admins and owners hold everything, whatever the teams say.
    let ada = org.standing_of(&user("ada")).unwrap();
    assert_eq!(ada.on("secret"), Permission::Admin);
    assert_eq!(
        org.standing_of(&user("olga")).unwrap().on("x"),
        Permission::Admin
    );
    assert!(org.standing_of(&user("stranger")).is_none());

    // Removing an override restores the team's default; removing the team, everything.
    org.set_team_repository(&team("readers"), "secret", None)
        .unwrap();
    assert_eq!(
        org.standing_of(&user("mia")).unwrap().on("secret"),
        Permission::Read
    );
    org.remove_team(&team("readers")).unwrap();
    assert_eq!(
        org.standing_of(&user("mia")).unwrap().on("secret"),
        Permission::None
    );

    let memberships = Memberships::of(&user("mia"), [&org]);
    assert_eq!(
        memberships.in_org("genomics-core").unwrap().on("pipeline"),
        Permission::Write
    );
    assert!(memberships.in_org("other").is_none());
}

#[test]
fn bounds_are_refused() {
    let mut org = org();
    assert_eq!(
        org.set_description("x".repeat(MAX_DESCRIPTION + 1)),
        Err(OrgError::DescriptionTooLong)
    );
    org.set_description("x".repeat(MAX_DESCRIPTION)).unwrap();
    for i in 0..MAX_TEAMS {
        org.add_team(team(&format!("t{i}")), Permission::None)
            .unwrap();
    }
    assert!(matches!(
        org.add_team(team("one-more"), Permission::None),
        Err(OrgError::TooMany { .. })
    ));
    for i in 0..MAX_TEAM_REPOSITORIES {
        org.set_team_repository(&team("t0"), &format!("r{i}"), Some(Permission::Read))
            .unwrap();
    }
    assert!(matches!(
        org.set_team_repository(&team("t0"), "one-more", Some(Permission::Read)),
        Err(OrgError::TooMany { .. })
    ));
    // Changing an existing override at the bound still works.
    org.set_team_repository(&team("t0"), "r0", Some(Permission::Write))
        .unwrap();
    for i in 1..MAX_MEMBERS {
        org.set_member(&user(&format!("u{i}")), OrgRole::Member)
            .unwrap();
    }
    assert!(matches!(
        org.set_member(&user("one-more"), OrgRole::Member),
        Err(OrgError::TooMany { .. })
    ));
}
