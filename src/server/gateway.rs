//! One request's way through the gateway: resolve the client, route, check the session, then either
//! answer (login, logout, error pages) or proxy with the identity headers.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;

use super::client_ip;
use super::publication::Publication;
use super::request_metrics::RequestCounters;
use crate::auth::{
    AUTH_PREFIX, CALLBACK_PREFIX, CHOOSE_PREFIX, LOGIN_PREFIX, LOGOUT_PATH, LoginFlow, PICK_PREFIX,
    SAML_PREFIX, SLO_PREFIX, parse_metadata_path,
};
use crate::cas_server::CasBridge;
use crate::clock::Clock;
use crate::config::{Config, SpaceSettings};
use crate::identity::signed_headers::HeaderSigner;
use crate::proxy::{ForwardedFor, Upstream};
use crate::session::cookie;
use crate::session::{Session, SessionId};
use crate::space::SpaceId;
use crate::ui;
use crate::web::{self, Body};

/// Everything a request needs, built once from the configuration.
#[derive(Debug)]
pub struct Gateway {
    pub(crate) config: Arc<Config>,
    pub(crate) flow: LoginFlow,
    pub(crate) upstream: Upstream,
    pub(crate) signer: HeaderSigner,
    pub(crate) clock: Clock,
    /// How clients reach us, for `X-Forwarded-Proto`.
    pub(crate) proto: &'static str,
    /// `passerelle_requests_total`, one registered handle per label pair.
    pub(crate) requests: RequestCounters,
    /// The CAS bridge (`[cas_server]`), when configured.
    pub(crate) bridge: Option<CasBridge>,
    /// Runtime publish / unpublish choices, shared with every configuration swapped in after this one.
    pub(crate) publication: Publication,
    /// This configuration's SAML metadata refresh tasks (stopped when it is replaced).
    pub(crate) _saml_refresh: crate::auth::saml::setup::RefreshTasks,
}

/// Which part of the site a request was for, as a low-cardinality metrics label.
fn area_label(space: Option<SpaceId>) -> &'static str {
    space.map_or("autre", SpaceId::as_str)
}

impl Gateway {
    /// The configuration this gateway was built from.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// A space's settings with the administrator's runtime publication choice applied.
    fn space_settings(&self, space: SpaceId) -> Cow<'_, SpaceSettings> {
        self.publication.settings(&self.config.spaces, space)
    }

    pub async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let client_ip =
            client_ip::resolve(peer.ip(), request.headers(), &self.config.trusted_proxies);
        let (area, response) = if request.uri().path().starts_with(AUTH_PREFIX) {
            ("auth", self.auth_endpoint(request, client_ip).await)
        } else if let Some(bridge) = &self.bridge
            && bridge.owns(request.uri().path())
        {
            let spaces = &self.config.spaces;
            (
                "auth",
                bridge
                    .handle(&self.flow, spaces, &self.publication, request, client_ip)
                    .await,
            )
        } else {
            self.site(request, client_ip).await
        };
        self.requests
            .increment(area, status_label(response.status()));
        response
    }

    /// `/auth/…`: the gateway's own login and logout endpoints.
    async fn auth_endpoint(&self, request: Request<Incoming>, client_ip: IpAddr) -> Response<Body> {
        let path = request.uri().path();
        if path == LOGOUT_PATH {
            let ended = CasBridge::session_key(&self.flow, request.headers());
            let response = self.flow.logout(request.headers(), client_ip).await;
            if let (Some(bridge), Some(key)) = (&self.bridge, ended) {
                bridge.session_ended(&key).await;
            }
            return response;
        }
        if let Some(rest) = path.strip_prefix(SAML_PREFIX) {
            return match parse_metadata_path(rest) {
                Some((space, id)) => self.flow.saml_metadata(space, id),
                None => web::page(ui::not_found()),
            };
        }
        for (prefix, is_slo) in [(CALLBACK_PREFIX, false), (SLO_PREFIX, true)] {
            let Some(rest) = path.strip_prefix(prefix) else {
                continue;
            };
            let Some((space, delegation)) = rest
                .split_once('/')
                .and_then(|(space, id)| Some((space.parse::<SpaceId>().ok()?, id.to_owned())))
            else {
                return web::page(ui::not_found());
            };
            if is_slo {
                return self
                    .flow
                    .single_logout(request, space, &delegation, client_ip)
                    .await;
            }
            let settings = self.space_settings(space).into_owned();
            return self
                .flow
                .callback(request, space, &delegation, &settings, client_ip)
                .await;
        }
        let space_after = |prefix: &str| {
            path.strip_prefix(prefix)
                .and_then(|name| name.parse::<SpaceId>().ok())
        };
        if let Some(space) = space_after(CHOOSE_PREFIX) {
            let settings = self.space_settings(space);
            return self
                .flow
                .choose(space, &settings, request.uri().query())
                .await;
        }
        if let Some(space) = space_after(PICK_PREFIX) {
            let settings = self.space_settings(space);
            return self
                .flow
                .pick(space, &settings, request.uri().query(), client_ip)
                .await;
        }
        let Some(space) = space_after(LOGIN_PREFIX) else {
            return web::page(ui::not_found());
        };
        let settings = self.space_settings(space).into_owned();
        self.flow.login(request, space, &settings, client_ip).await
    }

    /// Everything else: PRONOTE's pages and resources.
    async fn site(
        &self,
        request: Request<Incoming>,
        client_ip: IpAddr,
    ) -> (&'static str, Response<Body>) {
        let Some(path) = routing_path(request.uri().path()) else {
            return ("autre", web::page(ui::bad_request()));
        };
        if self.config.is_public_path(&path) {
            return ("autre", self.proxy(request, client_ip, None).await);
        }
        let page = SpaceId::from_page_path(&path).map(|(space, _)| space);
        if let Some(space) = page
            && !self.space_settings(space).published
        {
            return (space.as_str(), web::page(ui::not_published(space)));
        }
        let session = match self.session_of(&request).await {
            Ok(session) => session,
            Err(response) => return (area_label(page), response),
        };
        // `[guard] bar_authenticated_traffic`: a suspended address loses its open sessions' pages too.
        if session.is_some()
            && self.config.guard.bar_authenticated_traffic
            && let Some(retry) = self.flow.guard().suspended_for(client_ip).await
        {
            return (
                area_label(page),
                web::page_retry_after(ui::suspended(retry), retry),
            );
        }
        let response = match (page, session) {
            (Some(space), Some(session)) if session.space == space => {
                self.proxy(request, client_ip, Some(&session)).await
            }
            (Some(space), _) => {
                let requested = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
                self.flow
                    .start(
                        space,
                        &self.space_settings(space),
                        requested,
                        client_ip,
                        request.headers(),
                    )
                    .await
            }
            (None, Some(session)) if self.space_settings(session.space).published => {
                self.proxy(request, client_ip, Some(&session)).await
            }
            (None, Some(session)) => web::page(ui::not_published(session.space)),
            (None, None) => web::page(ui::session_required()),
        };
        (area_label(page), response)
    }

    /// The live session the request's cookie points to. A store failure is a 503: fail closed.
    async fn session_of(
        &self,
        request: &Request<Incoming>,
    ) -> Result<Option<Arc<Session>>, Response<Body>> {
        let name = &self.flow.sessions().settings().cookie_name;
        let Some(id) = cookie::find(request.headers(), name).and_then(SessionId::parse) else {
            return Ok(None);
        };
        // Shared, not copied: the memory store hands out its own record.
        self.flow
            .sessions()
            .lookup_shared(&id)
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "lecture de session impossible");
                web::page(ui::service_unavailable())
            })
    }

    async fn proxy(
        &self,
        mut request: Request<Incoming>,
        client_ip: IpAddr,
        session: Option<&Session>,
    ) -> Response<Body> {
        let headers = request.headers_mut();
        self.signer.strip(headers);
        cookie::strip(headers, &self.flow.cookie_names());
        ForwardedFor {
            client_ip,
            proto: self.proto,
        }
        .apply(headers);
        if let Some(session) = session {
            self.signer
                .apply(headers, &session.identity, session.space, self.clock.now());
        }
        match self.upstream.forward(request).await {
            Ok(response) => response,
            Err(err) => {
                tracing::warn!(error = %err, "requête vers l'amont en échec");
                err.into_response()
            }
        }
    }
}

/// The path used for routing decisions: percent-decoded, so that `/pronote/%70arent.html` is the
/// parent page it will be for the upstream. Dot segments, backslashes and NUL are refused outright
/// (`None`): they only serve to make the gateway and the upstream disagree on what is asked.
/// Borrowed when nothing was percent-encoded, which is nearly always: no allocation per request.
fn routing_path(raw: &str) -> Option<Cow<'_, str>> {
    let decoded = percent_decode_str(raw).decode_utf8().ok()?;
    let suspicious = decoded.contains(['\\', '\0'])
        || decoded
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        || decoded.contains("//");
    (!suspicious).then_some(decoded)
}

/// Keep in step with `request_metrics::STATUSES` (a test checks it).
fn status_label(status: StatusCode) -> &'static str {
    match status.as_u16() {
        101 => "101",
        200 => "200",
        204 => "204",
        206 => "206",
        301 => "301",
        302 => "302",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        413 => "413",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        code => match code / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_label_has_a_cached_counter() {
        for code in 100..1000 {
            let status = StatusCode::from_u16(code).unwrap();
            let label = status_label(status);
            assert!(
                super::super::request_metrics::STATUSES.contains(&label),
                "{label}"
            );
        }
    }

    #[test]
    fn routing_path_decodes_and_refuses_ambiguity() {
        assert_eq!(
            routing_path("/pronote/%70arent.html").as_deref(),
            Some("/pronote/parent.html")
        );
        assert_eq!(routing_path("/pronote/").as_deref(), Some("/pronote/"));
        for evil in [
            "/pronote/eleve.html/../parent.html",
            "/pronote/%2e%2e/parent.html",
            "/pronote/.%2fparent.html",
            "/pronote//parent.html",
            "/pronote/a%5cb",
            "/pronote/%00",
            "/pronote/%ff",
        ] {
            assert_eq!(routing_path(evil), None, "{evil}");
        }
    }
}
