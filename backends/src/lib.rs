//! Bioshadock's port adapters and the one function that builds them from configuration.
//!
//! Embedded mode: a SQLite database under `data_dir` holds the store and the queue; a tantivy
//! index under `data_dir` is the search. Only the binary and tests depend on this crate: the
//! web portal and the builder see the ports of `bioshadock-core`, never a database type.

pub mod build;
pub mod sqlite;
pub mod tantivy_search;

pub use build::{Backends, open_backends};
