//! The embedded backend: a concurrent map in this process. Nothing else to run; lost on restart.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;

use super::store::{Store, StoreError};
use super::{Session, SessionKey};
use crate::clock::Clock;

#[derive(Debug)]
struct Entry {
    /// Shared so that a lookup hands out a pointer instead of a deep copy, and so that the map's
    /// buckets (of which a hash table keeps spare ones) stay small: the record itself is allocated
    /// once, at its exact size.
    session: Arc<Session>,
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
            .map(|entry| Session::clone(&entry.session)))
    }

    async fn get_shared(&self, key: &SessionKey) -> Result<Option<Arc<Session>>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .entries
            .get(key)
            .filter(|entry| entry.expires_at > now)
            .map(|entry| Arc::clone(&entry.session)))
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
                session: Arc::new(session.clone()),
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
            // Copies the record only if a request is holding it right now; touches are rare.
            Arc::make_mut(&mut entry.session).last_seen = last_seen;
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
            .map(|entry| (*entry.key(), Session::clone(&entry.session)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Identity, MappedFields, Protocol};
    use crate::space::SpaceId;

    fn session(now: u64) -> Session {
        Session {
            space: SpaceId::Parent,
            identity: Identity {
                login: "claire".to_owned(),
                protocol: Protocol::Direct,
                fields: MappedFields::default(),
            },
            client_ip: "192.0.2.1".parse().unwrap(),
            created_at: now,
            last_seen: now,
            logout_index: None,
            delegation: None,
            logout_hint: None,
        }
    }

    #[tokio::test]
    async fn a_touch_while_a_request_holds_the_record_updates_the_store_not_the_request() {
        let clock = Clock::manual(1_000);
        let store = MemoryStore::new(clock.clone());
        let key = crate::session::SessionId::generate().key();
        store
            .put(&key, &session(1_000), Duration::from_secs(600))
            .await
            .unwrap();
        let held = store.get_shared(&key).await.unwrap().unwrap();
        clock.advance(100);
        store
            .touch(&key, 1_100, Duration::from_secs(600))
            .await
            .unwrap();
        assert_eq!(held.last_seen, 1_000);
        assert_eq!(store.get(&key).await.unwrap().unwrap().last_seen, 1_100);
        assert_eq!(
            store.get_shared(&key).await.unwrap().unwrap().last_seen,
            1_100
        );
    }

    #[tokio::test]
    async fn shared_reads_respect_the_ttl() {
        let clock = Clock::manual(1_000);
        let store = MemoryStore::new(clock.clone());
        let key = crate::session::SessionId::generate().key();
        store
            .put(&key, &session(1_000), Duration::from_secs(10))
            .await
            .unwrap();
        assert!(store.get_shared(&key).await.unwrap().is_some());
        clock.advance(10);
        assert!(store.get_shared(&key).await.unwrap().is_none());
    }
}
