//! One configured OpenID Connect delegation, shaped for the shared login flow: the flow's
//! pending-login state is the OIDC `state` (single use, bound to the browser by the flow's cookie),
//! and the `nonce` and PKCE verifier are derived from it with the gateway's key, so the flow stores
//! nothing protocol-specific. `start` and `back_channel` do no I/O (they use the metadata already
//! fetched, which `callback` and `probe` keep fresh), so they fit a synchronous contract.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use thiserror::Error;

use std::time::Duration;

use super::authorize::PendingLogin;
use super::error::{Fault, OidcError};
use super::{ClientAuth, LoggedIn, RelyingParty, Settings, callback};
use crate::auth::delegation::{
    self as flow, AuthError, BackChannel, Context, Delegation, Incoming, Outgoing,
};
use crate::clock::Clock;
use crate::identity::mapping::{MappingError, MappingRules, map_attributes};
use crate::identity::{Identity, Protocol};

/// Why a callback produced no identity.
#[derive(Debug, Error)]
pub enum CallbackError {
    #[error(transparent)]
    Oidc(#[from] OidcError),
    /// The provider vouched for someone PRONOTE cannot be given (missing or unreadable fields).
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

/// A login through the provider, ready for a session.
#[derive(Debug)]
pub struct Authenticated {
    pub identity: Identity,
    /// What a later back-channel logout for this login will name (see [`OidcDelegation::logout_index`]).
    pub logout_index: String,
    pub logged_in: LoggedIn,
}

/// One `[[delegation]]` with `protocol = "oidc"`.
#[derive(Debug, Clone)]
pub struct OidcDelegation {
    rp: Arc<RelyingParty>,
    key: Vec<u8>,
    rules: MappingRules,
    provider_logout: bool,
    /// Distinguishes this provider's `sid`/`sub` from another provider's in the session index.
    index_prefix: String,
}

impl OidcDelegation {
    /// `key` is the gateway's signing key (the nonce and PKCE verifier are derived with it). When
    /// called inside a Tokio runtime, the provider's metadata is fetched in the background at once.
    pub fn new(
        settings: Settings,
        rules: MappingRules,
        key: &[u8],
        provider_logout: bool,
        clock: Clock,
    ) -> Result<Self, OidcError> {
        let digest = Sha256::digest(settings.issuer.as_bytes());
        let index_prefix = format!("oidc:{}:", hex::encode(&digest[..8]));
        let delegation = OidcDelegation {
            rp: Arc::new(RelyingParty::new(settings, clock)?),
            key: key.to_vec(),
            rules,
            provider_logout,
            index_prefix,
        };
        delegation.prefetch();
        Ok(delegation)
    }

    pub fn relying_party(&self) -> &RelyingParty {
        &self.rp
    }

    /// Where to send the browser for the login whose pending state is `state`. Fails with
    /// Fetches the provider's metadata first when it is missing or stale (the first login after start
    /// may come before the background fetch ends).
    pub async fn authorization_redirect(&self, state: &str) -> Result<String, OidcError> {
        let metadata = self.rp.metadata().await?;
        let pending = PendingLogin::derive(&self.key, state);
        Ok(self.rp.authorization_url(&metadata, &pending).to_string())
    }

    /// The browser is back with `params` (query string, and form for `response_mode=form_post`);
    /// `state` is the pending-login state the flow found for this browser.
    pub async fn complete<K, V>(
        &self,
        state: &str,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Authenticated, CallbackError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let callback = callback::from_pairs(params)?;
        let pending = PendingLogin::derive(&self.key, state);
        let logged_in = self.rp.finish(&pending, callback).await?;
        let mapped = map_attributes(Some(&logged_in.subject), &logged_in.attributes, &self.rules)?;
        Ok(Authenticated {
            identity: Identity {
                login: mapped.login,
                protocol: Protocol::Oidc,
                fields: mapped.fields,
            },
            logout_index: self
                .logout_index(logged_in.session_id.as_deref(), Some(&logged_in.subject)),
            logged_in,
        })
    }

    /// The session index for a login or a logout token: the provider session (`sid`) when the
    /// provider sends one, else the person (`sub`), namespaced by issuer. Providers send `sid`
    /// consistently (or never), so login and logout name the same index.
    pub fn logout_index(&self, sid: Option<&str>, sub: Option<&str>) -> String {
        let (kind, value) = match (sid, sub) {
            (Some(sid), _) => ("sid", sid),
            (None, Some(sub)) => ("sub", sub),
            (None, None) => ("none", ""),
        };
        // Hashed: the index is a lookup key, the raw sid needs not be stored in clear.
        let digest = Sha256::digest(value.as_bytes());
        format!(
            "{}{kind}:{}",
            self.index_prefix,
            URL_SAFE_NO_PAD.encode(&digest[..18])
        )
    }

    /// Where the gateway's logout sends the browser next: the provider's `end_session_endpoint`
    /// (when `provider_logout` is on and the metadata is known), with `id_token_hint` when given.
    pub fn provider_logout_url(&self, id_token_hint: Option<&str>) -> Option<String> {
        if !self.provider_logout {
            return None;
        }
        let metadata = self.rp.cached_metadata()?;
        self.rp
            .logout_url_with(&metadata, id_token_hint, None)
            .ok()
            .map(|url| url.to_string())
    }

    /// A back-channel `logout_token`: the session index to end. A token signed with a key the cached
    /// set lacks makes the gateway fetch the provider's keys again (rate-limited by the discovery).
    pub async fn logout_index_for_token(&self, logout_token: &str) -> Result<String, OidcError> {
        let notice = self.rp.verify_logout_token(logout_token).await?;
        Ok(self.logout_index(notice.session_id.as_deref(), notice.subject.as_deref()))
    }

    /// Whether the provider answers (its metadata can be fetched); refreshes the cache.
    pub async fn check_provider(&self) -> Result<(), OidcError> {
        self.rp.discover().await
    }

    fn prefetch(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let rp = Arc::clone(&self.rp);
        runtime.spawn(async move {
            if let Err(err) = rp.discover().await {
                tracing::warn!(issuer = %rp.settings().issuer, error = %err, code = err.code(), "fournisseur OpenID Connect injoignable");
            }
        });
    }
}

/// Build the delegation of one `[[delegation]] protocol = "oidc"` table. Unconfigured attribute
/// names default to the standard OpenID Connect claims.
pub fn from_settings(
    config: &crate::config::OidcSettings,
    redirect_uri: String,
    post_logout_redirect_uri: String,
    key: &[u8],
    clock: &Clock,
) -> Result<OidcDelegation, OidcError> {
    use crate::config::model::OidcClientAuth;
    let client_auth = match config.client_auth {
        OidcClientAuth::ClientSecretBasic => ClientAuth::SecretBasic(config.credential.clone()),
        OidcClientAuth::ClientSecretPost => ClientAuth::SecretPost(config.credential.clone()),
        OidcClientAuth::PrivateKeyJwt => ClientAuth::PrivateKeyJwt {
            private_key_pem: config.credential.clone(),
            key_id: config.key_id.clone(),
        },
    };
    let settings = Settings {
        issuer: config.issuer.as_str().trim_end_matches('/').to_owned(),
        client_id: config.client_id.clone(),
        client_auth,
        redirect_uri,
        scopes: config.scopes.clone(),
        allowed_algs: Settings::default_algs(),
        userinfo: config.userinfo,
        post_logout_redirect_uri: Some(post_logout_redirect_uri),
        discovery_ttl_secs: config.discovery_ttl.as_secs(),
    };
    OidcDelegation::new(
        settings,
        config.mapping.clone(),
        key,
        config.provider_logout,
        clock.clone(),
    )
}

/// The OIDC delegation behind the shared flow's contract.
impl Delegation for OidcDelegation {
    async fn start(&self, ctx: &Context<'_>) -> Result<Outgoing, AuthError> {
        self.authorization_redirect(ctx.state)
            .await
            .map(Outgoing::Redirect)
            .map_err(|err| auth_error(&err))
    }

    async fn callback(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<flow::Authenticated, AuthError> {
        let params = request
            .query
            .iter()
            .chain(&request.form)
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let done = match self.complete(ctx.state, params).await {
            Ok(done) => done,
            Err(CallbackError::Oidc(err)) => return Err(auth_error(&err)),
            Err(CallbackError::Mapping(err)) => return Err(err.into()),
        };
        // Single use, across replicas: the same ID token never opens two sessions.
        let digest = Sha256::digest(done.logged_in.id_token.as_bytes());
        let ttl = done.logged_in.expires_at.saturating_sub(ctx.now).max(60);
        ctx.replay
            .first_use(
                "oidc-id-token",
                &URL_SAFE_NO_PAD.encode(&digest[..18]),
                Duration::from_secs(ttl),
            )
            .await?;
        Ok(flow::Authenticated {
            identity: done.identity,
            logout_index: Some(done.logout_index),
            // Kept only when the gateway's logout goes on to the provider, which wants it as
            // `id_token_hint` (without it, providers ask the person to confirm).
            logout_hint: self.provider_logout.then_some(done.logged_in.id_token),
        })
    }

    fn logout(&self, _ctx: &Context<'_>, hint: Option<&str>) -> Option<String> {
        self.provider_logout_url(hint)
    }

    async fn back_channel(
        &self,
        _ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<BackChannel, AuthError> {
        let Some(token) = request.form.iter().find(|(k, _)| k == "logout_token") else {
            return Ok(BackChannel::Ignored);
        };
        self.logout_index_for_token(&token.1)
            .await
            .map(|logout_index| BackChannel::Logout { logout_index })
            .map_err(|err| auth_error(&err))
    }

    async fn probe(&self) -> Result<(), AuthError> {
        self.check_provider().await.map_err(|err| auth_error(&err))
    }
}

/// The shared flow's view of an OIDC failure: the guard counts `Rejected` / `InvalidTicket`, and
/// `Unreachable` / `ProviderError` open `when_idp_down`.
fn auth_error(err: &OidcError) -> AuthError {
    let message = err.to_string();
    match (err, err.fault()) {
        (OidcError::BadCallback(_), _) => AuthError::MissingToken,
        (OidcError::CodeRejected { code }, _) => AuthError::InvalidTicket { code: code.clone() },
        (_, Fault::User) => AuthError::Rejected(message),
        (OidcError::Unreachable { .. }, _) => AuthError::Unreachable(message),
        (_, Fault::ProviderDown) => AuthError::ProviderError(502),
        (_, Fault::Configuration) => AuthError::Malformed(message),
    }
}

impl CallbackError {
    /// Whose fault: mapping failures are the provider's data, not an attack; they are not counted.
    pub fn fault(&self) -> Fault {
        match self {
            CallbackError::Oidc(err) => err.fault(),
            CallbackError::Mapping(_) => Fault::Configuration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delegation() -> OidcDelegation {
        let settings = Settings {
            issuer: "https://op.example".into(),
            client_id: "rp".into(),
            client_auth: ClientAuth::SecretBasic("s".into()),
            redirect_uri: "https://gw.example/auth/callback/parent/ent".into(),
            scopes: vec![],
            allowed_algs: Settings::default_algs(),
            userinfo: false,
            post_logout_redirect_uri: None,
            discovery_ttl_secs: 3600,
        };
        OidcDelegation::new(settings, MappingRules::default(), b"k", true, Clock::System)
            .expect("delegation")
    }

    #[test]
    fn callback_futures_can_cross_threads() {
        fn send<T: Send>(_: T) {}
        let delegation = delegation();
        send(delegation.complete("state", Vec::<(String, String)>::new()));
        send(delegation.check_provider());
    }

    #[test]
    fn logout_indexes_separate_sid_sub_and_providers() {
        let d = delegation();
        let by_sid = d.logout_index(Some("abc"), Some("u"));
        assert_eq!(by_sid, d.logout_index(Some("abc"), None));
        assert_ne!(by_sid, d.logout_index(None, Some("abc")));
        assert!(by_sid.starts_with("oidc:") && !by_sid.contains("abc"));
    }

    #[test]
    fn no_provider_logout_before_the_metadata_is_known() {
        assert_eq!(delegation().provider_logout_url(None), None);
    }
}
