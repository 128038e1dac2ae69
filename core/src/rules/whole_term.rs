//! A rule's name matcher as a *whole-term* regular expression in a syntax that every search
//! backend reads the same way, so that lists and search can filter by access rules inside the
//! backends (SQLite's REGEXP over Rust's `regex`, tantivy's `RegexQuery`, Elasticsearch's
//! `regexp`, MongoDB's `$regex`) and agree with [`super::RuleSet::decide`] exactly.
//!
//! Why print our own: the four dialects disagree on shorthand classes (`\d` is unknown to
//! Lucene), on anchors (Lucene and tantivy match whole terms and have none), on which
//! characters are operators (Lucene's `#`, `@`, `&`, `<`, `>`, `~`, `"`) and on escapes. The
//! rule's expression is parsed with `regex-syntax` (the parser of the `regex` crate that
//! decides) and printed back using only what all four share: literal characters (anything but
//! ASCII letters and digits escaped), bracketed ranges, groups, alternation and counted
//! repetition. Container names are ASCII, so classes are cut to printable ASCII, which changes
//! no match on a name.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The printable ASCII characters a name can hold (and then some): classes are cut to these.
const PRINTABLE: std::ops::RangeInclusive<u32> = 0x21..=0x7e;

/// `expression` (a rule's `/regex/` body, found anywhere in a name as Rust's `is_match` does)
/// as a whole-term expression: unanchored ends become `.*`, leading `^` and trailing `$` go.
/// Anchors elsewhere and word boundaries cannot be said in every dialect and are refused.
pub fn from_regex(expression: &str) -> Result<String, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(expression)
        .map_err(|e| format!("bad regular expression `{expression}`: {e}"))?;
    let mut parts: Vec<&Hir> = match hir.kind() {
        HirKind::Concat(parts) => parts.iter().collect(),
        _ => vec![&hir],
    };
    let anchored_start = parts.first().is_some_and(|h| is_start(h));
    if anchored_start {
        parts.remove(0);
    }
    let anchored_end = parts.last().is_some_and(|h| is_end(h));
    if anchored_end {
        parts.pop();
    }
    let mut out = String::new();
    if !anchored_start {
        out.push_str(".*");
    }
    for part in parts {
        print(part, &mut out)?;
    }
    if !anchored_end {
        out.push_str(".*");
    }
    Ok(out)
}

/// A glob (`*` any run, `?` one character) as a whole-term expression.
pub fn from_glob(glob: &str) -> String {
    glob.chars()
        .map(|c| match c {
            '*' => ".*".to_owned(),
            '?' => ".".to_owned(),
            c => literal(c),
        })
        .collect()
}

/// A literal value as a whole-term expression.
pub fn from_literal(value: &str) -> String {
    value.chars().map(literal).collect()
}

fn is_start(hir: &Hir) -> bool {
    matches!(hir.kind(), HirKind::Look(Look::Start))
}

fn is_end(hir: &Hir) -> bool {
    matches!(hir.kind(), HirKind::Look(Look::End))
}

fn print(hir: &Hir, out: &mut String) -> Result<(), String> {
    match hir.kind() {
        HirKind::Empty => out.push_str("()"),
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0)
                .map_err(|_| "a byte-level literal cannot be matched by every backend")?;
            out.extend(text.chars().map(literal));
        }
        HirKind::Class(Class::Unicode(class)) => print_class(
            class
                .ranges()
                .iter()
                .map(|r| (r.start() as u32, r.end() as u32)),
            out,
        ),
        HirKind::Class(Class::Bytes(class)) => print_class(
            class
                .ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end()))),
            out,
        ),
        HirKind::Look(_) => {
            return Err(
                "anchors inside a pattern and word boundaries cannot be matched by every search \
                 backend; anchor the whole pattern (`^…$`) instead"
                    .into(),
            );
        }
        HirKind::Repetition(rep) => {
            out.push('(');
            print(&rep.sub, out)?;
            out.push(')');
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (min, None) => out.push_str(&format!("{{{min},}}")),
                (min, Some(max)) if min == max => out.push_str(&format!("{{{min}}}")),
                (min, Some(max)) => out.push_str(&format!("{{{min},{max}}}")),
            }
        }
        HirKind::Capture(capture) => {
            out.push('(');
            print(&capture.sub, out)?;
            out.push(')');
        }
        HirKind::Concat(parts) => {
            for part in parts {
                print(part, out)?;
            }
        }
        HirKind::Alternation(branches) => {
            out.push('(');
            for (i, branch) in branches.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                print(branch, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

/// A class cut to printable ASCII, as `[…]` of single characters and ranges; an empty one as a
/// class no name can match.
fn print_class(ranges: impl Iterator<Item = (u32, u32)>, out: &mut String) {
    let mut inside = String::new();
    for (start, end) in ranges {
        let start = start.max(*PRINTABLE.start());
        let end = end.min(*PRINTABLE.end());
        if start > end {
            continue;
        }
        let (a, b) = (char::from_u32(start), char::from_u32(end));
        let (Some(a), Some(b)) = (a, b) else { continue };
        inside.push_str(&class_char(a));
        if b != a {
            inside.push('-');
            inside.push_str(&class_char(b));
        }
    }
    if inside.is_empty() {
        // Nothing a name holds: a character no name can contain.
        inside.push(' ');
    }
    out.push('[');
    out.push_str(&inside);
    out.push(']');
}

/// One literal character, written so that all four dialects read the character itself:
/// letters, digits, `_` and non-ASCII as they are; the characters some dialect treats as an
/// operator behind a backslash; `<` and `>` (a backslash makes them word boundaries in Rust's
/// syntax) in a class of their own; other punctuation as it is.
fn literal(c: char) -> String {
    match c {
        c if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() => c.to_string(),
        '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '\\'
        | '/' | '#' | '@' | '&' | '~' | '"' | '-' => format!("\\{c}"),
        '<' | '>' => format!("[{c}]"),
        c => c.to_string(),
    }
}

/// One character inside brackets: only what brackets give a meaning to is escaped.
fn class_char(c: char) -> String {
    match c {
        '\\' | ']' | '[' | '^' | '-' => format!("\\{c}"),
        c => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names of every shape the catalogue holds, and some it does not.
    const NAMES: &[&str] = &[
        "lab/tool",
        "lab/tool2",
        "lab-x/tool",
        "lab0/tool",
        "lab.x/tool",
        "ci-build/app",
        "ci-/app",
        "alice/ci-7",
        "a/b",
        "samtools/1",
        "x",
        "lab/a__b",
        "lab/t.o.o.l",
        "zz/9",
        "lab/",
        "/tool",
        "LAB/tool",
        "lab/tool-",
        "9/9",
        "lab/aaaa",
        "lab/aaaaaaa",
    ];

    /// What Rust's regex says of `expression` on `name`, as rules decide today.
    fn rust(expression: &str, name: &str) -> bool {
        regex::Regex::new(expression).unwrap().is_match(name)
    }

    /// What the printed whole-term expression says, read as whole-term (the way tantivy and
    /// Lucene read it), checked here with Rust's regex anchored at both ends.
    fn printed(printed: &str, name: &str) -> bool {
        regex::Regex::new(&format!("^(?:{printed})$"))
            .unwrap_or_else(|e| panic!("`{printed}` does not parse: {e}"))
            .is_match(name)
    }

    #[test]
    fn printed_expressions_match_exactly_what_the_rules_match() {
        for expression in [
            "^ci-.*$",
            "ci-",
            "^lab/",
            "tool$",
            "^lab/tool$",
            r"^[a-z]+/\d+$",
            r"\d",
            "^(lab|zz)/",
            "a{4}",
            "^lab/a{2,3}$",
            "^lab/a{5,}$",
            r"^lab/t\.o",
            "^[^/]+/tool$",
            "(?i)^LAB/",
            "^lab/(tool|a__b)$",
            "x?y*z*",
            r"\w+/\w+",
            "^.?/",
            "^$",
            "",
        ] {
            let whole = from_regex(expression).unwrap();
            for name in NAMES {
                assert_eq!(
                    printed(&whole, name),
                    rust(expression, name),
                    "`{expression}` printed `{whole}` on {name}"
                );
            }
        }
    }

    #[test]
    fn globs_and_literals_print_whole_term() {
        for (glob, matches) in [
            (
                "lab/*",
                vec![
                    "lab/tool",
                    "lab/tool2",
                    "lab/a__b",
                    "lab/t.o.o.l",
                    "lab/",
                    "lab/tool-",
                    "lab/aaaa",
                    "lab/aaaaaaa",
                ],
            ),
            ("lab?/tool", vec!["lab0/tool"]),
            ("*", NAMES.to_vec()),
        ] {
            let whole = from_glob(glob);
            let found: Vec<&str> = NAMES
                .iter()
                .copied()
                .filter(|n| printed(&whole, n))
                .collect();
            assert_eq!(found, matches, "{glob} printed {whole}");
        }
        let whole = from_literal("lab.x/tool");
        let found: Vec<&str> = NAMES
            .iter()
            .copied()
            .filter(|n| printed(&whole, n))
            .collect();
        assert_eq!(found, ["lab.x/tool"], "a `.` in a literal is a dot");
    }

    #[test]
    fn what_not_every_backend_can_say_is_refused() {
        for expression in [r"\btool", "lab|^zz", "a$|b", r"(?m)^lab$"] {
            assert!(from_regex(expression).is_err(), "{expression}");
        }
        assert!(from_regex("(").is_err());
    }

    #[test]
    fn lucene_operators_are_taken_literally() {
        let value = "a#b@c&d<e>f~g\"h.i";
        let whole = from_literal(value);
        assert_eq!(whole, r#"a\#b\@c\&d[<]e[>]f\~g\"h\.i"#);
        assert!(printed(&whole, value));
        assert!(!printed(&whole, "a#b@c&d<e>f~g\"hxi"));
    }
}
