//! Runs the conformance suites of `bioshadock-core` against the embedded backends.

mod accounts;
mod builds;
mod coordination;
mod log_wakeups;
mod orgs;
mod queue;
mod search;
mod sessions;
mod store;

// The external backends, against real servers or the stand-ins of docs/testing.md.
#[cfg(feature = "external")]
mod elastic;
#[cfg(feature = "external")]
mod mongo;
#[cfg(feature = "external")]
mod mongo_accounts;
#[cfg(feature = "external")]
mod redis_backend;
