//! The use cases: every change to the catalogue, the accounts and the builds, and the reads
//! that more than one front needs (search, paging). The JSON API, the pages and the registry
//! token service are thin adapters over these functions, so a rule is written once and holds
//! on every path; no page or registry module reaches into `api/` for one.
//!
//! Each function takes the caller's [`bioshadock_core::permissions::Principal`] or
//! [`bioshadock_core::permissions::Actor`], asks `core::permissions` what it may do, and
//! answers with an [`crate::error::ApiError`] that every front knows how to show.

pub mod audit;
pub mod base_rebuilds;
pub mod build_schedules;
pub mod build_secrets;
pub mod builds;
pub mod containers;
pub mod events;
pub mod identities;
pub mod keys;
pub mod orgs;
pub mod paging;
pub mod retention;
pub mod robots;
pub mod rules;
pub mod search;
pub mod storage;
pub mod stream;
pub mod tag_policies;
pub mod triggers;
pub mod users;
pub mod webhooks;
