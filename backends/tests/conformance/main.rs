//! Runs the conformance suites of `bioshadock-core` against the embedded backends.

mod accounts;
mod builds;
mod queue;
mod search;
mod sessions;
mod store;
