//! Form tokens against cross-site request forgery, stateless so that any replica can check them.
//!
//! The browser gets a random nonce in an HttpOnly `SameSite=Strict` cookie; the form carries
//! HMAC(key, space, nonce). A forged cross-site POST has neither the cookie (Strict) nor a way to
//! compute the token for the victim's nonce.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::space::SpaceId;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct CsrfTokens {
    mac: HmacSha256,
}

impl std::fmt::Debug for CsrfTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfTokens(…)")
    }
}

impl CsrfTokens {
    pub fn new(key: &[u8]) -> Self {
        // Domain-separate from the identity-header signatures that use the same configured key.
        let mut derive = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
        derive.update(b"passerelle/csrf/v1");
        let derived = derive.finalize().into_bytes();
        CsrfTokens {
            mac: HmacSha256::new_from_slice(&derived).expect("HMAC accepts keys of any length"),
        }
    }

    /// A fresh nonce for the cookie.
    pub fn nonce() -> String {
        let mut bytes = [0u8; 18];
        rand::rng().fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The form token for a nonce and a space.
    pub fn token(&self, nonce: &str, space: SpaceId) -> String {
        self.token_for(nonce, space.as_str())
    }

    /// Constant-time check of a submitted token.
    pub fn verify(&self, nonce: &str, space: SpaceId, token: &str) -> bool {
        self.verify_for(nonce, space.as_str(), token)
    }

    /// The form token for a nonce and a purpose (a space name, or `admin` for the admin page).
    pub fn token_for(&self, nonce: &str, purpose: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.compute(nonce, purpose).finalize().into_bytes())
    }

    /// Constant-time check of a token made by [`CsrfTokens::token_for`].
    pub fn verify_for(&self, nonce: &str, purpose: &str, token: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        !nonce.is_empty() && self.compute(nonce, purpose).verify_slice(&given).is_ok()
    }

    fn compute(&self, nonce: &str, purpose: &str) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(nonce.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_valid_only_for_its_nonce_space_and_key() {
        let tokens = CsrfTokens::new(b"0123456789abcdef0123456789abcdef");
        let nonce = CsrfTokens::nonce();
        let token = tokens.token(&nonce, SpaceId::Parent);
        assert!(tokens.verify(&nonce, SpaceId::Parent, &token));
        assert!(!tokens.verify(&CsrfTokens::nonce(), SpaceId::Parent, &token));
        assert!(!tokens.verify(&nonce, SpaceId::Eleve, &token));
        assert!(!tokens.verify("", SpaceId::Parent, &token));
        assert!(!tokens.verify(&nonce, SpaceId::Parent, "garbage!"));
        let other = CsrfTokens::new(b"another key of thirty-two bytes!!");
        assert!(!other.verify(&nonce, SpaceId::Parent, &token));
    }
}
