//! The Redis backend of distributed mode: the job queue, the web sessions and the web
//! processes' coordination (login throttling, event dedupe, locks), on the Redis server named by
//! `queue.redis_url`.
//!
//! The adapters share one [`ConnectionManager`] (a multiplexed connection that reconnects by
//! itself) and keep their keys under one prefix ([`DEFAULT_PREFIX`] unless configured), so one
//! Redis can serve several installations, or several tests, side by side. The key layouts are
//! documented at the top of [`queue`], [`sessions`] and [`coordination`].
//!
//! The URL may carry a password: it is never logged nor put in an error message.

pub mod coordination;
pub mod queue;
pub mod sessions;
pub mod wakeups;

use std::time::Duration;

use bioshadock_core::{PortError, PortResult};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use coordination::RedisCoordination;
pub use queue::RedisQueue;
pub use sessions::RedisSessionStore;

/// The key prefix of a default installation.
pub const DEFAULT_PREFIX: &str = "bioshadock:";

/// How long a connection attempt may take before start-up gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnection attempts before start-up gives up (the manager keeps retrying later on).
const CONNECT_RETRIES: usize = 2;
/// How long a command may wait for its answer (the client's default, 500 ms, is short for a
/// Redis across a network or a reap of many jobs). A command that times out may still have
/// run: callers see `Unavailable` and retry, which dedupe keys make safe for enqueues.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to the Redis at `url` (`redis://[:password@]host:6379[/db]`) and checks that it
/// answers. `Unavailable`, naming the `queue.redis_url` setting but never its value, otherwise.
pub async fn connect(url: &str) -> PortResult<ConnectionManager> {
    let unavailable =
        |e: redis::RedisError| PortError::Unavailable(format!("Redis at queue.redis_url: {e}"));
    let client = redis::Client::open(url).map_err(unavailable)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(CONNECT_RETRIES);
    let mut conn = ConnectionManager::new_with_config(client, config)
        .await
        .map_err(unavailable)?;
    redis::cmd("PING")
        .query_async::<()>(&mut conn)
        .await
        .map_err(unavailable)?;
    Ok(conn)
}

/// Turns a Redis error into the port's terms: connection trouble is `Unavailable` (retrying
/// later may work), anything else is a backend failure. Redis errors carry no URL.
pub(crate) fn map_err(err: redis::RedisError) -> PortError {
    if err.is_io_error()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        || err.is_timeout()
    {
        PortError::Unavailable(format!("Redis: {err}"))
    } else {
        PortError::backend(err)
    }
}

/// An error for stored values that cannot be read back into the model.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> PortError {
    PortError::Backend(format!("corrupt Redis value: {what}").into())
}
