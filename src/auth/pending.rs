//! Pending logins: what the gateway remembers between sending a browser to an identity provider and
//! the browser coming back (login CSRF defence and the page first asked for).
//!
//! The browser holds a random nonce in a cookie, signed so that garbage never reaches the store; the
//! store holds, under a hash of the nonce, the space, the delegation and the return page, for a few
//! minutes, and hands the record out once ([`Store::take_once`]). A callback without the cookie, with
//! another browser's cookie, or a second time is refused. Shared in Redis, so any replica can finish a
//! login another replica started.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::session::{AnyStore, Store, StoreError};
use crate::space::SpaceId;

type HmacSha256 = Hmac<Sha256>;

/// How long a person may spend at their ENT before coming back.
pub const PENDING_TTL: Duration = Duration::from_secs(10 * 60);
const NAMESPACE: &str = "login";

/// What is remembered for one pending login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub space: String,
    pub delegation: String,
    /// Path and query of the page first asked for, already checked against the space's pages.
    pub return_to: String,
}

#[derive(Clone)]
pub struct PendingLogins {
    mac: HmacSha256,
    store: AnyStore,
}

impl std::fmt::Debug for PendingLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingLogins(…)")
    }
}

impl PendingLogins {
    pub fn new(key: &[u8], store: AnyStore) -> Self {
        // Domain-separated from the CSRF tokens and identity headers that use the same key.
        let mut derive = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
        derive.update(b"passerelle/pending-login/v1");
        let derived = derive.finalize().into_bytes();
        PendingLogins {
            mac: HmacSha256::new_from_slice(&derived).expect("HMAC accepts keys of any length"),
            store,
        }
    }

    /// Remember a login about to start; returns the cookie value (`nonce.signature`).
    pub async fn begin(&self, pending: &PendingLogin) -> Result<String, StoreError> {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let nonce = URL_SAFE_NO_PAD.encode(bytes);
        let value =
            serde_json::to_string(pending).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        self.store
            .put_once(NAMESPACE, &record_key(&nonce), &value, PENDING_TTL)
            .await?;
        let signature = URL_SAFE_NO_PAD.encode(self.sign(&nonce).finalize().into_bytes());
        Ok(format!("{nonce}.{signature}"))
    }

    /// Take the pending login a cookie value points to, once. `None` for a missing, forged, expired
    /// or already used one.
    pub async fn finish(&self, cookie: &str) -> Result<Option<PendingLogin>, StoreError> {
        let Some((nonce, signature)) = cookie.split_once('.') else {
            return Ok(None);
        };
        let Ok(given) = URL_SAFE_NO_PAD.decode(signature) else {
            return Ok(None);
        };
        if nonce.len() != 32 || self.sign(nonce).verify_slice(&given).is_err() {
            return Ok(None);
        }
        let Some(value) = self.store.take_once(NAMESPACE, &record_key(nonce)).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_str(&value).ok())
    }

    /// The state token handed to protocols that carry one (a hash of the nonce, never the nonce).
    pub fn state_of(cookie: &str) -> String {
        let nonce = cookie.split_once('.').map_or(cookie, |(nonce, _)| nonce);
        record_key(nonce)
    }

    fn sign(&self, nonce: &str) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(nonce.as_bytes());
        mac
    }
}

fn record_key(nonce: &str) -> String {
    hex::encode(Sha256::digest(nonce.as_bytes()))
}

impl PendingLogin {
    pub fn new(space: SpaceId, delegation: &str, return_to: &str) -> Self {
        PendingLogin {
            space: space.as_str().to_owned(),
            delegation: delegation.to_owned(),
            return_to: return_to.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::session::MemoryStore;

    fn logins() -> PendingLogins {
        PendingLogins::new(
            b"0123456789abcdef0123456789abcdef",
            AnyStore::Memory(MemoryStore::new(Clock::manual(1_000))),
        )
    }

    #[tokio::test]
    async fn a_pending_login_is_handed_out_once() {
        let logins = logins();
        let pending = PendingLogin::new(SpaceId::Parent, "ent", "/pronote/parent.html");
        let cookie = logins.begin(&pending).await.unwrap();
        assert_eq!(logins.finish(&cookie).await.unwrap(), Some(pending));
        assert_eq!(logins.finish(&cookie).await.unwrap(), None);
    }

    #[tokio::test]
    async fn forged_or_foreign_cookies_find_nothing() {
        let logins = logins();
        let pending = PendingLogin::new(SpaceId::Parent, "ent", "/pronote/parent.html");
        let cookie = logins.begin(&pending).await.unwrap();
        let (nonce, _) = cookie.split_once('.').unwrap();
        for forged in [
            nonce.to_owned(),
            format!("{nonce}.AAAA"),
            String::new(),
            "x.y".to_owned(),
        ] {
            assert_eq!(logins.finish(&forged).await.unwrap(), None, "{forged}");
        }
        let other = PendingLogins::new(b"another key of thirty-two bytes!!", logins.store.clone());
        assert_eq!(other.finish(&cookie).await.unwrap(), None);
        assert_eq!(logins.finish(&cookie).await.unwrap(), Some(pending));
    }
}
