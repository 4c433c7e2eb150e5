//! The contract between the shared login flow ([`super::LoginFlow`]) and each protocol that delegates
//! authentication to an identity provider (CAS today; SAML2, WS-Federation, OpenID Connect next).
//!
//! A login through a delegation has four moments, one method each, called in this order by the flow:
//!
//! 1. [`Delegation::start`]: an unauthenticated browser must log in; the flow has already created the
//!    pending-login state (bound to this browser by a cookie) and asks where to send the browser.
//! 2. [`Delegation::callback`]: the browser comes back from the provider to
//!    `/auth/callback/<space>/<id>`; the flow has already checked and consumed the pending state, and
//!    asks who this is.
//! 3. [`Delegation::logout`]: the person logs out of the gateway; the flow has already destroyed the
//!    session and asks whether to send the browser on to the provider's logout.
//! 4. [`Delegation::back_channel`]: the provider tells the gateway that a person logged out elsewhere
//!    (CAS SLO, SAML SLO, OIDC back-channel logout, wsignoutcleanup); the flow destroys the sessions.
//!
//! Protocol code never sees cookies or sessions and never renders a page: it returns URLs, identities,
//! logout handles and typed [`AuthError`]s, and the flow does the rest once for all protocols.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use crate::identity::Identity;
use crate::session::{AnyStore, Store};
use crate::space::SpaceId;

/// What a delegation knows about the request it serves.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub space: SpaceId,
    /// The delegation's id within the space.
    pub delegation: &'a str,
    /// The callback URL, built once from `public_url`: the CAS `service`, the SAML ACS, the OIDC
    /// `redirect_uri`. The same string at start and at callback.
    pub callback_url: &'a str,
    /// The pending-login state the flow created for this login (at start) or found (at callback).
    /// Protocols with a round-trip parameter (SAML `RelayState`, OIDC `state`) carry it; CAS binds
    /// through the cookie alone.
    pub state: &'a str,
    /// The client as resolved by the server (trusted proxies applied).
    pub client_ip: IpAddr,
    /// Unix seconds.
    pub now: u64,
    pub replay: &'a ReplayCache,
}

/// The parameters of a request that reached a delegation endpoint (query string and, for a `POST`,
/// the urlencoded form), already size-limited by the flow.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    pub post: bool,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
}

impl Incoming {
    /// The first value of `name`, from the query string then the form.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.form)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Where to send the browser to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A `303` redirect (CAS `/login`, SAML HTTP-Redirect binding, OIDC authorize).
    Redirect(String),
}

/// A successful callback.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub identity: Identity,
    /// The handle a later back-channel logout will name (derived from the CAS ticket, SAML
    /// SessionIndex, OIDC `sid`); stored with the session.
    pub logout_index: Option<String>,
    /// What the provider's own logout needs to recognise this login (the OIDC ID token for
    /// `id_token_hint`, SAML's NameID and SessionIndex for the LogoutRequest); stored with the session
    /// and handed back to [`Delegation::logout`].
    pub logout_hint: Option<String>,
}

/// What a back-channel message asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackChannel {
    /// End every session opened with this logout index.
    Logout { logout_index: String },
    /// End the session of the browser that sent this request, whoever it is (WS-Federation
    /// `wsignoutcleanup1.0` names nobody; the browser's own cookie says which session).
    EndBrowserSession,
    /// Not a message for this endpoint (e.g. a `POST` without `logoutRequest`).
    Ignored,
    /// A logout message that came through the browser (SAML HTTP-Redirect): end the sessions of
    /// `logout_index` if any, then send the browser to `then` (the answer to the provider), or show
    /// the "logged out" page.
    FrontChannel {
        logout_index: Option<String>,
        then: Option<String>,
    },
}

/// Why a delegated login failed. Each has a stable [`AuthError::code`] for logs and metrics, a French
/// [`AuthError::message`] for the person, and says whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No pending login for this browser (expired, already used, or a forged callback).
    #[error("aucune connexion en cours pour ce navigateur")]
    NoPendingLogin,
    /// The callback carries no ticket / response / code.
    #[error("réponse du fournisseur d'identité sans jeton")]
    MissingToken,
    /// A ticket, assertion or nonce seen before.
    #[error("jeton déjà utilisé")]
    Replayed,
    /// The provider refused the ticket (`INVALID_TICKET`, …).
    #[error("jeton refusé par le fournisseur d'identité ({code})")]
    InvalidTicket { code: String },
    /// The ticket was issued for another service (`INVALID_SERVICE`).
    #[error("jeton émis pour un autre service")]
    InvalidService,
    /// A signed/validated answer whose conditions do not hold (audience, recipient, time).
    #[error("réponse du fournisseur d'identité refusée : {0}")]
    Rejected(String),
    /// The provider could not be reached or timed out.
    #[error("fournisseur d'identité injoignable : {0}")]
    Unreachable(String),
    /// The provider answered with an HTTP error.
    #[error("fournisseur d'identité en erreur (HTTP {0})")]
    ProviderError(u16),
    /// The provider's answer could not be read.
    #[error("réponse du fournisseur d'identité illisible : {0}")]
    Malformed(String),
    /// The identity lacks what the configuration requires (e.g. the login attribute).
    #[error("identité incomplète : {0}")]
    IncompleteIdentity(String),
    /// A back-channel message from an address not allowed to send it.
    #[error("message de déconnexion d'une source non autorisée")]
    ForbiddenSource,
    /// The session store failed.
    #[error("stockage indisponible : {0}")]
    Store(String),
}

/// An identity PRONOTE would refuse (no categories, bad birth date…): the message names the field so
/// the school's admin can fix the provider's configuration.
impl From<crate::identity::mapping::MappingError> for AuthError {
    fn from(err: crate::identity::mapping::MappingError) -> Self {
        AuthError::IncompleteIdentity(err.to_string())
    }
}

impl AuthError {
    /// Stable code for logs, metrics and the API.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::NoPendingLogin => "NO_PENDING_LOGIN",
            AuthError::MissingToken => "MISSING_TICKET",
            AuthError::Replayed => "REPLAYED_TICKET",
            AuthError::InvalidTicket { .. } => "INVALID_TICKET",
            AuthError::InvalidService => "INVALID_SERVICE",
            AuthError::Rejected(_) => "REJECTED",
            AuthError::Unreachable(_) => "IDP_UNREACHABLE",
            AuthError::ProviderError(_) => "IDP_ERROR",
            AuthError::Malformed(_) => "MALFORMED_RESPONSE",
            AuthError::IncompleteIdentity(_) => "INCOMPLETE_IDENTITY",
            AuthError::ForbiddenSource => "FORBIDDEN_SOURCE",
            AuthError::Store(_) => "STORE_UNAVAILABLE",
        }
    }

    /// Whether the person (or someone acting for them) presented a bad token: the guard counts these.
    /// A missing token is not counted: CAS `gateway=true` comes back without one when the person has
    /// no ENT session.
    pub fn is_user_fault(&self) -> bool {
        matches!(
            self,
            AuthError::Replayed
                | AuthError::InvalidTicket { .. }
                | AuthError::InvalidService
                | AuthError::Rejected(_)
        )
    }

    /// Whether the provider is down (not the person's fault): `when_idp_down` opens the direct form.
    pub fn is_provider_down(&self) -> bool {
        matches!(
            self,
            AuthError::Unreachable(_) | AuthError::ProviderError(_)
        )
    }

    /// What the person reads, in French.
    pub fn message(&self) -> &'static str {
        match self {
            AuthError::NoPendingLogin => {
                "Cette connexion n'a pas été demandée depuis ce navigateur, ou elle a expiré. Recommencez depuis la page de l'espace."
            }
            AuthError::MissingToken
            | AuthError::Replayed
            | AuthError::InvalidTicket { .. }
            | AuthError::Rejected(_) => {
                "Votre ENT n'a pas confirmé votre identité (jeton invalide, expiré ou déjà utilisé). Recommencez la connexion."
            }
            AuthError::InvalidService => {
                "Le jeton reçu de votre ENT était destiné à un autre service. Recommencez la connexion."
            }
            AuthError::Unreachable(_) | AuthError::ProviderError(_) => {
                "Le serveur d'authentification de votre ENT ne répond pas. Réessayez dans quelques instants."
            }
            AuthError::Malformed(_) => {
                "La réponse du serveur d'authentification de votre ENT est illisible. Réessayez plus tard ou contactez votre établissement."
            }
            AuthError::IncompleteIdentity(_) => {
                "Votre ENT n'a pas transmis les informations nécessaires pour vous identifier. Contactez votre établissement."
            }
            AuthError::ForbiddenSource => "Demande refusée.",
            AuthError::Store(_) => {
                "Le service de connexion rencontre un problème. Réessayez dans quelques instants."
            }
        }
    }
}

/// The replay cache delegations use for single-use tokens, over the shared session store.
#[derive(Debug, Clone)]
pub struct ReplayCache {
    store: AnyStore,
}

impl ReplayCache {
    pub fn new(store: AnyStore) -> Self {
        ReplayCache { store }
    }

    /// Accept `id` (a hash of the token, never the token itself) once in `namespace`; a second use
    /// within `ttl` is [`AuthError::Replayed`].
    pub async fn first_use(
        &self,
        namespace: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<(), AuthError> {
        match self.store.remember_once(namespace, id, ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(AuthError::Replayed),
            Err(err) => Err(AuthError::Store(err.to_string())),
        }
    }
}

/// One way to authenticate through an identity provider. See the module doc for when each method runs.
pub trait Delegation: Send + Sync {
    /// Where to send the browser so that the provider authenticates the person. Called once per login,
    /// after the flow created the pending state; `ctx.callback_url` is where the provider must return.
    /// May wait for the provider (e.g. OIDC discovery right after start).
    fn start(&self, ctx: &Context<'_>) -> impl Future<Output = Result<Outgoing, AuthError>> + Send;

    /// The browser came back: validate what it carries (server to server when the protocol says so)
    /// and say who the person is. Tokens are single use: check them with `ctx.replay`.
    fn callback(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> impl Future<Output = Result<Authenticated, AuthError>> + Send;

    /// Where to send the browser after the gateway's own logout, to end the provider's session too.
    /// `None` (the default) ends at the gateway's "logged out" page. `hint` is the session's
    /// [`Authenticated::logout_hint`].
    fn logout(&self, _ctx: &Context<'_>, _hint: Option<&str>) -> Option<String> {
        None
    }

    /// A message from the provider outside any browser login (single logout). The default ignores
    /// everything. May fetch from the provider (e.g. its new signing keys).
    fn back_channel(
        &self,
        _ctx: &Context<'_>,
        _request: &Incoming,
    ) -> impl Future<Output = Result<BackChannel, AuthError>> + Send {
        async { Ok(BackChannel::Ignored) }
    }

    /// Whether a callback without any pending login may go on (IdP-initiated SAML, opted in per
    /// delegation); the flow then calls [`Delegation::callback`] with an empty `ctx.state`. The
    /// default says no.
    fn accepts_unsolicited(&self) -> bool {
        false
    }

    /// Whether the provider answers at all, for `when_idp_down`. The default says yes.
    fn probe(&self) -> impl Future<Output = Result<(), AuthError>> + Send {
        async { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_tokens_are_the_users_fault_and_outages_are_not() {
        for err in [
            AuthError::Replayed,
            AuthError::InvalidService,
            AuthError::InvalidTicket {
                code: "INVALID_TICKET".to_owned(),
            },
        ] {
            assert!(err.is_user_fault(), "{err:?}");
            assert!(!err.is_provider_down(), "{err:?}");
        }
        for err in [
            AuthError::Unreachable("délai dépassé".to_owned()),
            AuthError::ProviderError(503),
        ] {
            assert!(!err.is_user_fault(), "{err:?}");
            assert!(err.is_provider_down(), "{err:?}");
        }
        assert!(!AuthError::Malformed("x".to_owned()).is_provider_down());
    }
}
