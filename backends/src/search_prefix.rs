//! Search as you type, shared by both search backends: a query word also matches the words it
//! begins (`samt` finds `samtools`, `genomics-co` finds `genomics-core/…`), ranked below a
//! whole-word match.
//!
//! Both indexes store the leading characters of every word (edge n-grams, from
//! [`MIN_PREFIX_CHARS`] to [`MAX_PREFIX_CHARS`]) in prefix fields, so a prefix is one term
//! lookup, as a whole word is: a query's cost does not grow with how many indexed words a
//! short prefix would expand to, and a query of many words (at most 256 characters, so
//! about 85 words of two characters) costs what it did before prefixes plus one term per word
//! and prefix field. A query word is looked up there by [`prefix_term`]. The price is paid at
//! indexing: up to nineteen more terms per indexed word.

/// Shorter query words match whole words only. A single letter begins most words of a
/// catalogue: as a suggestion it says nothing, and indexing one-letter prefixes would add a
/// term to nearly every document for no use. The search box waits for two characters too.
pub const MIN_PREFIX_CHARS: usize = 2;
/// Longest indexed prefix. Twenty characters single out a word in any catalogue; storing
/// longer ones would only grow the index. A longer query word is looked up by its first
/// twenty characters (and still scores higher where the whole word matches).
pub const MAX_PREFIX_CHARS: usize = 20;
/// Weight of a prefix match against a whole-word match in the same field: a whole word
/// also matches its own prefix, so it always scores above a word it only begins.
pub const PREFIX_WEIGHT: f32 = 0.5;

/// The prefix-field term for one analysed (lowercased) query word: its first
/// [`MAX_PREFIX_CHARS`] characters, or `None` for a word under [`MIN_PREFIX_CHARS`].
pub fn prefix_term(word: &str) -> Option<&str> {
    match word.char_indices().nth(MAX_PREFIX_CHARS) {
        Some((end, _)) => Some(&word[..end]),
        None if word.chars().count() >= MIN_PREFIX_CHARS => Some(word),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_start_at_two_characters_and_stop_at_twenty() {
        assert_eq!(prefix_term("s"), None);
        assert_eq!(prefix_term("é"), None);
        assert_eq!(prefix_term("sa"), Some("sa"));
        assert_eq!(prefix_term("samt"), Some("samt"));
        let twenty = "abcdefghijklmnopqrst";
        assert_eq!(prefix_term(twenty), Some(twenty));
        assert_eq!(prefix_term("abcdefghijklmnopqrstuvwxyz"), Some(twenty));
        // Characters, not bytes: a multi-byte word is cut on a character boundary.
        let accented = "é".repeat(25);
        assert_eq!(prefix_term(&accented), Some("é".repeat(20).as_str()));
    }
}
