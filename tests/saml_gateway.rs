//! End to end through the gateway with a real SAML2 IdP (pysaml2, tests/peers/saml_idp.py): the
//! pupils' space has four SAML delegations on the same IdP (a signed assertion, an encrypted one, an
//! EduConnect-shaped pupil and an EduConnect-shaped parent). The browser is sent to the IdP, whose
//! auto-submitted form posts cross-site to the ACS without the `SameSite=Lax` pending cookie; the
//! gateway answers with its same-origin re-post page, and the second POST (with the cookie) opens the
//! session. The SP metadata the IdP trusts is the one the gateway serves.

mod common;
mod saml_support;

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};

use common::{Upstream, client, set_cookie};
use saml_support::{IDP_ENTITY, fixture, idp_metadata_xml};

const PENDING_COOKIE: &str = "passerelle_session_login";
const SESSION_COOKIE: &str = "passerelle_session";
/// (delegation id, IdP mode, extra TOML)
const DELEGATIONS: &[(&str, &str, &str)] = &[
    (
        "signe",
        "signed",
        "attributes = { login = \"urn:oid:0.9.2342.19200300.100.1.1\", nom = \"urn:oid:2.5.4.4\", prenom = \"urn:oid:2.5.4.42\", categories = \"categories\" }\n",
    ),
    (
        "chiffre",
        "encrypted",
        "attributes = { login = \"urn:oid:0.9.2342.19200300.100.1.1\", nom = \"urn:oid:2.5.4.4\", prenom = \"urn:oid:2.5.4.42\", categories = \"categories\" }\nencryption_keys = [{ key = \"FIX/sp2.key\", certificate = \"FIX/sp2.crt\" }, { key = \"FIX/sp.key\", certificate = \"FIX/sp.crt\" }]\n",
    ),
    (
        "educonnect",
        "educonnect-eleve",
        "educonnect = true\nencryption_keys = [{ key = \"FIX/sp.key\", certificate = \"FIX/sp.crt\" }]\n",
    ),
    (
        "portail",
        "signed",
        "attributes = { login = \"urn:oid:0.9.2342.19200300.100.1.1\", nom = \"urn:oid:2.5.4.4\", prenom = \"urn:oid:2.5.4.42\", categories = \"categories\" }\nallow_unsolicited = true\n",
    ),
    (
        "educonnect-parent",
        "educonnect-resp",
        "educonnect = true\nencryption_keys = [{ key = \"FIX/sp.key\", certificate = \"FIX/sp.crt\" }]\n",
    ),
];

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

struct Idp(Child);

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_idp(port: u16, sp_metadata: &[std::path::PathBuf]) -> Idp {
    use std::io::{BufRead, BufReader};
    let python = std::env::var("PASSERELLE_PYSAML2_PYTHON")
        .expect("PASSERELLE_PYSAML2_PYTHON unset: run tests/peers/saml.sh (scripts/test.sh does)");
    let script = std::env::var("PASSERELLE_PYSAML2_IDP").expect("PASSERELLE_PYSAML2_IDP unset");
    let mut child = Command::new(python)
        .args([&script, IDP_ENTITY])
        .arg(fixture("idp.key"))
        .arg(fixture("idp.crt"))
        .args(sp_metadata)
        .env("PASSERELLE_IDP_PORT", port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pysaml2 IdP starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("IdP prints its port");
    assert_eq!(line.trim(), format!("PORT {port}"));
    Idp(child)
}

struct Gateway {
    base: String,
    idp: String,
    upstream: Upstream,
    _idp: Idp,
    _running: passerelle::server::Running,
    _dir: tempfile::TempDir,
}

/// Writes the gateway's configuration (the pupils' space with the four delegations) into `dir`.
fn write_config(dir: &std::path::Path, gateway_port: u16, idp_port: u16, upstream: &Upstream) {
    std::fs::write(
        dir.join("passerelle.toml"),
        common::gateway_file_on_port(gateway_port, upstream.address, "saml-gateway"),
    )
    .expect("write config");
    let spaces = dir.join("spaces");
    std::fs::create_dir(&spaces).expect("spaces");
    for space in passerelle::space::SpaceId::ALL {
        std::fs::write(spaces.join(format!("{space}.toml")), "published = false\n").expect("space");
    }
    let mut eleve = "published = true\n".to_owned();
    for (id, mode, extra) in DELEGATIONS {
        let metadata = idp_metadata_xml("idp.crt")
            .replace(
                "https://idp.test/sso",
                &format!("http://127.0.0.1:{idp_port}/sso/{mode}"),
            )
            .replace(
                "https://idp.test/slo",
                &format!("http://127.0.0.1:{idp_port}/slo"),
            );
        std::fs::write(spaces.join(format!("idp-{mode}.xml")), metadata).expect("idp metadata");
        let fixtures = fixture("");
        let fixtures = fixtures.to_str().expect("utf-8 path").trim_end_matches('/');
        eleve.push_str(
            &format!(
                "[[delegation]]\nid = \"{id}\"\nprotocol = \"saml\"\nsp_entity_id = \"https://passerelle.test/sp/{id}\"\n\
                 idp_metadata = \"idp-{mode}.xml\"\nsigning_key = \"FIX/sp.key\"\nsigning_certificate = \"FIX/sp.crt\"\n{extra}"
            )
            .replace("FIX", fixtures),
        );
    }
    std::fs::write(spaces.join("eleve.toml"), eleve).expect("eleve.toml");
}

async fn start() -> Gateway {
    let upstream = Upstream::start().await;
    let (gateway_port, idp_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{gateway_port}");
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), gateway_port, idp_port, &upstream);
    let config = passerelle::config::load(&dir.path().join("passerelle.toml"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    let running = passerelle::server::start(config, passerelle::server::Options::default())
        .await
        .expect("gateway starts");

    // The IdP trusts the SP metadata the gateway publishes.
    let mut files = Vec::new();
    for (id, _, _) in DELEGATIONS {
        let response = client()
            .get(format!("{base}/auth/saml/eleve/{id}/metadata"))
            .send()
            .await
            .expect("metadata");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/samlmetadata+xml"
        );
        let xml = response.text().await.expect("metadata body");
        assert!(xml.contains(&format!("Location=\"{base}/auth/callback/eleve/{id}\"")));
        assert!(xml.contains(&format!("Location=\"{base}/auth/slo/eleve/{id}\"")));
        let path = dir.path().join(format!("sp-{id}.xml"));
        std::fs::write(&path, xml).expect("sp metadata");
        files.push(path);
    }
    let idp = start_idp(idp_port, &files);
    Gateway {
        base,
        idp: format!("http://127.0.0.1:{idp_port}"),
        upstream,
        _idp: idp,
        _running: running,
        _dir: dir,
    }
}

/// Logs in through delegation `id`, the way a browser does it: returns the last gateway response
/// (the ACS's answer to the second, same-origin POST).
async fn log_in(gateway: &Gateway, id: &str) -> reqwest::Response {
    let http = client();
    let base = &gateway.base;
    let start = http
        .get(format!(
            "{base}/auth/start/eleve?via={id}&retour=%2Fpronote%2Feleve.html"
        ))
        .send()
        .await
        .expect("start");
    assert_eq!(start.status(), 303);
    let pending = set_cookie(&start, PENDING_COOKIE).expect("pending cookie");
    let to_idp = start.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let idp_page = http.get(&to_idp).send().await.expect("IdP");
    assert_eq!(idp_page.status(), 200);
    let html = idp_page.text().await.expect("IdP form");
    let acs = format!("{base}/auth/callback/eleve/{id}");
    assert!(html.contains(&format!("action=\"{acs}\"")), "{html}");
    let fields = common::hidden_fields(&html);
    assert!(fields.iter().any(|(k, _)| k == "SAMLResponse"), "{html}");

    // The IdP's form posts cross-site: the Lax pending cookie is not sent.
    let first = http.post(&acs).form(&fields).send().await.expect("ACS");
    assert_eq!(first.status(), 200);
    let csp = first.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    let page = first.text().await.expect("re-post page");
    assert!(csp.contains("script-src 'nonce-"), "{csp}");
    assert!(page.contains("Continuer") && page.contains(&format!("action=\"{acs}\"")));
    let again = common::hidden_fields(&page);
    assert!(
        again
            .iter()
            .any(|(k, v)| k == "passerelle_relance" && v == "1")
    );
    for field in &fields {
        assert!(again.contains(field), "{field:?} re-posted unchanged");
    }

    // Re-posted without the cookie (another browser): no second round, refused.
    let stranger = http.post(&acs).form(&again).send().await.expect("ACS");
    assert_eq!(stranger.status(), 403);
    assert!(
        !stranger
            .text()
            .await
            .unwrap_or_default()
            .contains("Continuer")
    );

    // The same-origin POST carries the cookie.
    http.post(&acs)
        .header("cookie", format!("{PENDING_COOKIE}={pending}"))
        .form(&again)
        .send()
        .await
        .expect("ACS with cookie")
}

async fn opens_the_space(gateway: &Gateway, done: reqwest::Response) -> http::HeaderMap {
    opens_the_space_with(gateway, done).await.0
}

/// The upstream's view of the space page, and the session cookie that opened it.
async fn opens_the_space_with(
    gateway: &Gateway,
    done: reqwest::Response,
) -> (http::HeaderMap, String) {
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    assert_eq!(done.headers()["location"], "/pronote/eleve.html");
    let session = set_cookie(&done, SESSION_COOKIE).expect("session cookie");
    let page = client()
        .get(format!("{}/pronote/eleve.html", gateway.base))
        .header("cookie", format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .expect("space page");
    assert_eq!(page.status(), 200, "the session opens the pupils' space");
    (gateway.upstream.last().headers, session)
}

fn header(headers: &http::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn signed_encrypted_and_educonnect_logins_go_through_the_gateway() {
    let gateway = start().await;

    for id in ["signe", "chiffre"] {
        let headers = opens_the_space(&gateway, log_in(&gateway, id).await).await;
        assert_eq!(header(&headers, "x-passerelle-user"), "alice", "{id}");
        assert_eq!(header(&headers, "x-passerelle-protocol"), "saml");
        assert_eq!(header(&headers, "x-passerelle-space"), "eleve");
        // The shared mapping layer reads the attributes the space file names.
        assert_eq!(header(&headers, "x-passerelle-nom"), "Martin", "{id}");
        assert_eq!(header(&headers, "x-passerelle-prenom"), "Alice", "{id}");
        assert_eq!(header(&headers, "x-passerelle-categories"), "National_1");
    }

    // EduConnect-shaped: encrypted, OID attributes, FrEduCtId as the login, the profile as category.
    let headers = opens_the_space(&gateway, log_in(&gateway, "educonnect").await).await;
    assert_eq!(header(&headers, "x-passerelle-user"), "a1".repeat(48));
    assert_eq!(header(&headers, "x-passerelle-nom"), "Martin");
    assert_eq!(header(&headers, "x-passerelle-prenom"), "L%C3%A9a");
    assert_eq!(
        header(&headers, "x-passerelle-date-naissance"),
        "12/04/2010"
    );
    assert_eq!(header(&headers, "x-passerelle-categories"), "National_1");

    // A parent's EduConnect account cannot open the pupils' space: refused, no session.
    let seen = gateway.upstream.count();
    let refused = log_in(&gateway, "educonnect-parent").await;
    assert_eq!(refused.status(), 403);
    assert!(set_cookie(&refused, SESSION_COOKIE).is_none());
    assert_eq!(gateway.upstream.count(), seen);
}

#[tokio::test]
async fn the_metadata_command_prints_the_sp_metadata_with_both_rollover_keys() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), 8443, 8444, &upstream);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .arg("metadata")
            .arg("--config")
            .arg(dir.path().join("passerelle.toml"))
            .args(args)
            .output()
            .expect("passerelle metadata runs")
    };
    let output = run(&["--space", "eleve", "--delegation", "chiffre"]);
    assert!(output.status.success(), "{output:?}");
    let xml = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        xml.contains(r#"entityID="https://passerelle.test/sp/chiffre""#),
        "{xml}"
    );
    assert_eq!(
        xml.matches(r#"<md:KeyDescriptor use="encryption">"#)
            .count(),
        2
    );
    assert_eq!(
        xml.matches(r#"<md:KeyDescriptor use="signing">"#).count(),
        1
    );
    assert!(xml.contains(r#"Location="http://127.0.0.1:8443/auth/callback/eleve/chiffre""#));
    assert!(xml.contains(r#"Location="http://127.0.0.1:8443/auth/slo/eleve/chiffre""#));

    let ambiguous = run(&["--space", "eleve"]);
    assert!(!ambiguous.status.success());
    assert!(String::from_utf8_lossy(&ambiguous.stderr).contains("précisez --delegation"));
    let none = run(&["--space", "parent"]);
    assert!(String::from_utf8_lossy(&none.stderr).contains("aucune délégation SAML"));
}

/// Whether `session` still opens the pupils' space (the upstream answers), rather than the chooser.
async fn still_open(gateway: &Gateway, session: &str) -> bool {
    client()
        .get(format!("{}/pronote/eleve.html", gateway.base))
        .header("cookie", format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .expect("space page")
        .text()
        .await
        .expect("body")
        .starts_with("amont:")
}

async fn follow(url: &str) -> reqwest::Response {
    client().get(url).send().await.expect("GET")
}

/// Where a redirect goes; panics with the body on anything else.
async fn location_of(response: reqwest::Response) -> String {
    if response.status() != 303 {
        panic!(
            "redirect expected, got {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// The IdP's signed LogoutRequest (to our SLS) for the last session it opened.
async fn idp_logout_request(gateway: &Gateway) -> String {
    let index = follow(&format!("{}/last-session", gateway.idp))
        .await
        .text()
        .await
        .expect("session index");
    location_of(
        follow(&format!(
            "{}/initiate-logout?sp=https://passerelle.test/sp/signe&session_index={index}",
            gateway.idp
        ))
        .await,
    )
    .await
}

#[tokio::test]
async fn single_logout_works_both_ways_over_http_redirect() {
    let gateway = start().await;
    let sls = format!("{}/auth/slo/eleve/signe", gateway.base);

    // SP-initiated: the gateway's logout sends a signed LogoutRequest naming the session to the IdP,
    // whose signed LogoutResponse comes back to our SLS and ends at the "logged out" page.
    let (_, session) = opens_the_space_with(&gateway, log_in(&gateway, "signe").await).await;
    let issued = follow(&format!("{}/last-session", gateway.idp))
        .await
        .text()
        .await
        .expect("session index");
    let logout = client()
        .get(format!("{}/auth/logout", gateway.base))
        .header("cookie", format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .expect("logout");
    let to_idp = location_of(logout).await;
    assert!(
        to_idp.starts_with(&format!("{}/slo?SAMLRequest=", gateway.idp)),
        "{to_idp}"
    );
    assert!(to_idp.contains("&Signature="));
    assert!(!still_open(&gateway, &session).await);
    let back = location_of(follow(&to_idp).await).await;
    let seen: serde_json::Value = serde_json::from_str(
        &follow(&format!("{}/last-logout", gateway.idp))
            .await
            .text()
            .await
            .expect("last logout"),
    )
    .expect("json");
    assert_eq!(seen["session_index"][0], issued.as_str());
    assert!(back.starts_with(&format!("{sls}?SAMLResponse=")), "{back}");
    let done = follow(&back).await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.expect("page").contains("déconnecté"));

    // IdP-initiated: the IdP's signed LogoutRequest names the SessionIndex; the gateway ends that
    // session and answers with a signed LogoutResponse the IdP accepts.
    let (_, session) = opens_the_space_with(&gateway, log_in(&gateway, "signe").await).await;
    let request = idp_logout_request(&gateway).await;
    assert!(
        request.starts_with(&format!("{sls}?SAMLRequest=")),
        "{request}"
    );
    assert!(still_open(&gateway, &session).await);
    let answer = location_of(follow(&request).await).await;
    assert!(
        !still_open(&gateway, &session).await,
        "the IdP's logout ended the session"
    );
    assert!(
        answer.starts_with(&format!("{}/slo?SAMLResponse=", gateway.idp)),
        "{answer}"
    );
    let accepted = follow(&answer).await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(accepted.text().await.expect("idp"), "logout ok");

    // A tampered LogoutRequest (signature no longer matches) ends nothing.
    let (_, session) = opens_the_space_with(&gateway, log_in(&gateway, "signe").await).await;
    let request = idp_logout_request(&gateway).await;
    let tampered = request.replace("RelayState=relais-idp", "RelayState=autre");
    assert_ne!(tampered, request);
    assert_eq!(follow(&tampered).await.status(), 400);
    assert!(still_open(&gateway, &session).await);
}

#[tokio::test]
async fn forged_responses_are_refused_and_count_in_the_guard() {
    use base64::Engine;
    let gateway = start().await;
    let http = client();
    let base = &gateway.base;
    let acs = format!("{base}/auth/callback/eleve/signe");
    // The default guard suspends an address after five failures.
    for attempt in 0..5 {
        let start = http
            .get(format!("{base}/auth/start/eleve?via=signe"))
            .send()
            .await
            .expect("start");
        let pending = set_cookie(&start, PENDING_COOKIE).expect("pending cookie");
        let to_idp = location_of(start).await;
        let html = follow(&to_idp).await.text().await.expect("IdP form");
        let mut fields = common::hidden_fields(&html);
        let b64 = base64::engine::general_purpose::STANDARD;
        for (name, value) in &mut fields {
            if name == "SAMLResponse" {
                let xml = String::from_utf8(b64.decode(&*value).expect("base64")).expect("utf-8");
                // Another person in the signed assertion: the signature no longer matches.
                assert!(xml.contains(">alice<"), "{xml}");
                *value = b64.encode(xml.replace(">alice<", ">mallory<"));
            }
        }
        let refused = http
            .post(&acs)
            .header("cookie", format!("{PENDING_COOKIE}={pending}"))
            .form(&fields)
            .send()
            .await
            .expect("ACS");
        assert_eq!(refused.status(), 403, "attempt {attempt}");
        assert!(set_cookie(&refused, SESSION_COOKIE).is_none());
    }
    let suspended = http
        .get(format!("{base}/auth/start/eleve?via=signe"))
        .send()
        .await
        .expect("start");
    assert_eq!(suspended.status(), 403);
    assert!(suspended.headers().contains_key("retry-after"));
    assert!(
        suspended
            .text()
            .await
            .expect("page")
            .contains("provisoirement suspendue")
    );
    assert_eq!(gateway.upstream.count(), 0, "nothing reached the upstream");
}

#[tokio::test]
async fn idp_initiated_logins_open_a_session_only_where_allowed() {
    let gateway = start().await;
    let http = client();
    for (id, allowed) in [("portail", true), ("signe", false)] {
        let html = follow(&format!(
            "{}/unsolicited?sp=https://passerelle.test/sp/{id}",
            gateway.idp
        ))
        .await
        .text()
        .await
        .expect("IdP form");
        let acs = format!("{}/auth/callback/eleve/{id}", gateway.base);
        assert!(html.contains(&format!("action=\"{acs}\"")), "{html}");
        // Cross-site POST, then our re-post: neither carries a pending login.
        let page = http
            .post(&acs)
            .form(&common::hidden_fields(&html))
            .send()
            .await
            .expect("ACS")
            .text()
            .await
            .expect("re-post page");
        let done = http
            .post(&acs)
            .form(&common::hidden_fields(&page))
            .send()
            .await
            .expect("ACS again");
        if allowed {
            let headers = opens_the_space(&gateway, done).await;
            assert_eq!(header(&headers, "x-passerelle-user"), "alice");
        } else {
            assert_eq!(
                done.status(),
                403,
                "{id}: unsolicited responses are refused"
            );
            assert!(set_cookie(&done, SESSION_COOKIE).is_none());
        }
    }
}
