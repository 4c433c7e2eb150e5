//! The guard through the gateway: two in-process gateways sharing one real Redis, the admin API, rate
//! limiting, expiry, and a Redis outage.

mod guard_common;

use std::net::IpAddr;
use std::time::Duration;

use guard_common::*;
use passerelle::clock::Clock;
use passerelle::server::{self, Options, Running};
use reqwest::Method;

const GUARD: &str = r#"max_failures = 3
pair_max_failures = 3
privileged = ["192.0.2.0/24"]
rate_per_second = 1000
rate_burst = 1000
"#;

async fn start(dir: &std::path::Path, store: &str, guard: &str, clock: Clock) -> Running {
    let path = write_config(dir, "127.0.0.1:0", "127.0.0.1:0", store, guard);
    let config = passerelle::config::load(&path).expect("valid config");
    server::start(config, Options { clock })
        .await
        .expect("gateway starts")
}

async fn fail_n(client: &reqwest::Client, gw: std::net::SocketAddr, ip: &str, n: usize) {
    for i in 0..n {
        let status = try_login(client, gw, ip, &format!("inconnu{i}"), "mauvais").await;
        assert_eq!(status, 401, "attempt {i} from {ip} is a plain bad password");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_share_counts_suspensions_and_unblocks() {
    let prefix = unique("gw");
    let store = redis_store(&prefix, &redis_url());
    let (dir1, dir2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = start(dir1.path(), &store, GUARD, Clock::System).await;
    let two = start(dir2.path(), &store, GUARD, Clock::System).await;
    let (gw1, gw2) = (one.addresses[0], two.addresses[0]);
    let (admin1, admin2) = (one.admin_address.unwrap(), two.admin_address.unwrap());
    let client = client_from(None);

    // N−1 failures (spread over both gateways) do not suspend; the N-th does, on both.
    let a = "203.0.113.10";
    fail_n(&client, gw1, a, 1).await;
    fail_n(&client, gw2, a, 1).await;
    assert_eq!(open_form(&client, gw1, a).await.0, 200);
    assert_eq!(try_login(&client, gw2, a, "autre", "mauvais").await, 401);
    for gw in [gw1, gw2] {
        let (status, retry) = open_form(&client, gw, a).await;
        assert_eq!(status, 403, "suspended address refused on {gw}");
        let retry: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!(retry > 0 && retry <= 900);
    }
    // Another address is not affected.
    assert_eq!(open_form(&client, gw2, "203.0.113.11").await.0, 200);

    // A privileged address is never suspended.
    fail_n(&client, gw1, "192.0.2.5", 5).await;
    assert_eq!(open_form(&client, gw2, "192.0.2.5").await.0, 200);

    // X-Forwarded-For from an untrusted peer (127.0.0.2) is ignored: the peer is counted, not `a`.
    let untrusted = client_from(Some("127.0.0.2".parse::<IpAddr>().unwrap()));
    assert_eq!(open_form(&untrusted, gw1, a).await.0, 200);

    // Two IPv6 addresses of one /64 count together.
    fail_n(&client, gw1, "2001:db8:1:2::1", 2).await;
    assert_eq!(
        try_login(&client, gw2, "2001:db8:1:2::beef", "z", "mauvais").await,
        401
    );
    assert_eq!(open_form(&client, gw1, "2001:db8:1:2:ffff::9").await.0, 403);
    assert_eq!(open_form(&client, gw1, "2001:db8:1:3::1").await.0, 200);

    // The API refuses a missing or wrong token and writes nothing.
    for token in [None, Some("faux")] {
        let (status, body) = admin(Method::DELETE, admin1, "/api/v1/suspensions", token).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], "bad_token");
    }
    assert_eq!(
        open_form(&client, gw2, a).await.0,
        403,
        "nothing was unblocked"
    );
    let audit1 = dir1.path().join("audit.jsonl");
    assert_eq!(std::fs::read_to_string(&audit1).unwrap(), "");
    // Health endpoints stay open.
    assert_eq!(
        admin(Method::GET, admin1, "/readyz", None).await.1["guard"],
        "redis"
    );

    let (status, list) = admin(Method::GET, admin2, "/api/v1/suspensions", Some(TOKEN)).await;
    assert_eq!(status, 200);
    let ips: Vec<&str> = list["suspensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ip"].as_str().unwrap())
        .collect();
    assert!(
        ips.contains(&a) && ips.contains(&"2001:db8:1:2::"),
        "{list}"
    );

    // Unblock one on gateway 1: effective on gateway 2 at once, and audited.
    let (status, body) = admin(
        Method::DELETE,
        admin1,
        &format!("/api/v1/suspensions/{a}"),
        Some(TOKEN),
    )
    .await;
    assert_eq!((status, body["unblocked"].as_bool()), (200, Some(true)));
    assert_eq!(open_form(&client, gw2, a).await.0, 200);
    assert_eq!(open_form(&client, gw2, "2001:db8:1:2::1").await.0, 403);
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&audit1).unwrap().trim()).unwrap();
    assert_eq!(
        (
            &line["who"],
            &line["action"],
            &line["target"],
            &line["from"]
        ),
        (
            &"ops".into(),
            &"unblock".into(),
            &a.into(),
            &"127.0.0.1".into()
        )
    );

    // Unblock all on gateway 2: effective on gateway 1.
    let (status, body) = admin(Method::DELETE, admin2, "/api/v1/suspensions", Some(TOKEN)).await;
    assert_eq!((status, body["unblocked"].as_u64()), (200, Some(1)));
    assert_eq!(open_form(&client, gw1, "2001:db8:1:2::1").await.0, 200);

    // Privileged networks added at runtime on one gateway protect on the other.
    let response = reqwest::Client::new()
        .post(format!("http://{admin1}/api/v1/privileged"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "cidr": "198.51.100.0/24" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    tokio::time::sleep(Duration::from_millis(1500)).await; // one housekeeping tick
    fail_n(&client, gw2, "198.51.100.7", 4).await;
    assert_eq!(open_form(&client, gw1, "198.51.100.7").await.0, 200);
    let (status, _) = admin(
        Method::DELETE,
        admin2,
        "/api/v1/privileged/198.51.100.0/24",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = admin(
        Method::DELETE,
        admin2,
        "/api/v1/privileged/192.0.2.0/24",
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("configured_in_file"))
    );

    let (status, spec) = admin(Method::GET, admin1, "/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(spec["paths"]["/api/v1/suspensions"].is_object());

    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test]
async fn a_suspension_expires_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(1_000_000);
    let running = start(dir.path(), "", GUARD, clock.clone()).await;
    let (gw, client) = (running.addresses[0], client_from(None));
    fail_n(&client, gw, "203.0.113.20", 2).await;
    assert_eq!(try_login(&client, gw, "203.0.113.20", "q", "x").await, 401);
    assert_eq!(open_form(&client, gw, "203.0.113.20").await.0, 403);
    clock.advance(899);
    assert_eq!(open_form(&client, gw, "203.0.113.20").await.0, 403);
    clock.advance(1);
    assert_eq!(open_form(&client, gw, "203.0.113.20").await.0, 200);
    running.shutdown().await;
}

#[tokio::test]
async fn one_login_locks_before_the_whole_address() {
    let dir = tempfile::tempdir().unwrap();
    let guard = "max_failures = 8\npair_max_failures = 2\n";
    let running = start(dir.path(), "", guard, Clock::System).await;
    let (gw, client) = (running.addresses[0], client_from(None));
    let nat = "203.0.113.30";
    assert_eq!(try_login(&client, gw, nat, "eleve.demo", "faux").await, 401);
    assert_eq!(try_login(&client, gw, nat, "eleve.demo", "faux").await, 401);
    // The pair is locked, even with the right password; a classmate behind the same NAT is not.
    assert_eq!(
        try_login(&client, gw, nat, "eleve.demo", "eleve-demo").await,
        403
    );
    assert_eq!(
        try_login(&client, gw, nat, "parent.demo", "faux").await,
        401
    );
    assert_eq!(open_form(&client, gw, nat).await.0, 200);
    running.shutdown().await;
}

#[tokio::test]
async fn flooding_the_login_form_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    passerelle::telemetry::metrics();
    let running = start(
        dir.path(),
        "",
        "rate_per_second = 1\nrate_burst = 3\n",
        Clock::System,
    )
    .await;
    let (gw, client) = (running.addresses[0], client_from(None));
    for _ in 0..3 {
        assert_eq!(open_form(&client, gw, "203.0.113.40").await.0, 200);
    }
    let (status, retry) = open_form(&client, gw, "203.0.113.40").await;
    assert_eq!(status, 429);
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(open_form(&client, gw, "203.0.113.41").await.0, 200);
    let metrics = reqwest::get(format!("http://{}/metrics", running.admin_address.unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("passerelle_guard_rate_limited_total"));
    running.shutdown().await;
}

/// A private redis-server on a free port, stopped and restarted by the test.
fn redis_server(port: u16, dir: &std::path::Path) -> std::process::Child {
    let mut child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server is installed");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("redis-server did not start on {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_falls_back_to_memory_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut redis = redis_server(port, dir.path());
    let url = format!("redis://127.0.0.1:{port}/");
    let running = start(
        dir.path(),
        &redis_store(&unique("outage"), &url),
        GUARD,
        Clock::System,
    )
    .await;
    let (gw, client) = (running.addresses[0], client_from(None));
    let admin_at = running.admin_address.unwrap();
    fail_n(&client, gw, "203.0.113.60", 1).await;

    redis.kill().unwrap();
    redis.wait().unwrap();
    // Still answers, counts locally, and suspends.
    fail_n(&client, gw, "203.0.113.61", 2).await;
    assert_eq!(try_login(&client, gw, "203.0.113.61", "w", "x").await, 401);
    assert_eq!(open_form(&client, gw, "203.0.113.61").await.0, 403);
    assert_eq!(open_form(&client, gw, "203.0.113.62").await.0, 200);
    let (_, ready) = admin(Method::GET, admin_at, "/readyz", None).await;
    assert_eq!(ready["guard"], "redis_unavailable_local_fallback");
    let metrics = reqwest::get(format!("http://{admin_at}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("passerelle_guard_degraded 1"), "{metrics}");

    // Redis comes back: the gateway uses it again without restart.
    let mut redis = redis_server(port, dir.path());
    let mut recovered = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if admin(Method::GET, admin_at, "/readyz", None).await.1["guard"] == "redis" {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "guard back on Redis");
    fail_n(&client, gw, "203.0.113.63", 1).await;
    let con = redis::Client::open(url.as_str()).unwrap();
    let mut con = con.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*203.0.113.63*")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "failure counted in Redis again: {keys:?}");
    // The local suspension made during the outage still holds.
    assert_eq!(open_form(&client, gw, "203.0.113.61").await.0, 403);
    running.shutdown().await;
    redis.kill().unwrap();
    let _ = redis.wait();
}

async fn page_with_session(gw: std::net::SocketAddr, ip: &str, cookie: &str) -> u16 {
    client_from(None)
        .get(format!("http://{gw}/pronote/eleve.html"))
        .header("x-forwarded-for", ip)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn open_sessions_are_barred_only_when_configured() {
    for (bar, expected) in [(false, 502), (true, 403)] {
        let dir = tempfile::tempdir().unwrap();
        let guard = format!("max_failures = 3\nbar_authenticated_traffic = {bar}\n");
        let running = start(dir.path(), "", &guard, Clock::System).await;
        let (gw, client) = (running.addresses[0], client_from(None));
        let ip = "203.0.113.90";
        let (status, cookie) = attempt(&client, gw, ip, "eleve.demo", "eleve-demo").await;
        assert_eq!(status, 303);
        let cookie = cookie.expect("session cookie");
        fail_n(&client, gw, ip, 3).await;
        assert_eq!(open_form(&client, gw, ip).await.0, 403);
        // The upstream is down (502) when the page is let through.
        assert_eq!(
            page_with_session(gw, ip, &cookie).await,
            expected,
            "bar = {bar}"
        );
        running.shutdown().await;
    }
}

#[test]
fn out_of_range_guard_settings_are_refused_with_their_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "127.0.0.1:0",
        "127.0.0.1:0",
        "",
        "max_failures = 9\nipv6_prefix_len = 8\n",
    );
    let problems = passerelle::config::load(&path).unwrap_err().to_string();
    assert!(
        problems.contains("max_failures doit être entre 2 et 8"),
        "{problems}"
    );
    assert!(problems.contains("ipv6_prefix_len"), "{problems}");
    assert!(problems.contains("passerelle.toml:"), "{problems}");
}
