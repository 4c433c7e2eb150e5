//! Shared test fixtures: a configuration folder, a real upstream HTTP server that records what it
//! receives, and an HTTP client that does not follow redirects.
#![allow(dead_code)] // each test binary uses a different subset

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use passerelle::clock::Clock;
use passerelle::server::{Options, Running};

pub const SIGNING_KEY: &str = "test-signing-key-test-signing-key-0123";
pub const PARENT_LOGIN: &str = "claire.martin";
pub const PARENT_PASSWORD: &str = "correct horse battery staple";

/// The Redis the tests use: `PASSERELLE_TEST_REDIS` (set by scripts/test.sh) or the local default.
pub fn redis_url() -> String {
    std::env::var("PASSERELLE_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// A key prefix no other test uses.
pub fn unique_prefix(test: &str) -> String {
    let mut bytes = [0u8; 6];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    format!("passerelle-test:{test}:{}:", hex::encode(bytes))
}

/// What a test can change in the generated configuration.
#[derive(Debug, Clone)]
pub struct Setup {
    pub upstream: SocketAddr,
    /// Extra TOML appended to `[store]` (e.g. Redis).
    pub store: String,
    /// Extra TOML lines at the top level of the gateway file.
    pub top_level: String,
    pub idle_timeout: &'static str,
    pub absolute_timeout: &'static str,
    pub response_timeout: &'static str,
    /// Spaces written `published = false`.
    pub unpublished: Vec<&'static str>,
}

impl Setup {
    pub fn new(upstream: SocketAddr) -> Self {
        Setup {
            upstream,
            store: String::new(),
            top_level: String::new(),
            idle_timeout: "30m",
            absolute_timeout: "12h",
            response_timeout: "10s",
            unpublished: vec!["entreprise"],
        }
    }

    pub fn redis(mut self, prefix: &str) -> Self {
        self.store = format!(
            "backend = \"redis\"\nredis_url = \"{}\"\nkey_prefix = \"{prefix}\"\n",
            redis_url()
        );
        self
    }

    /// Write the configuration folder; returns the gateway file.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let spaces = dir.join("spaces");
        std::fs::create_dir_all(&spaces).unwrap();
        for space in passerelle::space::SpaceId::ALL {
            let published = !self.unpublished.contains(&space.as_str());
            std::fs::write(
                spaces.join(format!("{space}.toml")),
                format!("published = {published}\ndirect_login = \"always\"\n"),
            )
            .unwrap();
        }
        std::fs::write(dir.join("users.toml"), users_file()).unwrap();
        let gateway = format!(
            r#"public_url = "http://127.0.0.1:8080"
spaces_dir = "spaces"
public_paths = ["/pronote/InfoMobileApp.json", "/pronote/images/*"]
{top_level}

[listen]
addresses = ["127.0.0.1:0"]

[upstream]
url = "http://{upstream}"
connect_timeout = "2s"
response_timeout = "{response_timeout}"

[session]
idle_timeout = "{idle}"
absolute_timeout = "{absolute}"
secure_cookie = false
touch_interval = "60s"

[store]
{store}

[identity]
signing_key = "{SIGNING_KEY}"

[admin]
listen = "127.0.0.1:0"

[direct_login]
users_file = "users.toml"
"#,
            top_level = self.top_level,
            upstream = self.upstream,
            response_timeout = self.response_timeout,
            idle = self.idle_timeout,
            absolute = self.absolute_timeout,
            store = self.store,
        );
        let path = dir.join("passerelle.toml");
        std::fs::write(&path, gateway).unwrap();
        path
    }

    /// Write the configuration and start the gateway in this process.
    pub async fn start(&self, dir: &Path, clock: Clock) -> Running {
        passerelle::telemetry::metrics();
        let path = self.write(dir);
        let config =
            passerelle::config::load(&path).unwrap_or_else(|problems| panic!("{problems}"));
        passerelle::server::start(config, Options { clock })
            .await
            .unwrap()
    }
}

/// One parent allowed in the parents' space only, with a non-ASCII first name.
fn users_file() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash =
        HASH.get_or_init(|| passerelle::auth::direct::hash_password(PARENT_PASSWORD).unwrap());
    format!(
        r#"[[user]]
login = "{PARENT_LOGIN}"
password_hash = "{hash}"
nom = "Martin"
prenom = "Hélène"
date_naissance = "14/03/1982"
code_postal = "69003"
categories = ["National_2"]
spaces = ["parent", "commune"]
"#
    )
}

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: HeaderMap,
    pub body_len: u64,
}

/// A real HTTP/1.1 + HTTP/2 upstream on loopback. Paths:
/// `/ws` WebSocket echo; `/slow` answers after 5 s; `/upload` counts the body without keeping it;
/// anything else answers 200 with a short text.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub address: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(request, Arc::clone(&log)));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Upstream { address, seen }
    }

    pub fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the upstream saw no request")
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn handle(
    mut request: Request<Incoming>,
    log: Arc<Mutex<Vec<Seen>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if path == "/ws" {
        return Ok(websocket_echo(&mut request));
    }
    let (parts, mut body) = request.into_parts();
    let mut body_len = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => body_len += frame.data_ref().map_or(0, |d| d.len() as u64),
            Err(_) => break,
        }
    }
    log.lock().unwrap().push(Seen {
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        headers: parts.headers.clone(),
        body_len,
    });
    if path == "/slow" {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    Ok(Response::new(Full::new(Bytes::from(format!(
        "amont:{path}:{body_len}"
    )))))
}

fn websocket_echo(request: &mut Request<Incoming>) -> Response<Full<Bytes>> {
    let key = request
        .headers()
        .get("sec-websocket-key")
        .map(|k| tokio_tungstenite::tungstenite::handshake::derive_accept_key(k.as_bytes()))
        .unwrap_or_default();
    let upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut socket = tokio_tungstenite::WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            None,
        )
        .await;
        while let Some(Ok(message)) = socket.next().await {
            if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", key)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// An HTTP client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn base(running: &Running) -> String {
    format!("http://{}", running.addresses[0])
}

/// The value of a `Set-Cookie` for `name` in a response, if any.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
}

/// Log in through the direct form; returns the session cookie value.
pub async fn direct_login(
    base: &str,
    space: &str,
    login: &str,
    password: &str,
) -> reqwest::Response {
    let http = client();
    let form = http
        .get(format!(
            "{base}/auth/login/{space}?retour=/pronote/{space}.html%3Flogin%3Dtrue"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let nonce =
        set_cookie(&form, "passerelle_session_csrf").expect("the form sets its CSRF cookie");
    let html = form.text().await.unwrap();
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries a CSRF token")
        .to_owned();
    http.post(format!("{base}/auth/login/{space}"))
        .header("cookie", format!("passerelle_session_csrf={nonce}"))
        .form(&[
            ("login", login),
            ("password", password),
            ("csrf", &token),
            ("retour", &format!("/pronote/{space}.html?login=true")),
        ])
        .send()
        .await
        .unwrap()
}

/// Log the test parent in; returns the session cookie value.
pub async fn parent_session(base: &str) -> String {
    let response = direct_login(base, "parent", PARENT_LOGIN, PARENT_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    set_cookie(&response, "passerelle_session").expect("a successful login sets the session cookie")
}

/// Prometheus text of the admin listener.
pub async fn metrics(running: &Running) -> String {
    let admin = running.admin_address.unwrap();
    client()
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of a counter line starting with `series` (name and labels), or 0.
pub fn counter(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// The real `passerelle` binary serving a configuration written by [`Setup::write`], on fixed free
/// ports. Killed when dropped.
pub struct BinaryGateway {
    pub child: std::process::Child,
    pub base: String,
    pub admin: String,
}

impl Drop for BinaryGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start the binary on `path` (its listen addresses are rewritten to free ports) and wait until its
/// admin listener answers.
pub async fn spawn_binary(path: &Path) -> BinaryGateway {
    let (port, admin) = (free_port(), free_port());
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace(
            "addresses = [\"127.0.0.1:0\"]",
            &format!("addresses = [\"127.0.0.1:{port}\"]"),
        )
        .replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{admin}\""),
        );
    std::fs::write(path, text).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["serve", "--config"])
        .arg(path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let gateway = BinaryGateway {
        child,
        base: format!("http://127.0.0.1:{port}"),
        admin: format!("http://127.0.0.1:{admin}"),
    };
    for _ in 0..100 {
        if client()
            .get(format!("{}/healthz", gateway.admin))
            .send()
            .await
            .is_ok()
        {
            return gateway;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the gateway binary did not start");
}

/// A gateway file on a fixed loopback port (for peers that must know our URLs before we start),
/// sharing Redis under a fresh prefix, plain HTTP cookies, admin on any free port.
pub fn gateway_file_on_port(port: u16, upstream: SocketAddr, test: &str) -> String {
    format!(
        r#"public_url = "http://127.0.0.1:{port}"
spaces_dir = "spaces"
[listen]
addresses = ["127.0.0.1:{port}"]
[upstream]
url = "http://{upstream}"
[session]
secure_cookie = false
[store]
backend = "redis"
redis_url = "{redis}"
key_prefix = "{prefix}"
[identity]
signing_key = "test-test-test-test-test-test-test-test"
[admin]
listen = "127.0.0.1:0"
"#,
        redis = redis_url(),
        prefix = unique_prefix(test),
    )
}

/// Every `<input type="hidden">` of a page: (name, value), HTML entities decoded.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        let marker = format!("{name}=\"");
        tag.split(&marker)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|v| {
                v.replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&#39;", "'")
                    .replace("&#x27;", "'")
                    .replace("&#x2B;", "+")
                    .replace("&#x3D;", "=")
                    .replace("&amp;", "&")
            })
    };
    html.split("<input")
        .skip(1)
        .map(|tag| tag.split('>').next().unwrap_or(""))
        .filter(|tag| tag.contains("hidden"))
        .filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default())))
        .collect()
}
