//! Bioshadock's labels on the images it builds, added as one `LABEL` instruction appended to
//! the Dockerfile.
//!
//! Why not the build API's `labels` option: the engine's classic builder turns each of its
//! entries into a step of its own (an intermediate container and a commit each, ~50 ms); one
//! appended instruction is one step. Where appending is not safe — a parser directive changes
//! the escape character, the last line continues onto the next, a value has a line break —
//! [`append_label`] says so and the caller falls back to the API option.

use std::collections::BTreeMap;

/// `dockerfile` with one `LABEL` instruction carrying `labels` appended, or `None` when it
/// cannot be appended safely.
pub fn append_label(dockerfile: &str, labels: &BTreeMap<String, String>) -> Option<String> {
    if labels.is_empty() {
        return Some(dockerfile.to_owned());
    }
    if changes_escape(dockerfile) || last_line_continues(dockerfile) {
        return None;
    }
    let mut instruction = String::from("LABEL");
    for (key, value) in labels {
        instruction.push(' ');
        instruction.push_str(&quoted(key)?);
        instruction.push('=');
        instruction.push_str(&quoted(value)?);
    }
    let mut text = dockerfile.to_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&instruction);
    text.push('\n');
    Some(text)
}

/// A double-quoted Dockerfile word: `\`, `"` and `$` (variable expansion) escaped.
fn quoted(raw: &str) -> Option<String> {
    if raw.contains(['\n', '\r']) {
        return None;
    }
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for c in raw.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

/// Whether a parser directive (`# escape=…`) at the top changes the escape character.
fn changes_escape(dockerfile: &str) -> bool {
    for line in dockerfile.lines() {
        let line = line.trim();
        let Some(comment) = line.strip_prefix('#') else {
            // Directives only count before the first instruction or blank line.
            return false;
        };
        let directive = comment.trim().to_ascii_lowercase();
        if directive.starts_with("escape") && directive.contains('=') {
            return true;
        }
        if !directive.contains('=') {
            return false;
        }
    }
    false
}

/// Whether the last non-blank line ends with a line continuation.
fn last_line_continues(dockerfile: &str) -> bool {
    dockerfile
        .lines()
        .rev()
        .map(str::trim_end)
        .find(|line| !line.is_empty())
        .is_some_and(|line| line.ends_with('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn appends_one_instruction_with_every_label_quoted() {
        let out = append_label(
            "FROM base\nRUN true",
            &labels(&[("a.b", "x"), ("c", r#"say "hi" to $USER \o/"#)]),
        )
        .unwrap();
        assert_eq!(
            out,
            "FROM base\nRUN true\nLABEL \"a.b\"=\"x\" \"c\"=\"say \\\"hi\\\" to \\$USER \\\\o/\"\n"
        );
    }

    #[test]
    fn refuses_what_it_cannot_append_safely() {
        let some = labels(&[("a", "b")]);
        assert!(append_label("# escape=`\nFROM base\n", &some).is_none());
        assert!(append_label("# syntax=x\n#Escape = `\nFROM base\n", &some).is_none());
        assert!(append_label("FROM base\nRUN true && \\\n\n", &some).is_none());
        assert!(append_label("FROM base\n", &labels(&[("a", "two\nlines")])).is_none());
        // A comment after the first instruction is no directive.
        assert!(append_label("FROM base\n# escape=`\n", &some).is_some());
    }
}
