//! A 50 MB upload streams through the real binary without its memory growing by anything like that.
//! Its own test binary, so nothing else runs in the measured process.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::StatusCode;

const UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
    let (port, admin) = (free_port(), free_port());
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "addresses = [\"127.0.0.1:0\"]",
            &format!("addresses = [\"127.0.0.1:{port}\"]"),
        )
        .replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{admin}\""),
        );
    std::fs::write(&path, text).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let gateway = Gateway(child);
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if client()
            .get(format!("http://127.0.0.1:{admin}/healthz"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the gateway binary started");
    let cookie = format!("passerelle_session={}", parent_session(&base).await);
    let before = peak_rss_kib(gateway.0.id());

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

    let growth_kib = peak_rss_kib(gateway.0.id()).saturating_sub(before);
    eprintln!("peak RSS before {before} KiB, growth during the 50 MiB upload {growth_kib} KiB");
    assert!(
        growth_kib < 16 * 1024,
        "the gateway grew by {growth_kib} KiB for a 50 MiB upload"
    );
}
