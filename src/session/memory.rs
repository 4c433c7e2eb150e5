//! The embedded backend: a concurrent map in this process. Nothing else to run; lost on restart.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;

use super::store::{Store, StoreError};
use super::{Session, SessionKey};
use crate::clock::Clock;

#[derive(Debug)]
struct Entry {
    session: Session,
    /// Unix seconds after which the record is gone.
    expires_at: u64,
}

/// Sessions in memory, expired lazily on read and by [`MemoryStore::sweep`].
#[derive(Debug, Clone)]
pub struct MemoryStore {
    entries: Arc<DashMap<SessionKey, Entry>>,
    /// Single-use records and the replay cache, keyed `namespace \0 key`: (value, expiry).
    once: Arc<DashMap<String, (String, u64)>>,
    clock: Clock,
}

fn once_key(namespace: &str, key: &str) -> String {
    format!("{namespace}\0{key}")
}

impl MemoryStore {
    pub fn new(clock: Clock) -> Self {
        MemoryStore {
            entries: Arc::new(DashMap::new()),
            once: Arc::new(DashMap::new()),
            clock,
        }
    }

    /// Drop expired records, so memory stays proportional to live sessions. Run periodically.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        let before = self.entries.len();
        self.entries.retain(|_, entry| entry.expires_at > now);
        self.once.retain(|_, (_, expires_at)| *expires_at > now);
        before - self.entries.len()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn deadline(&self, ttl: Duration) -> u64 {
        self.clock.now() + ttl.as_secs().max(1)
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .entries
            .get(key)
            .filter(|entry| entry.expires_at > now)
            .map(|entry| entry.session.clone()))
    }

    async fn put(
        &self,
        key: &SessionKey,
        session: &Session,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = self.deadline(ttl);
        self.entries.insert(
            *key,
            Entry {
                session: session.clone(),
                expires_at,
            },
        );
        Ok(())
    }

    async fn touch(
        &self,
        key: &SessionKey,
        last_seen: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = self.deadline(ttl);
        if let Some(mut entry) = self.entries.get_mut(key) {
            entry.session.last_seen = last_seen;
            entry.expires_at = expires_at;
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        Ok(self.entries.remove(key).is_some())
    }

    async fn delete_by_index(&self, index: &str) -> Result<usize, StoreError> {
        // A scan: single logout is rare next to lookups, and a second map would cost every session.
        let before = self.entries.len();
        self.entries
            .retain(|_, entry| entry.session.logout_index.as_deref() != Some(index));
        Ok(before - self.entries.len())
    }

    async fn list(&self) -> Result<Vec<(SessionKey, Session)>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .entries
            .iter()
            .filter(|entry| entry.expires_at > now)
            .map(|entry| (*entry.key(), entry.session.clone()))
            .collect())
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        Ok(self
            .entries
            .iter()
            .filter(|entry| entry.expires_at > now)
            .count())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn put_once(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = self.deadline(ttl);
        self.once
            .insert(once_key(namespace, key), (value.to_owned(), expires_at));
        Ok(())
    }

    async fn take_once(&self, namespace: &str, key: &str) -> Result<Option<String>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .once
            .remove(&once_key(namespace, key))
            .filter(|(_, (_, expires_at))| *expires_at > now)
            .map(|(_, (value, _))| value))
    }

    async fn remember_once(
        &self,
        namespace: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let expires_at = self.deadline(ttl);
        // The entry API holds the shard lock: two concurrent callers cannot both see "first".
        match self.once.entry(once_key(namespace, id)) {
            dashmap::Entry::Occupied(mut seen) if seen.get().1 <= now => {
                seen.insert((String::new(), expires_at));
                Ok(true)
            }
            dashmap::Entry::Occupied(_) => Ok(false),
            dashmap::Entry::Vacant(slot) => {
                slot.insert((String::new(), expires_at));
                Ok(true)
            }
        }
    }
}
