//! The login flow every way of authenticating shares: where an unauthenticated browser goes, how a
//! successful login becomes a session (and its cookie), how logout ends it.
//!
//! Protocol modules ([`direct`], [`cas`]; SAML2, WS-Federation and OpenID Connect next) only turn a
//! request into an [`Identity`](crate::identity::Identity) or an error; cookies, sessions, the
//! pending-login state, the guard and the return URL are handled here, once. Delegations plug in
//! through the [`Delegation`] trait (see [`delegation`] for the order of its calls).

pub mod cas;
mod chooser;
pub use chooser::{CHOOSE_PREFIX, PICK_PREFIX};
pub mod csrf;
mod delegated;
pub mod delegation;
pub mod direct;
pub mod metadata_fetch;
pub mod oidc;
pub mod pending;
pub mod post_binding;
pub mod registry;
pub mod saml;
mod sp_metadata;
pub use sp_metadata::{SAML_PREFIX, parse_metadata_path};
pub mod wsfed;
pub mod xmlsig;

use std::net::IpAddr;

use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::clock::Clock;
use crate::config::{DirectLoginPolicy, SpaceSettings};
use crate::guard::{FailureKind, Guard, Verdict};
use crate::session::cookie::{self, CookieSpec};
use crate::session::{LoginOrigin, SessionId, Sessions};
use crate::space::{SpaceId, Variant};
use crate::ui::{self, LoginForm};
use crate::web::{self, Body};
use csrf::CsrfTokens;
pub use delegation::{AuthError, Delegation};
use delegation::{Context, ReplayCache};
use direct::{DirectLoginError, UserDirectory};
use pending::PendingLogins;
use registry::Delegations;

/// Path prefix of the gateway's own login endpoints.
pub const AUTH_PREFIX: &str = "/auth/";
/// Path prefix of the direct login form (`/auth/login/<space>`).
pub const LOGIN_PREFIX: &str = "/auth/login/";
/// Path of the logout endpoint.
pub const LOGOUT_PATH: &str = "/auth/logout";
/// Where identity providers send the browser back: `/auth/callback/<space>/<delegation>`.
pub const CALLBACK_PREFIX: &str = "/auth/callback/";
/// Where identity providers post single-logout messages: `/auth/slo/<space>/<delegation>`.
pub const SLO_PREFIX: &str = "/auth/slo/";

/// The shared login flow.
#[derive(Debug, Clone)]
pub struct LoginFlow {
    sessions: Sessions,
    users: UserDirectory,
    guard: Guard,
    csrf: CsrfTokens,
    csrf_cookie: String,
    body_limit: usize,
    delegations: Delegations,
    pending: PendingLogins,
    pending_cookie: String,
    /// Remembers which way of logging in a browser chose in a space with several (the chooser).
    choice_cookie: String,
    replay: ReplayCache,
    /// `public_url` without its trailing slash: callback URLs are built from it.
    public_base: String,
    clock: Clock,
    /// The CAS bridge's login path (`/cas/login`), when the bridge is on: a login started there
    /// returns there to collect its ticket.
    bridge_login: Option<String>,
}

impl LoginFlow {
    pub fn new(
        sessions: Sessions,
        users: UserDirectory,
        guard: Guard,
        signing_key: &[u8],
        body_limit: usize,
    ) -> Self {
        let csrf_cookie = format!("{}_csrf", sessions.settings().cookie_name);
        let pending_cookie = format!("{}_login", sessions.settings().cookie_name);
        let choice_cookie = format!("{}_choix", sessions.settings().cookie_name);
        let store = sessions.store().clone();
        LoginFlow {
            csrf: CsrfTokens::new(signing_key),
            csrf_cookie,
            body_limit,
            delegations: Delegations::default(),
            pending: PendingLogins::new(signing_key, store.clone()),
            pending_cookie,
            choice_cookie,
            replay: ReplayCache::new(store),
            public_base: String::new(),
            clock: Clock::default(),
            bridge_login: None,
            sessions,
            users,
            guard,
        }
    }

    /// Add the spaces' delegations. `public_url` is where browsers reach the gateway: callback URLs
    /// (the CAS `service`) are built from it, once.
    pub fn with_delegations(
        mut self,
        delegations: Delegations,
        public_url: &url::Url,
        clock: Clock,
    ) -> Self {
        self.delegations = delegations;
        self.public_base = public_url.as_str().trim_end_matches('/').to_owned();
        self.clock = clock;
        self
    }

    /// Let logins return to the CAS bridge's `login_path` (see [`LoginFlow::return_target`]).
    pub fn with_bridge_login(mut self, login_path: String) -> Self {
        self.bridge_login = Some(login_path);
        self
    }

    /// Where a login may return: [`safe_return`]'s pages of the space, or the CAS bridge's login
    /// path (which checks its `service` against the configured services before redirecting).
    pub(crate) fn return_target(&self, space: SpaceId, candidate: &str) -> String {
        let to_bridge = self.bridge_login.as_deref().is_some_and(|login| {
            candidate
                .strip_prefix(login)
                .is_some_and(|rest| rest.starts_with('?'))
                && candidate.parse::<http::uri::PathAndQuery>().is_ok()
                && !candidate.contains(['\\', '#'])
        });
        if to_bridge {
            candidate.to_owned()
        } else {
            safe_return(space, candidate)
        }
    }

    /// The canonical callback URL of a delegation: the same string at start and at validation.
    pub fn callback_url(&self, space: SpaceId, delegation: &str) -> String {
        format!("{}{CALLBACK_PREFIX}{space}/{delegation}", self.public_base)
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The names of every cookie the gateway sets, which the upstream must never see.
    pub fn cookie_names(&self) -> [&str; 4] {
        [
            &self.sessions.settings().cookie_name,
            &self.csrf_cookie,
            &self.pending_cookie,
            &self.choice_cookie,
        ]
    }

    /// `GET` or `POST /auth/login/<space>`.
    pub async fn login(
        &self,
        request: Request<Incoming>,
        space: SpaceId,
        settings: &SpaceSettings,
        client_ip: IpAddr,
    ) -> Response<Body> {
        if !settings.published {
            return web::page(ui::not_published(space));
        }
        if !self.direct_login_open(space, settings).await {
            return web::page(ui::direct_login_refused(space));
        }
        if let Some(refused) = refusal(self.guard.check(client_ip).await) {
            return refused;
        }
        match *request.method() {
            Method::GET | Method::HEAD => {
                self.show_form(request.headers(), request.uri().query(), space)
            }
            Method::POST => self.submit(request, space, client_ip).await,
            _ => web::page(ui::method_not_allowed()),
        }
    }

    fn show_form(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        space: SpaceId,
    ) -> Response<Body> {
        let requested = query
            .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "retour"))
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let return_to = self.return_target(space, &requested);
        // Reuse the browser's nonce so that two open tabs both keep a valid form.
        let existing = cookie::find(headers, &self.csrf_cookie).filter(|n| n.len() == 24);
        let nonce = existing.map_or_else(CsrfTokens::nonce, str::to_owned);
        let mut response = self.render_form(space, &nonce, &return_to, "", None, StatusCode::OK);
        if existing.is_none() {
            response
                .headers_mut()
                .append(SET_COOKIE, self.csrf_spec().set(&nonce));
        }
        response
    }

    async fn submit(
        &self,
        request: Request<Incoming>,
        space: SpaceId,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let Some(form) = read_form(body, self.body_limit).await else {
            return web::page(ui::payload_too_large());
        };
        let field = |name: &str| {
            url::form_urlencoded::parse(&form)
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (login, password, token) = (field("login"), field("password"), field("csrf"));
        let return_to = self.return_target(space, &field("retour"));
        let nonce = cookie::find(&parts.headers, &self.csrf_cookie).unwrap_or("");
        if !self.csrf.verify(nonce, space, &token) {
            tracing::info!(%client_ip, %space, "formulaire de connexion refusé : jeton CSRF invalide");
            let retry = format!("{AUTH_PREFIX}login/{space}");
            return web::page(ui::form_expired(&retry));
        }
        // The (address, login) pair may be locked before the whole address is.
        if let Some(refused) = refusal(self.guard.check_login(client_ip, &login).await) {
            return refused;
        }
        match self.users.verify(&login, &password, space).await {
            Ok(identity) => {
                let previous = cookie::find(&parts.headers, &self.sessions.settings().cookie_name)
                    .and_then(SessionId::parse);
                self.finish_login(
                    space,
                    identity,
                    client_ip,
                    previous,
                    &return_to,
                    LoginOrigin::default(),
                )
                .await
            }
            Err(err) => {
                let outcome = match err {
                    DirectLoginError::BadCredentials => {
                        self.guard
                            .record_failure(client_ip, Some(&login), FailureKind::BadPassword)
                            .await;
                        "bad_password"
                    }
                    DirectLoginError::SpaceNotAllowed => "space_not_allowed",
                    DirectLoginError::Internal => "error",
                };
                metrics::counter!("passerelle_logins_total", "protocol" => "direct", "outcome" => outcome)
                    .increment(1);
                let message = format!("{}.", capitalise(&err.to_string()));
                let status = match err {
                    DirectLoginError::BadCredentials => StatusCode::UNAUTHORIZED,
                    DirectLoginError::SpaceNotAllowed => StatusCode::FORBIDDEN,
                    DirectLoginError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                };
                self.render_form(space, nonce, &return_to, &login, Some(&message), status)
            }
        }
    }

    /// Turn an authenticated identity into a fresh session and send the browser where it was going.
    async fn finish_login(
        &self,
        space: SpaceId,
        identity: crate::identity::Identity,
        client_ip: IpAddr,
        previous: Option<SessionId>,
        return_to: &str,
        origin: LoginOrigin,
    ) -> Response<Body> {
        let protocol = identity.protocol.as_str();
        let login = identity.login.clone();
        if let Some(previous) = previous {
            // Rotation: whatever id the browser had (perhaps planted) is never the authenticated one.
            if let Err(err) = self.sessions.destroy(&previous.key()).await {
                tracing::warn!(error = %err, "ancienne session non supprimée");
            }
        }
        let created = self
            .sessions
            .create_delegated(space, identity, client_ip, origin)
            .await;
        let id = match created {
            Ok(id) => id,
            Err(err) => {
                tracing::error!(error = %err, "création de session impossible");
                return web::page(ui::service_unavailable());
            }
        };
        metrics::counter!("passerelle_logins_total", "protocol" => protocol, "outcome" => "success").increment(1);
        tracing::info!(%client_ip, %space, %login, protocol, session = %id.key().log_id(), "connexion réussie");
        let mut response = web::redirect(return_to);
        let headers = response.headers_mut();
        headers.append(SET_COOKIE, self.session_spec().set(id.as_str()));
        headers.append(SET_COOKIE, self.csrf_spec().clear());
        response
    }

    /// `GET` or `POST /auth/logout`: end the session and forget the cookie.
    pub async fn logout(&self, headers: &HeaderMap, client_ip: IpAddr) -> Response<Body> {
        let mut onward = None;
        if let Some(id) =
            cookie::find(headers, &self.sessions.settings().cookie_name).and_then(SessionId::parse)
        {
            if let Ok(Some(session)) = self.sessions.lookup(&id).await
                && let Some(delegation_id) = &session.delegation
                && let Some(registered) = self.delegations.get(session.space, delegation_id)
            {
                let callback_url = self.callback_url(session.space, delegation_id);
                let ctx = Context {
                    space: session.space,
                    delegation: delegation_id,
                    callback_url: &callback_url,
                    state: "",
                    client_ip,
                    now: self.clock.now(),
                    replay: &self.replay,
                };
                onward = registered
                    .delegation
                    .logout(&ctx, session.logout_hint.as_deref());
            }
            match self.sessions.destroy(&id.key()).await {
                Ok(existed) => tracing::info!(session = %id.key().log_id(), existed, "déconnexion"),
                Err(err) => {
                    tracing::error!(error = %err, "déconnexion impossible");
                    return web::page(ui::service_unavailable());
                }
            }
        }
        self.logged_out(onward)
    }

    /// The end of a logout: on to `onward` (the provider's logout) or the "logged out" page, with the
    /// session cookie cleared.
    fn logged_out(&self, onward: Option<String>) -> Response<Body> {
        let mut response = match onward {
            Some(location) => web::redirect(&location),
            None => web::page(ui::logged_out()),
        };
        response
            .headers_mut()
            .append(SET_COOKIE, self.session_spec().clear());
        response
    }

    fn render_form(
        &self,
        space: SpaceId,
        nonce: &str,
        return_to: &str,
        login: &str,
        error: Option<&str>,
        status: StatusCode,
    ) -> Response<Body> {
        let token = self.csrf.token(nonce, space);
        let action = format!("{AUTH_PREFIX}login/{space}");
        web::page(ui::login_form(
            &LoginForm {
                space,
                action: &action,
                csrf_token: &token,
                return_to,
                login,
                error,
            },
            status,
        ))
    }

    fn session_spec(&self) -> CookieSpec<'_> {
        CookieSpec {
            name: &self.sessions.settings().cookie_name,
            path: "/",
            secure: self.sessions.settings().secure_cookie,
            same_site: "Lax",
        }
    }

    /// Whether the direct form is open in a space now: `always`; or `when_idp_down` when the space
    /// has no delegation or one of its providers is down.
    async fn direct_login_open(&self, space: SpaceId, settings: &SpaceSettings) -> bool {
        match settings.direct_login {
            DirectLoginPolicy::Always => true,
            DirectLoginPolicy::Never => false,
            DirectLoginPolicy::WhenIdpDown => {
                let now = self.clock.now();
                let mut any_down = settings.delegations.is_empty();
                for settings in &settings.delegations {
                    if let Some(registered) = self.delegations.get(space, &settings.id)
                        && !registered.is_up(now).await
                    {
                        any_down = true;
                    }
                }
                any_down
            }
        }
    }

    fn csrf_spec(&self) -> CookieSpec<'_> {
        CookieSpec {
            name: &self.csrf_cookie,
            path: AUTH_PREFIX,
            secure: self.sessions.settings().secure_cookie,
            same_site: "Strict",
        }
    }
}

/// The French page (with `Retry-After`) for a guard verdict that refuses, or `None` to go on.
pub(crate) fn refusal(verdict: Verdict) -> Option<Response<Body>> {
    match verdict {
        Verdict::Allowed => None,
        Verdict::Suspended { retry_after_secs } => Some(web::page_retry_after(
            ui::suspended(retry_after_secs),
            retry_after_secs,
        )),
        Verdict::RateLimited { retry_after_secs } => Some(web::page_retry_after(
            ui::rate_limited(retry_after_secs),
            retry_after_secs,
        )),
    }
}

/// The page to return to after login: `candidate` if it is a page of `space` on this site (path and
/// query only), else the space's desktop page. Never an absolute or protocol-relative URL.
pub fn safe_return(space: SpaceId, candidate: &str) -> String {
    let default = || space.page_path(Variant::Desktop);
    if !candidate.starts_with('/') || candidate.starts_with("//") || candidate.contains('\\') {
        return default();
    }
    let Ok(parsed) = candidate.parse::<http::uri::PathAndQuery>() else {
        return default();
    };
    match SpaceId::from_page_path(parsed.path()) {
        Some((target, _)) if target == space => parsed.as_str().to_owned(),
        _ => default(),
    }
}

async fn read_form(body: Incoming, limit: usize) -> Option<Bytes> {
    Limited::new(body, limit)
        .collect()
        .await
        .ok()
        .map(|collected| collected.to_bytes())
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(bridge_login: Option<&str>) -> LoginFlow {
        use crate::session::{AnyStore, MemoryStore};
        let clock = Clock::manual(1_000);
        let settings = crate::config::SessionSettings {
            cookie_name: "s".to_owned(),
            idle_timeout: std::time::Duration::from_secs(60),
            absolute_timeout: std::time::Duration::from_secs(600),
            secure_cookie: true,
            touch_interval: std::time::Duration::from_secs(60),
        };
        let store = AnyStore::Memory(MemoryStore::new(clock.clone()));
        let guard = Guard::with_settings(Default::default(), clock.clone(), None);
        let flow = LoginFlow::new(
            Sessions::new(store, settings, clock),
            UserDirectory::default(),
            guard,
            b"0123456789abcdef0123456789abcdef",
            1024,
        );
        match bridge_login {
            Some(path) => flow.with_bridge_login(path.to_owned()),
            None => flow,
        }
    }

    #[test]
    fn logins_return_to_the_cas_bridge_only_when_it_is_on() {
        let parent = SpaceId::Parent;
        let back = "/cas/login?service=https%3A%2F%2Fpronote.example.fr%2Fpronote%2Fparent.html";
        assert_eq!(flow(Some("/cas/login")).return_target(parent, back), back);
        assert_eq!(
            flow(None).return_target(parent, back),
            "/pronote/parent.html"
        );
        for evil in [
            "/cas/loginx?service=a",
            "/cas/login",
            "/cas/login/../../evil?x",
            "//cas/login?service=a",
            "https://evil.example/cas/login?service=a",
            "/cas/login?service=a#\\evil",
        ] {
            assert_eq!(
                flow(Some("/cas/login")).return_target(parent, evil),
                "/pronote/parent.html",
                "{evil}"
            );
        }
    }

    #[test]
    fn return_targets_stay_on_the_space_pages() {
        let parent = SpaceId::Parent;
        assert_eq!(
            safe_return(parent, "/pronote/parent.html?login=true&fd=1"),
            "/pronote/parent.html?login=true&fd=1"
        );
        assert_eq!(
            safe_return(parent, "/pronote/mobile.parent.html"),
            "/pronote/mobile.parent.html"
        );
        for evil in [
            "https://evil.example/pronote/parent.html",
            "//evil.example/pronote/parent.html",
            "/\\evil.example",
            "/pronote/eleve.html",
            "/pronote/../parent.html",
            "",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_return(parent, evil), "/pronote/parent.html", "{evil}");
        }
    }
}
