//! The single-use records and the replay cache of `session::Store`, run against every backend (memory
//! and a real Redis). Pending logins and ticket replay protection rely on these promises.

use std::time::Duration;

use passerelle::clock::Clock;
use passerelle::session::{AnyStore, MemoryStore, RedisStore, Store};

fn redis_url() -> String {
    std::env::var("PASSERELLE_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// Both backends, each with its own key prefix so that parallel tests never meet.
fn backends(test: &str) -> Vec<(&'static str, AnyStore, Clock)> {
    let memory_clock = Clock::manual(1_000_000);
    let prefix = format!("passerelle-test:{test}:{}:", std::process::id());
    let redis = RedisStore::new(&redis_url(), &prefix, Clock::System)
        .expect("Redis URL must be valid (PASSERELLE_TEST_REDIS)");
    vec![
        (
            "memory",
            AnyStore::Memory(MemoryStore::new(memory_clock.clone())),
            memory_clock,
        ),
        ("redis", AnyStore::Redis(redis), Clock::System),
    ]
}

#[tokio::test]
async fn a_once_record_is_taken_exactly_once() {
    for (name, store, _) in backends("take-once") {
        store
            .put_once("login", "k1", "{\"v\":1}", Duration::from_secs(60))
            .await
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(
            store.take_once("login", "k1").await.unwrap().as_deref(),
            Some("{\"v\":1}"),
            "{name}"
        );
        assert_eq!(
            store.take_once("login", "k1").await.unwrap(),
            None,
            "{name}"
        );
        assert_eq!(
            store.take_once("login", "absent").await.unwrap(),
            None,
            "{name}"
        );
    }
}

#[tokio::test]
async fn namespaces_keep_records_apart() {
    for (name, store, _) in backends("namespaces") {
        store
            .put_once("login", "same", "a", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            store.take_once("saml-request", "same").await.unwrap(),
            None,
            "{name}"
        );
        assert!(
            store
                .remember_once("cas-ticket", "same", Duration::from_secs(60))
                .await
                .unwrap(),
            "{name}"
        );
        assert_eq!(
            store.take_once("login", "same").await.unwrap().as_deref(),
            Some("a"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn replay_cache_says_first_once_then_refuses() {
    for (name, store, _) in backends("replay") {
        let ttl = Duration::from_secs(60);
        assert!(
            store.remember_once("cas-ticket", "t1", ttl).await.unwrap(),
            "{name}"
        );
        assert!(
            !store.remember_once("cas-ticket", "t1", ttl).await.unwrap(),
            "{name}"
        );
        assert!(
            store.remember_once("cas-ticket", "t2", ttl).await.unwrap(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn concurrent_takers_get_one_record_between_them() {
    for (name, store, _) in backends("race") {
        store
            .put_once("login", "race", "x", Duration::from_secs(60))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.take_once("login", "race").await.unwrap()
            }));
        }
        let mut winners = 0;
        for task in tasks {
            winners += usize::from(task.await.unwrap().is_some());
        }
        assert_eq!(winners, 1, "{name}");

        let mut tasks = Vec::new();
        for _ in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .remember_once("cas-ticket", "race", Duration::from_secs(60))
                    .await
                    .unwrap()
            }));
        }
        let mut firsts = 0;
        for task in tasks {
            firsts += usize::from(task.await.unwrap());
        }
        assert_eq!(firsts, 1, "{name}");
    }
}

#[tokio::test]
async fn once_records_expire_with_their_ttl() {
    for (name, store, clock) in backends("expiry") {
        store
            .put_once("login", "old", "x", Duration::from_secs(1))
            .await
            .unwrap();
        assert!(
            store
                .remember_once("cas-ticket", "old", Duration::from_secs(1))
                .await
                .unwrap()
        );
        match clock {
            Clock::Manual(_) => clock.advance(2),
            Clock::System => tokio::time::sleep(Duration::from_millis(2_100)).await,
        }
        assert_eq!(
            store.take_once("login", "old").await.unwrap(),
            None,
            "{name}"
        );
        assert!(
            store
                .remember_once("cas-ticket", "old", Duration::from_secs(60))
                .await
                .unwrap(),
            "{name}: an expired id may be seen again"
        );
    }
}
