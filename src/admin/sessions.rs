//! The connections view ("Suivi des connexions"): list the live sessions, revoke one, or revoke every
//! session of one user. Reads and deletes go through the session [`Store`], so with Redis a session
//! made on any replica is listed and revoked from any other.
//!
//! A session is named by its [`SessionKey`] (the SHA-256 of the cookie value): the API never sees or
//! hands out a usable cookie.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AdminState;
use super::api::{ApiError, audit};
use crate::session::{Session, SessionKey, Store, StoreError};
use crate::space::SpaceId;

/// Page size when the caller gives none, and the most one page may hold.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            err.to_string(),
        )
    }
}

/// `?space=parent&user=claire.martin&offset=0&limit=50`
#[derive(Debug, Default, Deserialize)]
pub struct SessionFilter {
    pub space: Option<String>,
    pub user: Option<String>,
    #[serde(default)]
    pub offset: usize,
    pub limit: Option<usize>,
}

impl SessionFilter {
    fn space(&self) -> Result<Option<SpaceId>, ApiError> {
        self.space
            .as_deref()
            .map(|name| {
                name.parse::<SpaceId>().map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_space",
                        format!("espace inconnu « {name} »"),
                    )
                })
            })
            .transpose()
    }
}

/// The live sessions kept by `filter`, newest first (ties broken by key, so pages are stable).
pub async fn matching(
    state: &AdminState,
    filter: &SessionFilter,
) -> Result<Vec<(SessionKey, Session)>, ApiError> {
    let space = filter.space()?;
    let mut sessions: Vec<_> = state
        .store
        .list()
        .await?
        .into_iter()
        .filter(|(_, s)| space.is_none_or(|space| s.space == space))
        .filter(|(_, s)| {
            filter
                .user
                .as_deref()
                .is_none_or(|user| s.identity.login == user)
        })
        .collect();
    sessions.sort_by(|(ka, a), (kb, b)| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| ka.to_hex().cmp(&kb.to_hex()))
    });
    Ok(sessions)
}

/// How many of `sessions` are in each space, indexed by [`SpaceId`].
pub fn per_space(sessions: &[(SessionKey, Session)]) -> [usize; SpaceId::ALL.len()] {
    let mut counts = [0usize; SpaceId::ALL.len()];
    for (_, session) in sessions {
        counts[session.space as usize] += 1;
    }
    counts
}

/// `passerelle_sessions` and `passerelle_space_sessions{space}`, set from the store when `/metrics`
/// is scraped. With Redis every replica counts the shared store, so each reports the whole
/// deployment's figure (aggregate with `max`, not `sum`).
pub async fn publish_counts(state: &AdminState) {
    match state.store.list().await {
        Ok(sessions) => {
            let counts = per_space(&sessions);
            metrics::gauge!("passerelle_sessions").set(sessions.len() as f64);
            for space in SpaceId::ALL {
                metrics::gauge!("passerelle_space_sessions", "space" => space.as_str())
                    .set(counts[space as usize] as f64);
            }
        }
        Err(err) => tracing::warn!(error = %err, "comptage des sessions impossible"),
    }
}

/// One session as the API shows it.
pub fn describe(key: &SessionKey, session: &Session) -> Value {
    json!({
        "id": key.to_hex(),
        "space": session.space.as_str(),
        "user": session.identity.login,
        "protocol": session.identity.protocol.as_str(),
        "delegation": session.delegation,
        "ip": session.client_ip.to_string(),
        "started": session.created_at,
        "last_seen": session.last_seen,
    })
}

pub async fn list(
    State(state): State<AdminState>,
    query: Result<Query<SessionFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(filter) = query.map_err(bad_query)?;
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let sessions = matching(&state, &filter).await?;
    let page: Vec<_> = sessions
        .iter()
        .skip(filter.offset)
        .take(limit)
        .map(|(key, session)| describe(key, session))
        .collect();
    Ok(Json(json!({
        "total": sessions.len(),
        "offset": filter.offset,
        "limit": limit,
        "sessions": page,
    }))
    .into_response())
}

pub async fn revoke_one(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let key = SessionKey::from_hex(&id).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_session_id",
            "identifiant de session invalide (64 caractères hexadécimaux attendus)",
        )
    })?;
    let revoked = state.store.delete(&key).await?;
    audit(
        &state,
        peer,
        "revoke_session",
        key.log_id(),
        format!("revoked={revoked}"),
    );
    if !revoked {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "session inconnue ou déjà terminée",
        ));
    }
    Ok(Json(json!({ "id": key.to_hex(), "revoked": true })).into_response())
}

/// Disconnect a user everywhere: `DELETE /api/v1/sessions?user=…` (optionally `&space=…`). The user
/// is required, so that a forgotten parameter never ends every session at once.
pub async fn revoke_user(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    query: Result<Query<SessionFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(filter) = query.map_err(bad_query)?;
    let Some(user) = filter.user.clone().filter(|user| !user.is_empty()) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "user_required",
            "paramètre « user » requis pour déconnecter un utilisateur",
        ));
    };
    let mut revoked = 0usize;
    for (key, _) in matching(&state, &filter).await? {
        if state.store.delete(&key).await? {
            revoked += 1;
        }
    }
    audit(
        &state,
        peer,
        "revoke_user_sessions",
        user.clone(),
        format!("revoked={revoked}"),
    );
    Ok(Json(json!({ "user": user, "revoked": revoked })).into_response())
}

fn bad_query(err: axum::extract::rejection::QueryRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_query",
        format!("paramètres invalides : {err}"),
    )
}
