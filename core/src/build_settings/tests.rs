use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("fixture time")
        .with_timezone(&Utc)
}

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn argument_names_and_values_are_bounded() {
    assert!(check_args(&args(&[("VERSION", "1.0"), ("_x9", "")])).is_ok());
    for bad in ["9LIVES", "A-B", "", "A B", "É"] {
        assert!(check_args(&args(&[(bad, "v")])).is_err(), "{bad:?}");
    }
    let longest = "A".repeat(MAX_ARG_NAME);
    assert!(check_args(&args(&[(&longest, "v")])).is_ok());
    assert!(check_args(&args(&[(&format!("{longest}A"), "v")])).is_err());
    let value = "v".repeat(MAX_ARG_VALUE);
    assert!(check_args(&args(&[("A", &value)])).is_ok());
    assert!(check_args(&args(&[("A", &format!("{value}v"))])).is_err());
    assert!(check_args(&args(&[("A", "one\ntwo")])).is_err());
    let many: BTreeMap<String, String> = (0..=MAX_ARGS)
        .map(|n| (format!("A{n}"), String::new()))
        .collect();
    assert!(check_args(&many).is_err());
    let regex = regex::Regex::new(ARG_NAME_PATTERN).expect("pattern");
    for name in ["VERSION", "_x9", &longest] {
        assert!(regex.is_match(name), "the schema admits {name}");
    }
    for name in ["9LIVES", "A-B", &format!("{longest}A")] {
        assert!(!regex.is_match(name), "the schema refuses {name}");
    }
}

#[test]
fn a_trigger_overrides_the_container_and_placeholders_are_filled() {
    let container = args(&[("VERSION", "{tag}"), ("REV", "{sha}"), ("KEEP", "{other}")]);
    let trigger = args(&[("VERSION", "v{tag}-{sha}")]);
    let resolved = resolve_args(&container, &trigger, "1.2", Some("abc123"));
    assert_eq!(
        resolved,
        args(&[
            ("VERSION", "v1.2-abc123"),
            ("REV", "abc123"),
            ("KEEP", "{other}")
        ])
    );
    let unknown_sha = resolve_args(&container, &BTreeMap::new(), "1.2", None);
    assert_eq!(unknown_sha["REV"], "{sha}", "left for the builder");
    assert_eq!(unknown_sha["VERSION"], "1.2");
}

#[test]
fn schedules_are_five_field_cron_at_most_hourly() {
    for good in [
        "0 3 * * 1",
        "@weekly",
        "@daily",
        "15 */2 * * *",
        "0 0 1 * *",
    ] {
        assert!(Schedule::parse(good).is_ok(), "{good}");
    }
    for bad in [
        "* * * * *",
        "*/5 * * * *",
        "0,30 * * * *",
        "0 3 * * 1 2026",
        "0 0 3 * * 1",
        "tomorrow",
        "",
        &"0 ".repeat(60),
    ] {
        assert!(Schedule::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn each_occurrence_is_due_once_at_its_jittered_time() {
    let weekly = Schedule::parse("0 3 * * 1").expect("schedule");
    let jitter = Duration::minutes(7);
    // 2026-12-07 is a Monday: due at 03:07, in the span that holds 03:07 and no other.
    let looks = [
        utc("2026-12-07T02:59:30Z"),
        utc("2026-12-07T03:00:30Z"),
        utc("2026-12-07T03:06:30Z"),
        utc("2026-12-07T03:07:30Z"),
        utc("2026-12-07T03:08:00Z"),
    ];
    let due_at: Vec<_> = looks
        .windows(2)
        .map(|span| due(&weekly, jitter, span[0], span[1]))
        .collect();
    assert_eq!(
        due_at,
        [None, None, Some(utc("2026-12-07T03:00:00Z")), None],
        "one look sees it"
    );
    assert_eq!(
        due(
            &weekly,
            jitter,
            utc("2026-11-01T00:00:00Z"),
            utc("2026-12-08T00:00:00Z")
        ),
        Some(utc("2026-12-07T03:00:00Z")),
        "a long span counts its newest occurrence only"
    );
}

#[test]
fn jitter_is_stable_per_container_and_spreads_them() {
    let spread = std::time::Duration::from_secs(3600);
    let name = |n: usize| RepoName::parse(&format!("lab/tool{n}")).expect("name");
    assert_eq!(jitter(&name(1), spread), jitter(&name(1), spread));
    let offsets: std::collections::BTreeSet<i64> = (0..100)
        .map(|n| jitter(&name(n), spread).num_seconds())
        .collect();
    assert!(offsets.iter().all(|s| (0..3600).contains(s)));
    assert!(
        offsets.len() > 90,
        "a hundred containers start at different times"
    );
    assert!(offsets.iter().any(|s| *s < 1800) && offsets.iter().any(|s| *s >= 1800));
    assert_eq!(
        jitter(&name(1), std::time::Duration::ZERO),
        Duration::zero()
    );
}
