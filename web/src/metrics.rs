//! Prometheus metrics: request counts and latencies per route, plus catalogue gauges read at
//! scrape time.

use bioshadock_core::builder_status::BuilderState;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route pattern (`/container/{namespace}/{name}`), never the raw path, so the label
    /// set stays bounded.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    /// `received`, `applied`, `duplicate`, `ignored`, `unauthorised` or `immutable_restored`
    /// (an immutable tag moved at the registry and put back): a fixed set.
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    /// A final build status: a fixed set.
    status: &'static str,
}

/// The builder of this process, as its status says at scrape time.
struct BuilderMetrics {
    engine_up: Gauge<i64>,
    running: Gauge<i64>,
    concurrency: Gauge<i64>,
    ended: Family<BuildLabels, Counter>,
}

impl BuilderMetrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            engine_up: Gauge::default(),
            running: Gauge::default(),
            concurrency: Gauge::default(),
            ended: Family::default(),
        };
        registry.register(
            "builder_engine_up",
            "1 while this process's builder reaches its Docker Engine, 0 when it does not, -1 when no builder runs here",
            metrics.engine_up.clone(),
        );
        registry.register(
            "builder_builds_running",
            "Builds running on this process's builder",
            metrics.running.clone(),
        );
        registry.register(
            "builder_concurrency",
            "Parallel builds this process's builder allows",
            metrics.concurrency.clone(),
        );
        registry.register(
            "builds_ended",
            "Builds this process's builder ended, by final status",
            metrics.ended.clone(),
        );
        metrics
    }

    fn set(&self, state: &BuilderState) {
        let engine_up = match (state.present, state.engine_version.is_some()) {
            (false, _) => -1,
            (true, up) => i64::from(up),
        };
        self.engine_up.set(engine_up);
        self.running
            .set(i64::try_from(state.running).unwrap_or(i64::MAX));
        self.concurrency
            .set(i64::try_from(state.concurrency).unwrap_or(i64::MAX));
        for (&status, &count) in &state.ended {
            let counter = self.ended.get_or_create(&BuildLabels { status });
            counter.inc_by(count.saturating_sub(counter.get()));
        }
    }
}

/// The portal's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    registry_events: Family<EventLabels, Counter>,
    containers: Gauge<i64>,
    indexed: Gauge<i64>,
    queued: Gauge<i64>,
    uptime: Gauge<f64, AtomicU64>,
    last_sync: Gauge<f64, AtomicU64>,
    sync_lag: Gauge<f64, AtomicU64>,
    builder: BuilderMetrics,
    /// Held from setting the catalogue gauges to encoding them: an open and a token-bearing
    /// `/metrics` at the same time see different figures, and neither may encode the other's.
    rendering: std::sync::Mutex<()>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("bioshadock");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
        });
        let registry_events = Family::<EventLabels, Counter>::default();
        let containers = Gauge::<i64>::default();
        let indexed = Gauge::<i64>::default();
        let queued = Gauge::<i64>::default();
        let uptime = Gauge::<f64, AtomicU64>::default();
        let last_sync = Gauge::<f64, AtomicU64>::default();
        let sync_lag = Gauge::<f64, AtomicU64>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests (until the response head)",
            durations.clone(),
        );
        registry.register(
            "registry_events",
            "Registry notification events, by what became of them",
            registry_events.clone(),
        );
        registry.register("containers", "Containers in the store", containers.clone());
        registry.register(
            "search_documents",
            "Documents in the search index",
            indexed.clone(),
        );
        registry.register(
            "queue_jobs_queued",
            "Jobs waiting in the queue",
            queued.clone(),
        );
        registry.register(
            "uptime_seconds",
            "Seconds since the portal started",
            uptime.clone(),
        );
        registry.register(
            "registry_last_sync_timestamp_seconds",
            "Unix time of the last successful reconciliation with the registry (0: none yet)",
            last_sync.clone(),
        );
        registry.register(
            "registry_sync_lag_seconds",
            "Seconds since the last successful reconciliation (since start-up if none yet)",
            sync_lag.clone(),
        );
        let builder = BuilderMetrics::register(&mut registry);
        Self {
            registry,
            builder,
            rendering: std::sync::Mutex::new(()),
            requests,
            durations,
            registry_events,
            containers,
            indexed,
            queued,
            uptime,
            last_sync,
            sync_lag,
        }
    }

    /// Sets the builder's gauges and counters from its status.
    pub fn builder(&self, state: &BuilderState) {
        self.builder.set(state);
    }

    /// Sets the reconciliation gauges: the last success as Unix seconds (`None`: none yet) and
    /// how long ago that was.
    pub fn registry_sync(&self, last: Option<f64>, lag: f64) {
        self.last_sync.set(last.unwrap_or(0.0));
        self.sync_lag.set(lag);
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts `n` registry events with this outcome.
    pub fn registry_events(&self, outcome: &'static str, n: usize) {
        if n > 0 {
            self.registry_events
                .get_or_create(&EventLabels { outcome })
                .inc_by(n as u64);
        }
    }

    /// The exposition text, with the gauges set from the values just read (absent values are
    /// reported as -1: the backend did not answer).
    pub fn render(
        &self,
        containers: Option<u64>,
        indexed: Option<u64>,
        queued: Option<u64>,
        uptime: f64,
    ) -> String {
        let _rendering = self.rendering.lock().unwrap_or_else(|e| e.into_inner());
        let as_gauge = |v: Option<u64>| v.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        self.containers.set(as_gauge(containers));
        self.indexed.set(as_gauge(indexed));
        self.queued.set(as_gauge(queued));
        self.uptime.set(uptime);
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}
