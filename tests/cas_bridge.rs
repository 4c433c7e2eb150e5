//! The CAS bridge end to end: Passerelle as the CAS server of an application, checked by a real,
//! independent CAS client — python-cas (PyPI, installed by `tests/peers/cas_client.sh`), driven through
//! `tests/peers/cas_client.py` — as PRONOTE would use it. The person logs in with the direct form or
//! through a CAS delegation to django-cas-server (`tests/peers/cas.sh`); the client builds the login
//! URL, the ticket comes back on the service URL, and the client validates it with `/validate`,
//! `/serviceValidate`, `/p3/serviceValidate` and `/samlValidate`.

mod cas_peer;
mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use passerelle::auth::cas::parse::{CasParseError, parse_json, parse_service_response};
use passerelle::clock::Clock;
use passerelle::server::{Options, Running};
use serde_json::Value;

use cas_peer::{Browser, CasServer, ticket_of};
use common::{PARENT_LOGIN, PARENT_PASSWORD, Setup, Upstream};

/// The application the bridge authenticates for: it records every request's body (single logout).
struct ServiceApp {
    address: SocketAddr,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl ServiceApp {
    async fn start() -> ServiceApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&bodies);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let seen = Arc::clone(&seen);
                        async move {
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            seen.lock()
                                .unwrap()
                                .push(String::from_utf8_lossy(&body).into_owned());
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("ok"))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        ServiceApp { address, bodies }
    }

    fn page(&self, space: &str) -> String {
        format!("http://{}/pronote/{space}.html", self.address)
    }
}

/// The gateway with the bridge on: the parents' space serves `app`'s parent page (exact URL) and its
/// mobile page (anchored pattern); `spaces` replaces other space files (e.g. with a delegation).
/// `public_url` is the listener's own address, so identity providers can send browsers back.
struct Bridge {
    running: Running,
    base: String,
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

async fn bridge(app: &ServiceApp, setup: Setup, clock: Clock, spaces: &[(&str, String)]) -> Bridge {
    bridge_with(app, setup, clock, spaces, "").await
}

/// [`bridge`] with more keys in the gateway's `[cas_server]` section.
async fn bridge_with(
    app: &ServiceApp,
    setup: Setup,
    clock: Clock,
    spaces: &[(&str, String)],
    cas_server: &str,
) -> Bridge {
    passerelle::telemetry::metrics();
    let dir = tempfile::tempdir().unwrap();
    let mut setup = setup;
    setup.top_level.push_str(&format!(
        "\n[cas_server]\nticket_lifetime = \"10s\"\nlogout_timeout = \"2s\"\n{cas_server}\n"
    ));
    let path = setup.write(dir.path());
    let port = cas_peer::free_port();
    let written = std::fs::read_to_string(&path)
        .unwrap()
        .replace("http://127.0.0.1:8080", &format!("http://127.0.0.1:{port}"))
        .replace("127.0.0.1:0\"]", &format!("127.0.0.1:{port}\"]"));
    std::fs::write(&path, written).unwrap();
    let mobile = regex_escape(&format!(
        "http://{}/pronote/mobile.parent.html",
        app.address
    ));
    append(
        &dir.path().join("spaces/parent.toml"),
        &format!(
            "[cas_server]\nservices = [\"{}\", '^{mobile}(\\?.*)?$']\n",
            app.page("parent")
        ),
    );
    for (space, text) in spaces {
        std::fs::write(dir.path().join(format!("spaces/{space}.toml")), text).unwrap();
    }
    let config = passerelle::config::load(&path).unwrap_or_else(|problems| panic!("{problems}"));
    let running = passerelle::server::start(config, Options { clock })
        .await
        .expect("gateway starts");
    let base = common::base(&running);
    Bridge {
        running,
        base,
        _dir: dir,
        config: path,
    }
}

fn regex_escape(text: &str) -> String {
    text.replace('.', "\\.")
}

fn append(file: &Path, text: &str) {
    let mut current = std::fs::read_to_string(file).unwrap();
    current.push('\n');
    current.push_str(text);
    std::fs::write(file, current).unwrap();
}

/// Run the python-cas driver with `args`; its standard output.
async fn python_cas(args: Vec<String>) -> String {
    let python = cas_peer::peer_env("PASSERELLE_CAS_CLIENT_PYTHON");
    let script = cas_peer::peer_env("PASSERELLE_CAS_CLIENT_SCRIPT");
    // Blocking on the runtime would stall the gateway the client is talking to.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args(args)
            .output()
            .expect("python-cas driver runs")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "python-cas failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The login URL python-cas sends browsers to for `service`.
async fn client_login_url(base: &str, service: &str) -> String {
    python_cas(vec![
        "login-url".into(),
        "--server".into(),
        format!("{base}/cas/"),
        "--service".into(),
        service.into(),
    ])
    .await
    .trim()
    .to_owned()
}

/// python-cas validates `ticket` with `protocol` (1, 2, 3 or saml): `{"user", "attributes"}`.
async fn client_verify(base: &str, protocol: &str, service: &str, ticket: &str) -> Value {
    let out = python_cas(vec![
        "verify".into(),
        "--protocol".into(),
        protocol.into(),
        "--server".into(),
        format!("{base}/cas/"),
        "--service".into(),
        service.into(),
        "--ticket".into(),
        ticket.into(),
    ])
    .await;
    serde_json::from_str(&out).unwrap_or_else(|_| panic!("python-cas printed {out}"))
}

/// The direct form, reached from a bridge redirect: fill it and return where it sends the browser.
async fn direct_form(browser: &mut Browser, base: &str, form_location: &str) -> String {
    let form = browser.get(&format!("{base}{form_location}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let field = |name: &str| {
        form.body
            .split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("the form has {name}"))
            .replace("&amp;", "&")
    };
    let fields = vec![
        ("login".to_owned(), PARENT_LOGIN.to_owned()),
        ("password".to_owned(), PARENT_PASSWORD.to_owned()),
        ("csrf".to_owned(), field("csrf")),
        ("retour".to_owned(), field("retour")),
    ];
    let action = form_location.split('?').next().unwrap();
    let posted = browser
        .send(&format!("{base}{action}"), Some(&fields))
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    posted.location.expect("a redirect after login")
}

/// Browser: the client's login URL → the direct form → back to /cas/login → the service with a ticket.
async fn direct_login_ticket(browser: &mut Browser, bridge: &Bridge, service: &str) -> String {
    let login = client_login_url(&bridge.base, service).await;
    assert!(
        login.starts_with(&format!("{}/cas/login?service=", bridge.base)),
        "{login}"
    );
    let first = browser.get(&login).await;
    assert_eq!(first.status, 303, "{}", first.body);
    let form = first.location.unwrap();
    assert!(form.starts_with("/auth/login/parent?retour="), "{form}");
    let back = direct_form(browser, &bridge.base, &form).await;
    assert!(
        back.starts_with("/cas/login?service="),
        "back to the bridge: {back}"
    );
    let with_ticket = sso_ticket_location(browser, &bridge.base, &back).await;
    assert!(
        with_ticket.starts_with(&format!("{service}?ticket=ST-")),
        "{with_ticket}"
    );
    ticket_of(&with_ticket)
}

/// `/cas/login` for a browser that has a session: the service URL carrying the ticket.
async fn sso_ticket_location(browser: &mut Browser, base: &str, login_path: &str) -> String {
    let page = browser.get(&format!("{base}{login_path}")).await;
    assert_eq!(page.status, 303, "{}", page.body);
    page.location.unwrap()
}

async fn sso_ticket(browser: &mut Browser, base: &str, service: &str) -> String {
    let login = client_login_url(base, service).await;
    let path = login.strip_prefix(base).unwrap().to_owned();
    ticket_of(&sso_ticket_location(browser, base, &path).await)
}

fn assert_parent_attributes(verified: &Value) {
    assert_eq!(verified["user"], PARENT_LOGIN, "{verified}");
    let attributes = &verified["attributes"];
    assert_eq!(attributes["nom"], "Martin", "{verified}");
    assert_eq!(attributes["prenom"], "Hélène", "{verified}");
    assert_eq!(attributes["dateNaissance"], "14/03/1982", "{verified}");
    assert_eq!(attributes["codePostal"], "69003", "{verified}");
    assert_eq!(attributes["categories"], "National_2", "{verified}");
}

async fn validate_raw(base: &str, endpoint: &str, service: &str, ticket: &str) -> String {
    common::client()
        .get(format!("{base}/cas/{endpoint}"))
        .query(&[("service", service), ("ticket", ticket)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn refused_code(xml: &str) -> String {
    match parse_service_response(xml.as_bytes()) {
        Err(CasParseError::Refused { code }) => code,
        other => panic!("expected a refusal, got {other:?} for {xml}"),
    }
}

#[tokio::test]
async fn direct_login_gives_tickets_every_client_protocol_validates() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let bridge = bridge(&app, Setup::new(upstream.address), Clock::default(), &[]).await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let ticket = direct_login_ticket(&mut browser, &bridge, &service).await;
    assert!(ticket.len() >= 3 + 32, "{ticket}");
    assert_parent_attributes(&client_verify(&bridge.base, "3", &service, &ticket).await);
    // Single sign-on: the gateway session gives the next tickets without a form.
    for protocol in ["2", "saml"] {
        let ticket = sso_ticket(&mut browser, &bridge.base, &service).await;
        assert_parent_attributes(&client_verify(&bridge.base, protocol, &service, &ticket).await);
    }
    let ticket = sso_ticket(&mut browser, &bridge.base, &service).await;
    let cas1 = client_verify(&bridge.base, "1", &service, &ticket).await;
    assert_eq!(cas1["user"], PARENT_LOGIN, "{cas1}");
    // CAS 3 JSON, read by the gateway's own CAS client parser.
    let ticket = sso_ticket(&mut browser, &bridge.base, &service).await;
    let json = common::client()
        .get(format!("{}/cas/p3/serviceValidate", bridge.base))
        .query(&[
            ("service", service.as_str()),
            ("ticket", &ticket),
            ("format", "JSON"),
        ])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let parsed = parse_json(&json).unwrap();
    assert_eq!(parsed.user, PARENT_LOGIN);
    assert_eq!(parsed.attributes["dateNaissance"], ["14/03/1982"]);
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn a_service_matched_by_an_anchored_pattern_gets_its_ticket() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let bridge = bridge(&app, Setup::new(upstream.address), Clock::default(), &[]).await;
    let mut browser = Browser::new();
    direct_login_ticket(&mut browser, &bridge, &app.page("parent")).await;
    let mobile = format!("{}?fd=1", app.page("mobile.parent"));
    let ticket = sso_ticket(&mut browser, &bridge.base, &mobile).await;
    assert_parent_attributes(&client_verify(&bridge.base, "saml", &mobile, &ticket).await);
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn replayed_ticket_is_refused() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let bridge = bridge(&app, Setup::new(upstream.address), Clock::default(), &[]).await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let ticket = direct_login_ticket(&mut browser, &bridge, &service).await;
    assert_parent_attributes(&client_verify(&bridge.base, "3", &service, &ticket).await);
    let replay = client_verify(&bridge.base, "saml", &service, &ticket).await;
    assert_eq!(replay["user"], Value::Null, "{replay}");
    let raw = validate_raw(&bridge.base, "serviceValidate", &service, &ticket).await;
    assert_eq!(refused_code(&raw), "INVALID_TICKET");
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn expired_ticket_is_refused() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let clock = Clock::manual(1_800_000_000);
    let bridge = bridge(&app, Setup::new(upstream.address), clock.clone(), &[]).await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let ticket = direct_login_ticket(&mut browser, &bridge, &service).await;
    clock.advance(10);
    let expired = client_verify(&bridge.base, "2", &service, &ticket).await;
    assert_eq!(expired["user"], Value::Null, "{expired}");
    // Nine seconds later a fresh ticket is still good.
    let ticket = sso_ticket(&mut browser, &bridge.base, &service).await;
    clock.advance(9);
    assert_parent_attributes(&client_verify(&bridge.base, "2", &service, &ticket).await);
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn ticket_for_another_service_is_refused_and_spent() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let bridge = bridge(&app, Setup::new(upstream.address), Clock::default(), &[]).await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let ticket = direct_login_ticket(&mut browser, &bridge, &service).await;
    let other = app.page("mobile.parent");
    let raw = validate_raw(&bridge.base, "p3/serviceValidate", &other, &ticket).await;
    assert_eq!(refused_code(&raw), "INVALID_SERVICE");
    let after = client_verify(&bridge.base, "3", &service, &ticket).await;
    assert_eq!(
        after["user"],
        Value::Null,
        "the failed attempt spent it: {after}"
    );
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn unregistered_service_and_malformed_requests_are_refused() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let bridge = bridge(&app, Setup::new(upstream.address), Clock::default(), &[]).await;
    let http = common::client();
    for service in [
        "https://evil.example/pronote/parent.html".to_owned(),
        format!("{}?extra=1", app.page("parent")),
        app.page("eleve"),
    ] {
        let login = client_login_url(&bridge.base, &service).await;
        let page = http.get(&login).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "{service}");
        assert!(page.headers().get("location").is_none());
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("Application non autorisée")
        );
    }
    let service = app.page("parent");
    let unknown = validate_raw(&bridge.base, "serviceValidate", &service, "ST-inconnu").await;
    assert_eq!(refused_code(&unknown), "INVALID_TICKET");
    let missing = http
        .get(format!("{}/cas/serviceValidate?service=x", bridge.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(refused_code(&missing), "INVALID_REQUEST");
    let proxy_ticket = validate_raw(&bridge.base, "serviceValidate", &service, "PT-1").await;
    assert_eq!(refused_code(&proxy_ticket), "INVALID_TICKET_SPEC");
    let garbage = http
        .post(format!("{}/cas/samlValidate", bridge.base))
        .query(&[("TARGET", service.as_str())])
        .body("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(garbage.contains("samlp:Requester"), "{garbage}");
    assert!(garbage.contains("INVALID_REQUEST"), "{garbage}");
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn gateway_mode_returns_without_a_ticket_and_renew_asks_for_credentials_again() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let bridge = bridge(&app, Setup::new(upstream.address), Clock::default(), &[]).await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let encoded: String = url::form_urlencoded::byte_serialize(service.as_bytes()).collect();
    let silent = browser
        .get(&format!(
            "{}/cas/login?service={encoded}&gateway=true",
            bridge.base
        ))
        .await;
    assert_eq!(
        silent.location.as_deref(),
        Some(service.as_str()),
        "no session, no ticket"
    );

    direct_login_ticket(&mut browser, &bridge, &service).await;
    let renew = browser
        .get(&format!(
            "{}/cas/login?service={encoded}&renew=true",
            bridge.base
        ))
        .await;
    let form = renew.location.unwrap();
    assert!(
        form.starts_with("/auth/login/parent?retour="),
        "renew bypasses SSO: {form}"
    );
    let back = direct_form(&mut browser, &bridge.base, &form).await;
    let with_ticket = sso_ticket_location(&mut browser, &bridge.base, &back).await;
    let ticket = ticket_of(&with_ticket);
    let raw = common::client()
        .get(format!("{}/cas/p3/serviceValidate", bridge.base))
        .query(&[
            ("service", service.as_str()),
            ("ticket", &ticket),
            ("renew", "true"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parsed = parse_service_response(raw.as_bytes()).unwrap();
    assert_eq!(parsed.attributes["isFromNewLogin"], ["true"]);
    // An SSO ticket does not satisfy renew.
    let sso = sso_ticket(&mut browser, &bridge.base, &service).await;
    let raw = common::client()
        .get(format!("{}/cas/serviceValidate", bridge.base))
        .query(&[
            ("service", service.as_str()),
            ("ticket", &sso),
            ("renew", "true"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(refused_code(&raw), "INVALID_TICKET_SPEC");
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn logout_sends_the_services_a_logout_request_naming_their_tickets() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let bridge = bridge(&app, Setup::new(upstream.address), Clock::default(), &[]).await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let first = direct_login_ticket(&mut browser, &bridge, &service).await;
    let second = sso_ticket(&mut browser, &bridge.base, &service).await;
    let logout = browser.get(&format!("{}/auth/logout", bridge.base)).await;
    assert_eq!(logout.status, 200, "{}", logout.body);
    let bodies = app.bodies.lock().unwrap().clone();
    let indexes: Vec<String> = bodies
        .iter()
        .filter_map(|body| {
            url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "logoutRequest")
                .and_then(|(_, xml)| passerelle::auth::cas::slo::session_index(&xml))
        })
        .collect();
    assert_eq!(indexes.len(), 2, "{bodies:?}");
    assert!(
        indexes.contains(&first) && indexes.contains(&second),
        "{indexes:?}"
    );
    // The session is gone: a new ticket needs a new login.
    let again = client_login_url(&bridge.base, &service).await;
    let page = browser.get(&again).await;
    assert!(page.location.unwrap().starts_with("/auth/login/parent"));
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn cas_delegation_login_gives_a_ticket_with_the_ent_identity() {
    let cas = CasServer::start().await;
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let delegation = format!(
        "[[delegation]]\nid = \"ent\"\nprotocol = \"cas\"\nlabel = \"ENT de test\"\nbase_url = \"{}\"\n\
         validation = \"samlValidate\"\nallow_insecure_http = true\ntimeout = \"5s\"\n",
        cas.base
    );
    // The ENT says "parent" (National_2): the parents' space, whose services get names and birth
    // date but not the categories.
    let parent = format!(
        "[cas_server]\nservices = [\"{}\"]\nattributes = [\"nom\", \"prenom\", \"dateNaissance\"]\n",
        app.page("parent")
    );
    let bridge = bridge(
        &app,
        Setup::new(upstream.address),
        Clock::default(),
        &[(
            "parent",
            format!("published = true\ndirect_login = \"never\"\n{parent}{delegation}"),
        )],
    )
    .await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let login = client_login_url(&bridge.base, &service).await;
    let first = browser.get(&login).await;
    let to_cas = first.location.expect("the space's delegation starts");
    assert!(
        to_cas.starts_with(&format!("{}/login?service=", cas.base)),
        "{to_cas}"
    );
    let callback = browser.cas_login(&to_cas).await;
    assert!(
        callback.contains("/auth/callback/parent/ent?ticket="),
        "{callback}"
    );
    let back = browser.get(&callback).await;
    assert_eq!(back.status, 303, "{}", back.body);
    let back = back.location.unwrap();
    assert!(back.starts_with("/cas/login?service="), "{back}");
    let with_ticket = sso_ticket_location(&mut browser, &bridge.base, &back).await;
    let ticket = ticket_of(&with_ticket);
    let verified = client_verify(&bridge.base, "saml", &service, &ticket).await;
    assert_eq!(verified["user"], cas_peer::USER, "{verified}");
    assert_eq!(verified["attributes"]["nom"], "Martin", "{verified}");
    assert_eq!(verified["attributes"]["prenom"], "Claire", "{verified}");
    assert_eq!(
        verified["attributes"]["dateNaissance"], "12/05/1984",
        "{verified}"
    );
    assert_eq!(
        verified["attributes"].get("categories"),
        None,
        "released by the ENT, not by this space: {verified}"
    );
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn tickets_issued_by_one_replica_validate_at_another() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let prefix = common::unique_prefix("cas-bridge");
    let first = bridge(
        &app,
        Setup::new(upstream.address).redis(&prefix),
        Clock::default(),
        &[],
    )
    .await;
    let second = bridge(
        &app,
        Setup::new(upstream.address).redis(&prefix),
        Clock::default(),
        &[],
    )
    .await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let ticket = direct_login_ticket(&mut browser, &first, &service).await;
    assert_parent_attributes(&client_verify(&second.base, "saml", &service, &ticket).await);
    let replay = client_verify(&first.base, "3", &service, &ticket).await;
    assert_eq!(replay["user"], Value::Null, "{replay}");
    first.running.shutdown().await;
    second.running.shutdown().await;
}

#[tokio::test]
async fn the_cli_prints_the_values_for_pronotes_cas_form() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let bridge = bridge(&app, Setup::new(upstream.address), Clock::default(), &[]).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["cas-bridge", "--space", "parent", "--config"])
        .arg(&bridge.config)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(&format!("{}/cas/login", bridge.base)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/cas/samlValidate", bridge.base)),
        "{text}"
    );
    assert!(text.contains(&app.page("parent")), "{text}");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["cas-bridge", "--space", "eleve", "--config"])
        .arg(&bridge.config)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("[cas_server]"));
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn the_chooser_brings_the_person_back_to_the_bridge() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let dead_cas = format!("http://127.0.0.1:{}/cas", cas_peer::free_port());
    let parent = format!(
        "published = true\ndirect_login = \"always\"\n[cas_server]\nservices = [\"{}\"]\n\
         [[delegation]]\nid = \"ent\"\nprotocol = \"cas\"\nlabel = \"ENT\"\nbase_url = \"{dead_cas}\"\n\
         allow_insecure_http = true\n",
        app.page("parent")
    );
    let bridge = bridge(
        &app,
        Setup::new(upstream.address),
        Clock::default(),
        &[("parent", parent)],
    )
    .await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let login = client_login_url(&bridge.base, &service).await;
    let chooser = browser.get(&login).await;
    assert_eq!(chooser.status, 200, "the chooser: {}", chooser.body);
    let retour = chooser
        .body
        .split("name=\"retour\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert!(retour.starts_with("/cas/login?service="), "{retour}");
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("via", "direct")
        .append_pair("retour", &retour)
        .finish();
    let picked = browser
        .get(&format!("{}/auth/start/parent?{query}", bridge.base))
        .await;
    let form = picked.location.expect("the direct form");
    let back = direct_form(&mut browser, &bridge.base, &form).await;
    assert_eq!(back, retour);
    let ticket = ticket_of(&sso_ticket_location(&mut browser, &bridge.base, &back).await);
    assert_parent_attributes(&client_verify(&bridge.base, "2", &service, &ticket).await);
    bridge.running.shutdown().await;
}

#[tokio::test]
async fn validation_from_outside_the_allowed_sources_is_forbidden_and_spends_nothing() {
    let app = ServiceApp::start().await;
    let upstream = Upstream::start().await;
    let prefix = common::unique_prefix("cas-bridge-sources");
    let open = bridge(
        &app,
        Setup::new(upstream.address).redis(&prefix),
        Clock::default(),
        &[],
    )
    .await;
    let closed = bridge_with(
        &app,
        Setup::new(upstream.address).redis(&prefix),
        Clock::default(),
        &[],
        "validation_sources = [\"192.0.2.0/24\"]",
    )
    .await;
    let service = app.page("parent");
    let mut browser = Browser::new();
    let ticket = direct_login_ticket(&mut browser, &closed, &service).await;
    let http = common::client();
    for endpoint in ["validate", "serviceValidate", "p3/serviceValidate"] {
        let refused = http
            .get(format!("{}/cas/{endpoint}", closed.base))
            .query(&[("service", service.as_str()), ("ticket", &ticket)])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{endpoint}");
        let body = refused.text().await.unwrap();
        if endpoint == "validate" {
            assert_eq!(body, "no\n\n");
        } else {
            assert_eq!(refused_code(&body), "UNAUTHORIZED_SERVICE", "{endpoint}");
        }
    }
    let saml = client_verify(&closed.base, "saml", &service, &ticket).await;
    assert_eq!(saml["user"], Value::Null, "{saml}");
    // Nothing was spent: an allowed validator (here the other replica) still gets the person.
    assert_parent_attributes(&client_verify(&open.base, "3", &service, &ticket).await);
    open.running.shutdown().await;
    closed.running.shutdown().await;
}
