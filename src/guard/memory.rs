//! The in-process backend: the default, the fallback while Redis is down, and the reference the Redis
//! backend is tested against. Each address's record is updated under its map-shard lock, so concurrent
//! failures never lose a count.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use ipnet::IpNet;

use super::policy::{Thresholds, normalise_login};
use super::store::{GuardStore, GuardStoreError, Recorded, Suspension};

#[derive(Debug, Default)]
struct Entry {
    failures: u32,
    window_end: u64,
    offences: u32,
    offences_end: u64,
    ban: Option<Suspension>,
    pairs: HashMap<String, Pair>,
}

#[derive(Debug, Default)]
struct Pair {
    failures: u32,
    window_end: u64,
    locked_until: u64,
}

impl Entry {
    /// Whether anything in it still matters at `now` (otherwise housekeeping drops it).
    fn is_live(&self, now: u64) -> bool {
        self.window_end > now
            || self.offences_end > now
            || self.ban.as_ref().is_some_and(|ban| ban.until > now)
            || self
                .pairs
                .values()
                .any(|pair| pair.window_end > now || pair.locked_until > now)
    }
}

#[derive(Debug, Clone, Default)]
pub struct MemoryGuardStore {
    entries: Arc<DashMap<IpAddr, Entry>>,
    privileged: Arc<RwLock<BTreeSet<IpNet>>>,
}

impl MemoryGuardStore {
    pub fn new() -> Self {
        MemoryGuardStore::default()
    }

    /// Drop records that expired; run periodically so memory follows live addresses only.
    pub fn sweep(&self, now: u64) {
        self.entries.retain(|_, entry| entry.is_live(now));
    }

    /// How many addresses are tracked (for the memory benchmark and metrics).
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }
}

impl GuardStore for MemoryGuardStore {
    async fn record_failure(
        &self,
        ip: IpAddr,
        login: Option<&str>,
        now: u64,
        t: &Thresholds,
    ) -> Result<Recorded, GuardStoreError> {
        let mut entry = self.entries.entry(ip).or_default();
        if entry.ban.as_ref().is_some_and(|ban| ban.until > now) {
            return Ok(Recorded::default());
        }
        if entry.window_end <= now {
            entry.failures = 0;
            entry.window_end = now + t.window_secs;
        }
        entry.failures += 1;
        let mut recorded = Recorded {
            ip_failures: entry.failures,
            ..Recorded::default()
        };
        let login = login.map(normalise_login).filter(|l| !l.is_empty());
        if let Some(login) = &login {
            let pair = entry.pairs.entry(login.clone()).or_default();
            if pair.window_end <= now {
                pair.failures = 0;
                pair.window_end = now + t.window_secs;
            }
            pair.failures += 1;
            recorded.pair_failures = pair.failures;
            if pair.failures >= t.pair_max_failures {
                pair.locked_until = now + t.suspension_secs;
                pair.failures = 0;
                recorded.pair_locked = true;
            }
        }
        if entry.failures >= t.max_failures {
            if entry.offences_end <= now {
                entry.offences = 0;
            }
            entry.offences += 1;
            entry.offences_end = now + t.offence_memory_secs;
            let suspension = Suspension {
                ip,
                since: now,
                until: now + t.suspension_for(entry.offences),
                failures: entry.failures,
                last_login: login,
            };
            entry.failures = 0;
            entry.window_end = now;
            entry.ban = Some(suspension.clone());
            recorded.suspended = Some(suspension);
        }
        Ok(recorded)
    }

    async fn is_suspended(&self, ip: IpAddr, now: u64) -> Result<Option<u64>, GuardStoreError> {
        Ok(self.entries.get(&ip).and_then(|entry| {
            entry
                .ban
                .as_ref()
                .map(|ban| ban.until)
                .filter(|&until| until > now)
        }))
    }

    async fn pair_locked(
        &self,
        ip: IpAddr,
        login: &str,
        now: u64,
    ) -> Result<Option<u64>, GuardStoreError> {
        let login = normalise_login(login);
        Ok(self.entries.get(&ip).and_then(|entry| {
            entry
                .pairs
                .get(&login)
                .map(|pair| pair.locked_until)
                .filter(|&until| until > now)
        }))
    }

    async fn suspend(&self, suspension: &Suspension) -> Result<(), GuardStoreError> {
        self.entries.entry(suspension.ip).or_default().ban = Some(suspension.clone());
        Ok(())
    }

    async fn unblock(&self, ip: IpAddr) -> Result<bool, GuardStoreError> {
        Ok(self
            .entries
            .remove(&ip)
            .is_some_and(|(_, entry)| entry.ban.is_some()))
    }

    async fn unblock_all(&self) -> Result<usize, GuardStoreError> {
        let mut lifted = 0;
        self.entries.retain(|_, entry| {
            if entry.ban.take().is_some() {
                lifted += 1;
                false
            } else {
                true
            }
        });
        Ok(lifted)
    }

    async fn list(&self, now: u64) -> Result<Vec<Suspension>, GuardStoreError> {
        let mut list: Vec<Suspension> = self
            .entries
            .iter()
            .filter_map(|entry| entry.ban.clone().filter(|ban| ban.until > now))
            .collect();
        list.sort_by_key(|s| (s.until, s.ip));
        Ok(list)
    }

    async fn privileged(&self) -> Result<Vec<IpNet>, GuardStoreError> {
        Ok(read(&self.privileged).iter().copied().collect())
    }

    async fn add_privileged(&self, net: IpNet) -> Result<bool, GuardStoreError> {
        Ok(write(&self.privileged).insert(net))
    }

    async fn remove_privileged(&self, net: IpNet) -> Result<bool, GuardStoreError> {
        Ok(write(&self.privileged).remove(&net))
    }

    async fn ping(&self) -> Result<(), GuardStoreError> {
        Ok(())
    }
}

// A poisoned lock only means another thread panicked mid-update of a plain set: keep using it.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
