use super::*;

fn hosts() -> Vec<String> {
    vec!["127.0.0.1:5000".into()]
}

#[test]
fn finds_from_and_copy_from_images_of_the_portal_only() {
    let dockerfile = "\
ARG BASE=127.0.0.1:5000/alice/base
FROM --platform=linux/amd64 127.0.0.1:5000/alice/secret:1.0 AS build
COPY --from=127.0.0.1:5000/bob/tools:latest /bin/x /x
COPY --from=build /out /out
FROM ${BASE}
FROM build
FROM busybox:latest
COPY --from=0 /a /b
";
    let found = portal_images(dockerfile, &hosts(), &no_args()).unwrap();
    let refs: Vec<&str> = found.iter().map(|f| f.reference.as_str()).collect();
    assert_eq!(
        refs,
        [
            "127.0.0.1:5000/alice/secret:1.0",
            "127.0.0.1:5000/bob/tools:latest",
            "127.0.0.1:5000/alice/base"
        ]
    );
    let pinned = pin(dockerfile, &found, &["P1".into(), "P2".into(), "P3".into()]);
    assert!(pinned.contains("FROM --platform=linux/amd64 P1 AS build\n"));
    assert!(pinned.contains("COPY --from=P2 /bin/x /x\n"));
    assert!(pinned.contains("FROM P3\n"));
    assert!(pinned.contains("FROM busybox:latest\n"));
}

#[test]
fn an_unresolved_variable_is_refused_and_references_split() {
    assert!(portal_images("FROM $UNKNOWN\n", &hosts(), &no_args()).is_err());
    let host = "127.0.0.1:5000";
    assert_eq!(
        split_reference("127.0.0.1:5000/alice/secret", host),
        ("alice/secret", "latest")
    );
    assert_eq!(
        split_reference("127.0.0.1:5000/alice/secret:v1", host),
        ("alice/secret", "v1")
    );
    assert_eq!(
        split_reference("127.0.0.1:5000/alice/secret:v1@sha256:ab", host),
        ("alice/secret", "sha256:ab")
    );
}

#[test]
fn continuations_comments_and_escape_directives_do_not_hide_a_reference() {
    let dockerfile = "FROM \\\n  # a comment inside\n  127.0.0.1:5000/alice/secret\nRUN true\n";
    let found = portal_images(dockerfile, &hosts(), &no_args()).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].reference, "127.0.0.1:5000/alice/secret");
    assert_eq!(
        pin(dockerfile, &found, &["P".into()]),
        "FROM P\n\n\nRUN true\n"
    );
    let backtick = "# escape=`\nFROM `\n127.0.0.1:5000/alice/secret\n";
    let found = portal_images(backtick, &hosts(), &no_args()).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    // Upper-case hosts are the same host.
    assert_eq!(
        portal_images("from 127.0.0.1:5000/Alice/x\n", &hosts(), &no_args())
            .unwrap()
            .len(),
        1
    );
}

fn no_args() -> std::collections::BTreeMap<String, String> {
    Default::default()
}

#[test]
fn build_arguments_count_as_the_engine_counts_them() {
    let dockerfile = "ARG BASE=busybox:latest\nARG TOOL\nFROM ${BASE}\nCOPY --from=$TOOL /a /b\n";
    assert!(
        portal_images(dockerfile, &hosts(), &no_args())
            .unwrap()
            .is_empty(),
        "by their defaults, no image of the portal"
    );
    let args = [
        (
            "BASE".to_owned(),
            "127.0.0.1:5000/alice/secret:1".to_owned(),
        ),
        ("TOOL".to_owned(), "127.0.0.1:5000/bob/tools".to_owned()),
    ]
    .into();
    let found = portal_images(dockerfile, &hosts(), &args).unwrap();
    let refs: Vec<&str> = found.iter().map(|f| f.reference.as_str()).collect();
    assert_eq!(
        refs,
        ["127.0.0.1:5000/alice/secret:1", "127.0.0.1:5000/bob/tools"],
        "an argument overriding a default is pulled as its requester, like a written name"
    );
}

#[test]
fn images_only_the_builder_holds_are_refused() {
    for dockerfile in [
        "FROM bioshadock-cache/alice/private:latest\n",
        "FROM docker.io/bioshadock-cache/alice/private\n",
        "FROM bioshadock-build/12-0a0b0c0d:latest\n",
        "FROM busybox\nCOPY --from=bioshadock-cache/alice/private /a /b\n",
        "FROM 3f2a\n",
        "FROM sha256:3f2a9c\n",
        "FROM busybox\nCOPY --from=abc123 /a /b\n",
        "ARG BASE=busybox\nFROM $BASE\n",
    ] {
        let args = [("BASE".to_owned(), "bioshadock-cache/a/b".to_owned())].into();
        assert!(
            portal_images(dockerfile, &hosts(), &args).is_err(),
            "{dockerfile:?} is refused"
        );
    }
    for dockerfile in [
        "FROM busybox\nCOPY --from=0 /a /b\n",
        "FROM busybox AS abc\nFROM abc\n",
        "FROM scratch\n",
        "FROM debian:12\n",
    ] {
        assert!(
            portal_images(dockerfile, &hosts(), &no_args()).is_ok(),
            "{dockerfile:?} is allowed"
        );
    }
}
