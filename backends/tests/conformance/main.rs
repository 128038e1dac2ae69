//! Runs the conformance suites of `bioshadock-core` against the embedded backends.

mod queue;
mod search;
mod store;
