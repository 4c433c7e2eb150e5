//! The browser side of the CAS server: `/login` and `/logout`.
//!
//! `/login?service=S`: S must be a configured service of some space. A live gateway session for that
//! space gives a ticket at once (single sign-on). Otherwise the person goes through the space's normal
//! login — chooser, direct form or delegation, all in [`LoginFlow`] — which returns to this same URL,
//! now with a session. `renew` bypasses single sign-on (the login must happen after the request, which
//! a single-use marker in the return URL proves); `gateway` never prompts and sends the browser back
//! without a ticket.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::SET_COOKIE;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use rand::RngCore;

use super::release::release;
use super::ticket::Grant;
use super::{CasBridge, ticket};
use crate::auth::{LoginFlow, refusal};
use crate::config::SpaceTable;
use crate::config::cas_bridge::SpaceBridge;
use crate::server::publication::Publication;
use crate::session::cookie;
use crate::session::{Session, SessionId, Store};
use crate::ui;
use crate::web::{self, Body};

/// The query parameter that carries the `renew` marker back to `/login`.
const RENEW_MARKER: &str = "renouvellement";
const RENEW_NAMESPACE: &str = "cas-bridge-renew";
/// How long a person may take to log in again for a `renew` request.
const RENEW_TTL: std::time::Duration = std::time::Duration::from_secs(10 * 60);

fn query_pairs(request: &Request<Incoming>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(super) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// CAS flags (`renew`, `gateway`) are set by their presence; `false` is read as unset.
pub(super) fn flag(pairs: &[(String, String)], name: &str) -> bool {
    param(pairs, name).is_some_and(|v| !v.eq_ignore_ascii_case("false"))
}

/// `service` with the ticket appended to its query (before any fragment), byte for byte otherwise:
/// the service validates with the URL it sent.
fn with_ticket(service: &str, ticket: &str) -> String {
    let (url, fragment) = service
        .split_once('#')
        .map_or((service, ""), |(url, _)| (url, &service[url.len()..]));
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}ticket={ticket}{fragment}")
}

impl CasBridge {
    pub(super) async fn login(
        &self,
        flow: &LoginFlow,
        spaces: &SpaceTable,
        publication: &Publication,
        request: &Request<Incoming>,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let pairs = query_pairs(request);
        let Some(service) = param(&pairs, "service").filter(|s| !s.is_empty()) else {
            return web::page(ui::cas_service_refused());
        };
        // A service that cannot be a `Location` header (control or non-ASCII characters) could never
        // receive its ticket.
        let usable = http::HeaderValue::from_str(service).is_ok();
        let Some(bridge) = self.settings.space_for(service).filter(|_| usable) else {
            tracing::warn!(%client_ip, service, "pont CAS : service non déclaré");
            return web::page(ui::cas_service_refused());
        };
        let space = bridge.space;
        // The administrator's runtime publication choice applies here as on the space's pages.
        let settings = publication.settings(spaces, space);
        if !settings.published {
            return web::page(ui::not_published(space));
        }
        let (renew, gateway) = (flag(&pairs, "renew"), flag(&pairs, "gateway"));
        let session = match self.live_session(flow, request).await {
            Ok(session) => session.filter(|(_, s)| s.space == space),
            Err(response) => return response,
        };
        let renewed_since = match param(&pairs, RENEW_MARKER) {
            Some(marker) if renew => self.renew_started(marker).await,
            _ => None,
        };
        if let Some((id, session)) = session {
            let fresh = renewed_since.is_some_and(|started| session.created_at >= started);
            if !renew || fresh {
                // Single sign-on skips every other login step: the guard (suspension, rate limit)
                // is asked here.
                if let Some(refused) = refusal(flow.guard().check(client_ip).await) {
                    return refused;
                }
                return self.grant(bridge, service, &id, &session, fresh).await;
            }
        }
        if gateway && !renew {
            return web::redirect(service);
        }
        let marker = if renew {
            match self.renew_marker().await {
                Some(marker) => Some(marker),
                None => return web::page(ui::service_unavailable()),
            }
        } else {
            None
        };
        let back = {
            let mut back = url::form_urlencoded::Serializer::new(String::new());
            back.append_pair("service", service);
            if let Some(marker) = &marker {
                back.append_pair("renew", "true");
                back.append_pair(RENEW_MARKER, marker);
            }
            back.finish()
        };
        let requested = format!("{}?{back}", self.login_path());
        flow.start(space, &settings, &requested, client_ip, request.headers())
            .await
    }

    /// The session the cookie names, if live. A store failure is a 503: fail closed.
    async fn live_session(
        &self,
        flow: &LoginFlow,
        request: &Request<Incoming>,
    ) -> Result<Option<(SessionId, Session)>, Response<Body>> {
        let name = &flow.sessions().settings().cookie_name;
        let Some(id) = cookie::find(request.headers(), name).and_then(SessionId::parse) else {
            return Ok(None);
        };
        match flow.sessions().lookup(&id).await {
            Ok(session) => Ok(session.map(|s| (id, s))),
            Err(err) => {
                tracing::error!(error = %err, "lecture de session impossible");
                Err(web::page(ui::service_unavailable()))
            }
        }
    }

    /// Issue a ticket for `service` from `session` and send the browser there with it.
    async fn grant(
        &self,
        bridge: &SpaceBridge,
        service: &str,
        id: &SessionId,
        session: &Session,
        new_login: bool,
    ) -> Response<Body> {
        let released = match release(bridge, &session.identity) {
            Ok(released) => released,
            Err(err) => {
                tracing::warn!(space = %bridge.space, login = %session.identity.login, error = %err, "pont CAS : identité incomplète");
                return web::page(ui::cas_identity_incomplete(&err.to_string()));
            }
        };
        let grant = Grant {
            service: service.to_owned(),
            released,
            expires_at: self.tickets.expiry(),
            authenticated_at: session.created_at,
            new_login,
        };
        let issued = self.tickets.issue(&grant).await;
        let ticket = match issued {
            Ok(ticket) => ticket,
            Err(err) => {
                tracing::error!(error = %err, "pont CAS : ticket non enregistré");
                return web::page(ui::service_unavailable());
            }
        };
        if let Err(err) = self
            .logouts
            .remember(&id.key(), service, ticket.as_str())
            .await
        {
            // The login goes on: only the later single logout toward this service is lost.
            tracing::warn!(error = %err, "pont CAS : ticket non mémorisé pour la déconnexion unique");
        }
        metrics::counter!("passerelle_cas_bridge_tickets_total", "space" => bridge.space.as_str())
            .increment(1);
        tracing::info!(space = %bridge.space, service, ticket = %ticket::log_id(ticket.as_str()), session = %id.key().log_id(), "pont CAS : ticket émis");
        web::redirect(&with_ticket(service, ticket.as_str()))
    }

    /// A single-use marker for a `renew` login, remembering when it started.
    async fn renew_marker(&self) -> Option<String> {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let marker = URL_SAFE_NO_PAD.encode(bytes);
        let started = self.clock.now().to_string();
        self.tickets
            .store()
            .put_once(RENEW_NAMESPACE, &marker, &started, RENEW_TTL)
            .await
            .inspect_err(
                |err| tracing::error!(error = %err, "pont CAS : renouvellement non enregistré"),
            )
            .ok()?;
        Some(marker)
    }

    /// When the `renew` login behind `marker` started, once.
    async fn renew_started(&self, marker: &str) -> Option<u64> {
        if marker.len() != 32 {
            return None;
        }
        self.tickets
            .store()
            .take_once(RENEW_NAMESPACE, marker)
            .await
            .ok()
            .flatten()
            .and_then(|started| started.parse().ok())
    }

    /// `/logout`: end the gateway session like `/auth/logout`, tell the services, and go back to
    /// `service` (CAS 3) or `url` (CAS 2) when it is a configured service.
    pub(super) async fn logout(
        &self,
        flow: &LoginFlow,
        request: &Request<Incoming>,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let pairs = query_pairs(request);
        let key = Self::session_key(flow, request.headers());
        let mut response = flow.logout(request.headers(), client_ip).await;
        if let Some(key) = key {
            self.session_ended(&key).await;
        }
        let back = param(&pairs, "service")
            .or_else(|| param(&pairs, "url"))
            .filter(|target| self.settings.space_for(target).is_some());
        if let Some(back) = back
            && response.status() != StatusCode::SEE_OTHER
        {
            let mut redirect = web::redirect(back);
            for cookie in response.headers_mut().get_all(SET_COOKIE) {
                redirect.headers_mut().append(SET_COOKIE, cookie.clone());
            }
            response = redirect;
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_is_appended_without_touching_the_service() {
        assert_eq!(
            with_ticket("https://p.example/pronote/parent.html", "ST-1"),
            "https://p.example/pronote/parent.html?ticket=ST-1"
        );
        assert_eq!(
            with_ticket("https://p.example/pronote/parent.html?fd=1&x=%20", "ST-1"),
            "https://p.example/pronote/parent.html?fd=1&x=%20&ticket=ST-1"
        );
        assert_eq!(
            with_ticket("https://p.example/pronote/#accueil", "ST-1"),
            "https://p.example/pronote/?ticket=ST-1#accueil"
        );
    }
}
