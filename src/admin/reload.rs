//! `POST /api/v1/reload`: the same as SIGHUP, with the outcome in the answer — what needs a restart
//! when the reload went through, every problem (file:line:column) when it was refused.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AdminState;
use super::api::audit;
use crate::server::{ReloadError, Reloaded};

/// Reload and write the outcome to the audit log (the API and the admin page both come here).
pub async fn run(state: &AdminState, peer: SocketAddr) -> Result<Reloaded, ReloadError> {
    let outcome = state.live.reload().await;
    let (target, result) = match &outcome {
        Ok(done) => (done.source.display().to_string(), "ok".to_owned()),
        Err(err) => (
            state.live.gateway().config().source.display().to_string(),
            format!("refused: {} problem(s)", err.problems().len()),
        ),
    };
    audit(state, peer, "reload", target, result);
    outcome
}

pub async fn reload(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    match run(&state, peer).await {
        Ok(done) => Json(json!({
            "reloaded": true,
            "source": done.source.display().to_string(),
            "restart_required": done.restart_required,
        }))
        .into_response(),
        Err(err) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "reloaded": false,
                "error": {
                    "code": "invalid_config",
                    "message": "configuration refusée : l'ancienne reste en service",
                    "problems": err.problems(),
                }
            })),
        )
            .into_response(),
    }
}
