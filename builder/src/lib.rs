//! Bioshadock's build worker.
//!
//! It will take build jobs from the queue port, clone with git2, build with bollard on a Docker
//! Engine, push to the registry and stream logs into the store. That work is issue #5; the crate
//! exists now so the workspace has its final shape and `serve` can wire it in without moving code.
