//! Catalogue operations that combine the ports: streaming every visible container, and rebuilding
//! the search index from the store (the store is the source of truth).

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::ports::search::SearchIndex;
use crate::ports::store::{ContainerStore, ListCursor};
use crate::{Audience, Container, PortResult};

/// How many containers each step of a stream or a reindex reads at once.
pub const BATCH: usize = 500;

/// Every container the audience may see, newest first, read in batches so memory stays flat
/// whatever the size of the catalogue.
pub fn stream_containers(
    store: Arc<dyn ContainerStore>,
    audience: Audience,
) -> BoxStream<'static, PortResult<Container>> {
    stream_batches(store, audience)
        .map_ok(|batch| stream::iter(batch.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

/// The same containers as [`stream_containers`], a batch of up to [`BATCH`] at a time, for
/// callers that work per batch (serialising a response, indexing).
pub fn stream_batches(
    store: Arc<dyn ContainerStore>,
    audience: Audience,
) -> BoxStream<'static, PortResult<Vec<Container>>> {
    stream::try_unfold(Some(None), move |cursor: Option<Option<ListCursor>>| {
        let store = store.clone();
        let audience = audience.clone();
        async move {
            let Some(after) = cursor else { return Ok(None) };
            let batch = store.list_after(&audience, after.as_ref(), BATCH).await?;
            let next = if batch.len() < BATCH {
                None
            } else {
                batch.last().map(|c| Some(ListCursor::of(c)))
            };
            if batch.is_empty() {
                Ok(None)
            } else {
                Ok(Some((batch, next)))
            }
        }
    })
    .boxed()
}

/// Empties the search index and fills it again from the store. Returns how many containers
/// were indexed.
pub async fn reindex(store: Arc<dyn ContainerStore>, search: &dyn SearchIndex) -> PortResult<u64> {
    search.clear().await?;
    let mut batches = stream_containers(store, Audience::Everyone).try_chunks(BATCH);
    let mut indexed = 0u64;
    while let Some(batch) = batches.next().await {
        let batch = batch.map_err(|e| e.1)?;
        search.upsert(&batch).await?;
        indexed += batch.len() as u64;
    }
    Ok(indexed)
}
