//! The token filter behind the prefix fields: each word becomes its leading characters, from
//! [`MIN_PREFIX_CHARS`] to [`MAX_PREFIX_CHARS`] (`samtools` gives `sa`, `sam`, … `samtools`),
//! as Elasticsearch's `edge_ngram` filter does for the other backend. Tantivy ships n-grams
//! only as a tokenizer over the whole text, not per word after our splitting, hence this.

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

use crate::search_prefix::{MAX_PREFIX_CHARS, MIN_PREFIX_CHARS};

/// Replaces every token by its edge n-grams; a word under [`MIN_PREFIX_CHARS`] gives none.
#[derive(Clone, Copy, Debug, Default)]
pub struct EdgeNgramFilter;

impl TokenFilter for EdgeNgramFilter {
    type Tokenizer<T: Tokenizer> = EdgeNgramTokenizer<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> EdgeNgramTokenizer<T> {
        EdgeNgramTokenizer { inner }
    }
}

#[derive(Clone)]
pub struct EdgeNgramTokenizer<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for EdgeNgramTokenizer<T> {
    type TokenStream<'a> = EdgeNgramStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        EdgeNgramStream {
            tail: self.inner.token_stream(text),
            word: String::new(),
            ends: Vec::with_capacity(MAX_PREFIX_CHARS),
            next: 0,
            token: Token::default(),
        }
    }
}

pub struct EdgeNgramStream<T> {
    tail: T,
    /// The word whose prefixes are being emitted.
    word: String,
    /// Byte ends of its prefixes, shortest first; `next` indexes the one to emit.
    ends: Vec<usize>,
    next: usize,
    token: Token,
}

impl<T: TokenStream> TokenStream for EdgeNgramStream<T> {
    fn advance(&mut self) -> bool {
        loop {
            if let Some(&end) = self.ends.get(self.next) {
                self.next += 1;
                self.token.text.clear();
                self.token.text.push_str(&self.word[..end]);
                return true;
            }
            if !self.tail.advance() {
                return false;
            }
            let source = self.tail.token();
            self.token.clone_from(source);
            self.word.clone_from(&source.text);
            self.ends.clear();
            self.next = 0;
            // Characters, not bytes, as Elasticsearch counts them.
            self.ends.extend(
                self.word
                    .char_indices()
                    .map(|(start, c)| start + c.len_utf8())
                    .take(MAX_PREFIX_CHARS)
                    .skip(MIN_PREFIX_CHARS - 1),
            );
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, TextAnalyzer};

    use super::*;

    fn grams(text: &str) -> Vec<String> {
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(EdgeNgramFilter)
            .build();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn every_word_gives_its_leading_two_to_twenty_characters() {
        assert_eq!(grams("a Sam-co"), ["sa", "sam", "co"]);
        assert_eq!(grams("ÜBER"), ["üb", "übe", "über"]);
        let long = grams("abcdefghijklmnopqrstuvwxyz");
        assert_eq!(long.len(), 19);
        assert_eq!(
            long.last().map(String::as_str),
            Some("abcdefghijklmnopqrst")
        );
        assert!(grams("x - y").is_empty());
    }
}
