use std::time::Duration;

use super::{DockerIgnore, IgnoreError, MAX_PATTERNS};

fn parse(text: &str) -> DockerIgnore {
    DockerIgnore::parse(text).unwrap()
}

#[test]
fn dockerignore_patterns() {
    let ignore =
        parse("# comment\n\n*.log\n/build\ndocs/**/*.tmp\nsecret?.txt\n[ab]x\n!keep.log\n");
    assert!(ignore.excludes("a.log"));
    assert!(!ignore.excludes("keep.log"));
    assert!(
        !ignore.excludes("dir/a.log"),
        "`*` stays within one segment"
    );
    assert!(ignore.excludes("build"));
    assert!(
        ignore.excludes("build/out/x.o"),
        "a matched directory excludes its content"
    );
    assert!(ignore.excludes("docs/a/b/c.tmp"));
    assert!(ignore.excludes("docs/c.tmp"));
    assert!(!ignore.excludes("docs/c.md"));
    assert!(ignore.excludes("secret1.txt"));
    assert!(!ignore.excludes("secret12.txt"));
    assert!(ignore.excludes("ax"));
    assert!(!ignore.excludes("cx"));
    assert!(ignore.has_exceptions());
    assert!(!parse("# nothing\n").excludes("a"));
    assert!(!DockerIgnore::default().excludes("a"));
}

#[test]
fn double_star_question_mark_classes_and_escapes() {
    let ignore = parse("**/*.pyc\n**/cache\nlogs/**\na?c\n[^x]y\n[!0-9]z\nfile\\*\n[a-c-]w\n");
    assert!(ignore.excludes("x.pyc"), "`**/` matches no directory too");
    assert!(ignore.excludes("a/b/x.pyc"));
    assert!(ignore.excludes("a/cache/blob"));
    assert!(ignore.excludes("logs/2026/12/app"));
    assert!(!ignore.excludes("logs"), "`logs/**` is what is under logs");
    assert!(ignore.excludes("abc"));
    assert!(!ignore.excludes("a/c"), "`?` does not match `/`");
    assert!(ignore.excludes("ay") && !ignore.excludes("xy"));
    assert!(ignore.excludes("az") && !ignore.excludes("5z"));
    assert!(ignore.excludes("file*") && !ignore.excludes("filex"));
    assert!(ignore.excludes("bw") && ignore.excludes("-w") && !ignore.excludes("dw"));
    // Regex metacharacters in a pattern are literal.
    let ignore = parse("a.b\n(x)|y\n");
    assert!(ignore.excludes("a.b") && !ignore.excludes("axb"));
    assert!(ignore.excludes("(x)|y") && !ignore.excludes("y"));
    // An unclosed `[` is a literal.
    assert!(parse("[ab\n").excludes("[ab"));
}

#[test]
fn exceptions_and_the_last_matching_line_wins() {
    let ignore = parse("docs\n!docs/README.md\n**/*.md\n!keep/*.md\n");
    assert!(ignore.excludes("docs/guide.txt"));
    assert!(
        ignore.excludes("docs/README.md"),
        "`**/*.md` comes after the exception"
    );
    assert!(!ignore.excludes("keep/a.md"));
    let ignore = parse("*\n!src\nsrc/*.tmp\n");
    assert!(ignore.excludes("other"));
    assert!(!ignore.excludes("src/main.rs"));
    assert!(ignore.excludes("src/x.tmp"));
    assert!(ignore.has_exceptions());
}

#[test]
fn a_pathological_pattern_is_matched_at_once() {
    // A backtracking matcher takes minutes on this; the thread is a hang guard, not a timer.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ignore = parse("*a*a*a*a*a*a*a*a*a*a*a*a*b\n**/**/**/**/**/**/**/**/**/**/z\n");
        let name = "a".repeat(60);
        let deep = vec!["a"; 60].join("/");
        let result = (ignore.excludes(&name), ignore.excludes(&deep));
        let _ = done.send(result);
    });
    let result = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("matching must not hang");
    assert_eq!(result, (false, false));
}

#[test]
fn bad_and_oversized_files_are_refused_with_the_line() {
    assert_eq!(
        DockerIgnore::parse("ok\n[z-a]\n").unwrap_err(),
        IgnoreError::InvalidPattern {
            line: 2,
            pattern: "[z-a]".into()
        }
    );
    let at_bound: String = (0..MAX_PATTERNS).map(|n| format!("f{n}\n")).collect();
    assert!(DockerIgnore::parse(&at_bound).unwrap().excludes("f999"));
    let over = format!("{at_bound}one-more\n# comments do not count\n");
    assert_eq!(
        DockerIgnore::parse(&over).unwrap_err(),
        IgnoreError::TooManyPatterns
    );
}
