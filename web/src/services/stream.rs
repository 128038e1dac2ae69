//! Following the event stream. A consumer (the webhook dispatcher, the base-image rebuilds)
//! keeps a cursor, the id of the last event it handled, reads the events after it in order,
//! and moves it only once they are handled: a process that dies mid-batch loses nothing, and
//! the next one handles that batch again (so handling must bear a repeat).

use bioshadock_core::PortResult;
use bioshadock_core::events::{EventFilter, Recorded};

use crate::state::AppState;

/// Events read per batch.
pub const EVENTS_PER_READ: usize = 200;
/// Full batches read in one look, at most: a backlog is worked through quickly, and one look
/// still ends in bounded time.
pub const READS_PER_LOOK: usize = 10;
/// An id missing from the stream may be an append still on its way (MongoDB hands ids out
/// before it inserts): events after such a gap wait this long before the gap is passed over.
const GAP_GRACE: chrono::Duration = chrono::Duration::seconds(5);

/// One batch of the events after a cursor, ready to be handled in order.
pub struct Batch {
    /// The events after the cursor, oldest first, cut before an event that follows a gap
    /// younger than [`GAP_GRACE`].
    pub events: Vec<Recorded>,
    /// Whether the read was full and nothing was cut (more may be waiting).
    pub full: bool,
}

/// The next batch after `cursor`. The consumer handles its events in order and then moves its
/// cursor to the last one's id.
pub async fn batch_after(state: &AppState, cursor: u64) -> PortResult<Batch> {
    let mut events = state.events.read_after(cursor, EVENTS_PER_READ).await?;
    let read = events.len();
    let now = bioshadock_core::model::now();
    let mut last = cursor;
    let passable = events
        .iter()
        .take_while(|recorded| {
            let after_a_gap = last != 0 && recorded.id != last + 1;
            last = recorded.id;
            !(after_a_gap && recorded.at > now - GAP_GRACE)
        })
        .count();
    events.truncate(passable);
    // Cut short by a gap: the rest waits for the next look, not the next read.
    let full = read == EVENTS_PER_READ && passable == read;
    Ok(Batch { events, full })
}

/// The id of the newest event, if there is one: where a consumer with nothing to do, or
/// starting afresh, moves its cursor.
pub async fn newest(state: &AppState) -> PortResult<Option<u64>> {
    let everything = EventFilter::default();
    let newest = state.events.query(&everything, None, 1).await?;
    Ok(newest.first().map(|r| r.id))
}
