//! Bioshadock's core: the domain model, accounts, permissions, configuration, name rules, and the three ports
//! (`store`, `search`, `queue`) that the web portal and the builder talk to.
//!
//! Nothing here knows an HTTP framework or a database client: adapters live in
//! `bioshadock-backends` and are plugged in by the binary.

pub mod accounts;
pub mod audience;
pub mod base_images;
pub mod build_settings;
pub mod builder_status;
pub mod catalogue;
pub mod config;
pub mod descriptor;
pub mod edam;
pub mod error;
pub mod events;
pub mod git;
pub mod identity;
pub mod imports;
pub mod indexed;
pub mod model;
pub mod names;
pub mod net;
pub mod orgs;
pub mod permissions;
pub mod ports;
pub mod query;
pub mod registry_gc;
pub mod retention;
pub mod robots;
pub mod rules;
pub mod sealed;
pub mod secret;
pub mod tag_policy;
pub mod tokens;
pub mod tool;
pub mod triggers;
pub mod webhooks;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use audience::{Audience, Reader};
pub use error::{PortError, PortResult};
pub use model::{Access, Container, Member, MemberName, Tag, Visibility};
pub use names::{NameError, RepoName, TagName};
