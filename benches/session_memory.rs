//! Memory figure for the embedded session store: fill a [`MemoryStore`] with 100 000 then 1 000 000
//! realistic sessions and report the growth of the process's resident set (VmRSS in
//! /proc/self/status) per session. DESIGN.md §10 budgets under 1 KiB per idle session.
//!
//! `cargo bench --bench session_memory` (a plain `main`, not criterion: it measures bytes, not time).
//! Each session looks like one made through the CAS bridge: a login, the five mapped fields, one
//! category and a 35-byte CAS ticket kept for single logout, which is the larger common case.

use std::time::Duration;

use passerelle::clock::Clock;
use passerelle::identity::{Identity, MappedFields, Protocol};
use passerelle::session::{MemoryStore, Session, SessionId, Store};
use passerelle::space::SpaceId;

/// Resident set size of this process, in bytes (Linux only).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

fn session(n: usize, now: u64) -> Session {
    Session {
        space: SpaceId::ALL[n % SpaceId::ALL.len()],
        identity: Identity {
            login: format!("eleve.{n:07}"),
            protocol: Protocol::Cas,
            fields: MappedFields {
                nom: Some(format!("Martin{}", n % 1000)),
                prenom: Some("Hélène".to_owned()),
                date_naissance: Some("14/03/2011".to_owned()),
                code_postal: Some("69003".to_owned()),
                categories: vec!["National_1".to_owned()],
                id_produit: None,
            },
        },
        client_ip: std::net::IpAddr::from([10, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
        created_at: now,
        last_seen: now,
        logout_index: Some(format!("ST-{n:010}-passerelleCASticket01")),
        delegation: None,
        logout_hint: None,
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let clock = Clock::System;
    let now = clock.now();
    let store = MemoryStore::new(clock);
    let ttl = Duration::from_secs(3600);
    println!(
        "size_of::<Session>() = {} bytes",
        std::mem::size_of::<Session>()
    );
    let baseline = rss_bytes();
    let mut filled = 0;
    for target in [100_000usize, 1_000_000] {
        runtime.block_on(async {
            for n in filled..target {
                let key = SessionId::generate().key();
                store
                    .put(&key, &session(n, now), ttl)
                    .await
                    .expect("memory store put");
            }
        });
        filled = target;
        let grown = rss_bytes().saturating_sub(baseline);
        println!(
            "{target:>9} sessions: RSS +{:.1} MiB, {:.0} bytes per session",
            grown as f64 / (1024.0 * 1024.0),
            grown as f64 / target as f64
        );
    }
    assert_eq!(store.len(), filled);
}
