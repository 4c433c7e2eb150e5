//! The first leg: the URL that sends the browser to the provider, and the secrets of that one login
//! attempt (`state`, `nonce`, PKCE verifier) which the caller keeps until the callback.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, Scope};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use url::Url;

use super::RelyingParty;
use super::discovery::Metadata;
use super::error::OidcError;

/// The secrets of one login attempt. The caller stores it server-side (pending-login state), bound
/// to the browser, and consumes it once at the callback.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// Sent as `state`, must come back unchanged.
    pub state: String,
    /// Sent as `nonce`, must be inside the ID token.
    pub nonce: String,
    /// PKCE S256 verifier, sent with the code exchange.
    pub pkce_verifier: String,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingLogin { .. }")
    }
}

impl PendingLogin {
    /// Fresh random values for one attempt.
    pub fn random() -> Self {
        PendingLogin {
            state: CsrfToken::new_random().secret().clone(),
            nonce: Nonce::new_random().secret().clone(),
            // 64 base64url characters: inside RFC 7636's 43..=128.
            pkce_verifier: CsrfToken::new_random_len(48).secret().clone(),
        }
    }

    /// The values for a login whose `state` is a secret, single-use value the caller already keeps
    /// (the shared flow's pending-login state): `nonce` and the PKCE verifier are derived from it
    /// with the gateway's key, so nothing more has to be stored. Without the key, seeing `state` in
    /// the front channel reveals neither.
    pub fn derive(key: &[u8], state: &str) -> Self {
        let derive = |label: &[u8]| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
            mac.update(b"passerelle/oidc/v1/");
            mac.update(label);
            mac.update(b"/");
            mac.update(state.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        };
        PendingLogin {
            state: state.to_owned(),
            nonce: derive(b"nonce"),
            // 43 characters of base64url: the shortest verifier RFC 7636 allows, 256 bits.
            pkce_verifier: derive(b"pkce"),
        }
    }

    /// Whether `received` is this attempt's `state` (constant time: the value is a secret).
    pub fn check_state(&self, received: &str) -> Result<(), OidcError> {
        if bool::from(self.state.as_bytes().ct_eq(received.as_bytes())) {
            Ok(())
        } else {
            Err(OidcError::StateMismatch)
        }
    }
}

/// Where to send the browser, and what to remember until it comes back.
#[derive(Debug)]
pub struct AuthorizationStart {
    pub url: Url,
    pub pending: PendingLogin,
}

impl RelyingParty {
    /// Build the authorization request (code flow, PKCE S256, fresh `state` and `nonce`),
    /// fetching the provider's metadata when needed.
    pub async fn start(&self) -> Result<AuthorizationStart, OidcError> {
        let metadata = self.discovery.get(&self.http).await?;
        let pending = PendingLogin::random();
        Ok(AuthorizationStart {
            url: self.authorization_url(&metadata, &pending),
            pending,
        })
    }

    /// The authorization URL for `pending` (its `state`, `nonce` and the S256 challenge of its
    /// verifier), from already known metadata. Does no I/O.
    pub fn authorization_url(&self, metadata: &Metadata, pending: &PendingLogin) -> Url {
        let client =
            CoreClient::from_provider_metadata(metadata.clone(), self.client_id.clone(), None)
                .set_redirect_uri(self.redirect_uri.clone());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pending.pkce_verifier.clone(),
        ));
        let (state, nonce) = (pending.state.clone(), pending.nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        request.url().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_issued_state_is_accepted() {
        let pending = PendingLogin {
            state: "abc".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
        };
        assert!(pending.check_state("abc").is_ok());
        for wrong in ["", "abd", "abcd", "ab"] {
            assert!(matches!(
                pending.check_state(wrong),
                Err(OidcError::StateMismatch)
            ));
        }
        assert_eq!(format!("{pending:?}"), "PendingLogin { .. }");
    }

    #[test]
    fn derived_secrets_depend_on_key_and_state() {
        let a = PendingLogin::derive(b"key", "state-1");
        assert_eq!(a, PendingLogin::derive(b"key", "state-1"));
        assert_eq!(a.state, "state-1");
        assert_eq!(a.pkce_verifier.len(), 43);
        assert_ne!(a.nonce, a.pkce_verifier);
        assert_ne!(a.nonce, PendingLogin::derive(b"key", "state-2").nonce);
        assert_ne!(
            a.pkce_verifier,
            PendingLogin::derive(b"other", "state-1").pkce_verifier
        );
    }
}
