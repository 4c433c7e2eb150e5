//! SIGTERM stops accepting but lets in-flight requests finish, then the process exits 0.

mod common;

use std::time::Duration;

use common::*;
use http::StatusCode;

#[tokio::test]
async fn sigterm_during_a_slow_upstream_request_lets_it_finish() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = Setup::new(upstream.address).write(dir.path());
    let mut gateway = spawn_binary(&path).await;
    let cookie = format!("passerelle_session={}", parent_session(&gateway.base).await);

    let slow = tokio::spawn({
        let (base, cookie) = (gateway.base.clone(), cookie.clone());
        async move {
            client()
                .get(format!("{base}/slow"))
                .header("cookie", cookie)
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = gateway.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let refused = client()
        .get(format!("{}/pronote/parent.html", gateway.base))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "no new connection is accepted once shutdown began"
    );

    let response = slow
        .await
        .unwrap()
        .expect("the in-flight request got its answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "amont:/slow:0");

    let status = tokio::task::spawn_blocking(move || gateway.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
}
