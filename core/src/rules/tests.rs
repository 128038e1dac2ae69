use super::*;

fn caller<'a>(account: &'a str) -> RuleCaller<'a> {
    RuleCaller {
        account,
        ..RuleCaller::default()
    }
}

fn grant(rules: &RuleSet, who: &RuleCaller<'_>, name: &str) -> Option<(bool, bool, bool)> {
    rules
        .decide(who, "repository", "bioshadock-registry", name)
        .map(|d| (d.grant.pull, d.grant.push, d.grant.delete))
}

const ALL: (bool, bool, bool) = (true, true, true);
const PULL: (bool, bool, bool) = (true, false, false);
const NONE: (bool, bool, bool) = (false, false, false);

#[test]
fn docker_auths_sample_acl_decides_in_order() {
    let rules = RuleSet::parse(
        "- match: {account: admin}\n  actions: [\"*\"]\n  comment: Admin has full access to everything.\n\
         - match: {account: readonly}\n  actions: [pull]\n",
    )
    .unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(grant(&rules, &caller("admin"), "any/thing"), Some(ALL));
    assert_eq!(grant(&rules, &caller("readonly"), "any/thing"), Some(PULL));
    assert_eq!(
        grant(&rules, &caller(""), "any/thing"),
        None,
        "no rule: built-in rules"
    );
    let decided = rules
        .decide(&caller("admin"), "repository", "s", "a/b")
        .unwrap();
    assert_eq!(decided.index, 0);
    assert_eq!(
        decided.comment,
        Some("Admin has full access to everything.")
    );
}

#[test]
fn values_match_literally_by_glob_or_by_regex() {
    let rules = RuleSet::parse(
        "- match: {name: \"lab/*\"}\n  actions: [pull, push]\n\
         - match: {account: \"/^ci-[a-z]+$/\", name: \"tool?\"}\n  actions: [pull]\n\
         - match: {name: exact/name}\n  actions: []\n",
    )
    .unwrap();
    assert_eq!(
        grant(&rules, &caller("x"), "lab/a"),
        Some((true, true, false))
    );
    assert_eq!(grant(&rules, &caller("x"), "labx/a"), None);
    assert_eq!(grant(&rules, &caller("ci-build"), "tool1"), Some(PULL));
    assert_eq!(grant(&rules, &caller("ci-Build"), "tool1"), None);
    assert_eq!(grant(&rules, &caller("ci-build"), "tool12"), None);
    assert_eq!(
        grant(&rules, &caller("x"), "exact/name"),
        Some(NONE),
        "an empty list denies"
    );
    assert_eq!(grant(&rules, &caller("x"), "exact/names"), None);
}

#[test]
fn placeholders_expand_to_the_callers_values_literally() {
    let rules = RuleSet::parse(
        "- match: {name: \"${account}/*\"}\n  actions: [\"*\"]\n\
         - match: {name: \"${labels:org}/*\"}\n  actions: [pull]\n\
         - match: {name: \"/^${account}-[0-9]+/x$/\"}\n  actions: [pull]\n",
    )
    .unwrap();
    assert_eq!(grant(&rules, &caller("alice"), "alice/tool"), Some(ALL));
    assert_eq!(grant(&rules, &caller("alice"), "bob/tool"), None);
    let mut member = caller("mia");
    member
        .labels
        .insert("org".into(), vec!["lab".into(), "core".into()]);
    assert_eq!(grant(&rules, &member, "core/tool"), Some(PULL));
    assert_eq!(grant(&rules, &member, "other/tool"), None);
    // `bob-12/x` is not `bob/*`: the regex rule decides, with bob's name put in literally.
    assert_eq!(grant(&rules, &caller("bob"), "bob-12/x"), Some(PULL));
    assert_eq!(
        grant(&rules, &caller("b.b"), "bob-12/x"),
        None,
        "a `.` in a value is a dot"
    );
}

#[test]
fn addresses_and_blocks_match_the_callers_ip() {
    let rules = RuleSet::parse(
        "- match: {ip: 10.0.0.0/8}\n  actions: [pull]\n- match: {ip: \"192.168.1.7\"}\n  actions: [push]\n",
    )
    .unwrap();
    let from = |ip: &str| RuleCaller {
        account: "a",
        ip: Some(ip.parse().unwrap()),
        labels: BTreeMap::new(),
    };
    assert_eq!(grant(&rules, &from("10.1.2.3"), "x/y"), Some(PULL));
    assert_eq!(
        grant(&rules, &from("192.168.1.7"), "x/y"),
        Some((false, true, false))
    );
    assert_eq!(grant(&rules, &from("192.168.1.8"), "x/y"), None);
    assert_eq!(
        grant(&rules, &caller("a"), "x/y"),
        None,
        "no address, no ip rule"
    );
    assert!(rules.may_apply_to(&from("10.9.9.9")));
    assert!(!rules.may_apply_to(&from("172.16.0.1")));
}

#[test]
fn types_and_services_narrow_a_rule() {
    let rules = RuleSet::parse(
        "- match: {type: registry, account: ops}\n  actions: [\"*\"]\n\
         - match: {service: other-registry}\n  actions: [\"*\"]\n",
    )
    .unwrap();
    let ops = caller("ops");
    assert!(
        rules
            .decide(&ops, "registry", "bioshadock-registry", "catalog")
            .is_some()
    );
    assert!(
        rules
            .decide(&ops, "repository", "bioshadock-registry", "a/b")
            .is_none()
    );
    assert!(
        rules
            .decide(&caller("x"), "repository", "other-registry", "a/b")
            .is_some()
    );
}

#[test]
fn json_is_accepted_and_empty_documents_are_empty() {
    let rules =
        RuleSet::parse(r#"[{"match": {"account": "a"}, "actions": ["pull"], "comment": "c"}]"#)
            .unwrap();
    assert_eq!(grant(&rules, &caller("a"), "x/y"), Some(PULL));
    assert!(RuleSet::parse("").unwrap().is_empty());
    assert!(RuleSet::parse("  \n").unwrap().is_empty());
}

#[test]
fn mistakes_are_refused_with_their_line() {
    let cases = [
        (
            "- match: {account: a}\n  actions: [pull]\n- match: {account: b}\n  actions: [fly]\n",
            Some(3),
            "unknown action `fly`",
        ),
        (
            "- match: {acount: a}\n  actions: [pull]\n",
            Some(1),
            "unknown field `acount`",
        ),
        (
            "- match: {account: a}\n  actions: [pull]\n\n- match: {name: \"/(/\"}\n  actions: [pull]\n",
            Some(4),
            "bad regular expression",
        ),
        (
            "- match: {ip: 10.0.0.0/33}\n  actions: [pull]\n",
            Some(1),
            "neither an address nor a CIDR",
        ),
        (
            "- match: {name: '/\\btool/'}\n  actions: [pull]\n",
            Some(1),
            "word boundaries",
        ),
        (
            "- match: {name: '/^${account}$|^x/'}\n  actions: [pull]\n",
            Some(1),
            "anchors inside a pattern",
        ),
        (
            "- match: {name: \"${user}/*\"}\n  actions: [pull]\n",
            Some(1),
            "unknown placeholder",
        ),
        (
            "- match: {name: \"${account\"}\n  actions: [pull]\n",
            Some(1),
            "unclosed",
        ),
        (
            "- match: {account: a}\n",
            Some(1),
            "missing field `actions`",
        ),
        (
            "match: {account: a}\nactions: [pull]\n",
            Some(1),
            "expected a sequence",
        ),
        (
            "- match: {account: a}\n  actions: [pull\n",
            Some(3),
            "did not find expected",
        ),
    ];
    for (source, line, says) in cases {
        let error = RuleSet::parse(source).unwrap_err();
        assert_eq!(error.line, line, "{source}: {error}");
        assert!(error.message.contains(says), "{source}: {error}");
        if let Some(line) = line {
            assert!(
                error.to_string().starts_with(&format!("line {line}: ")),
                "{error}"
            );
        }
    }
}

#[test]
fn documents_are_bounded() {
    let one = "- match: {account: a}\n  actions: [pull]\n";
    assert_eq!(
        RuleSet::parse(&one.repeat(MAX_RULES)).unwrap().len(),
        MAX_RULES
    );
    assert!(RuleSet::parse(&one.repeat(MAX_RULES + 1)).is_err());
    let huge = format!(
        "- match: {{account: \"{}\"}}\n  actions: [pull]\n",
        "a".repeat(MAX_SOURCE_BYTES)
    );
    assert!(RuleSet::parse(&huge).unwrap_err().message.contains("KiB"));
    let long = format!(
        "- match: {{account: \"{}\"}}\n  actions: [pull]\n",
        "a".repeat(MAX_PATTERN_LEN + 1)
    );
    assert!(
        RuleSet::parse(&long)
            .unwrap_err()
            .message
            .contains("longer than")
    );
    // A regular expression that would compile to more than the size limit is refused.
    let big = "- match: {name: \"/(a{1000}){1000}/\"}\n  actions: [pull]\n";
    assert!(
        RuleSet::parse(big)
            .unwrap_err()
            .message
            .contains("bad regular expression")
    );
}

/// The README's example: Pier One's "every signed-in user may pull everything", with each user
/// keeping their own namespace.
#[test]
fn the_readme_example_means_what_it_says() {
    let rules = RuleSet::parse(
        "- match: {account: admin}\n  actions: [\"*\"]\n  comment: administrators of the old registry keep everything\n\
         - match: {account: \"/.+/\", name: \"${account}/*\"}\n  actions: [\"*\"]\n\
         - match: {account: \"/.+/\"}        # every signed-in user may pull everything (Pier One's default)\n  actions: [pull]\n",
    )
    .unwrap();
    assert_eq!(grant(&rules, &caller("alice"), "alice/tool"), Some(ALL));
    assert_eq!(grant(&rules, &caller("alice"), "bob/tool"), Some(PULL));
    assert_eq!(
        grant(&rules, &caller(""), "bob/tool"),
        None,
        "anonymous: the built-in rules"
    );
    assert_eq!(grant(&rules, &caller("admin"), "bob/tool"), Some(ALL));
}
