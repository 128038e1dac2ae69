//! The command line, as the contract in DESIGN.md §4 describes it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "bioshadock",
    version,
    about = "A container catalogue and build service for research labs"
)]
pub struct Cli {
    /// A TOML configuration file layered over the built-in defaults
    /// (environment variables `BIOSHADOCK__SECTION__KEY` override both).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal (and, in later versions, the builder) in one process on the embedded backends.
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
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
}
