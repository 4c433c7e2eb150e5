//! End to end through the gateway: the teachers' space delegated to a real WS-Federation STS (auth0's
//! `wsfed` with node-saml). The browser asks for the space, is sent to the STS with `wa=wsignin1.0`,
//! logs in, and the STS's auto-submitted form posts the signed token back; the upstream then sees the
//! teacher's identity, with the group claim mapped to PRONOTE's teacher category.
//!
//! The STS posts cross-site, so a real browser does not send the `SameSite=Lax` pending-login cookie
//! on that POST: the gateway answers with its same-origin re-post page, whose POST carries the cookie
//! (`the_sts_cross_site_post_is_reposted_from_our_origin`); the other tests' client sends the cookie
//! with the first POST.

mod common;
mod oidc_peer;
mod wsfed_peer;

use oidc_peer::{Browser, location};
use wsfed_peer::{CALLBACK_PATH, Gateway, PASSWORD, REALM, SigningKey, Sts, USER, hidden_input};

/// Log in through the STS issuing `token` tokens; returns the browser holding the session.
async fn log_in(token: &str) -> (Gateway, Browser, Sts) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(dir.path(), "sts");
    let sts = Sts::start(&key, token);
    let gateway = Gateway::start(&sts.metadata().await, "").await;
    let mut browser = Browser::new();
    let (to_sts, wctx) = gateway.begin(&mut browser).await;
    log_in_at(&gateway, &mut browser, &sts, &to_sts, &wctx).await;
    (gateway, browser, sts)
}

/// Log in on the STS's form reached by `to_sts`; returns its auto-submitted form (the token).
async fn sign_in_at_sts(browser: &mut Browser, sts: &Sts, to_sts: &str) -> String {
    let form = browser.get(to_sts).await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.expect("login form");
    let mut fields: Vec<(String, String)> = ["wtrealm", "wreply", "wctx"]
        .iter()
        .map(|name| ((*name).to_owned(), hidden_input(&html, name)))
        .collect();
    fields.push(("login".into(), USER.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let posted = browser
        .post_form(&format!("{}/wsfed/login", sts.base), &pairs)
        .await;
    assert_eq!(posted.status(), 200);
    posted.text().await.expect("auto-submitted form")
}

/// From the sign-in redirect `to_sts` (carrying `wctx`) to a session in the teachers' space.
async fn log_in_at(gateway: &Gateway, browser: &mut Browser, sts: &Sts, to_sts: &str, wctx: &str) {
    assert!(
        to_sts.starts_with(&format!("{}/wsfed?wa=wsignin1.0&", sts.base)),
        "{to_sts}"
    );
    let sign_in = url::Url::parse(to_sts).expect("sign-in URL");
    let param = |name: &str| {
        sign_in
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    assert_eq!(param("wtrealm"), REALM);
    assert_eq!(
        param("wreply"),
        format!("http://127.0.0.1:8080{CALLBACK_PATH}")
    );

    let auto_post = sign_in_at_sts(browser, sts, to_sts).await;
    assert_eq!(
        hidden_input(&auto_post, "wctx"),
        wctx,
        "the STS echoes wctx"
    );
    let wresult = hidden_input(&auto_post, "wresult");

    let back = gateway.post_token(browser, &wresult, Some(wctx)).await;
    assert_eq!(location(&back), "/pronote/professeur.html");
    let proxied = browser
        .get(&format!("{}/pronote/professeur.html", gateway.base))
        .await;
    assert_eq!(
        proxied.status(),
        200,
        "the session opens the teachers' space"
    );
    let seen = gateway.upstream.last();
    let header = |name: &str| {
        seen.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("x-passerelle-user"), USER);
    assert_eq!(header("x-passerelle-protocol"), "wsfed");
    assert_eq!(header("x-passerelle-space"), "professeur");
    assert_eq!(header("x-passerelle-categories"), "National_3");
    assert_eq!(header("x-passerelle-nom"), "Martin");
    assert_eq!(header("x-passerelle-prenom"), "Claire");
    assert_eq!(header("x-passerelle-date-naissance"), "03/02/1980");
    assert_eq!(header("x-passerelle-code-postal"), "75011");
}

#[tokio::test]
async fn teacher_logs_in_with_a_saml11_token() {
    log_in("saml11").await;
}

#[tokio::test]
async fn teacher_logs_in_with_a_saml20_token() {
    log_in("saml20").await;
}

/// The STS's auto-submitted form reaches the callback without the pending cookie (cross-site POST):
/// the gateway re-posts `wa`, `wresult` and `wctx` once from its own origin, and that POST, which
/// carries the cookie, opens the session.
#[tokio::test]
async fn the_sts_cross_site_post_is_reposted_from_our_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(dir.path(), "sts");
    let sts = Sts::start(&key, "saml20");
    let gateway = Gateway::start(&sts.metadata().await, "").await;
    let mut browser = Browser::new();
    let (to_sts, wctx) = gateway.begin(&mut browser).await;
    let auto_post = sign_in_at_sts(&mut browser, &sts, &to_sts).await;
    let posted = [
        ("wa".to_owned(), "wsignin1.0".to_owned()),
        ("wresult".to_owned(), hidden_input(&auto_post, "wresult")),
        ("wctx".to_owned(), wctx),
    ];
    let callback = format!("{}{CALLBACK_PATH}", gateway.base);

    // What the browser sends cross-site: the form, no cookie.
    let first = common::client()
        .post(&callback)
        .form(&posted)
        .send()
        .await
        .expect("cross-site POST");
    assert_eq!(first.status(), 200);
    let page = first.text().await.expect("re-post page");
    let again = common::hidden_fields(&page);
    for field in &posted {
        assert!(again.contains(field), "{} re-posted unchanged", field.0);
    }
    assert!(again.iter().any(|(k, _)| k == "passerelle_relance"));

    // The page's same-origin POST carries the pending cookie.
    let again: Vec<(&str, &str)> = again
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let back = browser.post_form(&callback, &again).await;
    assert_eq!(location(&back), "/pronote/professeur.html");
    let proxied = browser
        .get(&format!("{}/pronote/professeur.html", gateway.base))
        .await;
    assert_eq!(
        proxied.status(),
        200,
        "the session opens the teachers' space"
    );
}

/// `passerelle metadata` prints the relying party's metadata for the STS administrator: the realm,
/// the callback tokens are posted to, and the claims the mapping reads.
#[tokio::test]
async fn the_metadata_command_prints_the_relying_party_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(dir.path(), "sts");
    let sts = Sts::start(&key, "saml11");
    let gateway = Gateway::start(&sts.metadata().await, "").await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("metadata")
        .arg("--config")
        .arg(&gateway.config_path)
        .args(["--space", "professeur"])
        .output()
        .expect("passerelle metadata runs");
    assert!(output.status.success(), "{output:?}");
    let xml = String::from_utf8(output.stdout).expect("utf-8");
    assert!(xml.contains(&format!("entityID=\"{REALM}\"")), "{xml}");
    assert!(xml.contains("fed:ApplicationServiceType"), "{xml}");
    assert!(
        xml.contains(&format!("http://127.0.0.1:8080{CALLBACK_PATH}")),
        "{xml}"
    );
    assert!(
        xml.contains("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/dateofbirth"),
        "{xml}"
    );
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("metadata")
        .arg("--config")
        .arg(&gateway.config_path)
        .args(["--space", "professeur", "--delegation", "nope"])
        .output()
        .expect("passerelle metadata runs");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("« nope »"));
}

#[tokio::test]
async fn gateway_logout_signs_out_at_the_sts() {
    let (gateway, mut browser, sts) = log_in("saml11").await;
    let out = browser.get(&format!("{}/auth/logout", gateway.base)).await;
    let target = location(&out);
    assert!(
        target.starts_with(&format!("{}/wsfed?wa=wsignout1.0&", sts.base)),
        "{target}"
    );
    let done = browser.get(&target).await;
    assert_eq!(done.status(), 200);
    let again = browser
        .get(&format!("{}/pronote/professeur.html", gateway.base))
        .await;
    assert!(again.status().is_redirection(), "the session is gone");
}

#[tokio::test]
async fn signout_cleanup_from_the_sts_ends_the_session_at_once() {
    let (gateway, mut browser, _sts) = log_in("saml20").await;
    let cleanup = browser
        .get(&format!(
            "{}{CALLBACK_PATH}?wa=wsignoutcleanup1.0",
            gateway.base
        ))
        .await;
    assert_eq!(cleanup.status(), 200);
    let again = browser
        .get(&format!("{}/pronote/professeur.html", gateway.base))
        .await;
    assert!(again.status().is_redirection(), "the session is gone");
}

#[tokio::test]
async fn metadata_fetched_from_the_sts_url_lets_a_teacher_log_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(dir.path(), "sts");
    let sts = Sts::start(&key, "saml20");
    let url = format!(
        "{}/FederationMetadata/2007-06/FederationMetadata.xml",
        sts.base
    );
    let gateway = Gateway::start(&url, "").await;
    // The metadata is fetched in the background at start; until then the STS counts as unreachable.
    let mut browser = Browser::new();
    let page = format!("{}/pronote/professeur.html", gateway.base);
    let mut to_sts = String::new();
    for _ in 0..50 {
        let response = browser.get(&page).await;
        if response.status().is_redirection() {
            to_sts = location(&response);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(to_sts.starts_with(&sts.base), "{to_sts}");
    let wctx = url::Url::parse(&to_sts)
        .expect("sign-in URL")
        .query_pairs()
        .find(|(k, _)| k == "wctx")
        .map(|(_, v)| v.into_owned())
        .expect("wctx");
    log_in_at(&gateway, &mut browser, &sts, &to_sts, &wctx).await;
}
