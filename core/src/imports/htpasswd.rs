//! Apache htpasswd files: `name:hash` per line. Only bcrypt lines (`htpasswd -B`: `$2y$…`)
//! can keep working, because bcrypt is the only format there that is still a password hash
//! worth the name; MD5 (`$apr1$`, htpasswd's default), SHA-1 (`{SHA}`), crypt and plain text
//! are refused with their line number.

use std::collections::BTreeSet;

use super::LineError;
use crate::accounts::{UserName, check_bcrypt_hash};

/// One account of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based.
    pub line: usize,
    pub name: UserName,
    /// A bcrypt hash, checked.
    pub hash: String,
}

/// The accounts of an htpasswd file and the lines that cannot be taken. Blank lines and `#`
/// comments are skipped; a name given twice is an error at its second line.
pub fn parse(text: &str) -> (Vec<Entry>, Vec<LineError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.trim_end_matches('\r');
        if content.trim().is_empty() || content.trim_start().starts_with('#') {
            continue;
        }
        let mut fail = |message: String| errors.push(LineError { line, message });
        let Some((name, hash)) = content.split_once(':') else {
            fail("expected `name:hash`".into());
            continue;
        };
        let name = match UserName::parse(name) {
            Ok(name) => name,
            Err(e) => {
                fail(format!("user name `{name}`: {e}"));
                continue;
            }
        };
        if let Err(why) = check_bcrypt_hash(hash) {
            fail(format!(
                "{name}: {why}; only bcrypt (`htpasswd -B`) passwords can be imported"
            ));
            continue;
        }
        if !seen.insert(name.clone()) {
            fail(format!("{name} appears twice"));
            continue;
        }
        entries.push(Entry {
            line,
            name,
            hash: hash.to_owned(),
        });
    }
    (entries, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "alice:$2y$05$SgEjIeIG7YcaBUXjdnF7ieBiL1XR8pg86K9rqIAFt0qfGzKbscyA2";

    #[test]
    fn bcrypt_lines_are_taken_and_others_named_by_line() {
        let text = format!(
            "# lab accounts\n{ALICE}\n\nbob:$apr1$0Tul1DvU$Hp26wV7miJ8QB0WvjRjUX0\n\
             carol:{{SHA}}5en6G6MezRroT3XKqkdPOmY/BfQ=\ndave:zN76s8YC1/OPY\neve:secret\n\
             Frank:$2y$05$SgEjIeIG7YcaBUXjdnF7ieBiL1XR8pg86K9rqIAFt0qfGzKbscyA2\nno colon\n{ALICE}\r\n"
        );
        let (entries, errors) = parse(&text);
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].line, entries[0].name.as_str()), (2, "alice"));
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 5, 6, 7, 8, 9, 10]);
        assert!(errors[0].message.contains("MD5 ($apr1$)"), "{}", errors[0]);
        assert!(errors[1].message.contains("SHA-1"), "{}", errors[1]);
        assert!(errors[2].message.contains("crypt"), "{}", errors[2]);
        assert!(errors[3].message.contains("plain text"), "{}", errors[3]);
        assert!(errors[4].message.contains("Frank"), "{}", errors[4]);
        assert!(errors[6].message.contains("twice"), "{}", errors[6]);
        assert_eq!(errors[0].to_string().split(':').next(), Some("line 4"));
    }
}
