//! Hot reload with the real binary: `POST /api/v1/reload` and SIGHUP re-read every file; a broken file
//! is refused with its file:line errors (API answer and logs) and the old configuration keeps serving;
//! a changed one takes effect on connections that stay open across the swap.

mod guard_common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use guard_common::*;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use reqwest::Method;

/// A path outside every space: 401 « Session expirée » without a session, proxied once it is listed in
/// `public_paths` (then 502: the configured upstream does not listen).
const PROBE: &str = "/pronote/InfoMobileApp.json";

/// One HTTP/1.1 keep-alive connection to the gateway; fails if the gateway ever closes it.
struct KeepAlive(SendRequest<Empty<Bytes>>);

impl KeepAlive {
    async fn open(gateway: SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(gateway).await.unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        KeepAlive(sender)
    }

    async fn status(&mut self, path: &str) -> u16 {
        self.0.ready().await.expect("the connection is still open");
        let request = http::Request::get(path)
            .header("host", "127.0.0.1")
            .body(Empty::new())
            .unwrap();
        let response = self.0.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        response.into_body().collect().await.unwrap();
        status
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_file_is_refused_and_a_changed_one_takes_effect_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (process, gw, admin_addr) = spawn(dir.path(), &unique("reload"), "").await;
    let path = dir.path().join("passerelle.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut connection = KeepAlive::open(gw).await;
    assert_eq!(connection.status(PROBE).await, 401);

    // Broken: an unknown key on line 10. Refused, located, logged; the old configuration serves.
    let broken = original.replacen("[upstream]\n", "[upstream]\nretries = 3\n", 1);
    let line = broken.lines().position(|l| l == "retries = 3").unwrap() + 1;
    std::fs::write(&path, &broken).unwrap();
    let (status, body) = admin(Method::POST, admin_addr, "/api/v1/reload", Some(TOKEN)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_config");
    let problems = body["error"]["problems"].as_array().unwrap();
    let located = format!("passerelle.toml:{line}:");
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains(&located)
                && p.as_str().unwrap().contains("retries")),
        "{body}"
    );
    assert_eq!(
        connection.status(PROBE).await,
        401,
        "the old configuration still serves"
    );
    let log = std::fs::read_to_string(dir.path().join("passerelle.log")).unwrap();
    assert!(
        log.contains(&located),
        "the refusal is logged with its location: {log}"
    );

    // Changed: the probe becomes public. Same connection, new behaviour; the guard change is reported
    // as waiting for a restart.
    let changed = format!("public_paths = [\"{PROBE}\"]\n{original}max_failures = 4\n");
    std::fs::write(&path, changed).unwrap();
    let (status, body) = admin(Method::POST, admin_addr, "/api/v1/reload", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["restart_required"],
        serde_json::json!(["guard"]),
        "{body}"
    );
    assert_eq!(
        connection.status(PROBE).await,
        502,
        "proxied now, on the same connection"
    );
    let (status, _) = admin(Method::POST, admin_addr, "/api/v1/reload", None).await;
    assert_eq!(status, 401, "reload needs the token");

    // SIGHUP: back to the original file.
    std::fs::write(&path, &original).unwrap();
    let pid = process.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut reverted = false;
    for _ in 0..50 {
        if connection.status(PROBE).await == 401 {
            reverted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reverted, "SIGHUP reloaded the file");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"reload\"") && audit.contains("refused"),
        "{audit}"
    );
}
