//! Where a browser may be sent after signing in: a path on this site, nothing else.
//!
//! `next` comes from a link anyone can craft, and browsers are lenient in ways that turn an
//! innocent-looking path into another site: they drop tabs and newlines anywhere in a URL and
//! strip leading spaces and control characters (`/\t/evil.example` becomes
//! `//evil.example`), treat `\` like `/` (`/\evil.example`), and take `//host` as a
//! scheme-relative URL. So a `next` is accepted only when it is a plain absolute path with
//! none of those characters, and when resolving it against this site still lands here.

const MAX_LEN: usize = 2048;
/// A stand-in origin for the resolution check: only "is the origin unchanged" matters.
const BASE: &str = "http://portal.invalid/";

/// `next` if it is a same-site path, else `/`.
pub(crate) fn same_site_path(next: &str) -> String {
    if is_same_site_path(next) {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

fn is_same_site_path(next: &str) -> bool {
    let mut chars = next.chars();
    if next.len() > MAX_LEN || chars.next() != Some('/') {
        return false;
    }
    // After the leading `/`, another `/` or `\` would make it scheme-relative.
    if matches!(chars.next(), Some('/' | '\\')) {
        return false;
    }
    if next
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return false;
    }
    // Percent-encoded separators and controls that some servers or clients decode again.
    let lower = next.to_ascii_lowercase();
    if ["%2f%2f", "%5c", "%09", "%0a", "%0d", "%00"]
        .iter()
        .any(|encoded| lower.contains(encoded))
        || lower.starts_with("/%2f")
    {
        return false;
    }
    let base = reqwest::Url::parse(BASE).expect("a valid base URL");
    base.join(next)
        .is_ok_and(|resolved| resolved.origin() == base.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_plain_paths_with_queries_and_fragments() {
        for good in [
            "/",
            "/account",
            "/r/alice/tool/settings",
            "/search?q=samtools&page=2",
            "/r/alice/tool#tags",
            "/r/alice/t%C3%B6ol",
        ] {
            assert_eq!(same_site_path(good), good, "{good}");
        }
    }

    /// Known open-redirect bypasses (from the usual cheat sheets), each of which a browser
    /// would take to another site.
    #[test]
    fn refuses_every_known_bypass() {
        for bad in [
            "",
            "account",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/ /evil.example",
            " //evil.example",
            "\t//evil.example",
            "/\u{0}/evil.example",
            "/\u{7f}/evil.example",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            "/\u{3000}/evil.example",
            "/%09/evil.example",
            "/%2f%2fevil.example",
            "/%2F/evil.example",
            "/%5cevil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            "/path\\..\\..\\evil",
        ] {
            assert_eq!(same_site_path(bad), "/", "{bad:?}");
        }
        assert_eq!(same_site_path(&format!("/{}", "a".repeat(MAX_LEN))), "/");
    }
}
