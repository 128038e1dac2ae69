//! Small formatting helpers and the card view shared by the catalogue and search pages.

use bioshadock_core::Container;
use chrono::{DateTime, Utc};

/// A container as a card in a list.
pub struct Card {
    pub id: String,
    pub namespace: String,
    pub name: String,
    pub summary: String,
    pub latest_tag: Option<String>,
    pub tag_count: usize,
    pub pulls: String,
    pub updated: String,
    pub updated_iso: String,
    pub license: Option<String>,
    pub private: bool,
}

impl Card {
    pub fn new(c: &Container) -> Self {
        Self {
            id: c.id.to_string(),
            namespace: c.id.namespace().to_owned(),
            name: c.id.short_name().to_owned(),
            summary: c.summary(),
            latest_tag: c.latest_tag().map(|t| t.name.to_string()),
            tag_count: c.tags.len(),
            pulls: count(c.pulls),
            updated: ago(c.updated_at),
            updated_iso: c.updated_at.to_rfc3339(),
            license: c.labels.get("org.opencontainers.image.licenses").cloned(),
            private: !c.visibility.is_public(),
        }
    }
}

/// Page links for a list: previous/next and where we are.
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    /// The query string prefix the page number is appended to, e.g. `?q=bwa&page=`.
    pub base: String,
}

impl Pager {
    pub fn prev(&self) -> Option<String> {
        (self.page > 1).then(|| format!("{}{}", self.base, self.page - 1))
    }

    pub fn next(&self) -> Option<String> {
        (self.page < self.pages).then(|| format!("{}{}", self.base, self.page + 1))
    }
}

/// `1234567` → `1.2M`.
pub fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// Bytes in human units (decimal, as registries report them).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A relative time such as `3 days ago`.
pub fn ago(when: DateTime<Utc>) -> String {
    let seconds = (Utc::now() - when).num_seconds().max(0);
    let (n, unit) = match seconds {
        0..60 => return "just now".to_owned(),
        60..3_600 => (seconds / 60, "minute"),
        3_600..86_400 => (seconds / 3_600, "hour"),
        86_400..2_592_000 => (seconds / 86_400, "day"),
        2_592_000..31_536_000 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// A build's duration: `42s`, `3m 05s`, `1h 02m`.
pub fn duration(secs: f64) -> String {
    let secs = secs.max(0.0).round() as u64;
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3_600, secs % 3_600 / 60),
    }
}

/// A URL query value, percent-encoded.
pub fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(count(999), "999");
        assert_eq!(count(1_250), "1.2k");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(12_345_678), "12.3 MB");
        assert_eq!(encode_query("a b&c/ü"), "a+b%26c%2F%C3%BC");
        assert_eq!(duration(41.6), "42s");
        assert_eq!(duration(185.0), "3m 05s");
        assert_eq!(duration(3_720.0), "1h 02m");
    }
}
