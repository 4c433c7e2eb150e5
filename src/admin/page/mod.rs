//! The admin web page (`/admin` on the admin listener), in French, server-rendered, without JavaScript:
//! a dashboard of the spaces, the connections, the suspensions, the privileged networks and the recent
//! audit log, with the buttons PRONOTE's console has ("déconnecter", "débloquer", "tout débloquer",
//! publish / stop publishing, reload).
//!
//! Login exchanges the admin token for an HttpOnly `SameSite=Strict` cookie ([`logins`]); every change is
//! a POST carrying a CSRF token bound to that login. The changes themselves are the admin API's own
//! handlers, so the page and the API cannot drift apart, and both write the same audit log.

pub mod logins;
mod render;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use super::api::{self, ApiError, audit, peer_allowed, token_matches};
use super::{AdminState, reload, sessions, spaces};
use crate::ui::Page;
use crate::web;

/// How many connections the dashboard lists (newest first); the CLI and the API page through all.
const SESSIONS_SHOWN: usize = 100;

pub fn routes(state: AdminState) -> Router<AdminState> {
    Router::new()
        .route("/", get(|| async { to_axum(web::redirect("/admin")) }))
        .route("/admin", get(show))
        .route("/admin/connexion", post(login))
        .route("/admin/{action}", post(act))
        .route_layer(axum::middleware::from_fn_with_state(state, allow_list))
}

fn to_axum(response: http::Response<web::Body>) -> Response {
    response.map(axum::body::Body::new)
}

fn html(page: Page) -> Response {
    to_axum(web::page(page))
}

/// `[admin] allow_cidrs` applies to the page as to the API, with a French page.
async fn allow_list(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if !peer_allowed(&state.access, peer) {
        return html(render::refused(
            StatusCode::FORBIDDEN,
            "Votre adresse n'est pas autorisée à administrer cette passerelle.",
        ));
    }
    next.run(request).await
}

async fn show(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    match state.logins.current(&headers, &state.clock) {
        Some(login) => dashboard(&state, &login, None).await,
        None => html(render::login(None, StatusCode::OK)),
    }
}

fn form(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

async fn login(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    if state.access.token_sha256.is_none() {
        return html(render::refused(
            StatusCode::UNAUTHORIZED,
            "Administration désactivée : aucun jeton configuré ([admin] token_sha256).",
        ));
    }
    let token = form(&body).remove("jeton").unwrap_or_default();
    if !token_matches(&state.access, token.trim()) {
        tracing::warn!(ip = %peer.ip(), "page d'administration : jeton invalide");
        return html(render::login(
            Some("Jeton invalide."),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let id = state.logins.start(&state.clock);
    audit(
        &state,
        peer,
        "page_login",
        "admin".to_owned(),
        "ok".to_owned(),
    );
    let mut response = to_axum(web::redirect("/admin"));
    response
        .headers_mut()
        .append(header::SET_COOKIE, logins::COOKIE.set(&id));
    response
}

/// Every button of the dashboard: `POST /admin/<action>` with `csrf` and `cible`.
async fn act(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(login) = state.logins.current(&headers, &state.clock) else {
        return html(render::login(
            Some("Session d'administration expirée : reconnectez-vous."),
            StatusCode::UNAUTHORIZED,
        ));
    };
    let mut fields = form(&body);
    let csrf = fields.remove("csrf").unwrap_or_default();
    if !state.logins.csrf_valid(&login, &csrf) {
        return html(render::refused(
            StatusCode::FORBIDDEN,
            "Formulaire expiré ou venu d'ailleurs : rechargez la page d'administration.",
        ));
    }
    let target = fields.remove("cible").unwrap_or_default();
    let (state_, peer_) = (State(state.clone()), ConnectInfo(peer));
    let outcome: Result<(), String> = match action.as_str() {
        "deconnexion" => {
            state.logins.end(&login);
            let mut response = to_axum(web::redirect("/admin"));
            response
                .headers_mut()
                .append(header::SET_COOKIE, logins::COOKIE.clear());
            return response;
        }
        "deconnecter" => api_outcome(sessions::revoke_one(state_, peer_, Path(target)).await),
        "debloquer" => api_outcome(api::unblock_one(state_, peer_, Path(target)).await),
        "debloquer-tout" => api_outcome(api::unblock_all(state_, peer_).await),
        "publier" | "depublier" | "suivre-fichier" => {
            let choice = match action.as_str() {
                "publier" => Some(true),
                "depublier" => Some(false),
                _ => None,
            };
            match spaces::parse_space(&target) {
                Ok(space) => spaces::change(&state, peer, &[space], choice)
                    .await
                    .map_err(|err| err.message().to_owned()),
                Err(err) => Err(err.message().to_owned()),
            }
        }
        "recharger" => reload::run(&state, peer)
            .await
            .map(drop)
            .map_err(|err| format!("Rechargement refusé : {}", err.problems().join(" ; "))),
        _ => return html(crate::ui::not_found()),
    };
    match outcome {
        Ok(()) => to_axum(web::redirect("/admin")),
        Err(notice) => dashboard(&state, &login, Some(&notice)).await,
    }
}

fn api_outcome(result: Result<Response, ApiError>) -> Result<(), String> {
    result.map(drop).map_err(|err| err.message().to_owned())
}

async fn dashboard(state: &AdminState, login: &str, notice: Option<&str>) -> Response {
    let read = async {
        let spaces = spaces::overview(state).await?;
        let sessions = sessions::matching(state, &sessions::SessionFilter::default()).await?;
        let suspensions = state.guard.list().await?;
        let privileged = state.guard.privileged().await?;
        Ok::<_, ApiError>((spaces, sessions, suspensions, privileged))
    };
    let (spaces, sessions, suspensions, privileged) = match read.await {
        Ok(read) => read,
        Err(err) => {
            return html(render::refused(
                StatusCode::SERVICE_UNAVAILABLE,
                err.message(),
            ));
        }
    };
    let shown: Vec<_> = sessions
        .iter()
        .take(SESSIONS_SHOWN)
        .map(|(key, session)| sessions::describe(key, session))
        .collect();
    let audit = state.audit.recent();
    let csrf = state.logins.csrf_token(login);
    html(render::dashboard(&render::Dashboard {
        csrf: &csrf,
        now: state.clock.now(),
        notice,
        spaces: &spaces,
        sessions: &shown,
        sessions_total: sessions.len(),
        suspensions: &suspensions,
        privileged: &privileged,
        audit: &audit,
    }))
}
