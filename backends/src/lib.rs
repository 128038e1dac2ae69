//! Bioshadock's port adapters and the one function that builds them from configuration.
//!
//! Embedded mode: a SQLite database under `data_dir` holds the store (containers and
//! accounts), the queue and the web sessions; a tantivy index under `data_dir` is the search. Only the binary and tests depend on this crate: the
//! web portal and the builder see the ports of `bioshadock-core`, never a database type.

pub mod build;
pub mod memory_coordination;
pub mod memory_wakeups;
mod private_dir;
mod search_facets;
mod search_prefix;
pub mod sqlite;
pub mod tantivy_search;

// Distributed mode's backends (feature `external`, on by default).
#[cfg(feature = "external")]
pub mod elastic;
#[cfg(feature = "external")]
pub mod mongo;
#[cfg(feature = "external")]
pub mod redis_backend;

pub use build::{Accounts, Backends, open_accounts, open_backends};
pub use memory_coordination::MemoryCoordination;
pub use memory_wakeups::MemoryWakeups;
pub use sqlite::SqliteSessionStore;
