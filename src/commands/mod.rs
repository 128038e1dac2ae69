//! One module per command; each loads what it needs and nothing more.

mod audit;
mod builder;
mod import;
mod migrate;
mod openapi;
mod org;
mod registry;
mod registry_check;
mod registry_gc;
mod reindex;
mod seed;
mod serve;
mod spawn;
mod user;

use anyhow::{Context, Result};
use bioshadock_backends::{Backends, open_backends};
use bioshadock_core::config::Config;

use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Openapi => openapi::run(),
        command => {
            let config = Config::load(cli.config.as_deref())?;
            match command {
                Command::Serve => {
                    serve::run(config, cli.config.as_deref(), serve::Role::Everything).await
                }
                Command::Web => {
                    serve::run(config, cli.config.as_deref(), serve::Role::PortalOnly).await
                }
                Command::Builder => builder::run(config).await,
                Command::Seed { containers } => seed::run(config, containers).await,
                Command::Reindex => reindex::run(config).await,
                Command::Migrate { to, force } => migrate::run(config, &to, force).await,
                Command::User { command } => user::run(config, command).await,
                Command::Org { command } => org::run(config, command).await,
                Command::Import { command } => import::run(config, command).await,
                Command::Audit { command } => audit::run(config, command).await,
                Command::RegistryCheck => registry_check::run(config).await,
                Command::RegistryGc {
                    dry_run,
                    timeout_secs,
                } => {
                    let timeout = std::time::Duration::from_secs(timeout_secs);
                    registry_gc::run(config, dry_run, timeout).await
                }
                Command::RegistryConfig {
                    listen,
                    root,
                    notify_url,
                } => registry::print_config(&config, listen, root, notify_url.as_deref()),
                Command::Openapi => unreachable!("handled above"),
            }
        }
    }
}

/// Opens the configured backends, explaining the usual reason when the embedded ones are busy.
/// The accounts half of the store alone (users, keys, organisations, robots), for the commands
/// that work while `serve` runs.
async fn accounts(config: &Config) -> Result<bioshadock_backends::Accounts> {
    bioshadock_backends::open_accounts(config)
        .await
        .with_context(|| {
            format!(
                "cannot open the accounts database in {}",
                config.data_dir.display()
            )
        })
}

async fn backends(config: &Config) -> Result<Backends> {
    open_backends(config).await.with_context(|| {
        format!(
            "cannot open the data in {} (is `bioshadock serve` already running on it? stop it first)",
            config.data_dir.display()
        )
    })
}
