use super::*;

#[test]
fn accepts_ordinary_repository_names() {
    for ok in [
        "lab/samtools",
        "library/bwa-mem2",
        "a/b",
        "my.lab/tool_1",
        "ns/a__b",
        "ns/a---b",
        "0x/9",
    ] {
        assert!(RepoName::parse(ok).is_ok(), "{ok} should be valid");
    }
}

#[test]
fn refuses_uppercase() {
    assert_eq!(RepoName::parse("Lab/samtools"), Err(NameError::Uppercase));
    assert_eq!(RepoName::parse("lab/SAMtools"), Err(NameError::Uppercase));
}

#[test]
fn refuses_dot_dot_and_bad_separators() {
    for bad in [
        "lab/..",
        "lab/a..b",
        "../etc",
        "lab/a___b",
        "lab/a_-b",
        "lab/a.-b",
        "lab/a b",
    ] {
        assert!(
            matches!(RepoName::parse(bad), Err(NameError::BadComponent(_))),
            "{bad}"
        );
    }
}

#[test]
fn refuses_leading_and_trailing_separators() {
    for bad in [
        "/lab/x", "lab/x/", "lab//x", "-lab/x", "lab/_x", "lab/x.", "lab/.x", "lab/x-",
    ] {
        assert!(
            matches!(RepoName::parse(bad), Err(NameError::BadComponent(_))),
            "{bad}"
        );
    }
}

#[test]
fn needs_a_namespace() {
    assert_eq!(RepoName::parse("samtools"), Err(NameError::NoNamespace));
    assert_eq!(RepoName::parse(""), Err(NameError::Empty));
}

#[test]
fn enforces_the_length_limit() {
    let at_limit = format!("ns/{}", "a".repeat(MAX_REPO_NAME_LEN - 3));
    assert_eq!(at_limit.len(), MAX_REPO_NAME_LEN);
    assert!(RepoName::parse(&at_limit).is_ok());
    let over = format!("{at_limit}a");
    assert_eq!(
        RepoName::parse(&over),
        Err(NameError::TooLong {
            max: MAX_REPO_NAME_LEN
        })
    );
}

#[test]
fn splits_namespace_and_name() {
    let name = RepoName::parse("lab/samtools").unwrap();
    assert_eq!(name.namespace(), "lab");
    assert_eq!(name.short_name(), "samtools");
}

#[test]
fn exactly_two_levels() {
    assert_eq!(
        RepoName::parse("lab/tools/samtools"),
        Err(NameError::TooDeep)
    );
}

#[test]
fn route_words_are_not_namespaces() {
    assert_eq!(
        RepoName::parse("search/x"),
        Err(NameError::ReservedNamespace("search".into()))
    );
    assert!(RepoName::parse("searching/x").is_ok());
}

#[test]
fn tags_follow_the_oci_grammar() {
    for ok in ["latest", "1.19--h50ea8bc_0", "_private", "V2.0", "a"] {
        assert!(TagName::parse(ok).is_ok(), "{ok}");
    }
    for bad in [".hidden", "-x", "a/b", "a:b", "tag with space", ""] {
        assert!(TagName::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn tags_may_be_128_characters_but_not_129() {
    let max = format!("v{}", "1".repeat(MAX_TAG_LEN - 1));
    assert!(TagName::parse(&max).is_ok());
    assert_eq!(
        TagName::parse(&format!("{max}1")),
        Err(NameError::TooLong { max: MAX_TAG_LEN })
    );
}

#[test]
fn deserialising_validates() {
    assert!(serde_json::from_str::<RepoName>("\"Lab/x\"").is_err());
    assert_eq!(
        serde_json::from_str::<RepoName>("\"lab/x\"")
            .unwrap()
            .as_str(),
        "lab/x"
    );
}

/// The patterns published in the OpenAPI document accept exactly what the parsers accept, on
/// hand-picked edge cases and on every short string over the characters that matter.
#[test]
fn the_published_patterns_are_the_parsers_grammar() {
    let component = regex::Regex::new(PATH_COMPONENT_PATTERN).unwrap();
    let tag = regex::Regex::new(TAG_PATTERN).unwrap();
    let alphabet = ['a', 'Z', '0', '.', '_', '-', '/', ' ', 'é'];
    let mut samples = vec![String::new()];
    for _ in 0..4 {
        let longer: Vec<String> = samples
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        samples.extend(longer);
    }
    samples.extend(["a__b", "a___b", "a--b", "a._b", "1.19--h50ea8bc_0"].map(String::from));
    samples.push("v".repeat(MAX_TAG_LEN));
    samples.push("v".repeat(MAX_TAG_LEN + 1));
    for sample in &samples {
        assert_eq!(
            component.is_match(sample),
            is_path_component(sample),
            "{sample:?}"
        );
        assert_eq!(
            tag.is_match(sample),
            TagName::parse(sample).is_ok(),
            "{sample:?}"
        );
    }
}

#[test]
fn the_exclusion_pattern_names_each_excluded_word() {
    assert_eq!(
        component_pattern_excluding(&["all", "v2"]),
        "^(?!(?:all|v2)$)[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$"
    );
}
