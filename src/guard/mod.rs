//! The guard: what stands between the login surface and people who fail too often.
//!
//! Every failed authentication that is the user's fault (bad password, invalid ticket, rejected
//! assertion) is reported with [`Guard::record_failure`]; the login surface asks [`Guard::check`] (and,
//! once the login is known, [`Guard::check_login`]) before doing any work.
//!
//! - [`policy`]: thresholds and escalation from `[guard]`, the counting key (IPv6 per /64);
//! - [`store`]: the storage contract, with [`memory`] and [`redis_backend`] implementations;
//! - [`limiter`]: the per-address rate limit (governor).
//!
//! With the Redis backend, an outage does not stop the gateway: counting falls back to local memory
//! (logged, `passerelle_guard_degraded` = 1, `/readyz` detail) and a probe switches back when Redis
//! answers again. Local suspensions made meanwhile stay enforced until they expire.

pub mod limiter;
pub mod memory;
pub mod policy;
pub mod redis_backend;
pub mod store;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use ipnet::IpNet;

use crate::clock::Clock;
use crate::config::GuardSettings;
pub use memory::MemoryGuardStore;
pub use policy::{Thresholds, client_key};
pub use redis_backend::RedisGuardStore;
pub use store::{AnyGuardStore, GuardStore, GuardStoreError, Recorded, Suspension};

/// What the guard says about a client on the login surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Suspended after too many failures; may retry after this many seconds.
    Suspended {
        retry_after_secs: u64,
    },
    /// Too many requests in a short time; may retry after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
}

/// Why an authentication failed, as far as the guard cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    BadPassword,
    /// A delegation's token was refused: invalid, replayed, for another service, or failing its
    /// conditions (CAS ticket, SAML assertion, OIDC code).
    InvalidTicket,
    /// A SAML or WS-Federation assertion was refused (signature, conditions, replay).
    RejectedAssertion,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::BadPassword => "bad_password",
            FailureKind::InvalidTicket => "invalid_ticket",
            FailureKind::RejectedAssertion => "rejected_assertion",
        }
    }
}

/// Where a privileged network comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivilegedSource {
    Config,
    Runtime,
}

#[derive(Debug)]
struct Inner {
    settings: GuardSettings,
    thresholds: Thresholds,
    clock: Clock,
    /// The shared store, when `[store] backend = "redis"`.
    shared: Option<RedisGuardStore>,
    /// Always present: the memory backend, or the fallback while Redis is down.
    local: MemoryGuardStore,
    degraded: AtomicBool,
    limiter: limiter::Limiter,
    /// Configured plus runtime privileged networks, refreshed by housekeeping.
    privileged: RwLock<Vec<IpNet>>,
}

/// Cheap to clone: every clone shares the same counters and stores.
#[derive(Debug, Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

impl Default for Guard {
    fn default() -> Self {
        Guard::new()
    }
}

impl Guard {
    /// A memory-only guard with the default policy (tests, tools).
    pub fn new() -> Self {
        Guard::with_settings(GuardSettings::default(), Clock::System, None)
    }

    /// The guard the gateway runs: `shared` is the Redis store when the sessions use Redis too.
    pub fn with_settings(
        settings: GuardSettings,
        clock: Clock,
        shared: Option<RedisGuardStore>,
    ) -> Self {
        let thresholds = Thresholds::from_settings(&settings);
        let limiter = limiter::Limiter::new(settings.rate_per_second, settings.rate_burst);
        let privileged = RwLock::new(settings.privileged.clone());
        Guard {
            inner: Arc::new(Inner {
                settings,
                thresholds,
                clock,
                shared,
                local: MemoryGuardStore::new(),
                degraded: AtomicBool::new(false),
                limiter,
                privileged,
            }),
        }
    }

    pub fn settings(&self) -> &GuardSettings {
        &self.inner.settings
    }

    fn key(&self, ip: IpAddr) -> IpAddr {
        client_key(ip, self.inner.settings.ipv6_prefix_len)
    }

    /// Whether the shared store is being bypassed because Redis does not answer.
    pub fn is_degraded(&self) -> bool {
        self.inner.degraded.load(Ordering::Relaxed)
    }

    /// "memory", "redis", or "redis_unavailable_local_fallback" for `/readyz`.
    pub fn backend_status(&self) -> &'static str {
        match (&self.inner.shared, self.is_degraded()) {
            (None, _) => "memory",
            (Some(_), false) => "redis",
            (Some(_), true) => "redis_unavailable_local_fallback",
        }
    }

    /// The shared store if it is believed up.
    fn shared(&self) -> Option<&RedisGuardStore> {
        self.inner.shared.as_ref().filter(|_| !self.is_degraded())
    }

    fn mark_down(&self, err: &GuardStoreError) {
        if !self.inner.degraded.swap(true, Ordering::Relaxed) {
            tracing::error!(code = err.code(), error = %err, "Redis injoignable : le garde compte en mémoire locale");
            metrics::gauge!("passerelle_guard_degraded").set(1.0);
        }
    }

    /// Whether `ip` is in a privileged network (never suspended, not rate limited).
    pub fn is_privileged(&self, ip: IpAddr) -> bool {
        let ip = crate::server::client_ip::canonical(ip);
        self.inner
            .privileged
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .any(|net| net.contains(&ip))
    }

    /// Before any work on the login surface.
    pub async fn check(&self, ip: IpAddr) -> Verdict {
        if self.is_privileged(ip) {
            return Verdict::Allowed;
        }
        let key = self.key(ip);
        if let Some(retry_after_secs) = self.inner.limiter.check(key) {
            metrics::counter!("passerelle_guard_rate_limited_total").increment(1);
            return Verdict::RateLimited { retry_after_secs };
        }
        self.suspended_verdict(key).await
    }

    /// Seconds left if `ip` is suspended, without counting a request (authenticated traffic).
    pub async fn suspended_for(&self, ip: IpAddr) -> Option<u64> {
        if self.is_privileged(ip) {
            return None;
        }
        match self.suspended_verdict(self.key(ip)).await {
            Verdict::Suspended { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        }
    }

    async fn suspended_verdict(&self, key: IpAddr) -> Verdict {
        let now = self.inner.clock.now();
        let mut until = self.inner.local.is_suspended(key, now).await.ok().flatten();
        if let Some(shared) = self.shared() {
            match shared.is_suspended(key, now).await {
                Ok(found) => until = until.max(found),
                Err(err) => self.mark_down(&err),
            }
        }
        match until {
            Some(until) => Verdict::Suspended {
                retry_after_secs: until.saturating_sub(now).max(1),
            },
            None => Verdict::Allowed,
        }
    }

    /// Once the login is known: whether this (address, login) pair is locked.
    pub async fn check_login(&self, ip: IpAddr, login: &str) -> Verdict {
        if self.is_privileged(ip) || login.trim().is_empty() {
            return Verdict::Allowed;
        }
        let key = self.key(ip);
        let now = self.inner.clock.now();
        let mut until = self
            .inner
            .local
            .pair_locked(key, login, now)
            .await
            .ok()
            .flatten();
        if let Some(shared) = self.shared() {
            match shared.pair_locked(key, login, now).await {
                Ok(found) => until = until.max(found),
                Err(err) => self.mark_down(&err),
            }
        }
        match until {
            Some(until) => Verdict::Suspended {
                retry_after_secs: until.saturating_sub(now).max(1),
            },
            None => Verdict::Allowed,
        }
    }

    /// Count one failure that is the user's fault.
    pub async fn record_failure(&self, ip: IpAddr, login: Option<&str>, kind: FailureKind) {
        metrics::counter!("passerelle_auth_failures_total", "kind" => kind.as_str()).increment(1);
        if self.is_privileged(ip) {
            tracing::info!(%ip, kind = kind.as_str(), "échec d'authentification (adresse privilégiée, non comptée)");
            return;
        }
        let key = self.key(ip);
        let now = self.inner.clock.now();
        let t = &self.inner.thresholds;
        let mut recorded = None;
        if let Some(shared) = self.shared() {
            match shared.record_failure(key, login, now, t).await {
                Ok(done) => recorded = Some(done),
                Err(err) => self.mark_down(&err),
            }
        }
        let recorded = match recorded {
            Some(done) => done,
            None => self
                .inner
                .local
                .record_failure(key, login, now, t)
                .await
                .unwrap_or_default(),
        };
        tracing::info!(%ip, login = login.unwrap_or(""), kind = kind.as_str(),
            failures = recorded.ip_failures, pair_failures = recorded.pair_failures,
            "échec d'authentification");
        if recorded.pair_locked {
            tracing::warn!(%ip, login = login.unwrap_or(""), "couple adresse/identifiant verrouillé");
        }
        if let Some(suspension) = recorded.suspended {
            metrics::counter!("passerelle_guard_suspensions_started_total").increment(1);
            tracing::warn!(ip = %suspension.ip, until = suspension.until,
                seconds = suspension.until - suspension.since, "adresse IP suspendue");
        }
    }

    /// A successful login: nothing is reset (a success must not launder an attack), but it is logged.
    pub async fn record_success(&self, ip: IpAddr) {
        tracing::debug!(%ip, "connexion réussie vue par le garde");
    }

    /// Current suspensions (shared and local, merged).
    pub async fn list(&self) -> Result<Vec<Suspension>, GuardStoreError> {
        let now = self.inner.clock.now();
        let mut list = self.inner.local.list(now).await?;
        if let Some(shared) = self.inner.shared.as_ref() {
            let remote = shared.list(now).await?;
            list.retain(|local| !remote.iter().any(|r| r.ip == local.ip));
            list.extend(remote);
            list.sort_by_key(|s| (s.until, s.ip));
        }
        Ok(list)
    }

    /// Parse an address given by an admin and turn it into its counting key.
    pub fn key_of(&self, ip: IpAddr) -> IpAddr {
        self.key(ip)
    }

    /// Lift one suspension everywhere. Errors if Redis is configured and does not answer.
    pub async fn unblock(&self, ip: IpAddr) -> Result<bool, GuardStoreError> {
        let key = self.key(ip);
        let mut lifted = self.inner.local.unblock(key).await?;
        if let Some(shared) = self.inner.shared.as_ref() {
            lifted |= shared.unblock(key).await?;
        }
        if lifted {
            metrics::counter!("passerelle_guard_suspensions_lifted_total", "how" => "admin")
                .increment(1);
        }
        Ok(lifted)
    }

    /// Lift every suspension everywhere (PRONOTE's "Débloquer les IPs").
    pub async fn unblock_all(&self) -> Result<usize, GuardStoreError> {
        let mut lifted = self.inner.local.unblock_all().await?;
        if let Some(shared) = self.inner.shared.as_ref() {
            lifted += shared.unblock_all().await?;
        }
        metrics::counter!("passerelle_guard_suspensions_lifted_total", "how" => "admin")
            .increment(lifted as u64);
        Ok(lifted)
    }

    fn store(&self) -> AnyGuardStore {
        match &self.inner.shared {
            Some(shared) => AnyGuardStore::Redis(shared.clone()),
            None => AnyGuardStore::Memory(self.inner.local.clone()),
        }
    }

    /// Every privileged network with where it comes from.
    pub async fn privileged(&self) -> Result<Vec<(IpNet, PrivilegedSource)>, GuardStoreError> {
        let mut all: Vec<_> = self
            .inner
            .settings
            .privileged
            .iter()
            .map(|net| (*net, PrivilegedSource::Config))
            .collect();
        for net in self.store().privileged().await? {
            if !all.iter().any(|(known, _)| *known == net) {
                all.push((net, PrivilegedSource::Runtime));
            }
        }
        Ok(all)
    }

    pub fn is_configured_privileged(&self, net: &IpNet) -> bool {
        self.inner.settings.privileged.contains(net)
    }

    pub async fn add_privileged(&self, net: IpNet) -> Result<bool, GuardStoreError> {
        let added = self.store().add_privileged(net.trunc()).await?;
        self.refresh_privileged().await;
        Ok(added)
    }

    pub async fn remove_privileged(&self, net: IpNet) -> Result<bool, GuardStoreError> {
        let removed = self.store().remove_privileged(net.trunc()).await?;
        self.refresh_privileged().await;
        Ok(removed)
    }

    async fn refresh_privileged(&self) {
        let store = match self.shared() {
            Some(shared) => AnyGuardStore::Redis(shared.clone()),
            None if self.inner.shared.is_some() => return,
            None => AnyGuardStore::Memory(self.inner.local.clone()),
        };
        match store.privileged().await {
            Ok(runtime) => {
                let mut all = self.inner.settings.privileged.clone();
                all.extend(runtime);
                *self
                    .inner
                    .privileged
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = all;
            }
            Err(err) => self.mark_down(&err),
        }
    }

    /// Periodic work (every second or so): probe Redis while degraded, refresh the privileged list,
    /// sweep local memory. `full` also trims the rate limiter and refreshes the suspended gauge.
    pub async fn housekeeping(&self, full: bool) {
        if let Some(shared) = self.inner.shared.as_ref()
            && self.is_degraded()
            && shared.ping().await.is_ok()
        {
            self.inner.degraded.store(false, Ordering::Relaxed);
            metrics::gauge!("passerelle_guard_degraded").set(0.0);
            tracing::warn!(
                "Redis de nouveau joignable : le garde utilise à nouveau le stockage partagé"
            );
        }
        self.refresh_privileged().await;
        self.inner.local.sweep(self.inner.clock.now());
        if full {
            self.inner.limiter.housekeeping();
            if let Ok(list) = self.list().await {
                metrics::gauge!("passerelle_guard_suspended").set(list.len() as f64);
            }
        }
    }

    /// Addresses held by the rate limiter and the local store (benchmark, diagnostics).
    pub fn tracked(&self) -> (usize, usize) {
        (self.inner.limiter.tracked(), self.inner.local.tracked())
    }
}
