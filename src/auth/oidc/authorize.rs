//! The first leg: the URL that sends the browser to the provider, and the secrets of that one login
//! attempt (`state`, `nonce`, PKCE verifier) which the caller keeps until the callback.

use std::fmt;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, Scope};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use url::Url;

use super::RelyingParty;
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
    /// Build the authorization request (code flow, PKCE S256, fresh `state` and `nonce`).
    pub async fn start(&self) -> Result<AuthorizationStart, OidcError> {
        let metadata = self.discovery.get(&self.http).await?;
        let client =
            CoreClient::from_provider_metadata((*metadata).clone(), self.client_id.clone(), None)
                .set_redirect_uri(self.redirect_uri.clone());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(AuthorizationStart {
            url,
            pending: PendingLogin {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        })
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
}
