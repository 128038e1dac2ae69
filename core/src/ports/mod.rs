//! The ports (the store's accounts half in `accounts`, the web processes' shared state in `coordination`). Each is a small trait, held as `Arc<dyn …>` and chosen once at start-up.
//! Every backend passes the same conformance suite (`crate::conformance`, feature `conformance`).

pub mod accounts;
pub mod builds;
pub mod coordination;
pub mod directory;
pub mod events;
pub mod log_wakeups;
pub mod openid;
pub mod orgs;
pub mod queue;
pub mod robots;
pub mod rules;
pub mod search;
pub mod store;
pub mod triggers;
pub mod webhooks;
