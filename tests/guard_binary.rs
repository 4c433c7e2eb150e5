//! The headline case with the real binary: two `passerelle serve` processes sharing one Redis; an
//! address suspended through one is refused by the other; the CLI unblocks on one, effective on both.

mod guard_common;

use guard_common::*;

const GUARD: &str = "max_failures = 3\nrate_burst = 1000\nrate_per_second = 1000\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_on_one_process_refused_on_the_other_and_cli_unblock_works_on_both() {
    let prefix = unique("bin");
    let (dir1, dir2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_one, gw1, admin1) = spawn(dir1.path(), &prefix, GUARD).await;
    let (_two, gw2, admin2) = spawn(dir2.path(), &prefix, GUARD).await;
    let client = client_from(None);
    let ip = "203.0.113.77";

    for i in 0..3 {
        assert_eq!(
            try_login(&client, gw1, ip, &format!("u{i}"), "x").await,
            401
        );
    }
    assert_eq!(open_form(&client, gw1, ip).await.0, 403);
    assert_eq!(open_form(&client, gw2, ip).await.0, 403);

    let table = cli(admin2, &["suspensions", "list"]);
    assert!(table.contains(ip) && table.contains("u2"), "{table}");
    let out = cli(admin2, &["suspensions", "unblock", ip]);
    assert!(out.contains("débloquée"), "{out}");
    assert_eq!(open_form(&client, gw1, ip).await.0, 200);
    assert_eq!(open_form(&client, gw2, ip).await.0, 200);

    for i in 0..3 {
        assert_eq!(
            try_login(&client, gw2, ip, &format!("v{i}"), "x").await,
            401
        );
    }
    assert_eq!(open_form(&client, gw1, ip).await.0, 403);
    let json: serde_json::Value =
        serde_json::from_str(&cli(admin1, &["suspensions", "unblock", "--all", "--json"])).unwrap();
    assert_eq!(json["unblocked"], 1);
    assert_eq!(open_form(&client, gw1, ip).await.0, 200);
    assert_eq!(open_form(&client, gw2, ip).await.0, 200);
    let json: serde_json::Value =
        serde_json::from_str(&cli(admin1, &["suspensions", "list", "--json"])).unwrap();
    assert_eq!(json["suspensions"].as_array().unwrap().len(), 0);
}
