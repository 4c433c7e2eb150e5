//! Sessions: the gateway's record that a browser is authenticated for a space.
//!
//! The cookie carries a 256-bit random [`SessionId`]; stores only ever see its SHA-256 ([`SessionKey`]),
//! so a dump of Redis yields no usable cookie. [`Sessions`] applies the policy (idle and absolute
//! timeouts, lazy "last seen") over a [`Store`]; the stores only keep records until their TTL.

pub mod cookie;
mod memory;
mod redis_store;
mod store;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use memory::MemoryStore;
pub use redis_store::RedisStore;
pub use store::{AnyStore, Store, StoreError};

use crate::clock::Clock;
use crate::config::SessionSettings;
use crate::identity::Identity;
use crate::space::SpaceId;

/// Length of a session id in its cookie form: 32 random bytes, base64url without padding.
const SESSION_ID_LEN: usize = 43;

/// The secret in the cookie. Never logged; log [`SessionKey::log_id`] instead.
///
/// Kept inline (43 ASCII bytes) rather than in a `String`: every authenticated request parses one,
/// and this way that costs no allocation.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId([u8; SESSION_ID_LEN]);

impl SessionId {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let mut text = [0u8; SESSION_ID_LEN];
        // 32 bytes are always exactly 43 base64 characters: this cannot fail, and must not be
        // papered over (an all-zero id would be guessable).
        let written = URL_SAFE_NO_PAD
            .encode_slice(bytes, &mut text)
            .expect("32 bytes encode to 43 base64 characters");
        assert_eq!(written, SESSION_ID_LEN);
        SessionId(text)
    }

    /// Accept only what [`SessionId::generate`] could have produced, so garbage never reaches a store.
    pub fn parse(value: &str) -> Option<Self> {
        let text: [u8; SESSION_ID_LEN] = value.as_bytes().try_into().ok()?;
        text.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            .then_some(SessionId(text))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (see `generate` and `parse`), so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn key(&self) -> SessionKey {
        SessionKey(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.key().log_id())
    }
}

/// How stores name a session: the SHA-256 of its id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(SessionKey(bytes))
    }

    /// A short prefix, enough to follow one session through the logs and useless to an attacker.
    pub fn log_id(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({})", self.log_id())
    }
}

/// What a store keeps for one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    #[serde(with = "space_name")]
    pub space: SpaceId,
    pub identity: Identity,
    pub client_ip: IpAddr,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, updated lazily (see [`SessionSettings::touch_interval`]).
    pub last_seen: u64,
    /// The protocol's handle for single logout (CAS ticket, SAML SessionIndex, OIDC `sid`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_index: Option<String>,
    /// The delegation (id within the space) that authenticated it, if not the direct form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<String>,
    /// What the provider's logout needs (OIDC ID token for `id_token_hint`, SAML NameID and
    /// SessionIndex), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_hint: Option<String>,
}

/// How a session came to be, beyond its identity: the delegation and what its logouts need.
#[derive(Debug, Clone, Default)]
pub struct LoginOrigin {
    pub delegation: Option<String>,
    pub logout_index: Option<String>,
    pub logout_hint: Option<String>,
}

mod space_name {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use crate::space::SpaceId;

    pub fn serialize<S: Serializer>(space: &SpaceId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(space.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SpaceId, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(de::Error::custom)
    }
}

/// Session policy over a store: creation, lookup with timeouts, lazy touch, logout.
#[derive(Debug, Clone)]
pub struct Sessions {
    store: AnyStore,
    settings: SessionSettings,
    clock: Clock,
}

impl Sessions {
    pub fn new(store: AnyStore, settings: SessionSettings, clock: Clock) -> Self {
        Sessions {
            store,
            settings,
            clock,
        }
    }

    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// Start a session for `identity` in `space`. The caller sets the new cookie, which replaces any
    /// previous one (rotation at login: a fixated id never becomes authenticated).
    pub async fn create(
        &self,
        space: SpaceId,
        identity: Identity,
        client_ip: IpAddr,
        logout_index: Option<String>,
    ) -> Result<SessionId, StoreError> {
        let origin = LoginOrigin {
            logout_index,
            ..LoginOrigin::default()
        };
        self.create_delegated(space, identity, client_ip, origin)
            .await
    }

    /// [`Sessions::create`] for a login through a delegation, remembered for logout.
    pub async fn create_delegated(
        &self,
        space: SpaceId,
        identity: Identity,
        client_ip: IpAddr,
        origin: LoginOrigin,
    ) -> Result<SessionId, StoreError> {
        let now = self.clock.now();
        let id = SessionId::generate();
        let session = Session {
            space,
            identity,
            client_ip,
            created_at: now,
            last_seen: now,
            logout_index: origin.logout_index,
            delegation: origin.delegation,
            logout_hint: origin.logout_hint,
        };
        self.store
            .put(&id.key(), &session, self.ttl(&session, now))
            .await?;
        Ok(id)
    }

    /// The live session behind `id`, or `None` when unknown, idle too long or past its absolute limit.
    /// Writes "last seen" only when the last write is older than the touch interval.
    pub async fn lookup(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.lookup_shared(id).await?.map(Arc::unwrap_or_clone))
    }

    /// [`Sessions::lookup`] without copying the record: what the authenticated path uses on every
    /// request (the memory store answers with the `Arc` it holds).
    pub async fn lookup_shared(&self, id: &SessionId) -> Result<Option<Arc<Session>>, StoreError> {
        let key = id.key();
        let Some(mut session) = self.store.get_shared(&key).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if self.is_expired(&session, now) {
            self.store.delete(&key).await?;
            return Ok(None);
        }
        if now.saturating_sub(session.last_seen) >= self.settings.touch_interval.as_secs() {
            Arc::make_mut(&mut session).last_seen = now;
            self.store.touch(&key, now, self.ttl(&session, now)).await?;
        }
        Ok(Some(session))
    }

    /// End a session (logout or revocation). Returns whether it existed.
    pub async fn destroy(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.store.delete(key).await
    }

    fn is_expired(&self, session: &Session, now: u64) -> bool {
        let idle = now.saturating_sub(session.last_seen) >= self.settings.idle_timeout.as_secs();
        let too_old =
            now.saturating_sub(session.created_at) >= self.settings.absolute_timeout.as_secs();
        idle || too_old
    }

    /// How long a store must keep the record: until the next possible idle expiry (allowing for the
    /// lazy touch) or the absolute limit, whichever comes first.
    fn ttl(&self, session: &Session, now: u64) -> Duration {
        let absolute_end = session.created_at + self.settings.absolute_timeout.as_secs();
        let idle_end = session.last_seen
            + self.settings.idle_timeout.as_secs()
            + self.settings.touch_interval.as_secs();
        Duration::from_secs(absolute_end.min(idle_end).saturating_sub(now).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_garbage_does_not() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(SessionId::generate(), id);
        assert!(SessionId::parse("court").is_none());
        assert!(SessionId::parse(&"é".repeat(43)).is_none());
        assert!(SessionId::parse(&format!("{}=", &id.as_str()[..42])).is_none());
    }

    #[test]
    fn keys_round_trip_through_hex_and_hide_the_id() {
        let id = SessionId::generate();
        let key = id.key();
        assert_eq!(SessionKey::from_hex(&key.to_hex()), Some(key));
        assert!(!format!("{id:?}").contains(id.as_str()));
    }
}
