//! Logs (`tracing`, text or JSON) and the Prometheus metrics registry.
//!
//! Metric names, all prefixed `passerelle_`: `requests_total{space,status}`,
//! `upstream_duration_seconds` (histogram), `sessions` and `space_sessions{space}` (gauges),
//! `logins_total{protocol,outcome}`,
//! `auth_failures_total{kind}`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSection};

/// Start logging. `RUST_LOG`, when set, wins over the configured level. Later calls do nothing.
pub fn init_logging(log: &LogSection) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The process-wide Prometheus registry, installed on first use.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("un autre enregistreur de métriques est déjà installé");
        }
        handle
    })
}
