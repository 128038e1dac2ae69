//! Bioshadock's builder: takes build jobs from the queue, clones the git source (git2), builds
//! the image on a Docker Engine (bollard), smoke-tests it, pushes it through the portal's token
//! service, and records every step and log line in the build store.
//!
//! - [`worker`]: the loop that leases jobs and supervises builds (timeout, cancel, shutdown);
//! - [`pipeline`]: one build's steps; [`recovery`]: nothing is left `running` by a dead worker;
//! - [`git`], [`context`], [`docker`]: the clone, the build context, the engine;
//! - [`log_sink`]: the log on its way to the store; [`smoke`]: the image's own tests.

/// Dockerfile base images (in core, where the portal reads them too).
pub use bioshadock_core::base_images;
pub mod context;
pub mod docker;
pub mod git;
pub mod labels;
pub mod log_sink;
pub mod pipeline;
pub mod recovery;
pub mod settings;
pub mod smoke;
pub mod worker;

pub use settings::BuilderSettings;
pub use worker::{WorkerPorts, run};
