//! The admin listener: health, readiness and metrics today; the admin API and web page build on it.
//!
//! It is a separate listener (default `127.0.0.1:9090`) so that it is never exposed with the public
//! site by accident.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::session::{AnyStore, Store};
use crate::telemetry;

#[derive(Debug, Clone)]
pub struct AdminState {
    pub store: AnyStore,
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Alive: the process answers.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// Ready: the configuration is loaded (it is, or nothing would be listening) and the store answers.
async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({ "status": "ready", "store": "ok" })),
        ),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "not_ready", "store": err.to_string() })),
        ),
    }
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        telemetry::metrics().render(),
    )
}
