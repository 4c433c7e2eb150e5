//! One suite, every session backend: the memory store and a real Redis behave the same.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use passerelle::clock::Clock;
use passerelle::identity::{Identity, MappedFields, Protocol};
use passerelle::session::{MemoryStore, RedisStore, Session, SessionId, Store};
use passerelle::space::SpaceId;

fn session(login: &str, index: Option<&str>, now: u64) -> Session {
    Session {
        space: SpaceId::Parent,
        identity: Identity {
            login: login.to_owned(),
            protocol: Protocol::Cas,
            fields: MappedFields {
                nom: Some("Martin".to_owned()),
                categories: vec!["National_2".to_owned()],
                ..Default::default()
            },
        },
        client_ip: IpAddr::from([192, 0, 2, 7]),
        created_at: now,
        last_seen: now,
        logout_index: index.map(str::to_owned),
        delegation: None,
        logout_hint: None,
    }
}

async fn put_get_touch_delete(store: impl Store, clock: Clock) {
    let now = clock.now();
    let key = SessionId::generate().key();
    assert_eq!(store.get(&key).await.unwrap(), None);
    let original = session("claire", None, now);
    store
        .put(&key, &original, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Some(original.clone()));

    store
        .touch(&key, now + 90, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(store.get(&key).await.unwrap().unwrap().last_seen, now + 90);

    assert!(store.delete(&key).await.unwrap());
    assert!(!store.delete(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), None);
    store
        .touch(&key, now + 120, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(
        store.get(&key).await.unwrap(),
        None,
        "a touch never revives a deleted session"
    );
}

async fn delete_by_index_and_list(store: impl Store, clock: Clock) {
    assert!(
        store.list().await.unwrap().is_empty(),
        "an empty store lists nothing"
    );
    let now = clock.now();
    let ticket = format!("ST-{}", SessionId::generate().as_str());
    let (a, b, other) = (
        SessionId::generate().key(),
        SessionId::generate().key(),
        SessionId::generate().key(),
    );
    store
        .put(
            &a,
            &session("a", Some(&ticket), now),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    store
        .put(
            &b,
            &session("b", Some(&ticket), now),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    store
        .put(
            &other,
            &session("c", Some("ST-other"), now),
            Duration::from_secs(600),
        )
        .await
        .unwrap();

    let listed = store.list().await.unwrap();
    for key in [a, b, other] {
        assert!(listed.iter().any(|(k, _)| *k == key), "{key:?} listed");
    }
    assert!(store.count().await.unwrap() >= 3);

    assert_eq!(store.delete_by_index(&ticket).await.unwrap(), 2);
    assert_eq!(store.get(&a).await.unwrap(), None);
    assert_eq!(store.get(&b).await.unwrap(), None);
    assert!(store.get(&other).await.unwrap().is_some());
    assert_eq!(store.delete_by_index(&ticket).await.unwrap(), 0);
    let listed = store.list().await.unwrap();
    assert!(!listed.iter().any(|(k, _)| *k == a || *k == b));
    store.ping().await.unwrap();
}

#[tokio::test]
async fn memory_store_put_get_touch_delete() {
    let clock = Clock::manual(1_800_000_000);
    put_get_touch_delete(MemoryStore::new(clock.clone()), clock).await;
}

#[tokio::test]
async fn redis_store_put_get_touch_delete() {
    let clock = Clock::System;
    let store = RedisStore::new(
        &common::redis_url(),
        &common::unique_prefix("store"),
        clock.clone(),
    )
    .unwrap();
    put_get_touch_delete(store, clock).await;
}

#[tokio::test]
async fn memory_store_delete_by_index_and_list() {
    let clock = Clock::manual(1_800_000_000);
    delete_by_index_and_list(MemoryStore::new(clock.clone()), clock).await;
}

#[tokio::test]
async fn redis_store_delete_by_index_and_list() {
    let clock = Clock::System;
    let store = RedisStore::new(
        &common::redis_url(),
        &common::unique_prefix("index"),
        clock.clone(),
    )
    .unwrap();
    delete_by_index_and_list(store, clock).await;
}

#[tokio::test]
async fn memory_store_forgets_after_the_ttl_and_sweeps() {
    let clock = Clock::manual(1_800_000_000);
    let store = MemoryStore::new(clock.clone());
    let key = SessionId::generate().key();
    store
        .put(
            &key,
            &session("a", None, clock.now()),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    clock.advance(59);
    assert!(store.get(&key).await.unwrap().is_some());
    clock.advance(1);
    assert_eq!(store.get(&key).await.unwrap(), None);
    assert_eq!(store.sweep(), 1);
    assert!(store.is_empty());
}

#[tokio::test]
async fn redis_store_forgets_after_the_ttl() {
    let store = RedisStore::new(
        &common::redis_url(),
        &common::unique_prefix("ttl"),
        Clock::System,
    )
    .unwrap();
    let key = SessionId::generate().key();
    store
        .put(
            &key,
            &session("a", None, Clock::System.now()),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(store.get(&key).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        store.get(&key).await.unwrap(),
        None,
        "Redis expired the key on its own"
    );
}

#[tokio::test]
async fn redis_keys_hold_no_usable_session_id() {
    let prefix = common::unique_prefix("hash");
    let store = RedisStore::new(&common::redis_url(), &prefix, Clock::System).unwrap();
    let id = SessionId::generate();
    store
        .put(
            &id.key(),
            &session("a", None, Clock::System.now()),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let client = redis::Client::open(common::redis_url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    for key in keys {
        assert!(!key.contains(id.as_str()), "{key}");
    }
}

#[tokio::test]
async fn redis_unreachable_is_an_error_not_a_hang() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let store = RedisStore::new(&format!("redis://{dead}/"), "x:", Clock::System).unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        store.get(&SessionId::generate().key()),
    )
    .await;
    assert!(result.expect("answers within 5 s").is_err());
    assert!(store.ping().await.is_err());
}
