//! The shared backend: every replica reads and writes the same Redis, so a logout or a revocation on one
//! replica is refused at once by all (there is no local cache to invalidate).
//!
//! Keys, all under the configured prefix:
//! - `session:<sha256 hex>`: a hash `{data: JSON, seen: unix seconds}` with the session's TTL;
//! - `sessions`: a sorted set of session keys scored by expiry, so the admin lists without `SCAN`;
//! - `logout:<index>`: the set of session keys created from one CAS ticket / SAML SessionIndex / `sid`;
//! - `once:<namespace>:<key>`: single-use records (`SET … EX`, read with `GETDEL`) and the replay
//!   cache (`SET … NX EX`).

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::store::{Store, StoreError};
use super::{Session, SessionKey};
use crate::clock::Clock;

/// Updates "last seen" only if the session still exists, so a touch racing a logout never revives it.
const TOUCH_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'seen', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[4])
return 1
";

/// How long one Redis command may take before the gateway gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    clock: Clock,
    touch: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects lazily: the gateway starts even while Redis is down, and reconnects by itself.
    pub fn new(url: &str, prefix: &str, clock: Clock) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(COMMAND_TIMEOUT);
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisStore {
            connection,
            prefix: prefix.to_owned(),
            clock,
            touch: redis::Script::new(TOUCH_SCRIPT),
        })
    }

    /// The shared connection and key prefix, for other shared records that live next to the
    /// sessions (the runtime publication state).
    pub fn connection(&self) -> (ConnectionManager, &str) {
        (self.connection.clone(), &self.prefix)
    }

    fn session_key(&self, key: &SessionKey) -> String {
        format!("{}session:{}", self.prefix, key.to_hex())
    }

    fn index_key(&self) -> String {
        format!("{}sessions", self.prefix)
    }

    fn logout_key(&self, index: &str) -> String {
        format!("{}logout:{}", self.prefix, index)
    }

    fn once_key(&self, namespace: &str, key: &str) -> String {
        format!("{}once:{namespace}:{key}", self.prefix)
    }

    fn decode(data: &str, seen: Option<u64>) -> Result<Session, StoreError> {
        let mut session: Session =
            serde_json::from_str(data).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        if let Some(seen) = seen {
            session.last_seen = seen;
        }
        Ok(session)
    }
}

/// Bound every round trip: a black-holed Redis must not hang requests.
async fn bounded<T>(call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
    match tokio::time::timeout(COMMAND_TIMEOUT * 3, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Unavailable("délai dépassé".to_owned())),
    }
}

impl Store for RedisStore {
    async fn get(&self, key: &SessionKey) -> Result<Option<Session>, StoreError> {
        let mut con = self.connection.clone();
        let (data, seen): (Option<String>, Option<u64>) = bounded(
            redis::cmd("HMGET")
                .arg(self.session_key(key))
                .arg("data")
                .arg("seen")
                .query_async(&mut con),
        )
        .await?;
        data.map(|data| Self::decode(&data, seen)).transpose()
    }

    async fn put(
        &self,
        key: &SessionKey,
        session: &Session,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let data =
            serde_json::to_string(session).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let redis_key = self.session_key(key);
        let ttl_secs = ttl.as_secs().max(1) as i64;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&redis_key)
            .ignore()
            .hset_multiple(
                &redis_key,
                &[("data", data), ("seen", session.last_seen.to_string())],
            )
            .ignore()
            .expire(&redis_key, ttl_secs)
            .ignore()
            .zadd(
                self.index_key(),
                key.to_hex(),
                self.clock.now() + ttl_secs as u64,
            )
            .ignore();
        if let Some(index) = &session.logout_index {
            let logout_key = self.logout_key(index);
            pipe.sadd(&logout_key, key.to_hex())
                .ignore()
                .expire(&logout_key, ttl_secs)
                .ignore();
        }
        let mut con = self.connection.clone();
        bounded(pipe.query_async::<()>(&mut con)).await
    }

    async fn touch(
        &self,
        key: &SessionKey,
        last_seen: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let ttl_secs = ttl.as_secs().max(1);
        let mut con = self.connection.clone();
        let mut invocation = self.touch.prepare_invoke();
        invocation
            .key(self.session_key(key))
            .key(self.index_key())
            .arg(last_seen)
            .arg(ttl_secs)
            .arg(self.clock.now() + ttl_secs)
            .arg(key.to_hex());
        bounded(invocation.invoke_async::<i64>(&mut con)).await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let mut con = self.connection.clone();
        let (deleted,): (i64,) = bounded(
            redis::pipe()
                .atomic()
                .del(self.session_key(key))
                .zrem(self.index_key(), key.to_hex())
                .ignore()
                .query_async(&mut con),
        )
        .await?;
        Ok(deleted > 0)
    }

    async fn delete_by_index(&self, index: &str) -> Result<usize, StoreError> {
        let mut con = self.connection.clone();
        let logout_key = self.logout_key(index);
        let members: Vec<String> = bounded(con.smembers(&logout_key)).await?;
        let mut deleted = 0;
        for hex in &members {
            if let Some(key) = SessionKey::from_hex(hex) {
                deleted += usize::from(self.delete(&key).await?);
            }
        }
        bounded(con.del::<_, ()>(&logout_key)).await?;
        Ok(deleted)
    }

    async fn list(&self) -> Result<Vec<(SessionKey, Session)>, StoreError> {
        let mut con = self.connection.clone();
        let now = self.clock.now();
        let index = self.index_key();
        let _: () = bounded(con.zrembyscore(&index, "-inf", now)).await?;
        let hexes: Vec<String> = bounded(con.zrangebyscore(&index, now + 1, "+inf")).await?;
        // Redis refuses an empty pipeline ("empty command").
        if hexes.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for hex in &hexes {
            pipe.cmd("HMGET")
                .arg(format!("{}session:{hex}", self.prefix))
                .arg("data")
                .arg("seen");
        }
        let records: Vec<(Option<String>, Option<u64>)> =
            bounded(pipe.query_async(&mut con)).await?;
        let mut sessions = Vec::with_capacity(records.len());
        for (hex, (data, seen)) in hexes.iter().zip(records) {
            let (Some(key), Some(data)) = (SessionKey::from_hex(hex), data) else {
                continue;
            };
            sessions.push((key, Self::decode(&data, seen)?));
        }
        Ok(sessions)
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let mut con = self.connection.clone();
        bounded(con.zcount(self.index_key(), self.clock.now() + 1, "+inf")).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut con = self.connection.clone();
        bounded(redis::cmd("PING").query_async::<String>(&mut con)).await?;
        Ok(())
    }

    async fn put_once(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut con = self.connection.clone();
        bounded(
            redis::cmd("SET")
                .arg(self.once_key(namespace, key))
                .arg(value)
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query_async::<()>(&mut con),
        )
        .await
    }

    async fn take_once(&self, namespace: &str, key: &str) -> Result<Option<String>, StoreError> {
        let mut con = self.connection.clone();
        // GETDEL (Redis >= 6.2) reads and deletes in one step: a record is handed out once.
        bounded(
            redis::cmd("GETDEL")
                .arg(self.once_key(namespace, key))
                .query_async(&mut con),
        )
        .await
    }

    async fn remember_once(
        &self,
        namespace: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut con = self.connection.clone();
        let set: Option<String> = bounded(
            redis::cmd("SET")
                .arg(self.once_key(namespace, id))
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query_async(&mut con),
        )
        .await?;
        Ok(set.is_some())
    }
}
