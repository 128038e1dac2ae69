use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_biocontainers_image_reads_as_a_tool() {
    // The BioContainers spec's own example, with an OCI fallback beside it.
    let tool = ToolMetadata::from_labels(&labels(&[
        ("base_image", "biocontainers:latest"),
        ("version", "3"),
        ("software", "Comet"),
        ("software.version", "2016012"),
        (
            "about.summary",
            "An open source tandem mass spectrometry sequence database search tool",
        ),
        ("about.home", "http://comet-ms.sourceforge.net/"),
        ("about.license", "SPDX:Apache-2.0"),
        ("about.tags", "Proteomics"),
        ("extra.identifiers.biotools", "comet"),
        ("extra.binaries", "/usr/bin/comet,/usr/bin/comet.exe"),
        (
            "maintainer",
            "Felipe da Veiga Leprevost <felipe@leprevost.com.br>",
        ),
        ("org.opencontainers.image.version", "9.9"),
    ]));
    assert_eq!(tool.name.as_deref(), Some("Comet"));
    assert_eq!(
        tool.version.as_deref(),
        Some("2016012"),
        "software.version wins over OCI's, and the Dockerfile revision `version` is not the tool's"
    );
    assert_eq!(
        tool.homepage.as_deref(),
        Some("http://comet-ms.sourceforge.net/")
    );
    assert_eq!(tool.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(tool.keywords, ["Proteomics"]);
    assert_eq!(tool.biotools, ["comet"]);
    assert_eq!(tool.executables, ["/usr/bin/comet", "/usr/bin/comet.exe"]);
    assert_eq!(tool.authors.len(), 1);
    assert!(tool.problems.is_empty(), "{:?}", tool.problems);
    assert!(!tool.is_empty());
}

#[test]
fn bioshadock_annot_labels_in_all_their_list_forms() {
    let tool = ToolMetadata::from_labels(&labels(&[
        ("ANNOT.Name", "bwa"),
        ("ANNOT.Version", "0.7.17"),
        ("ANNOT.Description", "TODO"),
        ("ANNOT.Homepage", "https://github.com/lh3/bwa"),
        (
            "ANNOT.EDAM_Operation",
            "['operation_3198', 'operation_0292', 'operation_XXXX']",
        ),
        (
            "ANNOT.EDAM_Topic",
            "topic_0102 http://edamontology.org/topic_0080 EDAM:topic_0102",
        ),
        ("edam.topics", "Sequence analysis, RNA-Seq, Not A Topic"),
        (
            "ANNOT.Reference",
            "['Li H. and Durbin R. (2009) Bioinformatics, 25, 1754-1760. doi:10.1093/bioinformatics/btp324.']",
        ),
        ("ANNOT.Provides", "[bwa, bwa-mem]"),
    ]));
    assert_eq!(tool.name.as_deref(), Some("bwa"));
    assert_eq!(tool.summary, None, "a TODO is no summary");
    assert_eq!(tool.operations, ["operation_3198", "operation_0292"]);
    assert_eq!(
        tool.topics,
        ["topic_0102", "topic_0080", "topic_3170"],
        "deduplicated, in order; labels resolved"
    );
    assert_eq!(tool.dois, ["10.1093/bioinformatics/btp324"]);
    assert_eq!(tool.executables, ["bwa", "bwa-mem"]);
    assert_eq!(tool.problems.len(), 2, "{:?}", tool.problems);
    assert!(
        tool.problems[0].contains("Not A Topic"),
        "{:?}",
        tool.problems
    );
    assert!(
        tool.problems[1].contains("operation_XXXX"),
        "{:?}",
        tool.problems
    );
}

#[test]
fn lists_are_read_in_every_written_form() {
    let expected = ["a", "b"];
    for raw in [
        r#"["a", "b"]"#,
        "['a', 'b']",
        "[a, b]",
        "a, b",
        "a b",
        " a,b ",
    ] {
        assert_eq!(split_list(raw), expected, "{raw}");
    }
    assert!(split_list("").is_empty());
    assert!(split_list("[]").is_empty());
    assert_eq!(
        split_items("Jane Doe <jane@example.org>, John Roe"),
        ["Jane Doe <jane@example.org>", "John Roe"],
        "names keep their spaces"
    );
}

#[test]
fn edam_ids_in_their_id_forms_only() {
    assert_eq!(
        edam_id("topic_0080", "topic").as_deref(),
        Some("topic_0080")
    );
    assert_eq!(
        edam_id("http://edamontology.org/operation_0292", "operation").as_deref(),
        Some("operation_0292")
    );
    assert_eq!(
        edam_id("edam:topic_3168", "topic").as_deref(),
        Some("topic_3168")
    );
    for bad in [
        "operation_XXXX",
        "topic_80",
        "topic_00800",
        "operation_0292",
        "Sequence analysis",
        "",
    ] {
        assert_eq!(edam_id(bad, "topic"), None, "{bad}");
    }
}

#[test]
fn only_web_urls_become_links_and_strangers_values_are_bounded() {
    let tool = ToolMetadata::from_labels(&labels(&[
        ("about.home", "javascript:alert(1)"),
        ("org.opencontainers.image.url", "https://example.org/tool"),
        ("about.documentation", "data:text/html,<script>x</script>"),
        ("about.summary", &"x".repeat(10_000)),
        (
            "about.tags",
            &(0..500)
                .map(|i| format!("k{i}"))
                .collect::<Vec<_>>()
                .join(","),
        ),
    ]));
    assert_eq!(
        tool.homepage.as_deref(),
        Some("https://example.org/tool"),
        "the next family's URL"
    );
    assert_eq!(tool.documentation, None);
    assert_eq!(tool.problems.len(), 2, "{:?}", tool.problems);
    assert_eq!(tool.summary.unwrap().chars().count(), MAX_VALUE_LEN);
    assert_eq!(tool.keywords.len(), MAX_ITEMS);
}

#[test]
fn licences_lose_only_their_spdx_prefix() {
    assert_eq!(normalise_license("SPDX:GPL-3.0-only"), "GPL-3.0-only");
    assert_eq!(normalise_license("spdx: MIT"), "MIT");
    assert_eq!(normalise_license("Custom License"), "Custom License");
    assert_eq!(normalise_license("GPL-2+"), "GPL-2+");
}

#[test]
fn an_image_without_tool_labels_is_empty() {
    let tool = ToolMetadata::from_labels(&labels(&[("com.example.build", "42")]));
    assert!(tool.is_empty());
}
