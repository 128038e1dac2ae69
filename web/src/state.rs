//! The application state: one struct of shared handles that handlers pick from.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;
use bioshadock_core::ports::queue::JobQueue;
use bioshadock_core::ports::search::SearchIndex;
use bioshadock_core::ports::store::ContainerStore;

use crate::metrics::Metrics;

/// What the portal needs to know of the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Containers per catalogue or search page.
    pub page_size: usize,
    /// Host (and port) shown in `docker pull` lines.
    pub pull_host: String,
    /// The portal's own public URL, for absolute links.
    pub public_url: String,
}

/// Shared handles, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn ContainerStore>,
    pub search: Arc<dyn SearchIndex>,
    pub queue: Arc<dyn JobQueue>,
    pub settings: Arc<WebSettings>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) started: Instant,
}

impl AppState {
    pub fn new(
        store: Arc<dyn ContainerStore>,
        search: Arc<dyn SearchIndex>,
        queue: Arc<dyn JobQueue>,
        settings: WebSettings,
    ) -> Self {
        Self {
            store,
            search,
            queue,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::new()),
            started: Instant::now(),
        }
    }
}

impl FromRef<AppState> for Arc<dyn ContainerStore> {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

impl FromRef<AppState> for Arc<WebSettings> {
    fn from_ref(state: &AppState) -> Self {
        state.settings.clone()
    }
}
