//! The storage contract every session backend meets, and the enum the gateway holds.
//!
//! Stores keep records until their TTL and answer exactly; policy (timeouts, touch frequency) lives in
//! [`super::Sessions`]. The same test suite (`tests/session_stores.rs`) runs against every backend.

use std::future::Future;
use std::time::Duration;

use super::{MemoryStore, RedisStore, Session, SessionKey};

/// A store could not answer. The gateway fails closed: no session is assumed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stockage des sessions indisponible : {0}")]
    Unavailable(String),
    #[error("enregistrement de session illisible : {0}")]
    Corrupt(String),
}

impl From<redis::RedisError> for StoreError {
    fn from(err: redis::RedisError) -> Self {
        StoreError::Unavailable(err.to_string())
    }
}

/// Where sessions live.
pub trait Store: Send + Sync {
    /// The record, if present and not past its TTL.
    fn get(
        &self,
        key: &SessionKey,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;
    /// Write a record, replacing any, to be forgotten after `ttl`.
    fn put(
        &self,
        key: &SessionKey,
        session: &Session,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Update "last seen" and the TTL of an existing record; never recreates a deleted one.
    fn touch(
        &self,
        key: &SessionKey,
        last_seen: u64,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Forget a record. Returns whether it existed.
    fn delete(&self, key: &SessionKey) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Forget every record whose `logout_index` is `index` (single logout). Returns how many.
    fn delete_by_index(
        &self,
        index: &str,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Every live record, for the admin's connections view.
    fn list(&self) -> impl Future<Output = Result<Vec<(SessionKey, Session)>, StoreError>> + Send;
    /// How many live records there are (metrics).
    fn count(&self) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Whether the backend answers (readiness).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keep a short-lived record (a pending login, a SAML request id) that [`Store::take_once`] can
    /// read exactly once, until `ttl`. Replaces any record under the same name.
    fn put_once(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Read and delete a record written by [`Store::put_once`], atomically: of two replicas racing for
    /// the same record, one gets it and the other gets `None`.
    fn take_once(
        &self,
        namespace: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Replay cache: `true` the first time `id` is seen in `namespace` (and remember it until `ttl`),
    /// `false` every later time. Used for CAS tickets, SAML assertion ids, OIDC nonces.
    fn remember_once(
        &self,
        namespace: &str,
        id: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The configured backend. An enum rather than a trait object: the hot path stays statically
/// dispatched and allocation-free.
#[derive(Debug, Clone)]
pub enum AnyStore {
    Memory(MemoryStore),
    Redis(RedisStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call.await,
            AnyStore::Redis($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn get(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        dispatch!(self, store => store.get(key))
    }
    async fn put(
        &self,
        key: &SessionKey,
        session: &Session,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self, store => store.put(key, session, ttl))
    }
    async fn touch(
        &self,
        key: &SessionKey,
        last_seen: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self, store => store.touch(key, last_seen, ttl))
    }
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        dispatch!(self, store => store.delete(key))
    }
    async fn delete_by_index(&self, index: &str) -> Result<usize, StoreError> {
        dispatch!(self, store => store.delete_by_index(index))
    }
    async fn list(&self) -> Result<Vec<(SessionKey, Session)>, StoreError> {
        dispatch!(self, store => store.list())
    }
    async fn count(&self) -> Result<usize, StoreError> {
        dispatch!(self, store => store.count())
    }
    async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, store => store.ping())
    }
    async fn put_once(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self, store => store.put_once(namespace, key, value, ttl))
    }
    async fn take_once(&self, namespace: &str, key: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self, store => store.take_once(namespace, key))
    }
    async fn remember_once(
        &self,
        namespace: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        dispatch!(self, store => store.remember_once(namespace, id, ttl))
    }
}
