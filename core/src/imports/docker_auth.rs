//! cesanta/docker_auth configuration files: their `users:` (bcrypt `password`s) and their
//! `acl:` (the rules' format this portal shares). Everything else in such a file (the server,
//! the token, external authentication: LDAP, OAuth, MongoDB, plugins) has no counterpart here
//! and is named, not silently dropped.

use serde_yaml::Value;

use super::LineError;
use super::htpasswd::Entry;
use crate::accounts::{UserName, check_bcrypt_hash};
use crate::rules::RuleSet;

/// What an import takes from a docker_auth configuration.
#[derive(Debug, Default)]
pub struct Imported {
    pub users: Vec<Entry>,
    /// The `acl:` list as a rules document (YAML), checked; `None` when the file has none.
    pub acl: Option<String>,
    /// How many rules `acl` holds.
    pub rules: usize,
    /// Parts of the file not imported, with why.
    pub not_imported: Vec<String>,
}

/// Reads a docker_auth configuration. Mistakes are reported with the line of the user or the
/// rule they are in (when the file's text shows it).
pub fn parse(text: &str) -> Result<(Imported, Vec<LineError>), LineError> {
    let root: Value = serde_yaml::from_str(text).map_err(|e| LineError {
        line: e.location().map_or(1, |l| l.line()),
        message: e.to_string(),
    })?;
    let Value::Mapping(root) = root else {
        return Err(LineError {
            line: 1,
            message: "a docker_auth configuration is a mapping (`users:`, `acl:`, ...)".into(),
        });
    };
    let mut imported = Imported::default();
    let mut errors = Vec::new();
    for (key, value) in &root {
        let key = key.as_str().unwrap_or_default();
        match key {
            "users" => users(text, value, &mut imported, &mut errors),
            "acl" => match serde_yaml::to_string(value) {
                Ok(source) => match RuleSet::parse(&source) {
                    Ok(rules) => {
                        imported.rules = rules.len();
                        imported.acl = Some(source);
                    }
                    Err(e) => errors.push(LineError {
                        line: line_of(text, "acl:").unwrap_or(1),
                        message: format!("acl: {}", e.message),
                    }),
                },
                Err(e) => errors.push(LineError {
                    line: line_of(text, "acl:").unwrap_or(1),
                    message: format!("acl: {e}"),
                }),
            },
            "server" | "token" => imported.not_imported.push(format!(
                "`{key}:` (this portal's own settings take its place)"
            )),
            other => imported.not_imported.push(format!(
                "`{other}:` (external authentication or storage has no counterpart here; its \
                 users must be created or imported otherwise)"
            )),
        }
    }
    Ok((imported, errors))
}

fn users(text: &str, value: &Value, imported: &mut Imported, errors: &mut Vec<LineError>) {
    let Value::Mapping(users) = value else {
        errors.push(LineError {
            line: line_of(text, "users:").unwrap_or(1),
            message: "`users:` must map names to `{password: ...}`".into(),
        });
        return;
    };
    for (name, fields) in users {
        let name = name.as_str().unwrap_or_default();
        let line = line_of(text, &format!("{name}:"))
            .or_else(|| line_of(text, &format!("\"{name}\":")))
            .unwrap_or(1);
        if name.is_empty() {
            imported.not_imported.push(
                "the anonymous user `\"\"` (anonymous callers follow `access.anonymous` and the \
                 rules)"
                    .into(),
            );
            continue;
        }
        if fields.get("labels").is_some() {
            imported.not_imported.push(format!(
                "the labels of `{name}` (the portal gives its own: `role` and `org`)"
            ));
        }
        let user = match UserName::parse(name) {
            Ok(user) => user,
            Err(e) => {
                errors.push(LineError {
                    line,
                    message: format!("user name `{name}`: {e}"),
                });
                continue;
            }
        };
        let Some(hash) = fields.get("password").and_then(Value::as_str) else {
            errors.push(LineError {
                line,
                message: format!("{name}: no `password`"),
            });
            continue;
        };
        if let Err(why) = check_bcrypt_hash(hash) {
            errors.push(LineError {
                line,
                message: format!("{name}: {why}"),
            });
            continue;
        }
        imported.users.push(Entry {
            line,
            name: user,
            hash: hash.to_owned(),
        });
    }
}

/// The first line of `text` holding `needle`, 1-based.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$05$SgEjIeIG7YcaBUXjdnF7ieBiL1XR8pg86K9rqIAFt0qfGzKbscyA2";

    #[test]
    fn users_and_acl_come_along_and_the_rest_is_named() {
        let text = format!(
            "server:\n  addr: \":5001\"\ntoken:\n  issuer: Acme\nusers:\n  admin:\n    password: \"{HASH}\"\n  \
             readonly:\n    password: \"{HASH}\"\n  \"\": {{}}\nacl:\n  - match: {{account: admin}}\n    actions: [\"*\"]\n  \
             - match: {{account: readonly}}\n    actions: [pull]\nldap_auth:\n  addr: ldap.example.org:636\n"
        );
        let (imported, errors) = parse(&text).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<&str> = imported.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["admin", "readonly"]);
        assert_eq!(imported.rules, 2);
        let rules = RuleSet::parse(imported.acl.as_deref().unwrap()).unwrap();
        assert_eq!(rules.len(), 2);
        let said = imported.not_imported.join("; ");
        for part in ["`server:`", "`token:`", "`ldap_auth:`", "anonymous user"] {
            assert!(said.contains(part), "{said}");
        }
    }

    #[test]
    fn mistakes_name_their_line() {
        let text = format!(
            "users:\n  admin:\n    password: \"$apr1$0Tul1DvU$Hp26wV7miJ8QB0WvjRjUX0\"\n  Bad:\n    password: \"{HASH}\"\n\
             acl:\n  - match: {{acount: x}}\n    actions: [pull]\n"
        );
        let (_, errors) = parse(&text).unwrap();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 6], "{errors:?}");
        assert!(errors[0].message.contains("MD5"));
        assert!(errors[2].message.contains("acount"));
        assert_eq!(parse("- a list\n").unwrap_err().line, 1);
        assert!(parse("users: [\n").is_err());
    }
}
