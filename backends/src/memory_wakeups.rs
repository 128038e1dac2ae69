//! Live-log wake-ups in the process's memory, for embedded mode: one broadcast channel of
//! build ids, each subscriber keeping those of its build. Also the local fan-out of the Redis
//! adapter, which feeds it from one pub/sub connection.

use async_trait::async_trait;
use bioshadock_core::PortResult;
use bioshadock_core::ports::log_wakeups::{LogWakeups, Wakeups};
use futures::StreamExt;
use tokio::sync::broadcast::{self, error::RecvError};

/// Notifies a slow subscriber may fall behind by before it misses some; it then wakes once
/// (it cannot tell whose they were) and reads the store, which loses nothing.
const BACKLOG: usize = 1024;

#[derive(Clone)]
pub struct MemoryWakeups {
    sender: broadcast::Sender<i64>,
}

impl Default for MemoryWakeups {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl MemoryWakeups {
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes this process's subscribers of `build_id`.
    pub fn wake(&self, build_id: i64) {
        // An error only means nobody is subscribed.
        let _ = self.sender.send(build_id);
    }

    /// This process's wake-ups of `build_id`.
    pub fn wakeups(&self, build_id: i64) -> Wakeups {
        futures::stream::unfold(self.sender.subscribe(), move |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(id) if id == build_id => return Some(((), receiver)),
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => return Some(((), receiver)),
                    Err(RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }
}

#[async_trait]
impl LogWakeups for MemoryWakeups {
    async fn notify(&self, build_id: i64) -> PortResult<()> {
        self.wake(build_id);
        Ok(())
    }

    async fn subscribe(&self, build_id: i64) -> PortResult<Wakeups> {
        Ok(self.wakeups(build_id))
    }
}
