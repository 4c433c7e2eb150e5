//! The real WS-Federation STS for the WS-Fed tests (auth0's `wsfed` with node-saml, installed by
//! tests/peers/wsfed.sh), its token-signing keys, and a gateway whose teachers' space delegates to it.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

use crate::common::{self, Setup, Upstream};
use crate::oidc_peer::{Browser, location};
use passerelle::clock::Clock;
use passerelle::server::{Options, Running};

pub const ISSUER: &str = "urn:passerelle:test-sts";
pub const REALM: &str = "urn:passerelle:test";
pub const USER: &str = "prof.test";
pub const PASSWORD: &str = "motdepasse-prof";
pub const CALLBACK_PATH: &str = "/auth/callback/professeur/adfs";

fn sts_script() -> PathBuf {
    let path = std::env::var("PASSERELLE_TEST_WSFED_STS").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/peers/wsfed/sts.js"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "WS-Federation STS missing at {}: run `bash tests/peers/wsfed.sh` (scripts/test.sh does)",
        path.display()
    );
    path
}

fn node() -> String {
    std::env::var("PASSERELLE_TEST_NODE").unwrap_or_else(|_| "node".to_owned())
}

/// A token-signing key and its self-signed certificate, as PEM files in `dir`.
pub struct SigningKey {
    pub key: PathBuf,
    pub cert: PathBuf,
}

impl SigningKey {
    pub fn generate(dir: &Path, name: &str) -> Self {
        let pkey = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
        let mut subject = X509NameBuilder::new().expect("name");
        subject.append_entry_by_text("CN", name).expect("cn");
        let subject = subject.build();
        let mut builder = X509::builder().expect("x509");
        builder.set_version(2).expect("version");
        builder.set_subject_name(&subject).expect("subject");
        builder.set_issuer_name(&subject).expect("issuer");
        builder.set_pubkey(&pkey).expect("pubkey");
        builder
            .set_not_before(&Asn1Time::days_from_now(0).expect("time"))
            .expect("not before");
        builder
            .set_not_after(&Asn1Time::days_from_now(2).expect("time"))
            .expect("not after");
        builder.sign(&pkey, MessageDigest::sha256()).expect("sign");
        let key = dir.join(format!("{name}.key"));
        let cert = dir.join(format!("{name}.crt"));
        std::fs::write(&key, pkey.private_key_to_pem_pkcs8().expect("pem")).expect("key");
        std::fs::write(&cert, builder.build().to_pem().expect("pem")).expect("cert");
        SigningKey { key, cert }
    }

    fn command(&self, token: &str) -> Command {
        let mut command = Command::new(node());
        command
            .arg(sts_script())
            .env("WSFED_KEY", &self.key)
            .env("WSFED_CERT", &self.cert)
            .env("WSFED_ISSUER", ISSUER)
            .env("WSFED_TOKEN", token);
        command
    }

    /// One `wresult` signed by the STS with this key: SAML `version` "1.1" or "2.0", for `realm`,
    /// living `lifetime` seconds (negative: already expired).
    pub fn issue(&self, version: &str, realm: &str, lifetime: i64) -> String {
        self.issue_spec(
            serde_json::json!({ "version": version, "realm": realm, "lifetime": lifetime }),
        )
    }

    /// Same, with the STS script's full JSON spec (e.g. `"sha1": true`).
    pub fn issue_spec(&self, spec: serde_json::Value) -> String {
        let output = self
            .command("saml11")
            .arg("--issue")
            .env("WSFED_ISSUE", spec.to_string())
            .output()
            .expect("run the STS (node)");
        assert!(
            output.status.success(),
            "the STS could not issue a token: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 token")
    }
}

/// A running STS (`saml11` or `saml20` tokens); killed on drop.
pub struct Sts {
    child: Child,
    pub base: String,
}

impl Sts {
    pub fn start(key: &SigningKey, token: &str) -> Self {
        let mut child = key
            .command(token)
            .env("WSFED_PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the STS (node)");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let port = match lines.next() {
            Some(Ok(line)) if line.starts_with("READY ") => {
                line["READY ".len()..].trim().to_owned()
            }
            other => {
                let _ = child.kill();
                panic!("the STS did not start: {other:?}");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Sts {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn metadata(&self) -> String {
        let response = reqwest::get(format!(
            "{}/FederationMetadata/2007-06/FederationMetadata.xml",
            self.base
        ))
        .await
        .expect("metadata");
        assert_eq!(response.status(), 200);
        response.text().await.expect("metadata text")
    }
}

impl Drop for Sts {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gateway whose teachers' space delegates to the STS described by `metadata`.
pub struct Gateway {
    pub running: Running,
    pub base: String,
    pub upstream: Upstream,
    /// The gateway file, for the CLI.
    pub config_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// `metadata`: the STS metadata document, or its `http://` URL.
    pub async fn start(metadata: &str, extra_wsfed: &str) -> Self {
        Self::start_with(metadata, extra_wsfed, "").await
    }

    /// Same, with extra top-level TOML in the gateway file (e.g. a `[guard]` table).
    pub async fn start_with(metadata: &str, extra_wsfed: &str, top_level: &str) -> Self {
        passerelle::telemetry::metrics();
        let upstream = Upstream::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut setup = Setup::new(upstream.address);
        setup.top_level = top_level.to_owned();
        let path = setup.write(dir.path());
        // An URL is configured as such (fetched by the gateway); a document is saved to a file.
        let location = if metadata.starts_with("http://") {
            metadata.to_owned()
        } else {
            std::fs::write(dir.path().join("spaces/sts-metadata.xml"), metadata).expect("metadata");
            "sts-metadata.xml".to_owned()
        };
        std::fs::write(
            dir.path().join("spaces/professeur.toml"),
            format!(
                "published = true\ndirect_login = \"never\"\n[[delegation]]\nid = \"adfs\"\n\
                 protocol = \"wsfed\"\nallow_insecure_http = true\n\
                 categories = {{ National_3 = [\"Professeurs\"] }}\n[delegation.attributes]\n\
                 date_naissance = \"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/dateofbirth\"\n\
                 code_postal = \"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/postalcode\"\n\
                 [delegation.wsfed]\nrealm = \"{REALM}\"\nmetadata = \"{location}\"\n\
                 sign_out = true\n{extra_wsfed}"
            ),
        )
        .expect("professeur.toml");
        let config =
            passerelle::config::load(&path).unwrap_or_else(|problems| panic!("{problems}"));
        let config_path = path.clone();
        let running = passerelle::server::start(
            config,
            Options {
                clock: Clock::System,
            },
        )
        .await
        .expect("gateway starts");
        let base = common::base(&running);
        Gateway {
            running,
            base,
            upstream,
            config_path,
            _dir: dir,
        }
    }

    /// Ask for the teachers' space: the browser gets its pending-login cookie and is sent to the STS.
    /// Returns the sign-in URL and the `wctx` it carries.
    pub async fn begin(&self, browser: &mut Browser) -> (String, String) {
        let response = browser
            .get(&format!("{}/pronote/professeur.html", self.base))
            .await;
        let to_sts = location(&response);
        let url = url::Url::parse(&to_sts).expect("sign-in URL");
        let wctx = url
            .query_pairs()
            .find(|(k, _)| k == "wctx")
            .map(|(_, v)| v.into_owned())
            .expect("wctx");
        (to_sts, wctx)
    }

    /// POST a `wresult` to the callback the way the STS's auto-submitted form does.
    pub async fn post_token(
        &self,
        browser: &mut Browser,
        wresult: &str,
        wctx: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![("wa", "wsignin1.0"), ("wresult", wresult)];
        if let Some(wctx) = wctx {
            form.push(("wctx", wctx));
        }
        browser
            .post_form(&format!("{}{CALLBACK_PATH}", self.base), &form)
            .await
    }
}

/// The value of hidden input `name` in an HTML form written by node-wsfed's template (ejs-escaped).
pub fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let after = html.split(&marker).nth(1).expect("input present");
    let value = after
        .split("value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("input value");
    value
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
