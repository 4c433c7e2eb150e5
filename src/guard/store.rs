//! The storage contract of the guard (DESIGN §5): count a failure and maybe suspend, atomically; ask
//! whether an address is suspended; suspend, unblock one, unblock all, list; the runtime list of
//! privileged networks. The same suite (`tests/guard_stores.rs`) runs against every backend.

use std::future::Future;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::policy::Thresholds;
use super::{MemoryGuardStore, RedisGuardStore};

#[derive(Debug, thiserror::Error)]
pub enum GuardStoreError {
    #[error("stockage du garde indisponible : {0}")]
    Unavailable(String),
}

impl GuardStoreError {
    /// Stable code for logs and the API.
    pub fn code(&self) -> &'static str {
        "guard_store_unavailable"
    }
}

impl From<redis::RedisError> for GuardStoreError {
    fn from(err: redis::RedisError) -> Self {
        GuardStoreError::Unavailable(err.to_string())
    }
}

/// One current suspension, as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// The counting key: an IPv4 address, or the masked IPv6 network address.
    pub ip: IpAddr,
    /// Unix seconds.
    pub since: u64,
    pub until: u64,
    /// Failures counted when it started.
    pub failures: u32,
    /// The last login tried from there, if any.
    pub last_login: Option<String>,
}

/// What recording one failure did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recorded {
    /// Failures now counted for the address in the current window (0 if it was already suspended).
    pub ip_failures: u32,
    /// Failures now counted for the (address, login) pair.
    pub pair_failures: u32,
    /// Whether this failure locked the (address, login) pair.
    pub pair_locked: bool,
    /// The suspension this failure started, if it did.
    pub suspended: Option<Suspension>,
}

pub trait GuardStore: Send + Sync {
    /// Count one failure for `ip` (and `login`, normalised, if known); start a suspension when a
    /// threshold is reached. Atomic: concurrent calls never lose a count.
    fn record_failure(
        &self,
        ip: IpAddr,
        login: Option<&str>,
        now: u64,
        thresholds: &Thresholds,
    ) -> impl Future<Output = Result<Recorded, GuardStoreError>> + Send;
    /// Until when `ip` is suspended, if it is.
    fn is_suspended(
        &self,
        ip: IpAddr,
        now: u64,
    ) -> impl Future<Output = Result<Option<u64>, GuardStoreError>> + Send;
    /// Until when the (ip, login) pair is locked, if it is.
    fn pair_locked(
        &self,
        ip: IpAddr,
        login: &str,
        now: u64,
    ) -> impl Future<Output = Result<Option<u64>, GuardStoreError>> + Send;
    /// Suspend outright (used by tests and tooling; the policy path goes through `record_failure`).
    fn suspend(
        &self,
        suspension: &Suspension,
    ) -> impl Future<Output = Result<(), GuardStoreError>> + Send;
    /// Lift one suspension and forget the address's counts; `true` if it was suspended.
    fn unblock(&self, ip: IpAddr) -> impl Future<Output = Result<bool, GuardStoreError>> + Send;
    /// Lift every suspension; returns how many there were.
    fn unblock_all(&self) -> impl Future<Output = Result<usize, GuardStoreError>> + Send;
    /// Current suspensions, soonest-ending first.
    fn list(
        &self,
        now: u64,
    ) -> impl Future<Output = Result<Vec<Suspension>, GuardStoreError>> + Send;
    /// Privileged networks added at runtime (the configured ones are not stored).
    fn privileged(&self) -> impl Future<Output = Result<Vec<IpNet>, GuardStoreError>> + Send;
    fn add_privileged(
        &self,
        net: IpNet,
    ) -> impl Future<Output = Result<bool, GuardStoreError>> + Send;
    fn remove_privileged(
        &self,
        net: IpNet,
    ) -> impl Future<Output = Result<bool, GuardStoreError>> + Send;
    fn ping(&self) -> impl Future<Output = Result<(), GuardStoreError>> + Send;
}

/// The backend chosen by `[store]`.
#[derive(Debug, Clone)]
pub enum AnyGuardStore {
    Memory(MemoryGuardStore),
    Redis(RedisGuardStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyGuardStore::Memory($store) => $call.await,
            AnyGuardStore::Redis($store) => $call.await,
        }
    };
}

impl GuardStore for AnyGuardStore {
    async fn record_failure(
        &self,
        ip: IpAddr,
        login: Option<&str>,
        now: u64,
        thresholds: &Thresholds,
    ) -> Result<Recorded, GuardStoreError> {
        dispatch!(self, s => s.record_failure(ip, login, now, thresholds))
    }
    async fn is_suspended(&self, ip: IpAddr, now: u64) -> Result<Option<u64>, GuardStoreError> {
        dispatch!(self, s => s.is_suspended(ip, now))
    }
    async fn pair_locked(
        &self,
        ip: IpAddr,
        login: &str,
        now: u64,
    ) -> Result<Option<u64>, GuardStoreError> {
        dispatch!(self, s => s.pair_locked(ip, login, now))
    }
    async fn suspend(&self, suspension: &Suspension) -> Result<(), GuardStoreError> {
        dispatch!(self, s => s.suspend(suspension))
    }
    async fn unblock(&self, ip: IpAddr) -> Result<bool, GuardStoreError> {
        dispatch!(self, s => s.unblock(ip))
    }
    async fn unblock_all(&self) -> Result<usize, GuardStoreError> {
        dispatch!(self, s => s.unblock_all())
    }
    async fn list(&self, now: u64) -> Result<Vec<Suspension>, GuardStoreError> {
        dispatch!(self, s => s.list(now))
    }
    async fn privileged(&self) -> Result<Vec<IpNet>, GuardStoreError> {
        dispatch!(self, s => s.privileged())
    }
    async fn add_privileged(&self, net: IpNet) -> Result<bool, GuardStoreError> {
        dispatch!(self, s => s.add_privileged(net))
    }
    async fn remove_privileged(&self, net: IpNet) -> Result<bool, GuardStoreError> {
        dispatch!(self, s => s.remove_privileged(net))
    }
    async fn ping(&self) -> Result<(), GuardStoreError> {
        dispatch!(self, s => s.ping())
    }
}
