//! Prometheus metrics: appends, conflicts, errors by kind and the append latency histogram.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::ApiError;

/// Latency buckets of `accord_append_seconds`, from 100 µs to 5 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The process-wide recorder (the `metrics` facade has one per process).
#[derive(Debug, Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// Installs the recorder on first use; later calls share it.
    pub fn install() -> Self {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE
            .get_or_init(|| {
                let builder = PrometheusBuilder::new()
                    .set_buckets(LATENCY_BUCKETS)
                    .unwrap_or_else(|_| PrometheusBuilder::new());
                let recorder = builder.build_recorder();
                let handle = recorder.handle();
                // Fails only if another recorder was set first; the handle then renders ours.
                let _ = metrics::set_global_recorder(recorder);
                handle
            })
            .clone();
        Self { handle }
    }

    /// `/metrics`: everything recorded, in the Prometheus text format.
    pub fn response(&self) -> axum::response::Response {
        use axum::response::IntoResponse;
        (
            [("content-type", "text/plain; version=0.0.4")],
            self.handle.render(),
        )
            .into_response()
    }

    pub(crate) fn observe_append<T>(&self, took: Duration, result: &Result<T, ApiError>) {
        metrics::histogram!("accord_append_seconds").record(took.as_secs_f64());
        match result {
            Ok(_) => metrics::counter!("accord_appends_total").increment(1),
            Err(e) => {
                if matches!(e, ApiError::Conflict { .. }) {
                    metrics::counter!("accord_conflicts_total").increment(1);
                }
                metrics::counter!("accord_errors_total", "kind" => e.kind()).increment(1);
            }
        }
    }
}
