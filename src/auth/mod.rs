//! The login flow every way of authenticating shares: where an unauthenticated browser goes, how a
//! successful login becomes a session (and its cookie), how logout ends it.
//!
//! Protocol modules ([`direct`], [`cas`]; SAML2, WS-Federation and OpenID Connect next) only turn a
//! request into an [`Identity`](crate::identity::Identity) or an error; cookies, sessions, the
//! pending-login state, the guard and the return URL are handled here, once. Delegations plug in
//! through the [`Delegation`] trait (see [`delegation`] for the order of its calls).

pub mod cas;
pub mod csrf;
pub mod delegation;
pub mod direct;
pub mod pending;
pub mod registry;

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
use crate::session::{SessionId, Sessions, Store};
use crate::space::{SpaceId, Variant};
use crate::ui::{self, LoginForm};
use crate::web::{self, Body};
use csrf::CsrfTokens;
pub use delegation::{AuthError, Delegation};
use delegation::{BackChannel, Context, Outgoing, ReplayCache};
use direct::{DirectLoginError, UserDirectory};
use pending::{PendingLogin, PendingLogins};
use registry::{Delegations, Registered};

/// Path prefix of the gateway's own login endpoints.
pub const AUTH_PREFIX: &str = "/auth/";
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
    replay: ReplayCache,
    /// `public_url` without its trailing slash: callback URLs are built from it.
    public_base: String,
    clock: Clock,
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
        let store = sessions.store().clone();
        LoginFlow {
            csrf: CsrfTokens::new(signing_key),
            csrf_cookie,
            body_limit,
            delegations: Delegations::default(),
            pending: PendingLogins::new(signing_key, store.clone()),
            pending_cookie,
            replay: ReplayCache::new(store),
            public_base: String::new(),
            clock: Clock::default(),
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

    /// The canonical callback URL of a delegation: the same string at start and at validation.
    pub fn callback_url(&self, space: SpaceId, delegation: &str) -> String {
        format!("{}{CALLBACK_PREFIX}{space}/{delegation}", self.public_base)
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The names of every cookie the gateway sets, which the upstream must never see.
    pub fn cookie_names(&self) -> [&str; 3] {
        [
            &self.sessions.settings().cookie_name,
            &self.csrf_cookie,
            &self.pending_cookie,
        ]
    }

    /// An unauthenticated browser asked for `space`'s page at `requested` (path and query): send it to
    /// a way of logging in. With delegations, the first one (the chooser comes later), unless
    /// `?login=true` asks for the direct form where the policy always allows it, or the provider is
    /// down and the policy is `when_idp_down`.
    pub async fn start(
        &self,
        space: SpaceId,
        settings: &SpaceSettings,
        requested: &str,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let direct = || {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("retour", requested)
                .finish();
            web::redirect(&format!("{AUTH_PREFIX}login/{space}?{query}"))
        };
        let Some(first) = settings.delegations.first() else {
            return if self.direct_login_open(space, settings).await {
                direct()
            } else {
                web::page(ui::no_login_method(space))
            };
        };
        if asks_direct_form(requested) && settings.direct_login == DirectLoginPolicy::Always {
            return direct();
        }
        let Some(registered) = self.delegations.get(space, &first.id) else {
            return web::page(ui::no_login_method(space));
        };
        if settings.direct_login == DirectLoginPolicy::WhenIdpDown
            && !registered.is_up(self.clock.now()).await
        {
            tracing::warn!(%space, delegation = %first.id, "fournisseur d'identité injoignable : connexion directe proposée");
            return direct();
        }
        match self.guard.check(client_ip).await {
            Verdict::Allowed => {}
            Verdict::Suspended { retry_after_secs } => {
                return web::page_retry_after(ui::suspended(retry_after_secs), retry_after_secs);
            }
            Verdict::RateLimited { retry_after_secs } => {
                return web::page_retry_after(ui::rate_limited(retry_after_secs), retry_after_secs);
            }
        }
        let return_to = safe_return(space, requested);
        let pending = PendingLogin::new(space, &first.id, &return_to);
        let cookie_value = match self.pending.begin(&pending).await {
            Ok(value) => value,
            Err(err) => {
                tracing::error!(error = %err, "connexion en attente non enregistrée");
                return web::page(ui::service_unavailable());
            }
        };
        let callback_url = self.callback_url(space, &first.id);
        let state = PendingLogins::state_of(&cookie_value);
        let ctx = Context {
            space,
            delegation: &first.id,
            callback_url: &callback_url,
            state: &state,
            client_ip,
            now: self.clock.now(),
            replay: &self.replay,
        };
        match registered.delegation.start(&ctx) {
            Ok(Outgoing::Redirect(location)) => {
                let mut response = web::redirect(&location);
                response
                    .headers_mut()
                    .append(SET_COOKIE, self.pending_spec().set(&cookie_value));
                response
            }
            Err(err) => {
                self.delegation_failed(space, settings, requested, client_ip, &err)
                    .await
            }
        }
    }

    /// `GET /auth/callback/<space>/<delegation>`: the browser is back from the identity provider.
    /// A `POST` (or `GET`) carrying a `logoutRequest` is CAS single logout posted to the service URL.
    pub async fn callback(
        &self,
        request: Request<Incoming>,
        space: SpaceId,
        delegation_id: &str,
        settings: &SpaceSettings,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let Some(registered) = self.delegations.get(space, delegation_id) else {
            return web::page(ui::not_found());
        };
        let (parts, body) = request.into_parts();
        let Some(incoming) = self.incoming(&parts, body).await else {
            return web::page(ui::payload_too_large());
        };
        if incoming.param("logoutRequest").is_some() || incoming.param("SAMLRequest").is_some() {
            return self
                .back_channel(registered, space, delegation_id, &incoming, client_ip)
                .await;
        }
        if !settings.published {
            return web::page(ui::not_published(space));
        }
        match self.guard.check(client_ip).await {
            Verdict::Allowed => {}
            Verdict::Suspended { retry_after_secs } => {
                return web::page_retry_after(ui::suspended(retry_after_secs), retry_after_secs);
            }
            Verdict::RateLimited { retry_after_secs } => {
                return web::page_retry_after(ui::rate_limited(retry_after_secs), retry_after_secs);
            }
        }
        let cookie_value = cookie::find(&parts.headers, &self.pending_cookie).unwrap_or("");
        let pending = match self.pending.finish(cookie_value).await {
            Ok(Some(pending))
                if pending.space == space.as_str() && pending.delegation == delegation_id =>
            {
                pending
            }
            Ok(_) => {
                let err = AuthError::NoPendingLogin;
                return self
                    .delegation_failed(space, settings, "", client_ip, &err)
                    .await;
            }
            Err(err) => {
                tracing::error!(error = %err, "connexion en attente illisible");
                return web::page(ui::service_unavailable());
            }
        };
        let callback_url = self.callback_url(space, delegation_id);
        let state = PendingLogins::state_of(cookie_value);
        let now = self.clock.now();
        let ctx = Context {
            space,
            delegation: delegation_id,
            callback_url: &callback_url,
            state: &state,
            client_ip,
            now,
            replay: &self.replay,
        };
        let outcome = registered.delegation.callback(&ctx, &incoming).await;
        let mut response = match outcome {
            Ok(authenticated) => {
                let previous = cookie::find(&parts.headers, &self.sessions.settings().cookie_name)
                    .and_then(SessionId::parse);
                let origin = Origin {
                    delegation: Some(delegation_id.to_owned()),
                    logout_index: authenticated.logout_index,
                };
                self.finish_login(
                    space,
                    authenticated.identity,
                    client_ip,
                    previous,
                    &safe_return(space, &pending.return_to),
                    origin,
                )
                .await
            }
            Err(err) => {
                if err.is_provider_down() {
                    registered.health.mark_down(now);
                }
                self.delegation_failed(space, settings, &pending.return_to, client_ip, &err)
                    .await
            }
        };
        response
            .headers_mut()
            .append(SET_COOKIE, self.pending_spec().clear());
        response
    }

    /// `POST /auth/slo/<space>/<delegation>` (or a `logoutRequest` at the callback URL).
    pub async fn single_logout(
        &self,
        request: Request<Incoming>,
        space: SpaceId,
        delegation_id: &str,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let Some(registered) = self.delegations.get(space, delegation_id) else {
            return web::page(ui::not_found());
        };
        let (parts, body) = request.into_parts();
        let Some(incoming) = self.incoming(&parts, body).await else {
            return web::page(ui::payload_too_large());
        };
        self.back_channel(registered, space, delegation_id, &incoming, client_ip)
            .await
    }

    async fn back_channel(
        &self,
        registered: &Registered,
        space: SpaceId,
        delegation_id: &str,
        incoming: &delegation::Incoming,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let callback_url = self.callback_url(space, delegation_id);
        let ctx = Context {
            space,
            delegation: delegation_id,
            callback_url: &callback_url,
            state: "",
            client_ip,
            now: self.clock.now(),
            replay: &self.replay,
        };
        match registered.delegation.back_channel(&ctx, incoming) {
            Ok(BackChannel::Logout { logout_index }) => {
                match self.sessions.store().delete_by_index(&logout_index).await {
                    Ok(ended) => {
                        tracing::info!(%client_ip, %space, delegation = delegation_id, ended, "déconnexion unique (SLO)");
                        metrics::counter!("passerelle_single_logouts_total").increment(1);
                        plain(StatusCode::OK, "OK")
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "déconnexion unique impossible");
                        plain(StatusCode::SERVICE_UNAVAILABLE, "indisponible")
                    }
                }
            }
            Ok(BackChannel::Ignored) => plain(StatusCode::BAD_REQUEST, "demande inconnue"),
            Err(err) => {
                tracing::warn!(%client_ip, %space, delegation = delegation_id, code = err.code(), error = %err, "message de déconnexion refusé");
                let status = match err {
                    AuthError::ForbiddenSource => StatusCode::FORBIDDEN,
                    _ => StatusCode::BAD_REQUEST,
                };
                plain(status, err.code())
            }
        }
    }

    /// Log, count and show a failed delegated login; fall back to the direct form when the provider
    /// is down and the space allows it.
    async fn delegation_failed(
        &self,
        space: SpaceId,
        settings: &SpaceSettings,
        return_to: &str,
        client_ip: IpAddr,
        err: &AuthError,
    ) -> Response<Body> {
        // The error text never holds a ticket: protocol errors carry codes, reqwest errors lose URLs.
        tracing::warn!(%client_ip, %space, code = err.code(), error = %err, "connexion déléguée en échec");
        metrics::counter!("passerelle_logins_total", "protocol" => "delegation", "outcome" => err.code())
            .increment(1);
        if err.is_user_fault() {
            self.guard
                .record_failure(client_ip, None, FailureKind::InvalidTicket)
                .await;
        }
        let fallback = matches!(
            settings.direct_login,
            DirectLoginPolicy::WhenIdpDown | DirectLoginPolicy::Always
        );
        if err.is_provider_down() && fallback {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("retour", &safe_return(space, return_to))
                .finish();
            return web::redirect(&format!("{AUTH_PREFIX}login/{space}?{query}"));
        }
        let status = match err {
            AuthError::Unreachable(_) | AuthError::ProviderError(_) | AuthError::Malformed(_) => {
                StatusCode::BAD_GATEWAY
            }
            AuthError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::FORBIDDEN,
        };
        web::page(ui::delegation_failed(space, status, err.message()))
    }

    /// Query string and, for a `POST`, the urlencoded form, size-limited. `None` when too large.
    async fn incoming(
        &self,
        parts: &http::request::Parts,
        body: Incoming,
    ) -> Option<delegation::Incoming> {
        let pairs = |bytes: &[u8]| -> Vec<(String, String)> {
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        };
        let query = pairs(parts.uri.query().unwrap_or("").as_bytes());
        let post = parts.method == Method::POST;
        let form = if post {
            pairs(&read_form(body, self.body_limit).await?)
        } else {
            Vec::new()
        };
        Some(delegation::Incoming { post, query, form })
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
        match self.guard.check(client_ip).await {
            Verdict::Allowed => {}
            Verdict::Suspended { retry_after_secs } => {
                return web::page_retry_after(ui::suspended(retry_after_secs), retry_after_secs);
            }
            Verdict::RateLimited { retry_after_secs } => {
                return web::page_retry_after(ui::rate_limited(retry_after_secs), retry_after_secs);
            }
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
        let return_to = safe_return(space, &requested);
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
        let return_to = safe_return(space, &field("retour"));
        let nonce = cookie::find(&parts.headers, &self.csrf_cookie).unwrap_or("");
        if !self.csrf.verify(nonce, space, &token) {
            tracing::info!(%client_ip, %space, "formulaire de connexion refusé : jeton CSRF invalide");
            let retry = format!("{AUTH_PREFIX}login/{space}");
            return web::page(ui::form_expired(&retry));
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
                    Origin::default(),
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
        origin: Origin,
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
            .create_delegated(
                space,
                identity,
                client_ip,
                origin.delegation,
                origin.logout_index,
            )
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
                onward = registered.delegation.logout(&ctx);
            }
            match self.sessions.destroy(&id.key()).await {
                Ok(existed) => tracing::info!(session = %id.key().log_id(), existed, "déconnexion"),
                Err(err) => {
                    tracing::error!(error = %err, "déconnexion impossible");
                    return web::page(ui::service_unavailable());
                }
            }
        }
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

    fn pending_spec(&self) -> CookieSpec<'_> {
        CookieSpec {
            name: &self.pending_cookie,
            path: AUTH_PREFIX,
            secure: self.sessions.settings().secure_cookie,
            // Lax, not Strict: the browser comes back from the identity provider's site, and a
            // Strict cookie is not sent on that cross-site navigation.
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

/// How a session came to be, beyond its identity.
#[derive(Debug, Default)]
struct Origin {
    delegation: Option<String>,
    logout_index: Option<String>,
}

/// Whether the page asked for carries PRONOTE's `login=true` ("show me the login form").
fn asks_direct_form(requested: &str) -> bool {
    requested.split_once('?').is_some_and(|(_, query)| {
        url::form_urlencoded::parse(query.as_bytes())
            .any(|(k, v)| k == "login" && v.eq_ignore_ascii_case("true"))
    })
}

/// A short text answer for back-channel callers (CAS servers), not people.
fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(web::full(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
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
