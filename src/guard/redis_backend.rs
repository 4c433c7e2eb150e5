//! The shared backend: every replica counts and suspends in the same Redis, so a suspension started on
//! one is enforced by all, and an unblock on one is effective everywhere at once (no local cache).
//!
//! Keys, under the configured prefix (`{…}` is a hash tag: an address's keys share one cluster slot, so
//! the Lua script touching them all is cluster-safe):
//! - `guard:{<ip>}:fail`  failure counter, expires with the window;
//! - `guard:{<ip>}:ban`   hash {since, until, failures, login}, expires with the suspension;
//! - `guard:{<ip>}:off`   offences counter for escalation, expires after `offence_memory`;
//! - `guard:{<ip>}:pairs` hash `<sha256(login)>:n|:start|:lock` for the per-(address, login) lock;
//! - `guard:suspensions`  sorted set ip → until, the listing index (no `SCAN`), cleaned lazily;
//! - `guard:privileged`   set of privileged networks added at runtime.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

use super::policy::{Thresholds, normalise_login};
use super::store::{GuardStore, GuardStoreError, Recorded, Suspension};

/// One failure, atomically: count for the address and the pair, lock the pair, suspend the address
/// with escalation. Returns {address failures, pair failures, pair locked, suspension seconds}.
const RECORD_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local base = tonumber(ARGV[5])
if tonumber(redis.call('HGET', KEYS[2], 'until') or '0') > now then
  return {0, 0, 0, 0}
end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], window) end
local p = 0
local locked = 0
if ARGV[9] ~= '' then
  local h = ARGV[9]
  local start = tonumber(redis.call('HGET', KEYS[4], h .. ':start') or '0')
  if now - start >= window then
    redis.call('HSET', KEYS[4], h .. ':start', now, h .. ':n', 0)
  end
  p = redis.call('HINCRBY', KEYS[4], h .. ':n', 1)
  if p >= tonumber(ARGV[4]) then
    redis.call('HSET', KEYS[4], h .. ':lock', now + base, h .. ':n', 0, h .. ':start', now)
    locked = 1
  end
  local keep = math.max(window, base)
  if redis.call('TTL', KEYS[4]) < keep then redis.call('EXPIRE', KEYS[4], keep) end
end
if n >= tonumber(ARGV[3]) then
  local off = redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], ARGV[8])
  local cap = tonumber(ARGV[7])
  local dur = base
  for i = 2, off do
    dur = dur * tonumber(ARGV[6])
    if dur >= cap then break end
  end
  if dur > cap then dur = cap end
  redis.call('HSET', KEYS[2], 'since', now, 'until', now + dur, 'failures', n, 'login', ARGV[10])
  redis.call('EXPIRE', KEYS[2], dur)
  redis.call('DEL', KEYS[1])
  return {n, p, locked, dur}
end
return {n, p, locked, 0}
";

/// How long one Redis command may take before the guard falls back to local memory.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct RedisGuardStore {
    connection: ConnectionManager,
    prefix: String,
    record: redis::Script,
}

impl std::fmt::Debug for RedisGuardStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisGuardStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisGuardStore {
    /// Connects lazily: the gateway starts while Redis is down and reconnects by itself.
    pub fn new(url: &str, prefix: &str) -> Result<Self, GuardStoreError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(COMMAND_TIMEOUT);
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisGuardStore {
            connection,
            prefix: prefix.to_owned(),
            record: redis::Script::new(RECORD_SCRIPT),
        })
    }

    fn key(&self, ip: IpAddr, what: &str) -> String {
        format!("{}guard:{{{ip}}}:{what}", self.prefix)
    }

    fn index(&self) -> String {
        format!("{}guard:suspensions", self.prefix)
    }

    fn privileged_key(&self) -> String {
        format!("{}guard:privileged", self.prefix)
    }

    /// Logins are hashed into field names: arbitrary user input never shapes a key, and Redis holds no
    /// readable login list beyond the suspension's "last login".
    fn login_field(login: &str) -> String {
        hex::encode(&Sha256::digest(normalise_login(login).as_bytes())[..12])
    }

    async fn bounded<T>(
        future: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, GuardStoreError> {
        match tokio::time::timeout(COMMAND_TIMEOUT * 2, future).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(GuardStoreError::Unavailable("délai dépassé".to_owned())),
        }
    }

    async fn ban_details(
        &self,
        ip: IpAddr,
    ) -> Result<Option<(u64, u64, u32, String)>, GuardStoreError> {
        let mut con = self.connection.clone();
        let (since, until, failures, login): (
            Option<u64>,
            Option<u64>,
            Option<u32>,
            Option<String>,
        ) = Self::bounded(
            redis::cmd("HMGET")
                .arg(self.key(ip, "ban"))
                .arg(&["since", "until", "failures", "login"])
                .query_async(&mut con),
        )
        .await?;
        Ok(match (since, until) {
            (Some(since), Some(until)) => Some((
                since,
                until,
                failures.unwrap_or(0),
                login.unwrap_or_default(),
            )),
            _ => None,
        })
    }
}

impl GuardStore for RedisGuardStore {
    async fn record_failure(
        &self,
        ip: IpAddr,
        login: Option<&str>,
        now: u64,
        t: &Thresholds,
    ) -> Result<Recorded, GuardStoreError> {
        let login = login.map(normalise_login).filter(|l| !l.is_empty());
        let field = login.as_deref().map(Self::login_field).unwrap_or_default();
        let mut con = self.connection.clone();
        let (n, p, locked, duration): (u32, u32, u32, u64) = Self::bounded(
            self.record
                .key(self.key(ip, "fail"))
                .key(self.key(ip, "ban"))
                .key(self.key(ip, "off"))
                .key(self.key(ip, "pairs"))
                .arg(now)
                .arg(t.window_secs)
                .arg(t.max_failures)
                .arg(t.pair_max_failures)
                .arg(t.suspension_secs)
                .arg(t.escalation_factor)
                .arg(t.max_suspension_secs)
                .arg(t.offence_memory_secs)
                .arg(&field)
                .arg(login.as_deref().unwrap_or(""))
                .invoke_async(&mut con),
        )
        .await?;
        let suspended = if duration > 0 {
            let until = now + duration;
            // The index lives in another slot: a separate command (a cross-slot script would fail).
            let _: () = Self::bounded(con.zadd(self.index(), ip.to_string(), until)).await?;
            Some(Suspension {
                ip,
                since: now,
                until,
                failures: n,
                last_login: login,
            })
        } else {
            None
        };
        Ok(Recorded {
            ip_failures: n,
            pair_failures: p,
            pair_locked: locked == 1,
            suspended,
        })
    }

    async fn is_suspended(&self, ip: IpAddr, now: u64) -> Result<Option<u64>, GuardStoreError> {
        let mut con = self.connection.clone();
        let until: Option<u64> = Self::bounded(con.hget(self.key(ip, "ban"), "until")).await?;
        // Redis expires the key on its own; comparing with `now` as well keeps the gateway's clock the
        // single authority (and lets tests move time).
        Ok(until.filter(|&until| until > now))
    }

    async fn pair_locked(
        &self,
        ip: IpAddr,
        login: &str,
        now: u64,
    ) -> Result<Option<u64>, GuardStoreError> {
        let mut con = self.connection.clone();
        let field = format!("{}:lock", Self::login_field(login));
        let until: Option<u64> = Self::bounded(con.hget(self.key(ip, "pairs"), field)).await?;
        Ok(until.filter(|&until| until > now))
    }

    async fn suspend(&self, s: &Suspension) -> Result<(), GuardStoreError> {
        let mut con = self.connection.clone();
        let ttl = s.until.saturating_sub(s.since).max(1);
        let key = self.key(s.ip, "ban");
        let _: () = Self::bounded(
            redis::pipe()
                .atomic()
                .hset_multiple(
                    &key,
                    &[
                        ("since", s.since.to_string()),
                        ("until", s.until.to_string()),
                        ("failures", s.failures.to_string()),
                        ("login", s.last_login.clone().unwrap_or_default()),
                    ],
                )
                .ignore()
                .expire(&key, i64::try_from(ttl).unwrap_or(i64::MAX))
                .ignore()
                .query_async(&mut con),
        )
        .await?;
        let _: () = Self::bounded(con.zadd(self.index(), s.ip.to_string(), s.until)).await?;
        Ok(())
    }

    async fn unblock(&self, ip: IpAddr) -> Result<bool, GuardStoreError> {
        let mut con = self.connection.clone();
        let keys = ["ban", "fail", "off", "pairs"].map(|what| self.key(ip, what));
        let (deleted_ban, _, _, _, _): (u32, u32, u32, u32, u32) = Self::bounded(
            redis::pipe()
                .del(&keys[0])
                .del(&keys[1])
                .del(&keys[2])
                .del(&keys[3])
                .zrem(self.index(), ip.to_string())
                .query_async(&mut con),
        )
        .await?;
        Ok(deleted_ban == 1)
    }

    async fn unblock_all(&self) -> Result<usize, GuardStoreError> {
        let mut con = self.connection.clone();
        let members: Vec<String> = Self::bounded(con.zrange(self.index(), 0, -1)).await?;
        let mut lifted = 0;
        for member in members {
            if let Ok(ip) = IpAddr::from_str(&member)
                && self.unblock(ip).await?
            {
                lifted += 1;
            }
        }
        Ok(lifted)
    }

    async fn list(&self, now: u64) -> Result<Vec<Suspension>, GuardStoreError> {
        let mut con = self.connection.clone();
        let _: () = Self::bounded(con.zrembyscore(self.index(), "-inf", now)).await?;
        let members: Vec<String> =
            Self::bounded(con.zrangebyscore(self.index(), format!("({now}"), "+inf")).await?;
        let mut list = Vec::with_capacity(members.len());
        for member in members {
            let Ok(ip) = IpAddr::from_str(&member) else {
                continue;
            };
            if let Some((since, until, failures, login)) = self.ban_details(ip).await?
                && until > now
            {
                list.push(Suspension {
                    ip,
                    since,
                    until,
                    failures,
                    last_login: (!login.is_empty()).then_some(login),
                });
            }
        }
        list.sort_by_key(|s| (s.until, s.ip));
        Ok(list)
    }

    async fn privileged(&self) -> Result<Vec<IpNet>, GuardStoreError> {
        let mut con = self.connection.clone();
        let members: Vec<String> = Self::bounded(con.smembers(self.privileged_key())).await?;
        let mut nets: Vec<IpNet> = members.iter().filter_map(|m| m.parse().ok()).collect();
        nets.sort();
        Ok(nets)
    }

    async fn add_privileged(&self, net: IpNet) -> Result<bool, GuardStoreError> {
        let mut con = self.connection.clone();
        let added: u32 = Self::bounded(con.sadd(self.privileged_key(), net.to_string())).await?;
        Ok(added == 1)
    }

    async fn remove_privileged(&self, net: IpNet) -> Result<bool, GuardStoreError> {
        let mut con = self.connection.clone();
        let removed: u32 = Self::bounded(con.srem(self.privileged_key(), net.to_string())).await?;
        Ok(removed == 1)
    }

    async fn ping(&self) -> Result<(), GuardStoreError> {
        let mut con = self.connection.clone();
        let _: String = Self::bounded(redis::cmd("PING").query_async(&mut con)).await?;
        Ok(())
    }
}
