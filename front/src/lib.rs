//! The registry front: the listener at the registry's public address (`registry.front_listen`).
//! It forwards every `/v2/` request to the Distribution registry behind it, streaming bodies in
//! both directions, and lets the portal judge each manifest request before the registry acts
//! (immutable tags, blocked pulls) and count each pull as it happens. Distribution still checks
//! the tokens the portal issues: the front adds checks, it never grants.

mod forward;
mod gate;
mod route;
mod server;

pub use forward::Upstream;
pub use gate::{Gate, ManifestAction, ManifestCall, OpenGate, Refusal, Verdict};
pub use route::{INDEX_MEDIA_TYPES, is_digest};
pub use server::{Front, MAX_MANIFEST_BYTES, serve};
