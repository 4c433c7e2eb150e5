//! The CAS peers shared by the CAS tests: django-cas-server (installed by `tests/peers/cas.sh`) on a
//! loopback port, and a "browser" — a reqwest client that follows no redirect on its own, keeps one
//! cookie jar per site, and fills the CAS server's login form like a person would.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const USER: &str = "claire.martin";
pub const PASSWORD: &str = "mot-de-passe-de-test";

pub fn peer_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `eval \"$(bash tests/peers/cas.sh)\"` first (scripts/test.sh does)")
    })
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// A django-cas-server on a loopback port, stopped when dropped.
pub struct CasServer {
    child: Child,
    pub base: String,
}

impl CasServer {
    pub async fn start() -> CasServer {
        let port = free_port();
        let project = PathBuf::from(peer_env("PASSERELLE_CAS_PROJECT"));
        let child = Command::new(peer_env("PASSERELLE_CAS_PYTHON"))
            .arg("manage.py")
            .arg("runserver")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--noreload")
            .current_dir(&project)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("django-cas-server starts");
        let server = CasServer {
            child,
            base: format!("http://127.0.0.1:{port}/cas"),
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client
                .get(format!("{}/login", server.base))
                .send()
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("django-cas-server did not answer on port {port}");
    }
}

impl Drop for CasServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser: no automatic redirects, one cookie jar per host:port.
pub struct Browser {
    client: reqwest::Client,
    jars: HashMap<String, HashMap<String, String>>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jars: HashMap::new(),
        }
    }

    fn jar_key(url: &str) -> String {
        let parsed = url::Url::parse(url).unwrap();
        format!(
            "{}:{}",
            parsed.host_str().unwrap(),
            parsed.port().unwrap_or(80)
        )
    }

    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.jars.get(&Self::jar_key(url))?.get(name).cloned()
    }

    pub async fn send(&mut self, url: &str, form: Option<&[(String, String)]>) -> Page {
        let key = Self::jar_key(url);
        let mut request = match form {
            Some(form) => self.client.post(url).form(form),
            None => self.client.get(url),
        };
        if let Some(jar) = self.jars.get(&key) {
            let header: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if !header.is_empty() {
                request = request.header("cookie", header.join("; "));
            }
        }
        let response = request.send().await.expect("request sent");
        let jar = self.jars.entry(key).or_default();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if text.contains("Max-Age=0") || value.is_empty() {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        Page {
            status,
            location,
            body,
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        self.send(url, None).await
    }

    /// Log in on the CAS server's form at `login_url`; returns where CAS sends the browser back
    /// (the service URL with its ticket).
    pub async fn cas_login(&mut self, login_url: &str) -> String {
        let page = self.get(login_url).await;
        if let Some(location) = page.location {
            return location; // Already logged in at the CAS server (SSO).
        }
        assert_eq!(page.status, 200, "CAS login form: {}", page.body);
        let mut form = crate::common::hidden_fields(&page.body);
        form.push(("username".to_owned(), USER.to_owned()));
        form.push(("password".to_owned(), PASSWORD.to_owned()));
        let posted = self.send(login_url, Some(&form)).await;
        posted
            .location
            .unwrap_or_else(|| panic!("CAS did not redirect after login: {}", posted.body))
    }
}

pub fn ticket_of(location: &str) -> String {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
        .expect("a ticket in the service URL")
}
