//! `.dockerignore` patterns, matched in linear time.
//!
//! The file comes from an untrusted repository. A backtracking wildcard matcher takes
//! exponential time on `*a*a*a*a*a*a*a*a*b` against a long name, so each pattern is compiled to
//! a `regex` (which guarantees matching in time linear in the name), as Docker itself does, and
//! all of them go into one `RegexSet`, so a path is checked against every line in one pass.

use regex::{RegexSet, RegexSetBuilder};

/// Most pattern lines honoured in one `.dockerignore`; a file with more is refused. Real files
/// have tens of lines; the bound keeps the compiled set (and the time per path) small.
pub const MAX_PATTERNS: usize = 1000;

/// Largest compiled form of all the patterns together, in bytes (the `regex` crate's own
/// default is 10 MiB; a thousand ordinary lines take well under 1 MiB).
const COMPILED_SIZE_LIMIT: usize = 8 << 20;

/// Why a `.dockerignore` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    #[error("the .dockerignore has more than {MAX_PATTERNS} patterns")]
    TooManyPatterns,
    #[error("the .dockerignore line {line} (`{pattern}`) is not a valid pattern")]
    InvalidPattern { line: usize, pattern: String },
    #[error("the .dockerignore patterns are too complex to compile")]
    TooComplex,
}

/// The lines of a `.dockerignore`: one pattern per line, blank lines and `#` comments ignored,
/// a leading `/` and `./` dropped. In a pattern `*` matches within one path segment, `?` one
/// character but `/`, `[a-z]` a class (`[^a-z]` or `[!a-z]` its complement, never `/`), `**`
/// any number of segments (none included), `\` escapes the next character. A pattern that
/// matches a directory excludes everything under it. A line starting with `!` re-includes what
/// it matches, and the last matching line wins, as with Docker.
#[derive(Debug)]
pub struct DockerIgnore {
    set: RegexSet,
    /// Whether each line, in the order of `set`, starts with `!`.
    negated: Vec<bool>,
}

impl Default for DockerIgnore {
    fn default() -> Self {
        Self {
            set: RegexSet::empty(),
            negated: Vec::new(),
        }
    }
}

impl DockerIgnore {
    /// Reads the lines of a `.dockerignore` file.
    pub fn parse(text: &str) -> Result<Self, IgnoreError> {
        let mut sources = Vec::new();
        let mut negated = Vec::new();
        // The line number of each pattern, for messages.
        let mut lines = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (is_exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let cleaned: Vec<&str> = pattern
                .split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .collect();
            if cleaned.is_empty() {
                continue;
            }
            if sources.len() == MAX_PATTERNS {
                return Err(IgnoreError::TooManyPatterns);
            }
            let source =
                to_regex(&cleaned.join("/")).ok_or_else(|| IgnoreError::InvalidPattern {
                    line: index + 1,
                    pattern: line.to_owned(),
                })?;
            sources.push(source);
            negated.push(is_exception);
            lines.push(index + 1);
        }
        let set = RegexSetBuilder::new(&sources)
            .size_limit(COMPILED_SIZE_LIMIT)
            .dfa_size_limit(COMPILED_SIZE_LIMIT)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => IgnoreError::TooComplex,
                // `to_regex` should only write valid regexes; if one is not, name its line.
                _ => IgnoreError::InvalidPattern {
                    line: lines[sources
                        .iter()
                        .position(|s| regex::Regex::new(s).is_err())
                        .unwrap_or(0)],
                    pattern: e.to_string(),
                },
            })?;
        Ok(Self { set, negated })
    }

    /// Whether some line starts with `!`.
    pub fn has_exceptions(&self) -> bool {
        self.negated.iter().any(|n| *n)
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        // The last line that matches the path itself or one of its parent directories.
        let last = (1..=segments.len())
            .filter_map(|n| {
                self.set
                    .matches(&segments[..n].join("/"))
                    .iter()
                    .next_back()
            })
            .max();
        last.is_some_and(|line| !self.negated[line])
    }
}

/// One cleaned pattern (segments joined by single `/`) as an anchored regex, following
/// Docker's translation (moby/patternmatcher); `None` when a class is malformed.
fn to_regex(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::from("^");
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                // `**/` is `**`; at the end it takes everything below.
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                out.push_str(if i == chars.len() { ".*" } else { "(?:.*/)?" });
                continue;
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                out.push_str(&literal(chars[i]));
            }
            '[' => match class(&chars[i + 1..]) {
                Some((regex, used)) => {
                    out.push_str(&regex?);
                    i += used;
                }
                // An unclosed `[` is taken literally.
                None => out.push_str(&literal('[')),
            },
            c => out.push_str(&literal(c)),
        }
        i += 1;
    }
    out.push('$');
    Some(out)
}

/// The class that starts after a `[`: its regex (`None` if malformed, e.g. `[z-a]`) and how many
/// characters it took up to its `]`; `None` when there is no closing `]`.
fn class(rest: &[char]) -> Option<(Option<String>, usize)> {
    let (negated, start) = match rest.first() {
        Some('^' | '!') => (true, 1),
        _ => (false, 0),
    };
    let mut members = Vec::new();
    let mut i = start;
    loop {
        let c = *rest.get(i)?;
        match c {
            // A `]` first in the class is a member, as in shells.
            ']' if i > start => break,
            '\\' => {
                i += 1;
                members.push(*rest.get(i)?);
            }
            c => members.push(c),
        }
        i += 1;
    }
    let mut ranges = String::new();
    let mut j = 0;
    while j < members.len() {
        if j + 2 < members.len() && members[j + 1] == '-' {
            if members[j] > members[j + 2] {
                return Some((None, i + 1));
            }
            ranges.push_str(&class_member(members[j]));
            ranges.push('-');
            ranges.push_str(&class_member(members[j + 2]));
            j += 3;
        } else {
            ranges.push_str(&class_member(members[j]));
            j += 1;
        }
    }
    // Neither form matches `/`: a class stands for one character of one segment.
    let regex = if negated {
        format!("[^/{ranges}]")
    } else {
        format!("[{ranges}&&[^/]]")
    };
    Some((Some(regex), i + 1))
}

fn literal(c: char) -> String {
    regex::escape(c.encode_utf8(&mut [0; 4]))
}

/// A character inside a regex class, written so that no character means anything there.
fn class_member(c: char) -> String {
    if c.is_alphanumeric() {
        c.to_string()
    } else {
        format!("\\x{{{:x}}}", c as u32)
    }
}

#[cfg(test)]
mod tests;
