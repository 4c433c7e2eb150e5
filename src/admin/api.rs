//! The admin API (`/api/v1/*`): suspensions and privileged networks (connections are in
//! [`super::sessions`]). Bearer token checked against
//! its configured SHA-256 in constant time, optional CIDR allow-list, JSON errors `{error:{code,message}}`.
//! Every change goes to the [audit log](super::audit).

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AdminState;
use super::audit::AuditEvent;
use crate::config::AdminSettings;
use crate::guard::GuardStoreError;

/// The OpenAPI description, kept in the repository.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// A JSON error with a stable code and a French message.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl ApiError {
    /// The French message, for the admin page.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": { "code": self.code, "message": self.message } }));
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<GuardStoreError> for ApiError {
    fn from(err: GuardStoreError) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, err.code(), err.to_string())
    }
}

/// Whether the admin client's address passes `[admin] allow_cidrs` (empty: every address).
pub(super) fn peer_allowed(access: &AdminSettings, peer: SocketAddr) -> bool {
    let ip = crate::server::client_ip::canonical(peer.ip());
    access.allow_cidrs.is_empty() || access.allow_cidrs.iter().any(|n| n.contains(&ip))
}

/// Whether `token` is the admin token: its SHA-256 compared in constant time. `false` when the API
/// is off (no `[admin] token_sha256`).
pub(super) fn token_matches(access: &AdminSettings, token: &str) -> bool {
    access.token_sha256.is_some_and(|expected| {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        bool::from(digest.ct_eq(&expected))
    })
}

/// Allow-list, then token. Nothing behind it runs unless both pass.
pub async fn authorise(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let access = &state.access;
    if !peer_allowed(access, peer) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "address_not_allowed",
            "adresse non autorisée",
        )
        .into_response();
    }
    if access.token_sha256.is_none() {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "api_disabled",
            "API d'administration désactivée ([admin] token_sha256 absent)",
        )
        .into_response();
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !presented.is_some_and(|token| token_matches(access, token)) {
        let ip = crate::server::client_ip::canonical(peer.ip());
        tracing::warn!(%ip, "API d'administration : jeton absent ou invalide");
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "jeton absent ou invalide",
        )
        .into_response();
    }
    next.run(request).await
}

pub(super) fn audit(
    state: &AdminState,
    peer: SocketAddr,
    action: &str,
    target: String,
    result: String,
) {
    state.audit.record(&AuditEvent {
        at: state.clock.now(),
        who: &state.access.token_label,
        from: peer.ip().to_string(),
        action,
        target,
        result,
    });
}

fn parse_ip(text: &str) -> Result<IpAddr, ApiError> {
    text.parse::<IpAddr>().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_ip",
            format!("adresse IP invalide « {text} »"),
        )
    })
}

fn parse_net(text: &str) -> Result<IpNet, ApiError> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_cidr",
                format!("réseau invalide « {text} »"),
            )
        })
}

pub async fn list_suspensions(State(state): State<AdminState>) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let list = state.guard.list().await?;
    let items: Vec<_> = list
        .iter()
        .map(|s| {
            json!({
                "ip": s.ip.to_string(),
                "since": s.since,
                "until": s.until,
                "remaining_secs": s.until.saturating_sub(now),
                "failures": s.failures,
                "last_login": s.last_login,
            })
        })
        .collect();
    Ok(Json(json!({ "suspensions": items })).into_response())
}

pub async fn unblock_one(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(ip): Path<String>,
) -> Result<Response, ApiError> {
    let ip = parse_ip(&ip)?;
    let key = state.guard.key_of(ip);
    let lifted = state.guard.unblock(ip).await?;
    audit(
        &state,
        peer,
        "unblock",
        key.to_string(),
        format!("lifted={lifted}"),
    );
    Ok(Json(json!({ "ip": key.to_string(), "unblocked": lifted })).into_response())
}

pub async fn unblock_all(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ApiError> {
    let lifted = state.guard.unblock_all().await?;
    audit(
        &state,
        peer,
        "unblock_all",
        "*".to_owned(),
        format!("lifted={lifted}"),
    );
    Ok(Json(json!({ "unblocked": lifted })).into_response())
}

pub async fn list_privileged(State(state): State<AdminState>) -> Result<Response, ApiError> {
    let list = state.guard.privileged().await?;
    let items: Vec<_> = list
        .iter()
        .map(|(net, source)| json!({ "cidr": net.to_string(), "source": source }))
        .collect();
    Ok(Json(json!({ "privileged": items })).into_response())
}

#[derive(Deserialize)]
pub struct NewPrivileged {
    cidr: String,
}

pub async fn add_privileged(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<NewPrivileged>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|err| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("corps JSON invalide : {err}"),
        )
    })?;
    let net = parse_net(&body.cidr)?;
    let added = state.guard.add_privileged(net).await?;
    audit(
        &state,
        peer,
        "add_privileged",
        net.to_string(),
        format!("added={added}"),
    );
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "cidr": net.to_string(), "added": added })),
    )
        .into_response())
}

pub async fn remove_privileged(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((address, len)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let net = parse_net(&format!("{address}/{len}"))?;
    if state.guard.is_configured_privileged(&net) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "configured_in_file",
            "réseau déclaré dans la configuration : le retirer de [guard] privileged",
        ));
    }
    let removed = state.guard.remove_privileged(net).await?;
    audit(
        &state,
        peer,
        "remove_privileged",
        net.to_string(),
        format!("removed={removed}"),
    );
    if !removed {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "réseau inconnu",
        ));
    }
    Ok(Json(json!({ "cidr": net.to_string(), "removed": true })).into_response())
}

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Unknown `/api/v1/*` paths answer JSON too.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "ressource inconnue")
}
