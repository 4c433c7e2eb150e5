//! The headline case with the real binary: two `passerelle serve` processes sharing one Redis; an
//! address suspended through one is refused by the other; the CLI unblocks on one, effective on both.

mod guard_common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use guard_common::*;

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn spawn(dir: &std::path::Path, prefix: &str) -> (Process, SocketAddr, SocketAddr) {
    let (gw, admin): (SocketAddr, SocketAddr) = (
        format!("127.0.0.1:{}", free_port()).parse().unwrap(),
        format!("127.0.0.1:{}", free_port()).parse().unwrap(),
    );
    let guard = "max_failures = 3\nrate_burst = 1000\nrate_per_second = 1000\n";
    let path = write_config(
        dir,
        &gw.to_string(),
        &admin.to_string(),
        &redis_store(prefix, &redis_url()),
        guard,
    );
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary runs");
    let process = Process(child);
    for _ in 0..100 {
        if reqwest::get(format!("http://{admin}/healthz"))
            .await
            .is_ok()
        {
            return (process, gw, admin);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("passerelle did not start");
}

fn cli(admin: SocketAddr, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("suspensions")
        .args(args)
        .env("PASSERELLE_ADMIN_URL", format!("http://{admin}"))
        .env("PASSERELLE_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_on_one_process_refused_on_the_other_and_cli_unblock_works_on_both() {
    let prefix = unique("bin");
    let (dir1, dir2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_one, gw1, admin1) = spawn(dir1.path(), &prefix).await;
    let (_two, gw2, admin2) = spawn(dir2.path(), &prefix).await;
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

    let table = cli(admin2, &["list"]);
    assert!(table.contains(ip) && table.contains("u2"), "{table}");
    let out = cli(admin2, &["unblock", ip]);
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
        serde_json::from_str(&cli(admin1, &["unblock", "--all", "--json"])).unwrap();
    assert_eq!(json["unblocked"], 1);
    assert_eq!(open_form(&client, gw1, ip).await.0, 200);
    assert_eq!(open_form(&client, gw2, ip).await.0, 200);
    let json: serde_json::Value = serde_json::from_str(&cli(admin1, &["list", "--json"])).unwrap();
    assert_eq!(json["suspensions"].as_array().unwrap().len(), 0);
}
