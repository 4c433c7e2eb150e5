//! Cost of the guard check on the login path (memory backend, rate limiter included), and memory per
//! tracked address, estimated by RSS growth (Linux `/proc/self/statm`) over 100 000 addresses.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use passerelle::config::GuardSettings;
use passerelle::guard::{FailureKind, Guard};

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let settings = GuardSettings {
        rate_per_second: 1_000_000,
        rate_burst: 1_000_000,
        ..GuardSettings::default()
    };
    let guard = Guard::with_settings(settings, passerelle::clock::Clock::System, None);
    let ip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1));
    c.bench_function("guard_check_allowed", |b| {
        b.iter(|| runtime.block_on(guard.check(black_box(ip))))
    });

    const N: u32 = 100_000;
    let before = rss_bytes();
    for i in 0..N {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        runtime.block_on(guard.check(ip));
        runtime.block_on(guard.record_failure(ip, Some("eleve"), FailureKind::BadPassword));
    }
    let after = rss_bytes();
    let (limiter, store) = guard.tracked();
    println!(
        "memory: {N} addresses tracked (limiter {limiter}, store {store}): RSS +{} bytes, ≈ {} bytes per address (RSS-based)",
        after.saturating_sub(before),
        after.saturating_sub(before) / u64::from(N)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
