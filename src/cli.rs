//! The command line, as the README's Commands section describes it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "bioshadock",
    version,
    about = "A container catalogue and build service for research labs"
)]
pub struct Cli {
    /// A TOML configuration file layered over the built-in defaults
    /// (environment variables `BIOSHADOCK__SECTION__KEY` override both).
    #[arg(long, global = true, value_name = "FILE", env = "BIOSHADOCK_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal and a builder in one process (embedded backends by default).
    Serve,
    /// Run only the web portal (distributed mode: needs the external backends).
    Web,
    /// Run only a build worker (distributed mode: needs the external backends).
    Builder,
    /// Fill the catalogue with clearly synthetic demo containers (stop `serve` first).
    Seed {
        /// How many containers to create.
        #[arg(long, default_value_t = 50)]
        containers: u64,
    },
    /// Rebuild the search index from the store (stop `serve` first).
    Reindex,
    /// Copy everything (users, API keys, containers, builds and logs) from the configured
    /// backends to those of FILE, rebuild its search index, and verify counts and checksums
    /// (stop `serve` first).
    Migrate {
        /// The target's configuration (e.g. the distributed mode's).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Copy into a target that already holds users or containers (safe to repeat).
        #[arg(long)]
        force: bool,
    },
    /// Print a Docker Distribution `config.yml` wired to this portal: token realm, service,
    /// issuer, root certificate, notification endpoint and secret.
    RegistryConfig {
        /// Address the registry listens on (default: host and port of `registry.url`).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Where the registry stores images (default: `DATA_DIR/registry`).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// The portal's URL as the registry reaches it, for notifications (default:
        /// `web.public_url`), e.g. `http://web:8080` inside docker-compose.
        #[arg(long, value_name = "URL")]
        notify_url: Option<String>,
    },
    /// Mint a token, call the registry with it, and say in plain words what is misconfigured
    /// (reachability, realm, service, issuer, certificate, clock).
    RegistryCheck,
    /// Free the space of deleted and overwritten images: restart the registry `serve` spawned
    /// in read-only mode, run Distribution's garbage-collect, and restart it read-write again
    /// (always, also when collection fails). For another registry, print the steps instead.
    RegistryGc {
        /// Only report what garbage-collect would delete; the registry is left alone.
        #[arg(long)]
        dry_run: bool,
        /// Stop garbage-collect (and restore the registry) after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 3600,
              value_parser = clap::value_parser!(u64).range(1..))]
        timeout_secs: u64,
    },
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
    /// Manage local accounts and their API keys (works while `serve` is running).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage organisations (works while `serve` is running).
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Bring users along from another registry's authentication (works while `serve` runs).
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Read the audit log (works while `serve` runs).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

/// `bioshadock audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the audit log as JSON lines, oldest first (one event a line, with its id and time).
    Export {
        /// Only events at or after this time: RFC 3339 (`2026-12-01T00:00:00Z`) or a day
        /// (`2026-12-01`, from midnight UTC).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
    },
}

/// `bioshadock import …`: idempotent; a file with a line it cannot take changes nothing
/// unless `--skip-invalid`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an Apache htpasswd file's bcrypt accounts (`htpasswd -B`); their passwords keep
    /// working (web, API, docker login) and are re-hashed with argon2id at the first sign-in.
    Htpasswd {
        /// The htpasswd file.
        file: PathBuf,
        /// The role of the users created.
        #[arg(long, value_enum, default_value = "user")]
        role: RoleArg,
        /// Import the lines that can be taken and report the others, instead of nothing.
        #[arg(long)]
        skip_invalid: bool,
        /// Replace the password of users that already exist (default: leave them alone).
        #[arg(long)]
        overwrite: bool,
    },
    /// Import a cesanta/docker_auth configuration: its `users:` (bcrypt passwords, which keep
    /// working) and its `acl:`, appended to the access rules. What has no counterpart here is
    /// named in the summary.
    DockerAuth {
        /// The docker_auth configuration file (`auth_config.yml`).
        file: PathBuf,
        /// The role of the users created.
        #[arg(long, value_enum, default_value = "user")]
        role: RoleArg,
        /// Import what can be taken and report the rest, instead of nothing.
        #[arg(long)]
        skip_invalid: bool,
        /// Replace the password of users that already exist (default: leave them alone).
        #[arg(long)]
        overwrite: bool,
        /// Replace the current access rules instead of appending to them.
        #[arg(long)]
        replace_rules: bool,
        /// Append a last rule that denies whatever no rule matches, as docker_auth does (here
        /// the built-in rules decide for such callers otherwise).
        #[arg(long)]
        deny_unmatched: bool,
    },
}

/// `bioshadock org …`: organisations, from the administrator's side.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation (a namespace its members share) with its first owner.
    Add {
        /// The organisation's name, which is also its namespace (lowercase, like `genomics-core`).
        name: String,
        /// The existing user who owns it first (owners then manage members on the web or API).
        #[arg(long, value_name = "USER")]
        owner: String,
        /// Markdown shown on its page (at most 4096 characters).
        #[arg(long, default_value = "", value_name = "TEXT")]
        description: String,
    },
    /// List the organisations: name, number of members and teams, owners.
    List,
}

/// `bioshadock user …`: every one of them works while `serve` runs on the same `data_dir`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a local user; without `--password-stdin`, a generated password is printed once.
    Add {
        /// The user name, which is also the user's namespace (lowercase, like `alice`).
        name: String,
        /// Make the user an admin (may manage everything, including accounts).
        #[arg(long, conflicts_with = "editor")]
        admin: bool,
        /// Make the user an editor (may also publish into the curated `library/` namespace).
        #[arg(long)]
        editor: bool,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Mint an API key for a user and print it alone on standard output, once.
    Apikey {
        /// The user who will own the key.
        name: String,
        /// What the key is for, shown in the user's list of keys.
        #[arg(long, default_value = "command line", value_name = "TEXT")]
        label: String,
        /// What the key may do: a comma-separated list of read, build and push (default: all).
        #[arg(long, value_name = "LIST")]
        scopes: Option<String>,
        /// Make the key expire after this many days (default: never).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_days: Option<u32>,
    },
    /// Set a new password; without `--password-stdin`, a generated one is printed once.
    Passwd {
        /// The user whose password changes.
        name: String,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role.
    Role {
        /// The user whose role changes.
        name: String,
        /// The new role.
        role: RoleArg,
    },
    /// Stop a user from logging in; their sessions and API keys stop working too.
    Disable {
        /// The user to disable.
        name: String,
    },
    /// Let a disabled user back in.
    Enable {
        /// The user to enable.
        name: String,
    },
    /// List the users: name, role, whether disabled.
    List,
}

/// A role as written on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// May see and manage everything, including accounts.
    Admin,
    /// May also publish into and manage the curated `library/` namespace.
    Editor,
    /// Owns their namespace and what they are a member of.
    User,
}

impl From<RoleArg> for bioshadock_core::accounts::Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Self::Admin,
            RoleArg::Editor => Self::Editor,
            RoleArg::User => Self::User,
        }
    }
}
