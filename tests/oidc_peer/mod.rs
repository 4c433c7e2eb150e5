//! The real OpenID provider for the OIDC tests (`oidc-provider`, installed by tests/peers/oidc.sh),
//! a browser that drives its login interaction over HTTP, and a receiver for back-channel logout
//! POSTs. The provider's stderr is printed when a test fails.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub const USER: &str = "eleve.test";
pub const PASSWORD: &str = "motdepasse-eleve";

fn provider_script() -> PathBuf {
    let path = std::env::var("PASSERELLE_TEST_OIDC_PROVIDER").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/peers/oidc/provider.mjs"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "OpenID provider missing at {}: run `bash tests/peers/oidc.sh` (scripts/test.sh does)",
        path.display()
    );
    path
}

fn node() -> String {
    std::env::var("PASSERELLE_TEST_NODE").unwrap_or_else(|_| "node".to_owned())
}

/// A fresh RSA key pair from the provider script: PKCS#1 PEM private key and public JWK.
pub fn generate_key(kid: &str) -> (String, serde_json::Value) {
    let output = Command::new(node())
        .arg(provider_script())
        .args(["--genkey", kid])
        .output()
        .expect("run node --genkey");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("genkey JSON");
    (
        value["pem"].as_str().expect("pem").to_owned(),
        value["jwk"].clone(),
    )
}

/// A running oidc-provider; killed on drop, its stderr printed if the test failed.
pub struct Provider {
    child: Child,
    pub issuer: String,
    stderr: Arc<Mutex<String>>,
}

impl Provider {
    /// Start the provider with these client registrations (JSON array of client metadata).
    pub fn start(clients: &serde_json::Value) -> Self {
        Self::start_on(clients, 0)
    }

    /// Same, on a given port (0: any), for tests that must know the issuer before it starts.
    pub fn start_on(clients: &serde_json::Value, port: u16) -> Self {
        let mut child = Command::new(node())
            .arg(provider_script())
            .env("OIDC_CLIENTS", clients.to_string())
            .env("OIDC_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the OpenID provider (node)");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut text) = sink.lock() {
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let port = loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("READY ") => {
                    break line["READY ".len()..].trim().to_owned();
                }
                Some(Ok(_)) => continue,
                _ => {
                    let _ = child.kill();
                    std::thread::sleep(Duration::from_millis(200));
                    panic!(
                        "the OpenID provider did not start:\n{}",
                        stderr.lock().map(|s| s.clone()).unwrap_or_default()
                    );
                }
            }
        };
        // Keep draining stdout so that the provider never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Provider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
            stderr,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- OpenID provider stderr ----\n{}", self.stderr());
        }
    }
}

/// A browser: no automatic redirects, a cookie jar good enough for one provider on one host.
pub struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(http::header::SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let expired = text
                .to_ascii_lowercase()
                .contains("expires=thu, 01 jan 1970");
            if value.is_empty() || expired {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let response = self
            .http
            .get(url)
            .header(http::header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET {url}: {err}"));
        self.remember(&response);
        response
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .http
            .post(url)
            .header(http::header::COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap_or_else(|err| panic!("POST {url}: {err}"));
        self.remember(&response);
        response
    }

    /// Follow the provider's redirects from `url`, logging in as the test user when asked, until a
    /// redirect leaves for `stop_prefix`; returns that final URL.
    pub async fn log_in_until(&mut self, issuer: &str, url: &str, stop_prefix: &str) -> String {
        let mut response = self.get(url).await;
        for _ in 0..10 {
            let location = location(&response);
            let absolute = if location.starts_with('/') {
                format!("{issuer}{location}")
            } else {
                location.clone()
            };
            if absolute.starts_with(stop_prefix) {
                return absolute;
            }
            response = if let Some(rest) = location
                .strip_prefix(issuer)
                .unwrap_or(&location)
                .strip_prefix("/interaction/")
            {
                let uid = rest.split(['/', '?']).next().unwrap_or(rest);
                self.post_form(
                    &format!("{issuer}/interaction/{uid}/login"),
                    &[("login", USER), ("password", PASSWORD)],
                )
                .await
            } else {
                self.get(&absolute).await
            };
        }
        panic!("too many redirects");
    }
}

/// The `Location` of a redirect; panics (with the body) on anything else.
pub fn location(response: &reqwest::Response) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_owned()
}

/// A loopback endpoint receiving back-channel logout POSTs; each `logout_token` goes to the channel.
pub struct BackChannelReceiver {
    pub url: String,
    pub tokens: mpsc::UnboundedReceiver<String>,
}

impl BackChannelReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address: SocketAddr = listener.local_addr().expect("address");
        let (sender, tokens) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let sender = sender.clone();
                        async move {
                            let body = request
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            if let Some((_, token)) = url::form_urlencoded::parse(&body)
                                .find(|(k, _)| k == "logout_token")
                            {
                                let _ = sender.send(token.into_owned());
                            }
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                        }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        BackChannelReceiver {
            url: format!("http://{address}/backchannel"),
            tokens,
        }
    }
}
