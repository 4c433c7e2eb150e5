//! The guard-store contract, run against the memory backend and a real Redis.

use std::net::IpAddr;
use std::sync::Arc;

use passerelle::guard::{GuardStore, MemoryGuardStore, RedisGuardStore, Thresholds};

fn redis_url() -> String {
    std::env::var("PASSERELLE_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

fn redis(name: &str) -> RedisGuardStore {
    let prefix = format!("test:{name}:{}:{}:", std::process::id(), rand_suffix());
    RedisGuardStore::new(&redis_url(), &prefix).expect("Redis URL")
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

const T: Thresholds = Thresholds {
    max_failures: 5,
    pair_max_failures: 3,
    window_secs: 600,
    suspension_secs: 900,
    escalation_factor: 2,
    max_suspension_secs: 3000,
    offence_memory_secs: 86400,
};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

async fn threshold_suspends_at_n_not_before(store: &impl GuardStore) {
    let a = ip("203.0.113.1");
    for i in 1..5 {
        let r = store.record_failure(a, None, 1000, &T).await.unwrap();
        assert_eq!(r.ip_failures, i);
        assert!(r.suspended.is_none());
    }
    assert_eq!(store.is_suspended(a, 1000).await.unwrap(), None);
    let r = store
        .record_failure(a, Some("Eleve"), 1000, &T)
        .await
        .unwrap();
    let s = r.suspended.expect("suspended at the fifth failure");
    assert_eq!((s.since, s.until, s.failures), (1000, 1900, 5));
    assert_eq!(store.is_suspended(a, 1000).await.unwrap(), Some(1900));
    assert_eq!(
        store.is_suspended(ip("203.0.113.2"), 1000).await.unwrap(),
        None
    );
    let list = store.list(1000).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].last_login.as_deref(), Some("eleve"));
    // It expires by itself.
    assert_eq!(store.is_suspended(a, 1900).await.unwrap(), None);
    assert!(store.list(1900).await.unwrap().is_empty());
}

async fn repeat_offenders_get_longer_suspensions(store: &impl GuardStore) {
    let a = ip("203.0.113.3");
    let mut durations = Vec::new();
    let mut now = 1000;
    for _ in 0..3 {
        let mut last = None;
        for _ in 0..5 {
            last = store
                .record_failure(a, None, now, &T)
                .await
                .unwrap()
                .suspended;
        }
        let s = last.expect("suspended");
        durations.push(s.until - s.since);
        now = s.until;
    }
    assert_eq!(durations, [900, 1800, 3000]);
}

async fn pair_locks_before_the_address(store: &impl GuardStore) {
    let a = ip("203.0.113.4");
    for _ in 0..2 {
        assert!(
            !store
                .record_failure(a, Some("x"), 1000, &T)
                .await
                .unwrap()
                .pair_locked
        );
    }
    assert!(
        store
            .record_failure(a, Some(" X "), 1000, &T)
            .await
            .unwrap()
            .pair_locked
    );
    assert_eq!(store.pair_locked(a, "x", 1000).await.unwrap(), Some(1900));
    assert_eq!(store.pair_locked(a, "y", 1000).await.unwrap(), None);
    assert_eq!(store.is_suspended(a, 1000).await.unwrap(), None);
}

async fn unblock_one_and_all(store: &impl GuardStore) {
    let (a, b) = (ip("198.51.100.1"), ip("198.51.100.2"));
    for target in [a, b] {
        for _ in 0..5 {
            store.record_failure(target, None, 1000, &T).await.unwrap();
        }
    }
    assert_eq!(store.list(1000).await.unwrap().len(), 2);
    assert!(store.unblock(a).await.unwrap());
    assert!(!store.unblock(a).await.unwrap());
    assert_eq!(store.is_suspended(a, 1000).await.unwrap(), None);
    assert!(store.is_suspended(b, 1000).await.unwrap().is_some());
    // Counts were forgotten too: one more failure does not re-suspend.
    assert_eq!(
        store
            .record_failure(a, None, 1000, &T)
            .await
            .unwrap()
            .ip_failures,
        1
    );
    assert_eq!(store.unblock_all().await.unwrap(), 1);
    assert!(store.list(1000).await.unwrap().is_empty());
}

async fn privileged_networks_round_trip(store: &impl GuardStore) {
    let net = "10.20.0.0/16".parse().unwrap();
    assert!(store.add_privileged(net).await.unwrap());
    assert!(!store.add_privileged(net).await.unwrap());
    assert_eq!(store.privileged().await.unwrap(), vec![net]);
    assert!(store.remove_privileged(net).await.unwrap());
    assert!(store.privileged().await.unwrap().is_empty());
}

async fn concurrent_failures_lose_no_count<S: GuardStore + Clone + 'static>(store: S) {
    let a = ip("192.0.2.99");
    let t = Thresholds {
        max_failures: 10_000,
        pair_max_failures: 10_000,
        ..T
    };
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                store.record_failure(a, Some("z"), 1000, &t).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let r = store.record_failure(a, Some("z"), 1000, &t).await.unwrap();
    assert_eq!(r.ip_failures, 1001);
    assert_eq!(r.pair_failures, 1001);
}

#[tokio::test]
async fn memory_store_meets_the_contract() {
    threshold_suspends_at_n_not_before(&MemoryGuardStore::new()).await;
    repeat_offenders_get_longer_suspensions(&MemoryGuardStore::new()).await;
    pair_locks_before_the_address(&MemoryGuardStore::new()).await;
    unblock_one_and_all(&MemoryGuardStore::new()).await;
    privileged_networks_round_trip(&MemoryGuardStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_loses_no_concurrent_count() {
    concurrent_failures_lose_no_count(MemoryGuardStore::new()).await;
}

#[tokio::test]
async fn redis_store_meets_the_contract() {
    redis("ping")
        .ping()
        .await
        .expect("Redis must be reachable (PASSERELLE_TEST_REDIS)");
    threshold_suspends_at_n_not_before(&redis("threshold")).await;
    repeat_offenders_get_longer_suspensions(&redis("escalation")).await;
    pair_locks_before_the_address(&redis("pair")).await;
    unblock_one_and_all(&redis("unblock")).await;
    privileged_networks_round_trip(&redis("privileged")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_loses_no_concurrent_count() {
    concurrent_failures_lose_no_count(redis("concurrency")).await;
}

#[tokio::test]
async fn redis_keys_expire_on_their_own() {
    let store = redis("ttl");
    let a = ip("203.0.113.50");
    let t = Thresholds {
        suspension_secs: 1,
        max_suspension_secs: 1,
        ..T
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for _ in 0..5 {
        store.record_failure(a, None, now, &t).await.unwrap();
    }
    assert!(store.is_suspended(a, now).await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    // Asked with the old `now`: only Redis's own expiry can have removed it.
    assert_eq!(store.is_suspended(a, now).await.unwrap(), None);
}
