//! What the builder of this process is doing, for the admin page and `/healthz`: whether it
//! runs here at all, whether it reaches a Docker Engine, and how many builds it runs.

use std::collections::BTreeMap;
use std::sync::RwLock;

/// A snapshot of the builder's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuilderState {
    /// A builder runs in this process (`serve`, `builder`); false in `web`.
    pub present: bool,
    /// The Docker Engine's version, while it answers.
    pub engine_version: Option<String>,
    /// Why builds cannot run now (no engine), in words for the admin.
    pub problem: Option<String>,
    /// Builds running now.
    pub running: usize,
    /// Parallel builds allowed.
    pub concurrency: usize,
    /// Builds this builder ended since it started, by final status (`success`, `failed`, …).
    pub ended: BTreeMap<&'static str, u64>,
}

/// Shared between the builder (writes) and the portal (reads).
#[derive(Debug, Default)]
pub struct BuilderStatus(RwLock<BuilderState>);

impl BuilderStatus {
    pub fn get(&self) -> BuilderState {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn update(&self, change: impl FnOnce(&mut BuilderState)) {
        change(&mut self.0.write().unwrap_or_else(|e| e.into_inner()));
    }
}
