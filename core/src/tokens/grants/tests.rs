use super::*;
use crate::accounts::{Role, Scopes, User, UserName};
use crate::model::{Access, Member, Visibility};
use crate::permissions::Credential;
use crate::tokens::parse_scopes;

fn signed_in(name: &str, role: Role) -> Principal {
    Principal::user(
        User::new(UserName::parse(name).unwrap(), role),
        Scopes::all(),
        Credential::Session,
    )
}

fn with_key(name: &str, scopes: &str) -> Principal {
    Principal::user(
        User::new(UserName::parse(name).unwrap(), Role::User),
        Scopes::parse_list(scopes).unwrap(),
        Credential::ApiKey {
            id: "0123456789ab".into(),
            expires_at: None,
        },
    )
}

/// `olivia/tool`, with pam a pull member and pete a push member.
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

fn scope(raw: &str) -> RequestedScope {
    parse_scopes([raw]).unwrap().remove(0)
}

/// The actions granted, `[]` when the entry is omitted.
fn granted(who: &Principal, raw: &str, container: Option<&Container>) -> Vec<String> {
    match grant(who, &scope(raw), container) {
        Some(access) => {
            assert!(!access.actions.is_empty(), "empty entries are omitted");
            access.actions
        }
        None => Vec::new(),
    }
}

#[test]
fn the_grants_matrix() {
    let all = "repository:olivia/tool:*";
    let cases: [(Principal, &[&str], &[&str]); 7] = [
        (Principal::Anonymous, &["pull"], &[]),
        (signed_in("mallory", Role::User), &["pull"], &[]),
        (signed_in("pam", Role::User), &["pull"], &["pull"]),
        (
            signed_in("pete", Role::User),
            &["pull", "push"],
            &["pull", "push"],
        ),
        (
            signed_in("olivia", Role::User),
            &["pull", "push", "delete"],
            &["pull", "push", "delete"],
        ),
        (
            signed_in("root", Role::Admin),
            &["pull", "push", "delete"],
            &["pull", "push", "delete"],
        ),
        (signed_in("eddie", Role::Editor), &["pull"], &[]),
    ];
    let public = container(Visibility::Public);
    let private = container(Visibility::Private);
    for (who, on_public, on_private) in cases {
        assert_eq!(
            granted(&who, all, Some(&public)),
            on_public,
            "{who:?} public"
        );
        assert_eq!(
            granted(&who, all, Some(&private)),
            on_private,
            "{who:?} private"
        );
    }
}

#[test]
fn only_what_was_asked_is_granted() {
    let owner = signed_in("olivia", Role::User);
    let c = container(Visibility::Private);
    assert_eq!(
        granted(&owner, "repository:olivia/tool:pull", Some(&c)),
        ["pull"]
    );
    assert_eq!(
        granted(&owner, "repository:olivia/tool:push,pull", Some(&c)),
        ["pull", "push"]
    );
    assert_eq!(
        granted(&owner, "repository:olivia/tool:delete", Some(&c)),
        ["delete"]
    );
    // A push member asking for delete gets nothing, so the entry is left out.
    let pete = signed_in("pete", Role::User);
    assert_eq!(
        grant(&pete, &scope("repository:olivia/tool:delete"), Some(&c)),
        None
    );
}

#[test]
fn the_entry_names_the_repository() {
    let c = container(Visibility::Public);
    let access = grant(
        &Principal::Anonymous,
        &scope("repository(plugin):olivia/tool:pull"),
        Some(&c),
    );
    assert_eq!(
        access,
        Some(ResourceAccess {
            kind: "repository".into(),
            name: "olivia/tool".into(),
            actions: vec!["pull".into()],
        })
    );
    let json = serde_json::to_value(access.unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"type": "repository", "name": "olivia/tool", "actions": ["pull"]})
    );
}

#[test]
fn push_creates_in_ones_own_namespace() {
    let olivia = signed_in("olivia", Role::User);
    let push = "repository:olivia/new:pull,push";
    assert_eq!(granted(&olivia, push, None), ["pull", "push"]);
    assert_eq!(
        granted(&olivia, "repository:olivia/new:*", None),
        ["pull", "push"]
    );
    // Another's namespace, or the curated library/, is refused to a plain user.
    assert!(granted(&olivia, "repository:mallory/new:pull,push", None).is_empty());
    assert!(granted(&olivia, "repository:library/new:pull,push", None).is_empty());
    assert!(granted(&Principal::Anonymous, push, None).is_empty());
    // Editors publish into library/, admins anywhere.
    let eddie = signed_in("eddie", Role::Editor);
    assert_eq!(
        granted(&eddie, "repository:library/new:push", None),
        ["push"]
    );
    let root = signed_in("root", Role::Admin);
    assert_eq!(
        granted(&root, "repository:mallory/new:push", None),
        ["push"]
    );
}

#[test]
fn foreign_names_are_granted_nothing() {
    let root = signed_in("root", Role::Admin);
    for raw in [
        "repository:localhost:5000/olivia/tool:pull",
        "repository:olivia/tool/extra:pull",
        "repository:v2/tool:pull",
        "repository:Olivia/tool:pull",
    ] {
        assert_eq!(grant(&root, &scope(raw), None), None, "{raw}");
    }
    // Nor does a container that is not the one named.
    let c = container(Visibility::Public);
    assert_eq!(
        grant(&root, &scope("repository:olivia/other:pull"), Some(&c)),
        None
    );
}

#[test]
fn the_catalog_is_for_admins() {
    let catalog = scope("registry:catalog:*");
    assert_eq!(
        grant(&signed_in("root", Role::Admin), &catalog, None),
        Some(ResourceAccess::catalog())
    );
    assert_eq!(
        ResourceAccess::catalog().actions,
        ["*"],
        "the registry checks for `*` literally"
    );
    for who in [
        Principal::Anonymous,
        signed_in("olivia", Role::User),
        signed_in("eddie", Role::Editor),
    ] {
        assert_eq!(grant(&who, &catalog, None), None, "{who:?}");
    }
    let root = signed_in("root", Role::Admin);
    assert_eq!(grant(&root, &scope("registry:catalog:pull"), None), None);
    assert_eq!(grant(&root, &scope("registry:other:*"), None), None);
}

#[test]
fn api_keys_hold_only_their_scopes() {
    let private = container(Visibility::Private);
    let public = container(Visibility::Public);
    let all = "repository:olivia/tool:*";
    // Without `push`, the owner's key only pulls, and only with `read` on a private container.
    assert_eq!(
        granted(&with_key("olivia", "read"), all, Some(&private)),
        ["pull"]
    );
    assert!(granted(&with_key("olivia", "build"), all, Some(&private)).is_empty());
    assert_eq!(
        granted(&with_key("olivia", "build"), all, Some(&public)),
        ["pull"]
    );
    // With `push` but not `read`, changes are allowed and private pulls are not.
    assert_eq!(
        granted(&with_key("olivia", "push"), all, Some(&private)),
        ["push", "delete"]
    );
    assert_eq!(
        granted(&with_key("olivia", "read,push"), all, Some(&private)),
        ["pull", "push", "delete"]
    );
    // Creating needs `push`.
    assert!(
        granted(
            &with_key("olivia", "read"),
            "repository:olivia/new:pull,push",
            None
        )
        .is_empty()
    );
    assert_eq!(
        granted(
            &with_key("olivia", "push"),
            "repository:olivia/new:pull,push",
            None
        ),
        ["pull", "push"]
    );
    // An admin key without `read` does not list the catalogue.
    let admin_key = Principal::user(
        User::new(UserName::parse("root").unwrap(), Role::Admin),
        Scopes::parse_list("push").unwrap(),
        Credential::ApiKey {
            id: "0123456789ab".into(),
            expires_at: None,
        },
    );
    assert_eq!(grant(&admin_key, &scope("registry:catalog:*"), None), None);
}
