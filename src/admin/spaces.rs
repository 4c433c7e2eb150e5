//! Spaces and their publication: what the dashboard shows (published or not and why, delegations,
//! live sessions), and PRONOTE's "publier / arrêter la publication" for one space or all of them,
//! without touching the files (see [`crate::server::publication`] for where the choice is kept).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AdminState;
use super::api::{ApiError, audit};
use crate::config::DirectLoginPolicy;
use crate::server::publication::PublicationError;
use crate::session::Store;
use crate::space::SpaceId;

impl From<PublicationError> for ApiError {
    fn from(err: PublicationError) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, err.code(), err.to_string())
    }
}

/// Every space as the dashboard shows it. Sessions are counted from the store, so with Redis the
/// figure covers every replica.
pub async fn overview(state: &AdminState) -> Result<Vec<Value>, ApiError> {
    let sessions = super::sessions::per_space(&state.store.list().await?);
    let gateway = state.live.gateway();
    let publication = state.live.publication();
    Ok(SpaceId::ALL
        .iter()
        .map(|&space| {
            let file = gateway.config().spaces.get(space);
            let runtime = publication.override_of(space);
            json!({
                "space": space.as_str(),
                "label": space.label(),
                "published": runtime.unwrap_or(file.published),
                "source": if runtime.is_some() { "runtime" } else { "file" },
                "file_published": file.published,
                "direct_login": match file.direct_login {
                    DirectLoginPolicy::Never => "never",
                    DirectLoginPolicy::Always => "always",
                    DirectLoginPolicy::WhenIdpDown => "when_idp_down",
                },
                "delegations": file.delegations.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
                "sessions": sessions[space as usize],
            })
        })
        .collect())
}

pub async fn list(State(state): State<AdminState>) -> Result<Response, ApiError> {
    Ok(Json(json!({ "spaces": overview(&state).await? })).into_response())
}

/// `publish`, `unpublish` or `reset` (back to the space file's value).
pub fn parse_action(action: &str) -> Result<Option<bool>, ApiError> {
    match action {
        "publish" => Ok(Some(true)),
        "unpublish" => Ok(Some(false)),
        "reset" => Ok(None),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "action inconnue (publish, unpublish, reset)",
        )),
    }
}

pub fn parse_space(name: &str) -> Result<SpaceId, ApiError> {
    name.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_space",
            format!("espace inconnu « {name} »"),
        )
    })
}

/// Apply a publication choice and write it to the audit log.
pub async fn change(
    state: &AdminState,
    peer: SocketAddr,
    spaces: &[SpaceId],
    choice: Option<bool>,
) -> Result<(), ApiError> {
    state.live.publication().set(spaces, choice).await?;
    let action = match choice {
        Some(true) => "publish",
        Some(false) => "unpublish",
        None => "publication_reset",
    };
    let target = if spaces.len() == SpaceId::ALL.len() {
        "*".to_owned()
    } else {
        spaces
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    audit(state, peer, action, target, "ok".to_owned());
    Ok(())
}

/// `POST /api/v1/spaces/{space}/{publish|unpublish|reset}`
pub async fn change_one(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((space, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let choice = parse_action(&action)?;
    let space = parse_space(&space)?;
    change(&state, peer, &[space], choice).await?;
    list(State(state)).await
}

/// `POST /api/v1/spaces/{publish|unpublish|reset}`: every space at once (PRONOTE's button for the
/// whole base).
pub async fn change_all(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(action): Path<String>,
) -> Result<Response, ApiError> {
    let choice = parse_action(&action)?;
    change(&state, peer, &SpaceId::ALL, choice).await?;
    list(State(state)).await
}
