//! OpenID Connect relying party: what the gateway needs to log someone in through an OpenID
//! provider, without any knowledge of cookies or sessions (the shared flow in `auth` does that).
//!
//! One [`RelyingParty`] per configured provider:
//! 1. [`RelyingParty::start`] builds the authorization URL (code flow, PKCE S256, `state`, `nonce`)
//!    and returns a [`PendingLogin`] the caller keeps, single use, bound to the browser.
//! 2. [`callback::parse`] reads the provider's redirect; [`RelyingParty::finish`] checks `state`,
//!    exchanges the code (client authentication `client_secret_basic`, `client_secret_post` or
//!    `private_key_jwt`), has the crate validate the ID token (signature, issuer, audience, expiry,
//!    nonce, algorithm allow-list), optionally calls userinfo, and returns the claims as
//!    [`Attributes`] for the identity mapping layer.
//! 3. [`RelyingParty::logout_url`] sends the browser to the provider's `end_session_endpoint`;
//!    [`RelyingParty::verify_logout_token`] checks a back-channel `logout_token` and says which
//!    `sid` / `sub` to end.
//!
//! Every failure is an [`OidcError`] whose [`Fault`] says whether the guard counts it or the
//! `when_idp_down` fallback applies.

pub mod authorize;
pub mod callback;
pub mod claims;
mod client_auth;
pub mod delegation;
pub mod discovery;
pub mod error;
pub mod http;
mod id_token;
pub mod jws;
pub mod logout;
mod token;

use std::fmt;

use openidconnect::core::{CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{ClientId, IssuerUrl, JsonWebKeyId, PostLogoutRedirectUrl, RedirectUrl};

use crate::clock::Clock;
use discovery::Discovery;

pub use authorize::{AuthorizationStart, PendingLogin};
pub use callback::Callback;
pub use claims::Attributes;
pub use error::{Fault, OidcError};
pub use logout::LogoutNotice;
pub use token::LoggedIn;

/// How the gateway proves who it is at the token endpoint.
#[derive(Clone)]
pub enum ClientAuth {
    /// `client_secret_basic`: the secret in an HTTP Basic `Authorization` header.
    SecretBasic(String),
    /// `client_secret_post`: the secret in the form body.
    SecretPost(String),
    /// `private_key_jwt`: a short-lived JWT signed (RS256) with the gateway's RSA key, whose public
    /// half is registered at the provider. The key is PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`).
    PrivateKeyJwt {
        private_key_pem: String,
        key_id: Option<String>,
    },
}

impl fmt::Debug for ClientAuth {
    // Secrets and keys stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::PrivateKeyJwt { .. } => "private_key_jwt",
        })
    }
}

/// One provider as the gateway is registered there.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer identifier, e.g. `https://connexion.ent.example/oidc`.
    pub issuer: String,
    pub client_id: String,
    pub client_auth: ClientAuth,
    /// The callback registered at the provider (`https://<gateway>/auth/callback/<space>/<id>`).
    pub redirect_uri: String,
    /// Scopes asked for besides `openid` (e.g. `profile`, `email`).
    pub scopes: Vec<String>,
    /// ID token and logout token signature algorithms accepted. Never `none`, never HMAC.
    pub allowed_algs: Vec<CoreJwsSigningAlgorithm>,
    /// Call the userinfo endpoint after the code exchange and merge its claims.
    pub userinfo: bool,
    /// Where the provider sends the browser after RP-initiated logout (registered there).
    pub post_logout_redirect_uri: Option<String>,
    /// How long discovered metadata and keys are kept before being fetched again.
    pub discovery_ttl_secs: u64,
}

impl Settings {
    /// The algorithms accepted when the configuration names none: the asymmetric ones providers use.
    pub fn default_algs() -> Vec<CoreJwsSigningAlgorithm> {
        vec![
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        ]
    }
}

/// The gateway as a client of one OpenID provider.
pub struct RelyingParty {
    settings: Settings,
    issuer: IssuerUrl,
    client_id: ClientId,
    redirect_uri: RedirectUrl,
    post_logout_redirect_uri: Option<PostLogoutRedirectUrl>,
    signing_key: Option<CoreRsaPrivateSigningKey>,
    http: http::HttpClient,
    discovery: Discovery,
    clock: Clock,
}

impl fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelyingParty")
            .field("issuer", &self.settings.issuer)
            .field("client_id", &self.settings.client_id)
            .field("client_auth", &self.settings.client_auth)
            .finish_non_exhaustive()
    }
}

impl RelyingParty {
    /// Check the settings and prepare the client; nothing is fetched until the first login.
    pub fn new(settings: Settings, clock: Clock) -> Result<Self, OidcError> {
        let config = |what: &str, err: &dyn fmt::Display| {
            OidcError::Configuration(format!("{what} : {err}"))
        };
        let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(|e| config("issuer", &e))?;
        let redirect_uri = RedirectUrl::new(settings.redirect_uri.clone())
            .map_err(|e| config("redirect_uri", &e))?;
        let post_logout_redirect_uri = settings
            .post_logout_redirect_uri
            .clone()
            .map(PostLogoutRedirectUrl::new)
            .transpose()
            .map_err(|e| config("post_logout_redirect_uri", &e))?;
        if settings.allowed_algs.is_empty()
            || settings.allowed_algs.iter().any(|alg| {
                matches!(
                    alg,
                    CoreJwsSigningAlgorithm::None
                        | CoreJwsSigningAlgorithm::HmacSha256
                        | CoreJwsSigningAlgorithm::HmacSha384
                        | CoreJwsSigningAlgorithm::HmacSha512
                )
            })
        {
            return Err(OidcError::Configuration(
                "algorithmes : au moins un, ni `none` ni HMAC".to_owned(),
            ));
        }
        let signing_key = match &settings.client_auth {
            ClientAuth::PrivateKeyJwt {
                private_key_pem,
                key_id,
            } => Some(
                CoreRsaPrivateSigningKey::from_pem(
                    private_key_pem,
                    key_id.clone().map(JsonWebKeyId::new),
                )
                .map_err(|e| config("clé privée (PEM PKCS#1 RSA attendu)", &e))?,
            ),
            ClientAuth::SecretBasic(_) | ClientAuth::SecretPost(_) => None,
        };
        let discovery = Discovery::new(issuer.clone(), settings.discovery_ttl_secs, clock.clone());
        Ok(RelyingParty {
            client_id: ClientId::new(settings.client_id.clone()),
            issuer,
            redirect_uri,
            post_logout_redirect_uri,
            signing_key,
            http: http::adapter(http::client()?),
            discovery,
            clock,
            settings,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The provider's metadata, fetched now if missing or older than its time to live (also a
    /// readiness probe: it fails when the provider is down).
    pub async fn metadata(&self) -> Result<std::sync::Arc<discovery::Metadata>, OidcError> {
        self.discovery.get(&self.http).await
    }

    /// The metadata last fetched, however old, without I/O; `None` before the first fetch.
    pub fn cached_metadata(&self) -> Option<std::sync::Arc<discovery::Metadata>> {
        self.discovery.cached()
    }

    /// Fetch the provider's metadata now (for readiness checks and to fail early at startup).
    pub async fn discover(&self) -> Result<(), OidcError> {
        self.metadata().await.map(|_| ())
    }
}
