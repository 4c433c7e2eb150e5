//! Criterion benches of the authenticated request's hot functions: cookie parse and session lookup
//! (memory store, and Redis store against the real Redis), identity header build and HMAC, and the
//! header hygiene done before proxying (namespace strip, gateway cookie strip, forwarding headers).
//!
//! `cargo bench --bench hot_path`. The Redis benches use `PASSERELLE_TEST_REDIS`
//! (default `redis://127.0.0.1:6379/`) under a unique key prefix, removed at the end; an unreachable
//! Redis stops the bench with an error rather than leaving a hole in the figures.
//! No figure here is asserted anywhere: they are read by people (docs/performance.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use passerelle::clock::Clock;
use passerelle::config::SessionSettings;
use passerelle::identity::signed_headers::HeaderSigner;
use passerelle::identity::{Identity, MappedFields, Protocol};
use passerelle::proxy::ForwardedFor;
use passerelle::session::{AnyStore, MemoryStore, RedisStore, SessionId, Sessions, Store, cookie};
use passerelle::space::SpaceId;

const COOKIE_NAME: &str = "passerelle_session";
const SIGNING_KEY: &[u8] = b"bench-bench-bench-bench-bench-bench-bench";

fn settings() -> SessionSettings {
    SessionSettings {
        cookie_name: COOKIE_NAME.to_owned(),
        idle_timeout: Duration::from_secs(30 * 60),
        absolute_timeout: Duration::from_secs(12 * 3600),
        secure_cookie: true,
        touch_interval: Duration::from_secs(60),
    }
}

fn identity(n: usize) -> Identity {
    Identity {
        login: format!("helene.martin{n}"),
        protocol: Protocol::Cas,
        fields: MappedFields {
            nom: Some("Martin".to_owned()),
            prenom: Some("Hélène".to_owned()),
            date_naissance: Some("14/03/1982".to_owned()),
            code_postal: Some("69003".to_owned()),
            categories: vec!["National_2".to_owned()],
            id_produit: None,
        },
    }
}

/// The headers a browser sends with a PRONOTE request, carrying the session cookie.
fn browser_request(id: &SessionId) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        headers.append(name, HeaderValue::from_str(value).expect("bench header"));
    };
    put("host", "pronote.college-exemple.fr");
    put(
        "user-agent",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    );
    put(
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    );
    put("accept-language", "fr,fr-FR;q=0.8,en-US;q=0.5,en;q=0.3");
    put("accept-encoding", "gzip, deflate, br, zstd");
    put(
        "referer",
        "https://pronote.college-exemple.fr/pronote/parent.html",
    );
    put("connection", "keep-alive");
    put(
        "cookie",
        &format!(
            "ielang=1036; {COOKIE_NAME}={}; pronote_theme=clair",
            id.as_str()
        ),
    );
    headers
}

fn cookie_parse(c: &mut Criterion) {
    let id = SessionId::generate();
    let headers = browser_request(&id);
    c.bench_function("cookie_parse/find_and_parse_session_id", |b| {
        b.iter(|| cookie::find(black_box(&headers), COOKIE_NAME).and_then(SessionId::parse))
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Create one session among `others` and return its id.
async fn seeded(sessions: &Sessions, others: usize) -> SessionId {
    let ip = "192.0.2.10".parse().expect("ip");
    for n in 0..others {
        sessions
            .create(SpaceId::Parent, identity(n), ip, None)
            .await
            .expect("seed session");
    }
    sessions
        .create(SpaceId::Parent, identity(others), ip, None)
        .await
        .expect("bench session")
}

fn lookup_memory(c: &mut Criterion) {
    let rt = runtime();
    let clock = Clock::System;
    let sessions = Sessions::new(
        AnyStore::Memory(MemoryStore::new(clock.clone())),
        settings(),
        clock,
    );
    let id = rt.block_on(seeded(&sessions, 10_000));
    let headers = browser_request(&id);
    // What the gateway does: the record is shared with the store, not copied.
    c.bench_function("session_lookup/memory_10k_sessions", |b| {
        b.to_async(&rt).iter(|| async {
            let id = cookie::find(black_box(&headers), COOKIE_NAME).and_then(SessionId::parse);
            let id = id.expect("cookie");
            sessions.lookup_shared(&id).await.expect("lookup")
        })
    });
    // The owned copy other callers get (admin views, logout), for comparison.
    c.bench_function("session_lookup/memory_10k_sessions_owned_copy", |b| {
        b.to_async(&rt).iter(|| async {
            let id = cookie::find(black_box(&headers), COOKIE_NAME).and_then(SessionId::parse);
            let id = id.expect("cookie");
            sessions.lookup(&id).await.expect("lookup")
        })
    });
}

fn lookup_redis(c: &mut Criterion) {
    let rt = runtime();
    let url = std::env::var("PASSERELLE_TEST_REDIS")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let prefix = format!("passerelle-bench-{}:", std::process::id());
    let clock = Clock::System;
    // The connection manager spawns its driver task: it needs the runtime entered.
    let _entered = rt.enter();
    let store = RedisStore::new(&url, &prefix, clock.clone()).expect("redis client");
    if let Err(err) = rt.block_on(store.ping()) {
        panic!("Redis unreachable at {url}: {err}");
    }
    let sessions = Sessions::new(AnyStore::Redis(store), settings(), clock);
    let id = rt.block_on(seeded(&sessions, 0));
    let headers = browser_request(&id);
    c.bench_function("session_lookup/redis_one_round_trip", |b| {
        b.to_async(&rt).iter(|| async {
            let id = cookie::find(black_box(&headers), COOKIE_NAME).and_then(SessionId::parse);
            let id = id.expect("cookie");
            sessions.lookup_shared(&id).await.expect("lookup")
        })
    });
    rt.block_on(sessions.destroy(&id.key())).expect("cleanup");
}

fn signed_headers(c: &mut Criterion) {
    let signer = HeaderSigner::new("X-Passerelle-", SIGNING_KEY).expect("signer");
    let id = SessionId::generate();
    let base = browser_request(&id);
    let who = identity(1);
    c.bench_function("identity_headers/build_and_hmac", |b| {
        b.iter_batched_ref(
            || base.clone(),
            |headers| signer.apply(headers, black_box(&who), SpaceId::Parent, 1_780_000_000),
            BatchSize::SmallInput,
        )
    });
}

fn header_strip(c: &mut Criterion) {
    let signer = HeaderSigner::new("X-Passerelle-", SIGNING_KEY).expect("signer");
    let id = SessionId::generate();
    let mut base = browser_request(&id);
    // A client trying to speak for the gateway: must be removed.
    base.insert(
        HeaderName::from_static("x-passerelle-user"),
        HeaderValue::from_static("admin"),
    );
    let names = [COOKIE_NAME, "passerelle_session_csrf"];
    c.bench_function("header_strip/namespace_and_gateway_cookies", |b| {
        b.iter_batched_ref(
            || base.clone(),
            |headers| {
                signer.strip(headers);
                cookie::strip(headers, &names);
            },
            BatchSize::SmallInput,
        )
    });
    let forwarded = ForwardedFor {
        client_ip: "192.0.2.10".parse().expect("ip"),
        proto: "https",
    };
    c.bench_function("header_strip/forwarding_headers", |b| {
        b.iter_batched_ref(
            || base.clone(),
            |headers| forwarded.apply(headers),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(
    benches,
    cookie_parse,
    lookup_memory,
    lookup_redis,
    signed_headers,
    header_strip
);
criterion_main!(benches);
