//! The delegated half of the login flow: where an unauthenticated browser is sent, how it comes back
//! from its identity provider (`/auth/callback/<space>/<id>`), and single logout
//! (`/auth/slo/<space>/<id>`). The protocol work is behind [`Delegation`]; this file does the pending
//! state, the guard, the session and the cookies around it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use http::header::SET_COOKIE;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::chooser::{Choice, direct_form_redirect, offers_a_choice};
use super::delegation::{self, AuthError, BackChannel, Context, Delegation, Outgoing};
use super::pending::{PendingLogin, PendingLogins};
use super::post_binding;
use super::registry::Registered;
use super::{AUTH_PREFIX, LoginFlow, read_form, refusal};
use crate::config::{DirectLoginPolicy, SpaceSettings};
use crate::guard::FailureKind;
use crate::identity::mapping::{Category, SpaceRefusal, SpaceRules};
use crate::session::cookie::{self, CookieSpec};
use crate::session::{LoginOrigin, SessionId, Store};
use crate::space::SpaceId;
use crate::ui;
use crate::web::{self, Body};

impl LoginFlow {
    /// An unauthenticated browser asked for `space`'s page at `requested` (path and query): send it to
    /// a way of logging in. One way: straight there. Several (delegations, and the direct form where
    /// the policy is `always`): the browser's remembered choice, or the chooser page. `?login=true`
    /// asks for the direct form where the policy always allows it.
    pub async fn start(
        &self,
        space: SpaceId,
        settings: &SpaceSettings,
        requested: &str,
        client_ip: IpAddr,
        headers: &HeaderMap,
    ) -> Response<Body> {
        let Some(first) = settings.delegations.first() else {
            return if self.direct_login_open(space, settings).await {
                direct_form_redirect(space, requested)
            } else {
                web::page(ui::no_login_method(space))
            };
        };
        if asks_direct_form(requested) && settings.direct_login == DirectLoginPolicy::Always {
            return direct_form_redirect(space, requested);
        }
        if !offers_a_choice(settings) {
            let id = first.id.clone();
            return self
                .start_delegation(space, settings, &id, requested, client_ip)
                .await;
        }
        match self.remembered_choice(headers, space, settings) {
            Some(Choice::Direct) => direct_form_redirect(space, requested),
            Some(Choice::Delegation(id)) => {
                self.start_delegation(space, settings, &id, requested, client_ip)
                    .await
            }
            None => self.chooser_page(space, settings, requested),
        }
    }

    /// Start delegation `id` of `space`, unless its provider is down and the policy opens the direct
    /// form instead.
    pub(super) async fn start_delegation(
        &self,
        space: SpaceId,
        settings: &SpaceSettings,
        id: &str,
        requested: &str,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let Some(first) = settings.delegations.iter().find(|d| d.id == id) else {
            return web::page(ui::not_found());
        };
        let direct = || direct_form_redirect(space, requested);
        let Some(registered) = self.delegations.get(space, &first.id) else {
            return web::page(ui::no_login_method(space));
        };
        if settings.direct_login == DirectLoginPolicy::WhenIdpDown
            && !registered.is_up(self.clock.now()).await
        {
            tracing::warn!(%space, delegation = %first.id, "fournisseur d'identité injoignable : connexion directe proposée");
            return direct();
        }
        if let Some(refused) = refusal(self.guard.check(client_ip).await) {
            return refused;
        }
        let return_to = self.return_target(space, requested);
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
        match registered.delegation.start(&ctx).await {
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
        let signout = incoming
            .param("wa")
            .is_some_and(|wa| wa.starts_with("wsignout"));
        if incoming.param("logoutRequest").is_some()
            || incoming.param("SAMLRequest").is_some()
            || signout
        {
            return self
                .back_channel(
                    registered,
                    space,
                    delegation_id,
                    &incoming,
                    &parts.headers,
                    client_ip,
                )
                .await;
        }
        if !settings.published {
            return web::page(ui::not_published(space));
        }
        if let Some(refused) = refusal(self.guard.check(client_ip).await) {
            return refused;
        }
        let cookie_value = cookie::find(&parts.headers, &self.pending_cookie);
        if post_binding::should_resubmit(&incoming, cookie_value.is_some()) {
            return post_binding::resubmit(&self.callback_url(space, delegation_id), &incoming);
        }
        let cookie_value = cookie_value.unwrap_or("");
        let return_to = match self.pending.finish(cookie_value).await {
            Ok(Some(pending))
                if pending.space == space.as_str() && pending.delegation == delegation_id =>
            {
                pending.return_to
            }
            // An IdP-initiated login, where the delegation opts in: nothing to bind to, and it lands
            // on the space's own page.
            Ok(None)
                if cookie_value.is_empty()
                    && incoming.post
                    && registered.delegation.accepts_unsolicited() =>
            {
                String::new()
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
        // An empty state tells the protocol there is no pending login (unsolicited).
        let state = if cookie_value.is_empty() {
            String::new()
        } else {
            PendingLogins::state_of(cookie_value)
        };
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
            Ok(authenticated)
                if let Err(refusal) =
                    authorise(settings, delegation_id, space, &authenticated.identity) =>
            {
                tracing::info!(%space, delegation = delegation_id, code = refusal.code(), "profil refusé pour cet espace");
                metrics::counter!("passerelle_logins_total", "protocol" => "delegation", "outcome" => refusal.code())
                    .increment(1);
                web::page(ui::profile_refused(&refusal.to_string()))
            }
            Ok(authenticated) => {
                let previous = cookie::find(&parts.headers, &self.sessions.settings().cookie_name)
                    .and_then(SessionId::parse);
                let origin = LoginOrigin {
                    delegation: Some(delegation_id.to_owned()),
                    logout_index: authenticated.logout_index,
                    logout_hint: authenticated.logout_hint,
                };
                self.finish_login(
                    space,
                    authenticated.identity,
                    client_ip,
                    previous,
                    &self.return_target(space, &return_to),
                    origin,
                )
                .await
            }
            Err(err) => {
                if err.is_provider_down() {
                    registered.health.mark_down(now);
                }
                self.delegation_failed(space, settings, &return_to, client_ip, &err)
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
        self.back_channel(
            registered,
            space,
            delegation_id,
            &incoming,
            &parts.headers,
            client_ip,
        )
        .await
    }

    async fn back_channel(
        &self,
        registered: &Registered,
        space: SpaceId,
        delegation_id: &str,
        incoming: &delegation::Incoming,
        headers: &HeaderMap,
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
        match registered.delegation.back_channel(&ctx, incoming).await {
            Ok(BackChannel::Logout { logout_index }) => {
                if self.end_sessions(&logout_index, &ctx).await {
                    plain(StatusCode::OK, "OK")
                } else {
                    plain(StatusCode::SERVICE_UNAVAILABLE, "indisponible")
                }
            }
            Ok(BackChannel::FrontChannel { logout_index, then }) => {
                if let Some(index) = logout_index
                    && !self.end_sessions(&index, &ctx).await
                {
                    return web::page(ui::service_unavailable());
                }
                // The browser that brought the message is the person's: its cookie goes too.
                self.logged_out(then)
            }
            Ok(BackChannel::EndBrowserSession) => {
                self.end_browser_session(headers, space, delegation_id, client_ip)
                    .await
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

    /// End every session opened with `logout_index` (single logout); `false` when the store failed.
    async fn end_sessions(&self, logout_index: &str, ctx: &Context<'_>) -> bool {
        match self.sessions.store().delete_by_index(logout_index).await {
            Ok(ended) => {
                tracing::info!(client_ip = %ctx.client_ip, space = %ctx.space, delegation = ctx.delegation, ended, "déconnexion unique (SLO)");
                metrics::counter!("passerelle_single_logouts_total").increment(1);
                true
            }
            Err(err) => {
                tracing::error!(error = %err, "déconnexion unique impossible");
                false
            }
        }
    }

    /// The provider asks to end this browser's session (WS-Federation sign-out cleanup, loaded by the
    /// STS in a frame or an image): end it if it came from this delegation, forget the cookie, and
    /// answer at once.
    async fn end_browser_session(
        &self,
        headers: &HeaderMap,
        space: SpaceId,
        delegation_id: &str,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let session_id =
            cookie::find(headers, &self.sessions.settings().cookie_name).and_then(SessionId::parse);
        if let Some(id) = session_id
            && let Ok(Some(session)) = self.sessions.lookup(&id).await
            && session.space == space
            && session.delegation.as_deref() == Some(delegation_id)
        {
            match self.sessions.destroy(&id.key()).await {
                Ok(_) => {
                    tracing::info!(%client_ip, %space, delegation = delegation_id, session = %id.key().log_id(), "déconnexion demandée par le fournisseur d'identité");
                    metrics::counter!("passerelle_single_logouts_total").increment(1);
                }
                Err(err) => {
                    tracing::error!(error = %err, "déconnexion impossible");
                    return plain(StatusCode::SERVICE_UNAVAILABLE, "indisponible");
                }
            }
        }
        let mut response = plain(StatusCode::OK, "OK");
        response
            .headers_mut()
            .append(SET_COOKIE, self.session_spec().clear());
        response
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
            return direct_form_redirect(space, &self.return_target(space, return_to));
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
}

/// Whether the identity's categories open `space` under the delegation's rules. An identity without
/// any PRONOTE category cannot be judged here and passes: PRONOTE's own matching decides.
fn authorise(
    settings: &SpaceSettings,
    delegation_id: &str,
    space: SpaceId,
    identity: &crate::identity::Identity,
) -> Result<(), SpaceRefusal> {
    let categories: BTreeSet<Category> = identity
        .fields
        .categories
        .iter()
        .filter_map(|value| value.parse().ok())
        .collect();
    if categories.is_empty() {
        return Ok(());
    }
    let rules = settings
        .delegations
        .iter()
        .find(|d| d.id == delegation_id)
        .map(|d| &d.space_rules);
    match rules {
        Some(rules) => rules.authorise(space, &categories),
        None => SpaceRules::default().authorise(space, &categories),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Identity, MappedFields, Protocol};

    fn identity(categories: &[&str]) -> Identity {
        Identity {
            login: "claire".to_owned(),
            protocol: Protocol::Cas,
            fields: MappedFields {
                categories: categories.iter().map(|c| (*c).to_owned()).collect(),
                ..MappedFields::default()
            },
        }
    }

    fn space() -> SpaceSettings {
        SpaceSettings {
            published: true,
            direct_login: DirectLoginPolicy::Never,
            delegations: Vec::new(),
        }
    }

    #[test]
    fn a_parent_profile_cannot_open_the_pupils_or_teachers_space() {
        let parent = identity(&["National_2"]);
        assert!(authorise(&space(), "ent", SpaceId::Parent, &parent).is_ok());
        assert!(authorise(&space(), "ent", SpaceId::Commune, &parent).is_ok());
        for other in [SpaceId::Eleve, SpaceId::Professeur, SpaceId::Direction] {
            let refusal = authorise(&space(), "ent", other, &parent).unwrap_err();
            assert_eq!(refusal.code(), "profil_non_autorise");
            assert!(refusal.to_string().contains("parent"), "{refusal}");
        }
    }

    #[test]
    fn an_identity_without_pronote_categories_is_left_to_pronote() {
        assert!(authorise(&space(), "ent", SpaceId::Eleve, &identity(&[])).is_ok());
        assert!(authorise(&space(), "ent", SpaceId::Eleve, &identity(&["autre"])).is_ok());
    }
}
