//! The CAS bridge: Passerelle as the CAS server PRONOTE delegates to (docs/cas-bridge.md), so that a
//! school points PRONOTE's own "CAS" delegation at one URL and gets every way of logging in the gateway
//! speaks behind it — exactly how Index Éducation's HubEduConnect relay brings EduConnect to PRONOTE.
//!
//! - [`browser`]: `/login` (SSO from the gateway session, or the space's normal login first) and `/logout`;
//! - [`validation`]: `/validate`, `/serviceValidate`, `/p3/serviceValidate`, `/samlValidate`;
//! - [`ticket`]: single-use, short-lived service tickets in the shared store;
//! - [`release`]: the principal and attributes a space releases;
//! - [`responses`] and [`saml11`]: the wire formats;
//! - [`logout`]: back-channel single logout toward the services;
//! - [`admin_form`]: what an admin types into PRONOTE's CAS form.
//!
//! The person is authenticated by the shared [`LoginFlow`]; this module only turns a gateway session
//! into tickets, and never touches a delegation.

pub mod admin_form;
mod browser;
pub mod logout;
pub mod release;
pub mod responses;
pub mod saml11;
pub mod ticket;
mod validation;

use std::net::IpAddr;
use std::sync::Arc;

use http::{HeaderMap, Request, Response};
use hyper::body::Incoming;

use crate::auth::LoginFlow;
use crate::clock::Clock;
use crate::config::SpaceTable;
use crate::config::cas_bridge::CasBridgeSettings;
use crate::server::publication::Publication;
use crate::session::cookie;
use crate::session::{AnyStore, SessionId, SessionKey};
use crate::ui;
use crate::web::{self, Body};
use logout::ServiceLogout;
use ticket::Tickets;

/// The bridge, built once at start when `[cas_server]` is configured.
#[derive(Debug, Clone)]
pub struct CasBridge {
    settings: Arc<CasBridgeSettings>,
    tickets: Tickets,
    logouts: ServiceLogout,
    clock: Clock,
    /// The gateway's host, the `Issuer` of SAML assertions.
    issuer: String,
}

impl CasBridge {
    /// `keep_for` is how long a session may live (the sessions' absolute timeout): the tickets it
    /// handed out are remembered that long for single logout.
    pub fn new(
        settings: CasBridgeSettings,
        public_url: &url::Url,
        store: AnyStore,
        clock: Clock,
        keep_for: std::time::Duration,
    ) -> Result<Self, reqwest::Error> {
        Ok(CasBridge {
            tickets: Tickets::new(store.clone(), settings.ticket_lifetime, clock.clone()),
            logouts: ServiceLogout::new(store, settings.logout_timeout, keep_for)?,
            clock,
            issuer: public_url.host_str().unwrap_or("passerelle").to_owned(),
            settings: Arc::new(settings),
        })
    }

    /// `/cas/login`: where logins started by the bridge come back to collect their ticket.
    pub fn login_path(&self) -> String {
        format!("{}/login", self.settings.prefix)
    }

    /// Whether `path` is one of the bridge's endpoints.
    pub fn owns(&self, path: &str) -> bool {
        path.strip_prefix(&self.settings.prefix)
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// Serve a request under the prefix.
    pub async fn handle(
        &self,
        flow: &LoginFlow,
        spaces: &SpaceTable,
        publication: &Publication,
        request: Request<Incoming>,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let path = request.uri().path();
        let endpoint = path.strip_prefix(&self.settings.prefix).unwrap_or(path);
        match endpoint {
            "/login" => {
                self.login(flow, spaces, publication, &request, client_ip)
                    .await
            }
            "/logout" => self.logout(flow, &request, client_ip).await,
            "/validate" => {
                self.validate(&request, validation::Flavour::Cas1, client_ip)
                    .await
            }
            // No proxy tickets are issued, so the proxy endpoints validate service tickets only.
            "/serviceValidate" | "/proxyValidate" => {
                self.validate(&request, validation::Flavour::Cas2, client_ip)
                    .await
            }
            "/p3/serviceValidate" | "/p3/proxyValidate" => {
                self.validate(&request, validation::Flavour::Cas3, client_ip)
                    .await
            }
            "/samlValidate" => self.saml_validate(request, client_ip).await,
            _ => web::page(ui::not_found()),
        }
    }

    /// The gateway session a request's cookie names, if any (not checked for liveness).
    pub fn session_key(flow: &LoginFlow, headers: &HeaderMap) -> Option<SessionKey> {
        cookie::find(headers, &flow.sessions().settings().cookie_name)
            .and_then(SessionId::parse)
            .map(|id| id.key())
    }

    /// A gateway session ended (logout): tell the services it gave tickets to.
    pub async fn session_ended(&self, key: &SessionKey) {
        self.logouts.session_ended(key, self.clock.now()).await;
    }
}
