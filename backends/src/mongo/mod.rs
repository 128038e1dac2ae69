//! The MongoDB backend of distributed mode: the catalogue store, the accounts and the build
//! records, one collection each, in the database named by `storage.mongodb_url`.
//!
//! Each adapter takes the [`Database`] and creates its indexes at start-up
//! (`ensure_indexes`), so a fresh database is ready without a migration step.

pub mod accounts;
pub mod builds;
pub mod events;
mod orgs;
mod robots;
mod rules;
pub mod store;
pub mod triggers;
pub mod webhooks;

use bioshadock_core::{PortError, PortResult};
use mongodb::error::{Error, ErrorKind, WriteFailure};
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

/// A value as the JSON text a document keeps in its `doc` field.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> PortResult<String> {
    serde_json::to_string(value).map_err(PortError::backend)
}

/// The value kept as JSON in `d`'s `doc` field; `what` names it in the error.
pub(crate) fn from_doc_field<T: serde::de::DeserializeOwned>(
    d: &mongodb::bson::Document,
    what: &str,
) -> PortResult<T> {
    let corrupt = |why: String| PortError::Backend(format!("corrupt {what}: {why}").into());
    let text = d.get_str("doc").map_err(|_| corrupt("no doc".into()))?;
    serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))
}

/// A `$set` on the document `id` of `collection`; `NotFound` if there is none.
pub(crate) async fn set_by_id(
    collection: &mongodb::Collection<mongodb::bson::Document>,
    id: &str,
    set: mongodb::bson::Document,
) -> PortResult<()> {
    let done = collection
        .update_one(
            mongodb::bson::doc! { "_id": id },
            mongodb::bson::doc! { "$set": set },
        )
        .await
        .map_err(map_err)?;
    if done.matched_count == 0 {
        return Err(PortError::NotFound);
    }
    Ok(())
}

/// Deletes the document `id` of `collection`; `NotFound` if there is none.
pub(crate) async fn delete_by_id(
    collection: &mongodb::Collection<mongodb::bson::Document>,
    id: &str,
) -> PortResult<()> {
    let done = collection
        .delete_one(mongodb::bson::doc! { "_id": id })
        .await
        .map_err(map_err)?;
    if done.deleted_count == 0 {
        return Err(PortError::NotFound);
    }
    Ok(())
}

/// The `value` of the cursor document `id` of `counters` (where a follower of the event
/// stream stands); `None` when it was never written.
pub(crate) async fn cursor_value(
    counters: &mongodb::Collection<mongodb::bson::Document>,
    id: &str,
) -> PortResult<Option<u64>> {
    use mongodb::bson::Bson;
    let found = counters
        .find_one(mongodb::bson::doc! { "_id": id })
        .await
        .map_err(map_err)?;
    let value = match found.as_ref().and_then(|d| d.get("value")) {
        None => return Ok(None),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(other) => {
            return Err(PortError::Backend(
                format!("corrupt cursor {id}: {other:?}").into(),
            ));
        }
    };
    Ok(Some(u64::try_from(value).unwrap_or(0)))
}

/// Moves the cursor document `id` of `counters` forward to `event_id`: moved where it is
/// behind, created where it is missing, left where it is at or past it.
pub(crate) async fn raise_cursor(
    counters: &mongodb::Collection<mongodb::bson::Document>,
    id: &str,
    event_id: u64,
) -> PortResult<()> {
    use mongodb::bson::doc;
    let value = i64::try_from(event_id).unwrap_or(i64::MAX);
    let moved = counters
        .update_one(
            doc! { "_id": id, "value": { "$lt": value } },
            doc! { "$set": { "value": value } },
        )
        .await
        .map_err(map_err)?;
    if moved.matched_count == 0 {
        match counters
            .insert_one(doc! { "_id": id, "value": value })
            .await
        {
            Ok(_) => {}
            // It exists, at or past `value`.
            Err(e) => match map_err(e) {
                PortError::Conflict(_) => {}
                other => return Err(other),
            },
        }
    }
    Ok(())
}

/// Turns a driver error into the port's terms, for every MongoDB adapter: a duplicate key is
/// `Conflict` (code 11000, or "E11000"/"duplicate key" in the message: the stand-in of
/// docs/testing.md sends command errors without a code); no reachable server, a timeout or a
/// retryable write is `Unavailable`; anything else is `Backend`.
pub(crate) fn map_err(err: Error) -> PortError {
    const DUPLICATE_KEY: i32 = 11000;
    let coded = match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::Command(e) => e.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(e) => e
            .write_errors
            .iter()
            .flatten()
            .any(|e| e.code == DUPLICATE_KEY),
        _ => false,
    };
    let text = err.to_string();
    if coded || text.contains("duplicate key") || text.contains("E11000") {
        return PortError::Conflict(format!("already exists: {text}"));
    }
    match err.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => PortError::Unavailable(format!("MongoDB: {text}")),
        _ if err.contains_label("RetryableWriteError") => {
            PortError::Unavailable(format!("MongoDB: {text}"))
        }
        _ => PortError::backend(err),
    }
}
