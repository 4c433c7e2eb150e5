//! Administration across replicas, with the real binary: two `passerelle serve` processes sharing one
//! Redis. A session made on one is listed and revoked through the other (API and CLI).

mod guard_common;

use guard_common::*;
use reqwest::Method;

const GUARD: &str = "rate_burst = 1000\nrate_per_second = 1000\n";

/// The status of the pupils' page for a browser holding `cookie`.
async fn eleve_page(gateway: std::net::SocketAddr, cookie: &str) -> u16 {
    client_from(None)
        .get(format!("http://{gateway}/pronote/eleve.html"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_replica_is_listed_and_revoked_through_the_other() {
    let prefix = unique("sessions");
    let (dir1, dir2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_one, gw1, _admin1) = spawn(dir1.path(), &prefix, GUARD).await;
    let (_two, _gw2, admin2) = spawn(dir2.path(), &prefix, GUARD).await;
    let client = client_from(None);

    let (status, first) = attempt(&client, gw1, "198.51.100.10", "eleve.demo", "eleve-demo").await;
    assert_eq!(status, 303);
    let first = first.expect("a session cookie");
    let (_, second) = attempt(&client, gw1, "198.51.100.11", "eleve.demo", "eleve-demo").await;
    let second = second.expect("a second session cookie");
    assert_ne!(eleve_page(gw1, &first).await, 303, "logged in");

    // Listed on the other replica, with who, where from and how.
    let (status, page) = admin(
        Method::GET,
        admin2,
        "/api/v1/sessions?space=eleve&user=eleve.demo&limit=1",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 2, "{page}");
    let sessions = page["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "paginated: {page}");
    assert_eq!(sessions[0]["user"], "eleve.demo");
    assert_eq!(sessions[0]["protocol"], "direct");
    assert_eq!(sessions[0]["space"], "eleve");
    assert!(sessions[0]["started"].as_u64().unwrap() > 0);
    let (_, other_space) = admin(
        Method::GET,
        admin2,
        "/api/v1/sessions?space=parent",
        Some(TOKEN),
    )
    .await;
    assert_eq!(other_space["total"], 0, "{other_space}");
    let (status, _) = admin(Method::GET, admin2, "/api/v1/sessions", None).await;
    assert_eq!(status, 401, "the token is required");

    // The CLI on replica 2 lists both and revokes one by id: replica 1 refuses that cookie at once.
    let table = cli(admin2, &["sessions", "list", "--user", "eleve.demo"]);
    assert!(
        table.contains("eleve.demo") && table.contains("198.51.100.1"),
        "{table}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&cli(admin2, &["sessions", "list", "--json"])).unwrap();
    let ips: Vec<_> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["ip"].as_str().unwrap().to_owned(),
                s["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (_, first_id) = ips.iter().find(|(ip, _)| ip == "198.51.100.10").unwrap();
    let out = cli(admin2, &["sessions", "revoke", first_id]);
    assert!(out.contains("terminée"), "{out}");
    assert_eq!(
        eleve_page(gw1, &first).await,
        303,
        "revoked session sent to login"
    );
    assert_ne!(
        eleve_page(gw1, &second).await,
        303,
        "the other one still works"
    );
    let (status, _) = admin(
        Method::DELETE,
        admin2,
        &format!("/api/v1/sessions/{first_id}"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 404, "already gone");

    // Disconnect the user everywhere.
    let (status, _) = admin(Method::DELETE, admin2, "/api/v1/sessions", Some(TOKEN)).await;
    assert_eq!(status, 400, "a user is required to revoke in bulk");
    let (status, body) = admin(
        Method::DELETE,
        admin2,
        "/api/v1/sessions?user=eleve.demo",
        Some(TOKEN),
    )
    .await;
    assert_eq!((status, body["revoked"].as_u64()), (200, Some(1)), "{body}");
    assert_eq!(eleve_page(gw1, &second).await, 303);
    let audit = std::fs::read_to_string(dir2.path().join("audit.jsonl")).unwrap();
    assert!(audit.contains("revoke_user_sessions"), "{audit}");
}

/// The status of the pupils' page without a session, as seen by `gateway`.
async fn eleve_status(gateway: std::net::SocketAddr) -> u16 {
    eleve_page(gateway, "").await
}

/// Wait for `gateway` to answer `expected` on the pupils' page: the other replica reads the shared
/// publication state every second, so it may take that long.
async fn until_eleve_status(gateway: std::net::SocketAddr, expected: u16) {
    for _ in 0..50 {
        if eleve_status(gateway).await == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{gateway} never answered {expected}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpublishing_on_one_replica_makes_both_answer_503() {
    let prefix = unique("publication");
    let (dir1, dir2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_one, gw1, admin1) = spawn(dir1.path(), &prefix, GUARD).await;
    let (_two, gw2, admin2) = spawn(dir2.path(), &prefix, GUARD).await;
    assert_eq!(eleve_status(gw1).await, 303, "published: sent to log in");
    assert_eq!(eleve_status(gw2).await, 303);

    let table = cli(admin1, &["spaces", "unpublish", "eleve"]);
    assert!(
        table.contains("eleve") && table.contains("admin"),
        "{table}"
    );
    assert_eq!(eleve_status(gw1).await, 503, "at once on the replica asked");
    until_eleve_status(gw2, 503).await;
    let page = client_from(None)
        .get(format!("http://{gw2}/pronote/eleve.html"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Espace non publié"), "{page}");
    assert_eq!(
        client_from(None)
            .get(format!("http://{gw2}/auth/login/eleve"))
            .send()
            .await
            .unwrap()
            .status(),
        503,
        "nor can one log in to it"
    );
    let (_, spaces) = admin(Method::GET, admin2, "/api/v1/spaces", Some(TOKEN)).await;
    let eleve = spaces["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["space"] == "eleve")
        .unwrap()
        .clone();
    assert_eq!(eleve["published"], false, "{eleve}");
    assert_eq!(eleve["source"], "runtime");
    assert_eq!(eleve["file_published"], true);

    // Everything off from replica 2, then back to what the files say.
    let (status, _) = admin(
        Method::POST,
        admin2,
        "/api/v1/spaces/unpublish",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    let parent = client_from(None)
        .get(format!("http://{gw2}/pronote/parent.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(parent.status(), 503);
    cli(admin2, &["spaces", "reset", "--all"]);
    until_eleve_status(gw1, 303).await;
    until_eleve_status(gw2, 303).await;
    let (status, body) = admin(
        Method::POST,
        admin2,
        "/api/v1/spaces/cantine/publish",
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_space"))
    );
    let audit = std::fs::read_to_string(dir1.path().join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"unpublish\""), "{audit}");
}
