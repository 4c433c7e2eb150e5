//! The admin listener: health, readiness and metrics (unauthenticated), the admin API under
//! `/api/v1` ([`api`], [`sessions`], [`spaces`], [`reload`]; bearer token) with its [`audit`] log, and
//! the admin web [`page`] at `/admin`.
//!
//! It is a separate listener (default `127.0.0.1:9090`) so that it is never exposed with the public
//! site by accident.

pub mod api;
pub mod audit;
pub mod client;
pub mod page;
pub mod reload;
pub mod sessions;
pub mod spaces;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use serde_json::json;

use crate::clock::Clock;
use crate::config::AdminSettings;
use crate::guard::Guard;
use crate::server::Live;
use crate::session::{AnyStore, Store};
use crate::telemetry;

#[derive(Debug, Clone)]
pub struct AdminState {
    pub store: AnyStore,
    pub guard: Guard,
    pub access: Arc<AdminSettings>,
    pub audit: audit::AuditLog,
    pub clock: Clock,
    /// The serving gateway (its configuration changes with each reload) and the publication state.
    pub live: Arc<Live>,
    /// Who is logged in to the admin web page.
    pub logins: page::logins::AdminLogins,
}

pub fn router(state: AdminState) -> Router {
    let api = Router::new()
        .route(
            "/suspensions",
            get(api::list_suspensions).delete(api::unblock_all),
        )
        .route("/suspensions/{ip}", delete(api::unblock_one))
        .route(
            "/sessions",
            get(sessions::list).delete(sessions::revoke_user),
        )
        .route("/sessions/{id}", delete(sessions::revoke_one))
        .route("/reload", post(reload::reload))
        .route("/spaces", get(spaces::list))
        .route("/spaces/{action}", post(spaces::change_all))
        .route("/spaces/{space}/{action}", post(spaces::change_one))
        .route(
            "/privileged",
            get(api::list_privileged).post(api::add_privileged),
        )
        .route(
            "/privileged/{address}/{len}",
            delete(api::remove_privileged),
        )
        .fallback(api::not_found)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::authorise,
        ));
    Router::new()
        .merge(page::routes(state.clone()))
        .route("/api/v1/openapi.json", get(api::openapi))
        .nest("/api/v1", api)
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
/// The guard's state is detail only: a guard on local fallback still protects, so it does not make the
/// replica unready by itself.
async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    let guard = state.guard.backend_status();
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({ "status": "ready", "store": "ok", "guard": guard })),
        ),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "not_ready", "store": err.to_string(), "guard": guard })),
        ),
    }
}

/// Prometheus text. The session gauges are counted now, from the store, so they are live.
async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    sessions::publish_counts(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        telemetry::metrics().render(),
    )
}
