//! The WS-Federation attack suite: each case is a token the real STS signed (auth0's `wsfed` /
//! node-saml, see tests/peers/wsfed.sh), then altered the way an attacker would, or signed with the
//! wrong key, for the wrong realm, already expired, replayed, posted without its `wctx`, or wrapped in
//! a DTD. Every one must be refused with the French error page, open no session and leave the gateway
//! serving.

mod common;
mod oidc_peer;
mod wsfed_peer;

use oidc_peer::Browser;
use wsfed_peer::{Gateway, REALM, SigningKey, Sts};

/// A gateway trusting a running STS, a browser with a login pending, and the STS's signing key.
struct Scene {
    gateway: Gateway,
    browser: Browser,
    wctx: String,
    key: SigningKey,
    dir: tempfile::TempDir,
    _sts: Sts,
}

async fn scene() -> Scene {
    scene_with("").await
}

async fn scene_with(top_level: &str) -> Scene {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(dir.path(), "sts");
    let sts = Sts::start(&key, "saml11");
    let gateway = Gateway::start_with(&sts.metadata().await, "", top_level).await;
    let mut browser = Browser::new();
    let (_, wctx) = gateway.begin(&mut browser).await;
    Scene {
        gateway,
        browser,
        wctx,
        key,
        dir,
        _sts: sts,
    }
}

impl Scene {
    /// Post `wresult` with the pending login's `wctx` and expect a refusal without session.
    async fn refused(&mut self, wresult: &str) {
        let wctx = self.wctx.clone();
        self.refused_with(wresult, Some(&wctx)).await;
    }

    async fn refused_with(&mut self, wresult: &str, wctx: Option<&str>) {
        let response = self
            .gateway
            .post_token(&mut self.browser, wresult, wctx)
            .await;
        assert_eq!(response.status(), 403, "the token must be refused");
        assert!(
            common::set_cookie(&response, "passerelle_session").is_none_or(|v| v.is_empty()),
            "a refused token opens no session"
        );
        let page = response.text().await.expect("error page");
        assert!(page.contains("Recommencez la connexion"), "{page}");
        // Still serving, still without a session: the space sends the browser back to the STS.
        let (to_sts, wctx) = self.gateway.begin(&mut self.browser).await;
        assert!(to_sts.contains("wa=wsignin1.0"), "{to_sts}");
        self.wctx = wctx;
    }

    /// Post `wresult` with the pending login's `wctx` and expect the login to succeed.
    async fn accepted(&mut self, wresult: &str) {
        let wctx = self.wctx.clone();
        let response = self
            .gateway
            .post_token(&mut self.browser, wresult, Some(&wctx))
            .await;
        assert_eq!(response.status(), 303, "the genuine token is accepted");
        assert!(common::set_cookie(&response, "passerelle_session").is_some());
    }
}

/// The signed assertion of a token, its start and end offsets.
fn assertion_bounds(token: &str) -> (usize, usize) {
    let start = token.find("<saml:Assertion").expect("assertion");
    let end = token.find("</saml:Assertion>").expect("assertion end") + "</saml:Assertion>".len();
    (start, end)
}

/// An unsigned copy of the signed assertion naming someone else, with another ID.
fn evil_copy(signed: &str) -> String {
    let sig_start = signed.find("<Signature").expect("signature");
    let sig_end = signed.find("</Signature>").expect("signature end") + "</Signature>".len();
    let unsigned = format!("{}{}", &signed[..sig_start], &signed[sig_end..]);
    let id_start = unsigned.find("AssertionID=\"").expect("id") + "AssertionID=\"".len();
    let id_end = id_start + unsigned[id_start..].find('"').expect("id end");
    format!("{}_evil{}", &unsigned[..id_start], &unsigned[id_end..])
        .replace(">prof.test<", ">admin.test<")
}

#[tokio::test]
async fn tampered_claim_is_refused() {
    let mut scene = scene().await;
    let token = scene.key.issue("1.1", REALM, 600);
    assert!(token.contains(">Professeurs<"));
    scene
        .refused(&token.replace(">Professeurs<", ">Direction<"))
        .await;
    scene
        .refused(&token.replace(">prof.test<", ">admin.test<"))
        .await;
    let (start, end) = assertion_bounds(&token);
    let signed = &token[start..end];
    let sig_start = signed.find("<Signature").expect("signature");
    let sig_end = signed.find("</Signature>").expect("end") + "</Signature>".len();
    let unsigned = format!("{}{}", &signed[..sig_start], &signed[sig_end..]);
    scene
        .refused(&format!("{}{unsigned}{}", &token[..start], &token[end..]))
        .await;
    scene.accepted(&token).await;
}

#[tokio::test]
async fn wrapped_assertion_is_refused() {
    // Five refusals in a row would suspend the test's own address: it is privileged here.
    let mut scene = scene_with("[guard]\nprivileged = [\"127.0.0.1/32\"]\n").await;
    let token = scene.key.issue("1.1", REALM, 600);
    let (start, end) = assertion_bounds(&token);
    let (before, signed, after) = (&token[..start], &token[start..end], &token[end..]);
    let evil = evil_copy(signed);
    let evil_body_end = evil.rfind("</saml:Assertion>").expect("end");
    let variants = [
        // The evil assertion first, the signed one after it.
        format!("{before}{evil}{signed}{after}"),
        // The signed one last.
        format!("{before}{signed}{evil}{after}"),
        // The signed one hidden in the evil one's Advice.
        format!(
            "{before}{}<saml:Advice>{signed}</saml:Advice></saml:Assertion>{after}",
            &evil[..evil_body_end]
        ),
        // The signed one moved out of RequestedSecurityToken into an extension of the RSTR.
        format!(
            "{before}{evil}{}",
            after.replacen(
                "</t:RequestedSecurityToken>",
                &format!("</t:RequestedSecurityToken><t:Extension>{signed}</t:Extension>"),
                1
            )
        ),
        // The evil one alone, carrying the genuine signature (whose reference names the genuine ID).
        format!(
            "{before}{}{after}",
            signed.replace(">prof.test<", ">admin.test<")
        ),
    ];
    for variant in &variants {
        scene.refused(variant).await;
    }
    scene.accepted(&token).await;
}

#[tokio::test]
async fn token_signed_with_another_certificate_is_refused() {
    let mut scene = scene().await;
    let attacker = SigningKey::generate(scene.dir.path(), "attaquant");
    scene.refused(&attacker.issue("1.1", REALM, 600)).await;
    scene.refused(&attacker.issue("2.0", REALM, 600)).await;
}

#[tokio::test]
async fn token_for_another_realm_is_refused() {
    let mut scene = scene().await;
    scene
        .refused(&scene.key.issue("1.1", "urn:autre:application", 600))
        .await;
    scene
        .refused(&scene.key.issue("2.0", "urn:autre:application", 600))
        .await;
}

#[tokio::test]
async fn expired_token_is_refused() {
    let mut scene = scene().await;
    scene.refused(&scene.key.issue("1.1", REALM, -7200)).await;
    scene.refused(&scene.key.issue("2.0", REALM, -7200)).await;
}

#[tokio::test]
async fn replayed_token_is_refused() {
    let mut scene = scene().await;
    let token = scene.key.issue("2.0", REALM, 600);
    scene.accepted(&token).await;
    // A new login from another browser, a fresh wctx: the same token again.
    scene.browser = Browser::new();
    let (_, wctx) = scene.gateway.begin(&mut scene.browser).await;
    scene.wctx = wctx;
    scene.refused(&token).await;
}

#[tokio::test]
async fn missing_or_wrong_wctx_is_refused() {
    let mut scene = scene().await;
    let token = scene.key.issue("1.1", REALM, 600);
    scene.refused_with(&token, None).await;
    scene.refused_with(&token, Some("un-autre-contexte")).await;
    // The token itself was good (and not spent): with the right wctx it opens the session.
    scene.accepted(&token).await;
}

#[tokio::test]
async fn dtd_payload_is_refused() {
    let mut scene = scene().await;
    let token = scene.key.issue("1.1", REALM, 600);
    let entity = token.replacen(">prof.test<", ">&qui;<", 1);
    scene
        .refused(&format!(
            "<?xml version=\"1.0\"?><!DOCTYPE t [<!ENTITY qui \"prof.test\">]>{entity}"
        ))
        .await;
    scene
        .refused(&format!(
            "<!DOCTYPE t [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
            token.replacen(">Claire<", ">&xxe;<", 1)
        ))
        .await;
    let laughs = "<!DOCTYPE t [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>";
    scene.refused(&format!("{laughs}{token}")).await;
}

#[tokio::test]
async fn rejected_tokens_are_reported_to_the_guard() {
    let mut scene = scene_with("[guard]\nmax_failures = 2\npair_max_failures = 1\n").await;
    let token = scene.key.issue("1.1", REALM, 600);
    let forged = token.replace(">Professeurs<", ">Direction<");
    let wctx = scene.wctx.clone();
    let first = scene
        .gateway
        .post_token(&mut scene.browser, &forged, Some(&wctx))
        .await;
    assert_eq!(first.status(), 403);
    let (_, wctx) = scene.gateway.begin(&mut scene.browser).await;
    let second = scene
        .gateway
        .post_token(&mut scene.browser, &forged, Some(&wctx))
        .await;
    assert_eq!(second.status(), 403);
    // Two forged tokens: the address is suspended and is not even sent to the STS any more.
    let page = scene
        .browser
        .get(&format!("{}/pronote/professeur.html", scene.gateway.base))
        .await;
    assert!(!page.status().is_redirection(), "{}", page.status());
    assert!(page.headers().contains_key("retry-after"));
}
