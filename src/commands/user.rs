//! `bioshadock user …`: local accounts and their API keys, from the command line.
//!
//! These commands open only the accounts database and take no `data_dir` lock, so they work
//! while `serve` runs. A password or key is printed once on standard output and never logged.

use std::io::{BufRead, Read};

use anyhow::{Context, Result, anyhow, bail};
use bioshadock_backends::Accounts;
use bioshadock_core::PortError;
use bioshadock_core::accounts::{
    ApiKey, KeySecret, MAX_PASSWORD_LEN, Role, Scopes, User, UserName, hash_password,
};
use bioshadock_core::config::Config;
use bioshadock_core::model::now;
use chrono::TimeDelta;
use rand::Rng;
use rand::distr::Alphanumeric;

use crate::cli::UserCommand;

/// Long enough to resist guessing, short enough to type once before changing it.
const GENERATED_PASSWORD_LEN: usize = 20;
const MAX_LABEL_LEN: usize = 100;

pub async fn run(config: Config, command: UserCommand) -> Result<()> {
    // Reading standard input and hashing a password both block: keep them off the runtime.
    let action = tokio::task::spawn_blocking(move || Action::prepare(command))
        .await
        .context("the command stopped unexpectedly")??;
    let accounts = super::accounts(&config).await?;
    let result = action.execute(&accounts).await;
    accounts.close().await;
    result
}

/// A command whose input has been checked, ready to run against the database.
enum Action {
    Add(User, NewPassword),
    Apikey(UserName, ApiKeyRequest),
    Passwd(UserName, NewPassword),
    Role(UserName, Role),
    SetDisabled(UserName, bool),
    List,
}

struct ApiKeyRequest {
    label: String,
    scopes: Scopes,
    expires_days: Option<u32>,
}

/// A password to store, and the generated one to show once (`None` when the user chose it).
struct NewPassword {
    hash: String,
    shown: Option<String>,
}

impl Action {
    /// Validates everything that needs no database, so bad input changes nothing.
    fn prepare(command: UserCommand) -> Result<Self> {
        Ok(match command {
            UserCommand::Add {
                name,
                admin,
                editor,
                password_stdin,
            } => {
                let role = match (admin, editor) {
                    (true, _) => Role::Admin,
                    (false, true) => Role::Editor,
                    (false, false) => Role::User,
                };
                let user = User::new(user_name(&name)?, role);
                Self::Add(user, NewPassword::new(password_stdin)?)
            }
            UserCommand::Apikey {
                name,
                label,
                scopes,
                expires_days,
            } => {
                let label = label.trim().to_owned();
                if label.is_empty() || label.chars().count() > MAX_LABEL_LEN {
                    bail!("--label must be between 1 and {MAX_LABEL_LEN} characters");
                }
                let scopes = match scopes {
                    Some(list) => {
                        Scopes::parse_list(&list).map_err(|e| anyhow!("--scopes: {e}"))?
                    }
                    None => Scopes::all(),
                };
                let request = ApiKeyRequest {
                    label,
                    scopes,
                    expires_days,
                };
                Self::Apikey(user_name(&name)?, request)
            }
            UserCommand::Passwd {
                name,
                password_stdin,
            } => Self::Passwd(user_name(&name)?, NewPassword::new(password_stdin)?),
            UserCommand::Role { name, role } => Self::Role(user_name(&name)?, role.into()),
            UserCommand::Disable { name } => Self::SetDisabled(user_name(&name)?, true),
            UserCommand::Enable { name } => Self::SetDisabled(user_name(&name)?, false),
            UserCommand::List => Self::List,
        })
    }

    async fn execute(self, accounts: &Accounts) -> Result<()> {
        match self {
            Self::Add(user, password) => {
                accounts
                    .users
                    .create_user(&user, &password.hash)
                    .await
                    .map_err(|e| match e {
                        PortError::Conflict(_) => anyhow!("user `{}` already exists", user.name),
                        other => anyhow!(other).context("cannot create the user"),
                    })?;
                let created = format!("created {} \"{}\"", user.role.as_str(), user.name);
                match password.shown {
                    Some(shown) => {
                        println!("{created}; password: {shown} (shown once: store it now)")
                    }
                    None => println!("{created}"),
                }
            }
            Self::Apikey(name, request) => {
                let user = accounts
                    .users
                    .get_user(&name)
                    .await
                    .map_err(|e| user_error(e, &name))?;
                let secret = KeySecret::generate();
                let created_at = now();
                let key = ApiKey {
                    id: secret.id().to_owned(),
                    user: name.clone(),
                    label: request.label,
                    scopes: request.scopes,
                    created_at,
                    expires_at: request
                        .expires_days
                        .map(|days| created_at + TimeDelta::days(days.into())),
                    last_used_at: None,
                    revoked: false,
                };
                accounts
                    .keys
                    .create_key(&key, &secret.hash())
                    .await
                    .map_err(|e| user_error(e, &name))?;
                if user.disabled {
                    eprintln!(
                        "note: `{name}` is disabled; the key works once `bioshadock user enable {name}` is run"
                    );
                }
                println!("{}", secret.expose());
            }
            Self::Passwd(name, password) => {
                let user = accounts
                    .users
                    .get_user(&name)
                    .await
                    .map_err(|e| user_error(e, &name))?;
                if !user.source.is_local() {
                    bail!(
                        "`{name}` signs in through {} and has no password here: change it there",
                        user.source
                    );
                }
                accounts
                    .users
                    .set_password(&name, &password.hash)
                    .await
                    .map_err(|e| user_error(e, &name))?;
                match password.shown {
                    Some(shown) => {
                        println!("new password for \"{name}\": {shown} (shown once: store it now)")
                    }
                    None => println!("password changed for \"{name}\""),
                }
            }
            Self::Role(name, role) => {
                accounts
                    .users
                    .set_role(&name, role)
                    .await
                    .map_err(|e| user_error(e, &name))?;
                println!("\"{name}\" is now {}", role.as_str());
                warn_if_no_admin(accounts).await?;
            }
            Self::SetDisabled(name, disabled) => {
                accounts
                    .users
                    .set_disabled(&name, disabled)
                    .await
                    .map_err(|e| user_error(e, &name))?;
                let state = if disabled { "disabled" } else { "enabled" };
                println!("\"{name}\" is now {state}");
                warn_if_no_admin(accounts).await?;
            }
            Self::List => {
                let users = accounts.users.list_users().await?;
                print!("{}", table(&users));
                if users.is_empty() {
                    eprintln!("no users yet: create one with `bioshadock user add NAME --admin`");
                }
            }
        }
        Ok(())
    }
}

impl NewPassword {
    /// Reads the password from standard input, or generates one to show once.
    fn new(from_stdin: bool) -> Result<Self> {
        let (password, shown) = if from_stdin {
            (read_password_line()?, false)
        } else {
            (generate_password(), true)
        };
        let hash = hash_password(&password)?;
        Ok(Self {
            hash,
            shown: shown.then_some(password),
        })
    }
}

/// The first line of standard input, without its line ending.
fn read_password_line() -> Result<String> {
    let mut line = String::new();
    // Bounded: a longer line is refused by the length rule anyway.
    std::io::stdin()
        .lock()
        .take(MAX_PASSWORD_LEN as u64 * 4 + 2)
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    Ok(password.to_owned())
}

fn generate_password() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(GENERATED_PASSWORD_LEN)
        .map(char::from)
        .collect()
}

fn user_name(raw: &str) -> Result<UserName> {
    UserName::parse(raw).map_err(|e| anyhow!("`{raw}` is not a valid user name: {e}"))
}

/// Names the user when the store says it does not exist.
fn user_error(error: PortError, name: &UserName) -> anyhow::Error {
    match error {
        PortError::NotFound => anyhow!("no user `{name}` (see `bioshadock user list`)"),
        other => anyhow!(other).context("cannot update the accounts database"),
    }
}

/// Demoting or disabling the last admin is allowed (this is the recovery tool), but said.
async fn warn_if_no_admin(accounts: &Accounts) -> Result<()> {
    let users = accounts.users.list_users().await?;
    if !users.iter().any(|u| u.is_admin() && !u.disabled) {
        eprintln!(
            "note: no enabled admin is left; make one with `bioshadock user role NAME admin`"
        );
    }
    Ok(())
}

/// NAME, ROLE, DISABLED and CREATED columns, aligned.
fn table(users: &[User]) -> String {
    let width = users
        .iter()
        .map(|u| u.name.as_str().len())
        .chain(["NAME".len()])
        .max()
        .unwrap_or_default();
    let mut out = format!(
        "{:width$}  {:6}  {:8}  {:16}  SOURCE\n",
        "NAME", "ROLE", "DISABLED", "CREATED"
    );
    for user in users {
        out.push_str(&format!(
            "{:width$}  {:6}  {:8}  {:16}  {}\n",
            user.name.as_str(),
            user.role.as_str(),
            if user.disabled { "yes" } else { "no" },
            user.created_at.format("%Y-%m-%d %H:%M").to_string(),
            user.source,
        ));
    }
    out
}
