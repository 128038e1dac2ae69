//! `bioshadock import …`: users from another registry's authentication. Every file is read
//! and checked whole before anything is written, so a file with a line it cannot take changes
//! nothing (unless `--skip-invalid`), and a second run of the same file changes nothing.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use bioshadock_backends::Accounts;
use bioshadock_core::PortError;
use bioshadock_core::accounts::{Role, User, UserName};
use bioshadock_core::config::Config;
use bioshadock_core::imports::{LineError, MAX_FILE_BYTES, htpasswd};
use bioshadock_core::orgs::OrgName;

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
