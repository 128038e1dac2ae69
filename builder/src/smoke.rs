//! Smoke tests declared by the image itself: the `bioshadock.tests` label holds the commands
//! to run in the freshly built image; every one must exit 0 before the image is pushed.
//!
//! The label is either a JSON array of commands (`["tool --version", "tool selftest"]`) or
//! plain text with one command per line. Each command runs with `/bin/sh -c`.

/// The label that declares smoke tests.
pub const TESTS_LABEL: &str = "bioshadock.tests";

/// More commands than this are refused rather than run for hours.
const MAX_COMMANDS: usize = 32;

/// The commands declared by `label`, in order; blank ones are skipped.
pub fn commands(label: &str) -> Result<Vec<String>, String> {
    let trimmed = label.trim();
    let commands: Vec<String> = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<String>>(trimmed).map_err(|e| {
            format!("the `{TESTS_LABEL}` label looks like JSON but is not an array of strings: {e}")
        })?
    } else {
        trimmed.lines().map(str::to_owned).collect()
    };
    let commands: Vec<String> = commands
        .into_iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    if commands.len() > MAX_COMMANDS {
        return Err(format!(
            "the `{TESTS_LABEL}` label declares {} commands; at most {MAX_COMMANDS} are run",
            commands.len()
        ));
    }
    Ok(commands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_arrays_and_lines() {
        assert_eq!(
            commands(r#"["tool --version", " ", "test -x /bin/sh"]"#).unwrap(),
            vec!["tool --version", "test -x /bin/sh"]
        );
        assert_eq!(
            commands("tool --version\n\n  echo ok  \n").unwrap(),
            vec!["tool --version", "echo ok"]
        );
        assert!(commands("").unwrap().is_empty());
    }

    #[test]
    fn refuses_broken_json_and_too_many() {
        assert!(commands(r#"["unterminated"#).is_err());
        assert!(commands(r#"[1, 2]"#).is_err());
        assert!(commands(&"true\n".repeat(MAX_COMMANDS + 1)).is_err());
    }
}
