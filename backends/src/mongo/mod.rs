//! The MongoDB backend of distributed mode: the catalogue store, the accounts and the build
//! records, one collection each, in the database named by `storage.mongodb_url`.
//!
//! Each adapter takes the [`Database`] and creates its indexes at start-up
//! (`ensure_indexes`), so a fresh database is ready without a migration step.

pub mod accounts;
pub mod builds;
pub mod store;

use bioshadock_core::{PortError, PortResult};
use mongodb::{Client, Database};

/// The database of `url` (`mongodb://host:27017/bioshadock`; `bioshadock` when the URL names
/// none), after checking that the server answers.
pub async fn open(url: &str) -> PortResult<Database> {
    let client = Client::with_uri_str(url)
        .await
        .map_err(|e| PortError::Unavailable(format!("MongoDB at storage.mongodb_url: {e}")))?;
    let database = client
        .default_database()
        .unwrap_or_else(|| client.database("bioshadock"));
    database
        .run_command(mongodb::bson::doc! { "ping": 1 })
        .await
        .map_err(|e| PortError::Unavailable(format!("MongoDB does not answer: {e}")))?;
    Ok(database)
}
