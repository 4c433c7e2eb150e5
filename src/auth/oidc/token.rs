//! The second leg: the callback's code exchanged at the token endpoint (with client
//! authentication), the ID token validated, userinfo merged, and the result handed back.

use std::fmt;

use openidconnect::core::{CoreClient, CoreErrorResponseType, CoreGenderClaim};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthType, AuthorizationCode, ClientSecret, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, Nonce, OAuth2TokenResponse, PkceCodeVerifier, RequestTokenError,
    UserInfoClaims, UserInfoError,
};

use super::authorize::PendingLogin;
use super::callback::Callback;
use super::claims::{Attributes, OtherClaims, attributes_from};
use super::error::OidcError;
use super::http::transport_error;
use super::{ClientAuth, RelyingParty, client_auth};

/// A client built from discovered metadata: authorization endpoint known, token and userinfo
/// endpoints optional.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A successful login.
#[derive(Clone)]
pub struct LoggedIn {
    /// The provider's `sub`: stable, unique for this provider.
    pub subject: String,
    /// The provider's session id (`sid`), which back-channel logout names.
    pub session_id: Option<String>,
    /// The raw ID token, kept for `id_token_hint` at logout.
    pub id_token: String,
    /// Every claim of the ID token (and userinfo when enabled), for the identity mapping.
    pub attributes: Attributes,
    /// When the ID token expires (seconds since the epoch).
    pub expires_at: u64,
}

impl fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedIn")
            .field("subject", &self.subject)
            .field("session_id", &self.session_id.is_some())
            .field(
                "attributes",
                &self.attributes.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl RelyingParty {
    /// Complete a login: check `state`, then the provider's answer, exchange the code, validate the
    /// ID token against this attempt's nonce, and collect the claims.
    pub async fn finish(
        &self,
        pending: &PendingLogin,
        callback: Callback,
    ) -> Result<LoggedIn, OidcError> {
        pending.check_state(&callback.state)?;
        let code = callback.result?;
        let metadata = self.discovery.get(&self.http).await?;
        let secret = match &self.settings.client_auth {
            ClientAuth::SecretBasic(secret) | ClientAuth::SecretPost(secret) => {
                Some(ClientSecret::new(secret.clone()))
            }
            ClientAuth::PrivateKeyJwt { .. } => None,
        };
        let mut client =
            CoreClient::from_provider_metadata((*metadata).clone(), self.client_id.clone(), secret)
                .set_redirect_uri(self.redirect_uri.clone());
        if !matches!(self.settings.client_auth, ClientAuth::SecretBasic(_)) {
            client = client.set_auth_type(AuthType::RequestBody);
        }
        let mut request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|_| OidcError::ProviderFailure {
                what: "découverte",
                detail: "pas de token_endpoint".into(),
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()));
        if let Some(key) = &self.signing_key {
            let audience = metadata
                .token_endpoint()
                .map(|url| url.as_str().to_owned())
                .unwrap_or_default();
            let assertion =
                client_auth::assertion(key, &self.settings.client_id, &audience, self.clock.now())?;
            request = request
                .add_extra_param("client_assertion_type", client_auth::ASSERTION_TYPE)
                .add_extra_param("client_assertion", assertion);
        }
        let response = request
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = openidconnect::TokenResponse::id_token(&response)
            .ok_or_else(|| OidcError::InvalidIdToken("absent de la réponse".into()))?
            .to_string();
        let nonce = Nonce::new(pending.nonce.clone());
        let claims = self.validate_id_token(&id_token, &nonce).await?;
        self.check_access_token_hash(&id_token, &claims, response.access_token())?;

        let mut attributes = Attributes::new();
        let as_json = serde_json::to_value(&claims)
            .map_err(|err| OidcError::InvalidIdToken(format!("revêtement JSON : {err}")))?;
        attributes_from(&as_json, &mut attributes);
        if self.settings.userinfo && metadata.userinfo_endpoint().is_some() {
            let userinfo = self
                .userinfo(&client, response.access_token().clone(), claims.subject())
                .await?;
            attributes_from(&userinfo, &mut attributes);
        }
        Ok(LoggedIn {
            subject: claims.subject().to_string(),
            session_id: claims
                .additional_claims()
                .extra
                .get("sid")
                .and_then(|sid| sid.as_str())
                .map(str::to_owned),
            id_token,
            attributes,
            expires_at: u64::try_from(claims.expiration().timestamp()).unwrap_or(0),
        })
    }

    async fn userinfo(
        &self,
        client: &DiscoveredClient,
        access_token: AccessToken,
        subject: &openidconnect::SubjectIdentifier,
    ) -> Result<serde_json::Value, OidcError> {
        const WHAT: &str = "userinfo";
        let request = client
            .user_info(access_token, Some(subject.clone()))
            .map_err(|_| OidcError::ProviderFailure {
                what: WHAT,
                detail: "pas de userinfo_endpoint".into(),
            })?;
        let claims: UserInfoClaims<OtherClaims, CoreGenderClaim> = request
            .request_async(&self.http)
            .await
            .map_err(|err| match err {
                UserInfoError::Request(err) => transport_error(WHAT, &err),
                UserInfoError::ClaimsVerification(err) => {
                    OidcError::InvalidUserInfo(err.to_string())
                }
                UserInfoError::Response(status, _, _) => OidcError::ProviderFailure {
                    what: WHAT,
                    detail: format!("statut HTTP {status}"),
                },
                other => OidcError::ProviderFailure {
                    what: WHAT,
                    detail: other.to_string(),
                },
            })?;
        serde_json::to_value(&claims).map_err(|err| OidcError::InvalidUserInfo(err.to_string()))
    }
}

impl RelyingParty {
    /// `at_hash`, when present, must match the access token it came with (Core §3.1.3.8). The
    /// hash function follows the ID token's algorithm, checked against the key that signed it.
    fn check_access_token_hash(
        &self,
        raw: &str,
        claims: &super::id_token::FullIdTokenClaims,
        access_token: &AccessToken,
    ) -> Result<(), OidcError> {
        let Some(expected) = claims.access_token_hash() else {
            return Ok(());
        };
        let invalid = |reason: &str| OidcError::InvalidIdToken(reason.to_owned());
        let token = super::jws::split(raw).map_err(invalid)?;
        // The signature was just verified, so the keys that did it are cached.
        let metadata = self
            .discovery
            .cached()
            .ok_or_else(|| invalid("clés du fournisseur inconnues"))?;
        let key = super::jws::select_key(
            metadata.jwks(),
            &token.header.alg,
            token.header.kid.as_deref(),
        )
        .ok_or_else(|| invalid("aucune clé du fournisseur ne correspond"))?;
        let actual = AccessTokenHash::from_token(access_token, &token.header.alg, key)
            .map_err(|err| OidcError::InvalidIdToken(err.to_string()))?;
        if &actual == expected {
            Ok(())
        } else {
            Err(invalid("at_hash ne correspond pas au jeton d'accès"))
        }
    }
}

fn token_error(
    err: RequestTokenError<
        reqwest::Error,
        openidconnect::StandardErrorResponse<CoreErrorResponseType>,
    >,
) -> OidcError {
    const WHAT: &str = "jeton";
    match err {
        RequestTokenError::ServerResponse(response) => {
            let code = response.error().as_ref().to_owned();
            match response.error() {
                CoreErrorResponseType::InvalidGrant => OidcError::CodeRejected { code },
                CoreErrorResponseType::InvalidClient
                | CoreErrorResponseType::UnauthorizedClient
                | CoreErrorResponseType::UnsupportedGrantType
                | CoreErrorResponseType::InvalidRequest
                | CoreErrorResponseType::InvalidScope => OidcError::ClientRejected { code },
                CoreErrorResponseType::Extension(_) => OidcError::ProviderFailure {
                    what: WHAT,
                    detail: code,
                },
            }
        }
        RequestTokenError::Request(err) => transport_error(WHAT, &err),
        RequestTokenError::Parse(err, _) => OidcError::ProviderFailure {
            what: WHAT,
            detail: format!("réponse illisible ({err})"),
        },
        RequestTokenError::Other(detail) => OidcError::ProviderFailure { what: WHAT, detail },
    }
}
