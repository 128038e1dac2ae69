//! Turning the engine's output chunks into log lines.
//!
//! The engine sends output in arbitrary chunks: a line may arrive in pieces, several lines in
//! one chunk, and a UTF-8 character may be cut between two chunks. The build log stores lines,
//! so bytes are buffered until their line is complete.

/// A line longer than this is cut: a program printing megabytes without a newline must not
/// grow the builder's memory or produce one giant log row.
const MAX_LINE: usize = 16 * 1024;

/// Accumulates bytes and hands out complete lines.
#[derive(Debug, Default)]
pub(crate) struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// Adds a chunk; returns the lines it completed, in order.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &byte in chunk {
            if byte == b'\n' {
                lines.push(finish(std::mem::take(&mut self.pending)));
            } else {
                self.pending.push(byte);
                if self.pending.len() >= MAX_LINE {
                    lines.push(finish(std::mem::take(&mut self.pending)));
                }
            }
        }
        lines
    }

    /// The last, unterminated line, if any: output that ends without a newline still counts.
    pub(crate) fn flush(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            None
        } else {
            Some(finish(std::mem::take(&mut self.pending)))
        }
    }
}

/// Bytes of one line to text. Progress bars (curl, pip, wget) redraw a line with `\r`; the log
/// keeps what was last drawn instead of every intermediate state.
fn finish(bytes: Vec<u8>) -> String {
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim_end_matches('\r');
    match text.rsplit_once('\r') {
        Some((_, last)) => last.to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::LineBuffer;

    #[test]
    fn splits_and_joins_chunks() {
        let mut lines = LineBuffer::default();
        assert!(lines.push(b"Step 1/2 : FR").is_empty());
        assert_eq!(
            lines.push(b"OM x\r\none\ntw"),
            vec!["Step 1/2 : FROM x", "one"]
        );
        assert_eq!(
            lines.push("o é\n10%\r100%\n".as_bytes()),
            vec!["two é", "100%"]
        );
        assert_eq!(lines.push(&[0xc3]), Vec::<String>::new());
        assert_eq!(
            lines.push(&[0xa9, b'\n']),
            vec!["é"],
            "a character cut between chunks"
        );
        assert_eq!(lines.push(b"tail"), Vec::<String>::new());
        assert_eq!(lines.flush().as_deref(), Some("tail"));
        assert_eq!(lines.flush(), None);
    }
}
