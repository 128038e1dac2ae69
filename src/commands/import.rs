//! `bioshadock import …`: users (and access rules) from another registry's authentication. Every file is read
//! and checked whole before anything is written, so a file with a line it cannot take changes
//! nothing (unless `--skip-invalid`), and a second run of the same file changes nothing.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use bioshadock_backends::Accounts;
use bioshadock_core::PortError;
use bioshadock_core::accounts::{Role, User, UserName};
use bioshadock_core::config::Config;
use bioshadock_core::imports::{LineError, MAX_FILE_BYTES, docker_auth, htpasswd};
use bioshadock_core::orgs::OrgName;
use bioshadock_core::rules::RuleSet;
use serde_yaml::Value;

use crate::cli::ImportCommand;

pub async fn run(config: Config, command: ImportCommand) -> Result<()> {
    let accounts = super::accounts(&config).await?;
    let result = match command {
        ImportCommand::Htpasswd {
            file,
            role,
            skip_invalid,
            overwrite,
        } => {
            let text = read(&file)?;
            let (entries, errors) = htpasswd::parse(&text);
            let accounts_in_file = entries
                .into_iter()
                .map(|e| (e.line, e.name, e.hash))
                .collect();
            let options = Options {
                role: role.into(),
                skip_invalid,
                overwrite,
            };
            import_users(&accounts, accounts_in_file, errors, &options).await
        }
        ImportCommand::DockerAuth {
            file,
            role,
            skip_invalid,
            overwrite,
            replace_rules,
            deny_unmatched,
        } => {
            let text = read(&file)?;
            let (imported, errors) = docker_auth::parse(&text).map_err(|e| anyhow!("{e}"))?;
            let options = Options {
                role: role.into(),
                skip_invalid,
                overwrite,
            };
            // The rules are checked (whole) before any user is written.
            let rules = new_rules(
                &accounts,
                imported.acl.as_deref(),
                replace_rules,
                deny_unmatched,
            )
            .await?;
            let users = imported
                .users
                .into_iter()
                .map(|e| (e.line, e.name, e.hash))
                .collect();
            import_users(&accounts, users, errors, &options).await?;
            apply_rules(&accounts, rules).await?;
            for part in &imported.not_imported {
                println!("not imported: {part}");
            }
            if !deny_unmatched {
                println!(
                    "note: docker_auth denies whatever no rule matches; here the built-in rules \
                     decide for such callers (--deny-unmatched appends a rule that denies instead)"
                );
            }
            Ok(())
        }
    };
    accounts.close().await;
    result
}

struct Options {
    role: Role,
    skip_invalid: bool,
    overwrite: bool,
}

/// What one account of the file will do to the database.
enum Step {
    Create(User, String),
    Replace(UserName, String),
    Unchanged,
    Kept(UserName),
}

/// Plans every account (reads only), refuses on any error unless skipping, then applies.
async fn import_users(
    accounts: &Accounts,
    in_file: Vec<(usize, UserName, String)>,
    mut errors: Vec<LineError>,
    options: &Options,
) -> Result<()> {
    let mut steps = Vec::new();
    for (line, name, hash) in in_file {
        let org = OrgName::parse(name.as_str()).map_err(|e| anyhow!("{e}"))?;
        match accounts.orgs.get_org(&org).await {
            Ok(_) => {
                errors.push(LineError {
                    line,
                    message: format!("{name} is an organisation's name"),
                });
                continue;
            }
            Err(PortError::NotFound) => {}
            Err(e) => return Err(anyhow!(e).context("cannot read the accounts database")),
        }
        let step = match accounts.users.get_credentials(&name).await {
            Err(PortError::NotFound) => Step::Create(User::new(name, options.role), hash),
            Ok((_, stored)) if stored == hash => Step::Unchanged,
            // A directory account's password lives in the directory: never replaced here.
            Ok((user, _)) if !user.source.is_local() => Step::Kept(name),
            Ok(_) if options.overwrite => Step::Replace(name, hash),
            Ok(_) => Step::Kept(name),
            Err(e) => return Err(anyhow!(e).context("cannot read the accounts database")),
        };
        steps.push(step);
    }
    errors.sort_by_key(|e| e.line);
    for error in &errors {
        eprintln!("{error}");
    }
    if !errors.is_empty() && !options.skip_invalid {
        bail!(
            "nothing was imported: {} line(s) cannot be taken (fix them, or pass --skip-invalid \
             to import the others)",
            errors.len()
        );
    }
    let (mut created, mut replaced, mut unchanged, mut kept) = (0, 0, 0, Vec::new());
    for step in steps {
        match step {
            Step::Create(user, hash) => {
                accounts
                    .users
                    .create_user(&user, &hash)
                    .await
                    .with_context(|| format!("cannot create {}", user.name))?;
                created += 1;
            }
            Step::Replace(name, hash) => {
                accounts.users.set_password(&name, &hash).await?;
                replaced += 1;
            }
            Step::Unchanged => unchanged += 1,
            Step::Kept(name) => kept.push(name.to_string()),
        }
    }
    println!(
        "imported {created} users (role {}), replaced {replaced} passwords, {unchanged} unchanged, \
         {} existing kept, {} lines skipped",
        options.role.as_str(),
        kept.len(),
        errors.len()
    );
    if !kept.is_empty() {
        println!(
            "kept their current passwords (--overwrite replaces them): {}",
            kept.join(", ")
        );
    }
    Ok(())
}

/// The rules document an import leads to, checked, with the version it replaces; `None` when
/// it changes nothing (a second run).
async fn new_rules(
    accounts: &Accounts,
    acl: Option<&str>,
    replace: bool,
    deny_unmatched: bool,
) -> Result<Option<(String, u64, usize)>> {
    let current = accounts.rules.get_rules().await?;
    let mut added: Vec<Value> = match acl {
        Some(acl) => serde_yaml::from_str(acl)?,
        None => Vec::new(),
    };
    if deny_unmatched {
        added.push(serde_yaml::from_str(
            "{match: {}, actions: [], comment: \"deny whatever no rule above matches (as docker_auth does)\"}",
        )?);
    }
    let existing: Vec<Value> = if current.source.trim().is_empty() || replace {
        Vec::new()
    } else {
        serde_yaml::from_str(&current.source).context("the current access rules are not a list")?
    };
    if !replace && !added.is_empty() && existing.ends_with(&added) {
        return Ok(None);
    }
    let combined: Vec<Value> = existing.into_iter().chain(added).collect();
    let source = if combined.is_empty() {
        String::new()
    } else {
        serde_yaml::to_string(&combined)?
    };
    if source == current.source {
        return Ok(None);
    }
    let rules = RuleSet::parse(&source).map_err(|e| anyhow!("the imported rules: {e}"))?;
    Ok(Some((source, current.version, rules.len())))
}

async fn apply_rules(accounts: &Accounts, rules: Option<(String, u64, usize)>) -> Result<()> {
    match rules {
        None => println!("access rules unchanged"),
        Some((source, version, count)) => {
            accounts
                .rules
                .put_rules(&source, version)
                .await
                .context("the access rules changed meanwhile; run the import again")?;
            println!("access rules now hold {count} rules");
        }
    }
    Ok(())
}

/// The file's text, refusing files over [`MAX_FILE_BYTES`] before reading them.
fn read(path: &Path) -> Result<String> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("{} is not readable UTF-8 text", path.display()))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        bail!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_FILE_BYTES / (1024 * 1024)
        );
    }
    Ok(text)
}
