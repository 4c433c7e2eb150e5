//! The admin web page: in a real headless browser (Chromium driven by playwright-core, installed by
//! tests/peers/browser.sh), an administrator logs in with the token, sees the addresses the test got
//! suspended, unblocks one and sees it gone; a screenshot is saved as target/admin-page.png. Without a
//! browser: a change without the page's CSRF token is refused.

mod guard_common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use guard_common::*;
use passerelle::server::{Options, Running};

const GUARD: &str = "max_failures = 3\nrate_burst = 1000\nrate_per_second = 1000\n";

/// A gateway with the memory store (the other admin tests use Redis), started in this process.
async fn start(dir: &Path) -> (Running, SocketAddr, SocketAddr) {
    passerelle::telemetry::metrics();
    let path = write_config(dir, "127.0.0.1:0", "127.0.0.1:0", "", GUARD);
    let config = passerelle::config::load(&path).unwrap_or_else(|problems| panic!("{problems}"));
    let running = passerelle::server::start(config, Options::default())
        .await
        .unwrap();
    let (gw, admin) = (running.addresses[0], running.admin_address.unwrap());
    (running, gw, admin)
}

async fn suspend(gw: SocketAddr, ip: &str) {
    let client = client_from(None);
    for i in 0..3 {
        try_login(&client, gw, ip, &format!("inconnu{i}"), "x").await;
    }
    assert_eq!(open_form(&client, gw, ip).await.0, 403, "{ip} suspended");
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `eval \"$(bash tests/peers/browser.sh)\"` (scripts/test.sh does)")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_logs_in_unblocks_an_address_in_a_real_browser_and_sees_it_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, gw, admin) = start(dir.path()).await;
    let (unblock, stays) = ("203.0.113.41", "198.51.100.77");
    suspend(gw, unblock).await;
    suspend(gw, stays).await;
    let (status, _) = attempt(
        &client_from(None),
        gw,
        "192.0.2.5",
        "eleve.demo",
        "eleve-demo",
    )
    .await;
    assert_eq!(status, 303, "a live session for the connections table");

    let screenshot: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/admin-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/admin_page.cjs");
    let mut node = std::process::Command::new(env("PASSERELLE_TEST_NODE"));
    node.arg(script)
        .args([&format!("http://{admin}"), TOKEN, unblock, stays])
        .arg(&screenshot)
        .env(
            "PASSERELLE_TEST_PLAYWRIGHT",
            env("PASSERELLE_TEST_PLAYWRIGHT"),
        )
        .env("PASSERELLE_TEST_CHROMIUM", env("PASSERELLE_TEST_CHROMIUM"));
    // The browser talks to the gateway running in this process: wait for it off the runtime's threads.
    let output = tokio::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        seen["before"], 1,
        "the suspended address was listed: {seen}"
    );
    assert_eq!(seen["after"], 0, "gone after « Débloquer »: {seen}");
    assert_eq!(seen["remaining"], 1, "the other one stays: {seen}");
    assert_eq!(seen["audit_mentions_unblock"], true, "{seen}");
    assert_eq!(seen["cookie_http_only"], true, "{seen}");
    assert_eq!(seen["cookie_same_site"], "Strict", "{seen}");
    assert!(
        std::fs::metadata(&screenshot).unwrap().len() > 10_000,
        "screenshot saved"
    );

    let client = client_from(None);
    assert_eq!(
        open_form(&client, gw, unblock).await.0,
        200,
        "really unblocked"
    );
    assert_eq!(open_form(&client, gw, stays).await.0, 403);
}

/// Log in to the page; returns the cookie (`name=value`) and the dashboard's HTML.
async fn page_login(admin: SocketAddr) -> (String, String) {
    let client = client_from(None);
    let response = client
        .post(format!("http://{admin}/admin/connexion"))
        .form(&[("jeton", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = admin_html(admin, &cookie).await;
    (cookie, html)
}

/// `GET /admin` with the page's cookie: the dashboard, or the login form.
async fn admin_html(admin: SocketAddr, cookie: &str) -> String {
    client_from(None)
        .get(format!("http://{admin}/admin"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_change_without_the_pages_csrf_token_or_login_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, gw, admin) = start(dir.path()).await;
    let ip = "203.0.113.42";
    suspend(gw, ip).await;
    let client = client_from(None);

    let wrong = client
        .post(format!("http://{admin}/admin/connexion"))
        .form(&[("jeton", "pas le bon")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());

    let (cookie, html) = page_login(admin).await;
    assert!(html.contains(ip) && html.contains("Débloquer"), "{html}");
    let forged = client
        .post(format!("http://{admin}/admin/debloquer"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forgé"), ("cible", ip)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let no_login = client
        .post(format!("http://{admin}/admin/debloquer-tout"))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_login.status(), 401);
    assert_eq!(open_form(&client, gw, ip).await.0, 403, "still suspended");

    // The page's own token works, and logging out ends the login.
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let token = &html[start..start + html[start..].find('"').unwrap()];
    let done = client
        .post(format!("http://{admin}/admin/debloquer-tout"))
        .header("cookie", &cookie)
        .form(&[("csrf", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(open_form(&client, gw, ip).await.0, 200);
    client
        .post(format!("http://{admin}/admin/deconnexion"))
        .header("cookie", &cookie)
        .form(&[("csrf", token)])
        .send()
        .await
        .unwrap();
    let after = admin_html(admin, &cookie).await;
    assert!(
        after.contains("Jeton d'administration"),
        "back to the login form"
    );
}

#[tokio::test]
async fn connections_are_listed_and_revoked_with_the_memory_store_too() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, gw, admin_addr) = start(dir.path()).await;
    let client = client_from(None);
    let (_, cookie) = attempt(&client, gw, "192.0.2.9", "eleve.demo", "eleve-demo").await;
    let cookie = cookie.expect("logged in");
    let (status, page) = admin(
        reqwest::Method::GET,
        admin_addr,
        "/api/v1/sessions?user=eleve.demo",
        Some(TOKEN),
    )
    .await;
    assert_eq!((status, page["total"].as_u64()), (200, Some(1)), "{page}");
    assert_eq!(page["sessions"][0]["ip"], "192.0.2.9");
    let metrics = reqwest::get(format!("http://{admin_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("passerelle_space_sessions{space=\"eleve\"} 1")
            && metrics.contains("passerelle_space_sessions{space=\"parent\"} 0"),
        "live count per space: {metrics}"
    );
    let (status, body) = admin(
        reqwest::Method::DELETE,
        admin_addr,
        "/api/v1/sessions?user=eleve.demo",
        Some(TOKEN),
    )
    .await;
    assert_eq!((status, body["revoked"].as_u64()), (200, Some(1)), "{body}");
    let page = client
        .get(format!("http://{gw}/pronote/eleve.html"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303, "revoked: sent back to log in");
}
