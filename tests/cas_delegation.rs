//! CAS delegation end to end, against a real CAS server (django-cas-server, installed by
//! `tests/peers/cas.sh`), a real upstream HTTP server and the gateway started in-process.
//!
//! The "browser" is a reqwest client that follows no redirect on its own, keeps one cookie jar per
//! site, and fills the CAS server's login form like a person would.

mod cas_peer;
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use cas_peer::{Browser, CasServer, free_port, ticket_of};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use passerelle::server::{Options, Running};

/// An upstream that answers every request with the request's headers, one `name: value` per line.
async fn echo_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
                    let mut text = format!("path: {}\n", request.uri());
                    for (name, value) in request.headers() {
                        text.push_str(&format!("{}: {}\n", name, value.to_str().unwrap_or("?")));
                    }
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(text))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

struct Setup {
    running: Running,
    base: String,
    _dir: tempfile::TempDir,
}

/// Start the gateway with the parent space delegated to `cas_base`. `extra` is appended to the
/// `[[delegation]]` table; `direct_login` is the space's policy.
async fn gateway(cas_base: &str, validation: &str, direct_login: &str, extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let upstream = echo_upstream().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let prefix = format!("passerelle-test:cas:{}:{}:", std::process::id(), port);
    let redis = std::env::var("PASSERELLE_TEST_REDIS")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    std::fs::write(
        dir.path().join("passerelle.toml"),
        format!(
            r#"public_url = "{base}"
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
[direct_login]
users_file = "users.toml"
"#
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("users.toml"), "").unwrap();
    let spaces = dir.path().join("spaces");
    std::fs::create_dir(&spaces).unwrap();
    for space in passerelle::space::SpaceId::ALL {
        std::fs::write(spaces.join(format!("{space}.toml")), "published = false\n").unwrap();
    }
    let delegation = |id: &str| {
        format!(
            "[[delegation]]\nid = \"{id}\"\nprotocol = \"cas\"\nlabel = \"ENT de test\"\nbase_url = \"{cas_base}\"\n\
             validation = \"{validation}\"\nallow_insecure_http = true\ntimeout = \"5s\"\nconnect_timeout = \"1s\"\n{extra}\n"
        )
    };
    std::fs::write(
        spaces.join("parent.toml"),
        format!(
            "published = true\ndirect_login = \"{direct_login}\"\n{}",
            delegation("ent")
        ),
    )
    .unwrap();
    std::fs::write(
        spaces.join("eleve.toml"),
        format!("published = true\n{}", delegation("ent")),
    )
    .unwrap();
    let config = passerelle::config::load(&dir.path().join("passerelle.toml"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    let running = passerelle::server::start(config, Options::default())
        .await
        .expect("gateway starts");
    Setup {
        running,
        base,
        _dir: dir,
    }
}

/// The whole login: page asked for → gateway → CAS form → gateway callback → the page. Returns the
/// upstream's echo of the final request.
async fn full_login(browser: &mut Browser, setup: &Setup, cas: &CasServer) -> String {
    let asked = format!("{}/pronote/parent.html?fd=1", setup.base);
    let first = browser.get(&asked).await;
    assert_eq!(first.status, 303, "{}", first.body);
    let to_cas = first.location.expect("redirect to CAS");
    assert!(
        to_cas.starts_with(&format!("{}/login?service=", cas.base)),
        "{to_cas}"
    );
    let back = browser.cas_login(&to_cas).await;
    assert!(
        back.starts_with(&format!(
            "{}/auth/callback/parent/ent?ticket=ST-",
            setup.base
        )),
        "{back}"
    );
    let callback = browser.get(&back).await;
    assert_eq!(callback.status, 303, "{}", callback.body);
    let page = callback.location.expect("redirect to the page");
    assert_eq!(
        page, "/pronote/parent.html?fd=1",
        "the page first asked for"
    );
    let proxied = browser.get(&format!("{}{page}", setup.base)).await;
    assert_eq!(proxied.status, 200, "{}", proxied.body);
    proxied.body
}

fn assert_identity_headers(echo: &str) {
    assert!(
        echo.contains("x-passerelle-user: claire.martin\n"),
        "{echo}"
    );
    assert!(echo.contains("x-passerelle-protocol: cas\n"), "{echo}");
    assert!(echo.contains("x-passerelle-space: parent\n"), "{echo}");
    assert!(echo.contains("x-passerelle-nom: Martin\n"), "{echo}");
    assert!(echo.contains("x-passerelle-prenom: Claire\n"), "{echo}");
    // Released as ISO by the ENT, handed on in PRONOTE's dd/mm/yyyy by the shared mapping layer.
    assert!(
        echo.contains("x-passerelle-date-naissance: 12/05/1984\n"),
        "{echo}"
    );
    assert!(
        echo.contains("x-passerelle-categories: National_2\n"),
        "{echo}"
    );
    assert!(echo.contains("x-passerelle-signature: v1="), "{echo}");
    assert!(
        !echo.contains("passerelle_session"),
        "gateway cookies stay at the gateway: {echo}"
    );
}

#[tokio::test]
async fn service_validate_login_reaches_the_upstream_with_the_identity() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "serviceValidate", "never", "").await;
    let mut browser = Browser::new();
    let echo = full_login(&mut browser, &setup, &cas).await;
    assert_identity_headers(&echo);
    setup.running.shutdown().await;
}

#[tokio::test]
async fn cas3_p3_login_reaches_the_upstream_with_the_identity() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "p3", "never", "").await;
    let mut browser = Browser::new();
    assert_identity_headers(&full_login(&mut browser, &setup, &cas).await);
    setup.running.shutdown().await;
}

#[tokio::test]
async fn saml_validate_login_reaches_the_upstream_with_the_identity() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "samlValidate", "never", "").await;
    let mut browser = Browser::new();
    assert_identity_headers(&full_login(&mut browser, &setup, &cas).await);
    setup.running.shutdown().await;
}

#[tokio::test]
async fn cas1_validate_login_gives_the_principal() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "validate", "never", "").await;
    let mut browser = Browser::new();
    let echo = full_login(&mut browser, &setup, &cas).await;
    assert!(
        echo.contains("x-passerelle-user: claire.martin\n"),
        "{echo}"
    );
    assert!(
        !echo.contains("x-passerelle-nom"),
        "CAS 1 releases no attribute: {echo}"
    );
    setup.running.shutdown().await;
}

#[tokio::test]
async fn login_redirect_carries_the_fixed_parameters() {
    let cas = CasServer::start().await;
    let setup = gateway(
        &cas.base,
        "p3",
        "never",
        "[delegation.login_params]\nselection = \"EDU_parent_eleve\"",
    )
    .await;
    let mut browser = Browser::new();
    let first = browser
        .get(&format!("{}/pronote/parent.html", setup.base))
        .await;
    let location = first.location.unwrap();
    let service = url::form_urlencoded::byte_serialize(
        format!("{}/auth/callback/parent/ent", setup.base).as_bytes(),
    )
    .collect::<String>();
    assert_eq!(
        location,
        format!(
            "{}/login?service={service}&selection=EDU_parent_eleve",
            cas.base
        )
    );
    setup.running.shutdown().await;
}

#[tokio::test]
async fn replayed_ticket_is_refused() {
    passerelle::telemetry::metrics();
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "p3", "never", "").await;
    let mut browser = Browser::new();
    let asked = format!("{}/pronote/parent.html", setup.base);
    let to_cas = browser.get(&asked).await.location.unwrap();
    let back = browser.cas_login(&to_cas).await;
    assert_eq!(browser.get(&back).await.status, 303, "first use logs in");

    // Another browser (the attacker) starts its own login and presents the stolen ticket.
    let mut attacker = Browser::new();
    attacker.get(&asked).await;
    let replay = attacker.get(&back).await;
    assert_eq!(replay.status, 403, "{}", replay.body);
    assert!(
        replay.body.contains("Connexion impossible"),
        "{}",
        replay.body
    );
    assert!(attacker.cookie(&setup.base, "passerelle_session").is_none());
    assert!(
        !replay.body.contains(&ticket_of(&back)),
        "the ticket is never shown"
    );
    setup.running.shutdown().await;
}

#[tokio::test]
async fn callback_without_the_browsers_pending_login_is_refused() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "p3", "never", "").await;
    let mut victim = Browser::new();
    // The attacker logs in at CAS with their own account and sends the victim the callback link.
    let mut attacker = Browser::new();
    let to_cas = attacker
        .get(&format!("{}/pronote/parent.html", setup.base))
        .await
        .location
        .unwrap();
    let back = attacker.cas_login(&to_cas).await;
    let forced = victim.get(&back).await;
    assert_eq!(forced.status, 403, "{}", forced.body);
    assert!(
        forced
            .body
            .contains("pas été demandée depuis ce navigateur"),
        "{}",
        forced.body
    );
    assert!(victim.cookie(&setup.base, "passerelle_session").is_none());
    setup.running.shutdown().await;
}

#[tokio::test]
async fn ticket_for_another_service_is_refused() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "serviceValidate", "never", "").await;
    let mut browser = Browser::new();
    // A ticket issued for the eleve space's callback…
    let eleve_login = browser
        .get(&format!("{}/pronote/eleve.html", setup.base))
        .await
        .location
        .unwrap();
    let eleve_back = browser.cas_login(&eleve_login).await;
    let ticket = ticket_of(&eleve_back);
    // …presented at the parent space's callback, with a genuine pending parent login.
    browser
        .get(&format!("{}/pronote/parent.html", setup.base))
        .await;
    let wrong = browser
        .get(&format!(
            "{}/auth/callback/parent/ent?ticket={ticket}",
            setup.base
        ))
        .await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert!(
        wrong.body.contains("destiné à un autre service"),
        "{}",
        wrong.body
    );
    setup.running.shutdown().await;
}

/// The ENT says Claire is a parent (`National_2`): her login is refused at the pupils' space, and she
/// is given no session there.
#[tokio::test]
async fn parent_from_the_ent_is_refused_in_the_pupils_space() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "samlValidate", "never", "").await;
    let mut browser = Browser::new();
    let to_cas = browser
        .get(&format!("{}/pronote/eleve.html", setup.base))
        .await
        .location
        .expect("redirect to CAS");
    let back = browser.cas_login(&to_cas).await;
    let refused = browser.get(&back).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Accès refusé"), "{}", refused.body);
    assert!(refused.body.contains("parent"), "{}", refused.body);
    let again = browser
        .get(&format!("{}/pronote/eleve.html", setup.base))
        .await;
    assert_eq!(again.status, 303, "still no session: {}", again.body);
    setup.running.shutdown().await;
}

#[tokio::test]
async fn cas_single_logout_destroys_the_session() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "p3", "never", "slo_sources = [\"127.0.0.1/32\"]").await;
    let mut browser = Browser::new();
    full_login(&mut browser, &setup, &cas).await;
    let page = format!("{}/pronote/parent.html", setup.base);
    assert_eq!(browser.get(&page).await.status, 200);

    // The person logs out at the ENT; the CAS server posts a logoutRequest to the service URL.
    let logout = browser.get(&format!("{}/logout", cas.base)).await;
    assert!(logout.status < 400, "CAS logout: {}", logout.status);
    let mut ended = false;
    for _ in 0..50 {
        let again = browser.get(&page).await;
        if again.status == 303 {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "the session survived the CAS single logout");
    setup.running.shutdown().await;
}

#[tokio::test]
async fn single_logout_from_an_unlisted_address_is_refused() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "p3", "never", "slo_sources = [\"192.0.2.0/24\"]").await;
    let mut browser = Browser::new();
    full_login(&mut browser, &setup, &cas).await;
    let back_channel = reqwest::Client::new()
        .post(format!("{}/auth/slo/parent/ent", setup.base))
        .form(&[(
            "logoutRequest",
            "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"x\" Version=\"2.0\"><samlp:SessionIndex>ST-anything</samlp:SessionIndex></samlp:LogoutRequest>",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(back_channel.status(), 403);
    assert_eq!(
        browser
            .get(&format!("{}/pronote/parent.html", setup.base))
            .await
            .status,
        200,
        "the session is still there"
    );
    setup.running.shutdown().await;
}

#[tokio::test]
async fn cas_server_down_falls_back_to_the_direct_form_when_allowed() {
    let dead = format!("http://127.0.0.1:{}/cas", free_port());
    let setup = gateway(&dead, "p3", "when_idp_down", "").await;
    let mut browser = Browser::new();
    let first = browser
        .get(&format!("{}/pronote/parent.html", setup.base))
        .await;
    assert_eq!(first.status, 303);
    let location = first.location.unwrap();
    assert!(
        location.starts_with("/auth/login/parent?retour="),
        "{location}"
    );
    let form = browser.get(&format!("{}{location}", setup.base)).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("Mot de passe"), "{}", form.body);
    setup.running.shutdown().await;
}

#[tokio::test]
async fn cas_server_down_without_fallback_shows_a_french_error_page() {
    let dead = format!("http://127.0.0.1:{}/cas", free_port());
    let setup = gateway(&dead, "serviceValidate", "never", "").await;
    let mut browser = Browser::new();
    let first = browser
        .get(&format!("{}/pronote/parent.html", setup.base))
        .await;
    assert!(first.location.unwrap().starts_with(&dead));
    let callback = browser
        .get(&format!(
            "{}/auth/callback/parent/ent?ticket=ST-1-abcdefghijklmnopqrstuvwxyz",
            setup.base
        ))
        .await;
    assert_eq!(callback.status, 502, "{}", callback.body);
    assert!(callback.body.contains("ne répond pas"), "{}", callback.body);
    assert!(callback.body.contains("lang=\"fr\""));
    // And the direct form stays closed under `never`.
    let direct = browser
        .get(&format!("{}/auth/login/parent", setup.base))
        .await;
    assert_eq!(direct.status, 403);
    setup.running.shutdown().await;
}

#[tokio::test]
async fn login_true_opens_the_direct_form_only_when_always_allowed() {
    let cas = CasServer::start().await;
    let always = gateway(&cas.base, "p3", "always", "").await;
    let mut browser = Browser::new();
    let direct = browser
        .get(&format!("{}/pronote/parent.html?login=true", always.base))
        .await;
    assert!(direct.location.unwrap().starts_with("/auth/login/parent"));
    always.running.shutdown().await;

    let never = gateway(&cas.base, "p3", "never", "").await;
    let delegated = browser
        .get(&format!("{}/pronote/parent.html?login=true", never.base))
        .await;
    assert!(delegated.location.unwrap().starts_with(&cas.base));
    never.running.shutdown().await;
}

#[tokio::test]
async fn gateway_logout_ends_the_session_and_can_end_the_cas_session_too() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "p3", "never", "cas_logout = true").await;
    let mut browser = Browser::new();
    full_login(&mut browser, &setup, &cas).await;
    let logout = browser.get(&format!("{}/auth/logout", setup.base)).await;
    assert_eq!(logout.status, 303);
    let service = url::form_urlencoded::byte_serialize(
        format!("{}/pronote/parent.html", setup.base).as_bytes(),
    )
    .collect::<String>();
    assert_eq!(
        logout.location.as_deref(),
        Some(format!("{}/logout?service={service}", cas.base).as_str())
    );
    let after = browser
        .get(&format!("{}/pronote/parent.html", setup.base))
        .await;
    assert_eq!(after.status, 303, "the gateway session is gone");
    setup.running.shutdown().await;
}

#[tokio::test]
async fn cas_server_dying_during_validation_falls_back_to_the_direct_form() {
    let cas = CasServer::start().await;
    let setup = gateway(&cas.base, "samlValidate", "when_idp_down", "").await;
    let mut browser = Browser::new();
    let to_cas = browser
        .get(&format!("{}/pronote/parent.html?fd=1", setup.base))
        .await
        .location
        .unwrap();
    assert!(
        to_cas.starts_with(&cas.base),
        "the CAS server is up: {to_cas}"
    );
    let back = browser.cas_login(&to_cas).await;
    drop(cas); // The CAS server goes away between login and validation.
    let callback = browser.get(&back).await;
    assert_eq!(callback.status, 303, "{}", callback.body);
    let location = callback.location.unwrap();
    assert_eq!(
        location, "/auth/login/parent?retour=%2Fpronote%2Fparent.html%3Ffd%3D1",
        "direct form, keeping the page first asked for"
    );
    let form = browser.get(&format!("{}{location}", setup.base)).await;
    assert_eq!(
        form.status, 200,
        "the direct form is open while the ENT is down"
    );
    setup.running.shutdown().await;
}
