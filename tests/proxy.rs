//! The reverse proxy: upgrades, failures of the upstream, public paths, TLS and HTTP/2.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use passerelle::clock::Clock;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn logged_in(setup: Setup) -> (tempfile::TempDir, passerelle::server::Running, String) {
    let dir = tempfile::tempdir().unwrap();
    let running = setup.start(dir.path(), Clock::System).await;
    let cookie = format!(
        "passerelle_session={}",
        parent_session(&base(&running)).await
    );
    (dir, running, cookie)
}

#[tokio::test]
async fn websocket_echo_works_through_the_proxy_for_a_session() {
    let upstream = Upstream::start().await;
    let (_dir, running, cookie) = logged_in(Setup::new(upstream.address)).await;
    let mut request = format!("ws://{}/ws", running.addresses[0])
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    for text in ["bonjour", "é".repeat(10_000).as_str()] {
        socket.send(Message::text(text)).await.unwrap();
        let echoed = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), text);
    }
}

#[tokio::test]
async fn websocket_without_a_session_is_refused() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let running = Setup::new(upstream.address)
        .start(dir.path(), Clock::System)
        .await;
    let request = format!("ws://{}/ws", running.addresses[0])
        .into_client_request()
        .unwrap();
    let refused = tokio_tungstenite::connect_async(request).await;
    assert!(refused.is_err());
    assert_eq!(upstream.count(), 0);
}

#[tokio::test]
async fn upstream_down_gives_a_french_502_and_the_gateway_stays_up() {
    // A port that was just free: nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (_dir, running, cookie) = logged_in(Setup::new(dead)).await;
    let base = base(&running);
    for _ in 0..3 {
        let response = client()
            .get(format!("{base}/pronote/parent.html"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("momentanément indisponible")
        );
    }
    let admin = running.admin_address.unwrap();
    let health = client()
        .get(format!("http://{admin}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn slow_upstream_gives_a_504_instead_of_a_hang() {
    let upstream = Upstream::start().await;
    let mut setup = Setup::new(upstream.address);
    setup.response_timeout = "1s";
    let (_dir, running, cookie) = logged_in(setup).await;
    let response = client()
        .get(format!("{}/slow", base(&running)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn resources_need_a_session_unless_public() {
    let upstream = Upstream::start().await;
    let (_dir, running, cookie) = logged_in(Setup::new(upstream.address)).await;
    let base = base(&running);
    let anonymous = client()
        .get(format!("{base}/pronote/appelfonction/3/123"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.text().await.unwrap().contains("Session expirée"));
    assert_eq!(upstream.count(), 0);

    let public = client()
        .get(format!("{base}/pronote/images/logo.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    assert_eq!(upstream.last().uri.path(), "/pronote/images/logo.png");

    let payload = "{\"nom\":\"FonctionParametres\"}";
    let ajax = client()
        .post(format!("{base}/pronote/appelfonction/3/123"))
        .header("cookie", &cookie)
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(ajax.status(), StatusCode::OK);
    let seen = upstream.last();
    assert_eq!(seen.method, http::Method::POST);
    assert_eq!(seen.body_len, payload.len() as u64);
    assert_eq!(seen.headers["x-passerelle-space"], "parent");
}

#[tokio::test]
async fn ambiguous_paths_are_refused_before_routing() {
    let upstream = Upstream::start().await;
    let (_dir, running, cookie) = logged_in(Setup::new(upstream.address)).await;
    let seen = upstream.count();
    for path in [
        "/pronote/parent.html/../professeur.html",
        "/pronote/%2e%2e/x",
        "/pronote/images/..%2fparent.html",
    ] {
        // Raw bytes: HTTP clients normalise dot segments before sending, attackers do not.
        let mut stream = tokio::net::TcpStream::connect(running.addresses[0])
            .await
            .unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        );
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut answer)
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
    }
    let _ = base;
    assert_eq!(upstream.count(), seen);
}

#[tokio::test]
async fn host_is_the_upstream_and_the_original_goes_in_forwarded_headers() {
    let upstream = Upstream::start().await;
    let (_dir, running, cookie) = logged_in(Setup::new(upstream.address)).await;
    client()
        .get(format!("{}/pronote/parent.html", base(&running)))
        .header("cookie", &cookie)
        .header("x-forwarded-for", "6.6.6.6")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "secret")
        .send()
        .await
        .unwrap();
    let headers = upstream.last().headers;
    assert_eq!(headers["host"], upstream.address.to_string());
    assert_eq!(
        headers["x-forwarded-host"],
        running.addresses[0].to_string()
    );
    assert_eq!(
        headers["x-forwarded-for"], "127.0.0.1",
        "an untrusted client cannot choose its address"
    );
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert!(
        headers.get("x-hop").is_none(),
        "headers named in Connection are hop-by-hop"
    );
}

#[tokio::test]
async fn trusted_proxy_forwarded_for_is_believed() {
    let upstream = Upstream::start().await;
    let mut setup = Setup::new(upstream.address);
    setup.top_level = "trusted_proxies = [\"127.0.0.0/8\"]".to_owned();
    let (_dir, running, cookie) = logged_in(setup).await;
    client()
        .get(format!("{}/pronote/parent.html", base(&running)))
        .header("cookie", &cookie)
        .header("x-forwarded-for", "6.6.6.6, 198.51.100.4")
        .send()
        .await
        .unwrap();
    assert_eq!(upstream.last().headers["x-forwarded-for"], "198.51.100.4");
}

#[tokio::test]
async fn tls_listener_serves_http2_and_http1() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let mut setup = Setup::new(upstream.address);
    setup.top_level = String::new();
    let path = setup.write(dir.path());
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[listen]\n",
        "[listen]\ntls = { certificate = \"cert.pem\", private_key = \"key.pem\" }\n",
    );
    std::fs::write(&path, text).unwrap();
    let config = passerelle::config::load(&path).unwrap_or_else(|p| panic!("{p}"));
    let running = passerelle::server::start(config, Default::default())
        .await
        .unwrap();
    let port = running.addresses[0].port();
    let tls_client = |http1_only: bool| {
        let builder = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .redirect(reqwest::redirect::Policy::none())
            .resolve("localhost", running.addresses[0]);
        if http1_only {
            builder.http1_only()
        } else {
            builder
        }
        .build()
        .unwrap()
    };
    let h2 = tls_client(false)
        .get(format!("https://localhost:{port}/pronote/parent.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(h2.version(), http::Version::HTTP_2);
    assert_eq!(h2.status(), StatusCode::SEE_OTHER);
    let h1 = tls_client(true)
        .get(format!("https://localhost:{port}/pronote/parent.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(h1.version(), http::Version::HTTP_11);
    assert_eq!(h1.status(), StatusCode::SEE_OTHER);
}
