//! Helpers shared by the guard tests: a gateway configuration on loopback, and a login client that
//! plays the CSRF dance of the direct login form.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub const TOKEN: &str = "jeton-admin-de-test";

pub fn redis_url() -> String {
    std::env::var("PASSERELLE_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("test:{name}:{}:{nanos}:", std::process::id())
}

pub fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo")
}

/// Write a gateway file into `dir`; `listen` and `admin` are socket addresses (port 0 is fine).
pub fn write_config(dir: &Path, listen: &str, admin: &str, store: &str, guard: &str) -> PathBuf {
    let demo = demo_dir();
    let hash = hex::encode(Sha256::digest(TOKEN.as_bytes()));
    let text = format!(
        r#"public_url = "http://127.0.0.1:8080"
spaces_dir = "{spaces}"
trusted_proxies = ["127.0.0.1/32"]

[listen]
addresses = ["{listen}"]

[upstream]
url = "http://127.0.0.1:9"

[session]
secure_cookie = false

[identity]
signing_key = "test-test-test-test-test-test-test-test"

[admin]
listen = "{admin}"
token_sha256 = "{hash}"
token_label = "ops"
audit_file = "audit.jsonl"

[direct_login]
users_file = "{users}"

{store}

[guard]
{guard}
"#,
        spaces = demo.join("spaces").display(),
        users = demo.join("users.toml").display(),
    );
    let path = dir.join("passerelle.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn redis_store(prefix: &str, url: &str) -> String {
    format!("[store]\nbackend = \"redis\"\nredis_url = \"{url}\"\nkey_prefix = \"{prefix}\"\n")
}

pub fn client_from(local: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(local)
        .build()
        .unwrap()
}

/// GET the login form as `as_ip` (sent in X-Forwarded-For); returns the status and Retry-After.
pub async fn open_form(
    client: &reqwest::Client,
    gateway: SocketAddr,
    as_ip: &str,
) -> (u16, Option<String>) {
    let response = client
        .get(format!("http://{gateway}/auth/login/eleve"))
        .header("x-forwarded-for", as_ip)
        .send()
        .await
        .unwrap();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry)
}

/// One login attempt as `as_ip`; returns the final status (401 bad password, 403 suspended…).
pub async fn try_login(
    client: &reqwest::Client,
    gateway: SocketAddr,
    as_ip: &str,
    login: &str,
    password: &str,
) -> u16 {
    attempt(client, gateway, as_ip, login, password).await.0
}

/// One login attempt; returns the status and the session cookie (`name=value`) if one was set.
pub async fn attempt(
    client: &reqwest::Client,
    gateway: SocketAddr,
    as_ip: &str,
    login: &str,
    password: &str,
) -> (u16, Option<String>) {
    let response = client
        .get(format!("http://{gateway}/auth/login/eleve"))
        .header("x-forwarded-for", as_ip)
        .send()
        .await
        .unwrap();
    if response.status() != 200 {
        return (response.status().as_u16(), None);
    }
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("_csrf="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let token = &html[start..start + html[start..].find('"').unwrap()];
    let response = client
        .post(format!("http://{gateway}/auth/login/eleve"))
        .header("x-forwarded-for", as_ip)
        .header("cookie", cookie)
        .form(&[("login", login), ("password", password), ("csrf", token)])
        .send()
        .await
        .unwrap();
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("passerelle_session=") && !v.starts_with("passerelle_session=;"))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    (response.status().as_u16(), session)
}

/// Call the admin API; returns status and JSON body.
pub async fn admin(
    method: reqwest::Method,
    admin: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, format!("http://{admin}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `passerelle serve` child process, killed when dropped.
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the real binary on a fresh configuration in `dir` sharing Redis under `prefix`; returns the
/// process, the gateway address and the admin address once the admin listener answers. The process's
/// output (logs included) goes to `dir/passerelle.log`.
pub async fn spawn(dir: &Path, prefix: &str, guard: &str) -> (Process, SocketAddr, SocketAddr) {
    let (gw, admin): (SocketAddr, SocketAddr) = (
        format!("127.0.0.1:{}", free_port()).parse().unwrap(),
        format!("127.0.0.1:{}", free_port()).parse().unwrap(),
    );
    let path = write_config(
        dir,
        &gw.to_string(),
        &admin.to_string(),
        &redis_store(prefix, &redis_url()),
        guard,
    );
    let log = std::fs::File::create(dir.join("passerelle.log")).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
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
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("passerelle did not start");
}

/// Run `passerelle <args…>` against the admin API at `admin`; asserts success, returns stdout.
pub fn cli(admin: SocketAddr, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(args)
        .env("PASSERELLE_ADMIN_URL", format!("http://{admin}"))
        .env("PASSERELLE_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}
