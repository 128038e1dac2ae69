use super::*;

fn actions(list: &[Action]) -> BTreeSet<Action> {
    list.iter().copied().collect()
}

fn one(raw: &str) -> RequestedScope {
    let mut scopes = parse_scopes([raw]).unwrap();
    assert_eq!(scopes.len(), 1, "{raw}");
    scopes.remove(0)
}

#[test]
fn a_plain_repository_scope() {
    let scope = one("repository:lab/samtools:pull,push");
    assert_eq!(scope.kind, ScopeKind::Repository);
    assert_eq!(scope.name, "lab/samtools");
    assert_eq!(scope.actions, actions(&[Action::Pull, Action::Push]));
    assert_eq!(
        scope.repository(),
        Some(RepoName::parse("lab/samtools").unwrap())
    );
    assert_eq!(scope.to_string(), "repository:lab/samtools:pull,push");
}

#[test]
fn the_name_may_hold_a_host_and_port() {
    let scope = one("repository:localhost:5000/lab/samtools:pull");
    assert_eq!(scope.name, "localhost:5000/lab/samtools");
    assert_eq!(scope.actions, actions(&[Action::Pull]));
    // Well-formed, but not a name we host: granted nothing, not refused.
    assert_eq!(scope.repository(), None);
    assert_eq!(one("repository:a/b/c:pull").repository(), None);
}

#[test]
fn several_scopes_in_one_value_and_across_values() {
    let scopes = parse_scopes([
        "repository:lab/a:pull repository:lab/b:push",
        "registry:catalog:*",
        "  ",
    ])
    .unwrap();
    let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["lab/a", "lab/b", "catalog"]);
    assert_eq!(scopes[2].kind, ScopeKind::Registry);
    assert_eq!(scopes[2].actions, actions(&[Action::All]));
    assert!(parse_scopes([]).unwrap().is_empty());
}

#[test]
fn scopes_on_one_resource_are_merged() {
    let scopes = parse_scopes(["repository:lab/a:pull", "repository:lab/a:push,delete"]).unwrap();
    assert_eq!(scopes.len(), 1);
    assert_eq!(
        scopes[0].actions,
        actions(&[Action::Pull, Action::Push, Action::Delete])
    );
}

#[test]
fn a_plugin_repository_is_a_repository() {
    let scope = one("repository(plugin):lab/tool:pull");
    assert_eq!(scope.kind, ScopeKind::Repository);
    assert_eq!(scope.name, "lab/tool");
}

#[test]
fn star_asks_for_everything() {
    let scope = one("repository:lab/a:*");
    assert_eq!(scope.actions, actions(&[Action::All]));
    assert!(scope.wants(Action::Pull) && scope.wants(Action::Push) && scope.wants(Action::Delete));
    let pull = one("repository:lab/a:pull");
    assert!(pull.wants(Action::Pull) && !pull.wants(Action::Push));
}

#[test]
fn malformed_scopes_are_errors() {
    for raw in [
        "repository",
        "repository:lab/a",
        "repository::pull",
        ":lab/a:pull",
        "repository:lab/a:",
        "repository:lab/a:pull,",
        "repository:lab/a:,pull",
    ] {
        assert_eq!(
            parse_scopes([raw]),
            Err(ScopeError::Malformed(raw.into())),
            "{raw}"
        );
    }
}

#[test]
fn unknown_types_and_actions_are_errors() {
    for raw in [
        "image:lab/a:pull",
        "repository():lab/a:pull",
        "repository(Plugin):lab/a:pull",
        "repository(plugin:lab/a:pull",
        "Repository:lab/a:pull",
    ] {
        assert!(
            matches!(parse_scopes([raw]), Err(ScopeError::UnknownType { .. })),
            "{raw}"
        );
    }
    assert_eq!(
        parse_scopes(["repository:lab/a:pull", "repository:lab/a:pull,write"]),
        Err(ScopeError::UnknownAction {
            scope: "repository:lab/a:pull,write".into(),
            action: "write".into(),
        })
    );
    assert!(matches!(
        parse_scopes(["repository:lab/a:PULL"]),
        Err(ScopeError::UnknownAction { .. })
    ));
}

/// The published pattern accepts exactly the values [`parse_scopes`] accepts.
#[test]
fn the_published_pattern_is_the_parsers_grammar() {
    let pattern = fancy_regex::Regex::new(SCOPE_LIST_PATTERN).unwrap();
    let kinds = [
        "repository",
        "registry",
        "repository(plugin)",
        "repository(P)",
        "repo",
        "",
    ];
    let names = ["lab/a", "host:5000/lab/a", "", "a b", "a\u{a0}b", "catalog"];
    let actions = [
        "pull",
        "pull,push",
        "*",
        "delete",
        "",
        "pull,",
        "PULL",
        "write",
    ];
    let mut values = vec![
        String::new(),
        " ".into(),
        "\t".into(),
        ":".into(),
        "::".into(),
    ];
    for kind in kinds {
        for name in names {
            for action in actions {
                values.push(format!("{kind}:{name}:{action}"));
                values.push(format!(" {kind}:{name}:{action}\n"));
                values.push(format!("registry:catalog:* {kind}:{name}:{action}"));
                values.push(format!("{kind}:{name}:{action}\u{b}registry:catalog:*"));
            }
        }
    }
    for value in &values {
        assert_eq!(
            pattern.is_match(value).unwrap(),
            parse_scopes([value.as_str()]).is_ok(),
            "{value:?}"
        );
    }
}
