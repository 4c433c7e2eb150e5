//! A 50 MB upload streams through the real binary without its memory growing by anything like that.
//! Its own test binary, so nothing else runs in the measured process.

mod common;

use bytes::Bytes;
use common::*;
use http::StatusCode;

const UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

#[tokio::test]
async fn a_50_mb_upload_streams_without_the_gateway_buffering_it() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = Setup::new(upstream.address).write(dir.path());
    let gateway = spawn_binary(&path).await;
    let base = gateway.base.clone();
    let cookie = format!("passerelle_session={}", parent_session(&base).await);
    let before = peak_rss_kib(gateway.child.id());

    let chunks = futures_util::stream::iter(
        (0..UPLOAD_BYTES / CHUNK as u64)
            .map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; CHUNK]))),
    );
    let response = client()
        .post(format!("{base}/upload"))
        .header("cookie", &cookie)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        upstream.last().body_len,
        UPLOAD_BYTES,
        "every byte reached the upstream"
    );

    let growth_kib = peak_rss_kib(gateway.child.id()).saturating_sub(before);
    eprintln!("peak RSS before {before} KiB, growth during the 50 MiB upload {growth_kib} KiB");
    assert!(
        growth_kib < 16 * 1024,
        "the gateway grew by {growth_kib} KiB for a 50 MiB upload"
    );
}
