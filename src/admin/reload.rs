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

pub async fn reload(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    match state.live.reload().await {
        Ok(done) => {
            audit(
                &state,
                peer,
                "reload",
                done.source.display().to_string(),
                "ok".to_owned(),
            );
            Json(json!({
                "reloaded": true,
                "source": done.source.display().to_string(),
                "restart_required": done.restart_required,
            }))
            .into_response()
        }
        Err(err) => {
            let problems = err.problems();
            audit(
                &state,
                peer,
                "reload",
                state.live.gateway().config().source.display().to_string(),
                format!("refused: {} problem(s)", problems.len()),
            );
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({
                    "reloaded": false,
                    "error": {
                        "code": "invalid_config",
                        "message": "configuration refusée : l'ancienne reste en service",
                        "problems": problems,
                    }
                })),
            )
                .into_response()
        }
    }
}
