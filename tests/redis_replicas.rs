//! Two gateways sharing one real Redis behave as one: a session made on one works on the other, and a
//! logout on either is refused at once by both.

mod common;

use common::*;
use http::StatusCode;
use passerelle::clock::Clock;

#[tokio::test]
async fn a_session_is_shared_and_a_logout_is_refused_at_once_everywhere() {
    let upstream = Upstream::start().await;
    let prefix = unique_prefix("replicas");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Setup::new(upstream.address)
        .redis(&prefix)
        .start(dir_a.path(), Clock::System)
        .await;
    let b = Setup::new(upstream.address)
        .redis(&prefix)
        .start(dir_b.path(), Clock::System)
        .await;
    let (base_a, base_b) = (base(&a), base(&b));

    let cookie = format!("passerelle_session={}", parent_session(&base_a).await);
    let on_b = client()
        .get(format!("{base_b}/pronote/parent.html"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        on_b.status(),
        StatusCode::OK,
        "the session made on A opens the space on B"
    );
    assert_eq!(upstream.last().headers["x-passerelle-user"], PARENT_LOGIN);

    let logout = client()
        .get(format!("{base_b}/auth/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    for base in [&base_a, &base_b] {
        let response = client()
            .get(format!("{base}/pronote/parent.html"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{base}: logged out everywhere"
        );
    }
}

#[tokio::test]
async fn readiness_reports_a_dead_redis_and_pages_fail_closed() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut setup = Setup::new(upstream.address);
    setup.store = format!("backend = \"redis\"\nredis_url = \"redis://{dead}/\"\n");
    let running = setup.start(dir.path(), Clock::System).await;
    let admin = running.admin_address.unwrap();
    let ready = client()
        .get(format!("http://{admin}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health = client()
        .get(format!("http://{admin}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK, "alive even when not ready");

    let response = client()
        .get(format!("{}/pronote/parent.html", base(&running)))
        .header("cookie", format!("passerelle_session={}", "A".repeat(43)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "no session is assumed when the store is down"
    );
    assert_eq!(upstream.count(), 0);
}
