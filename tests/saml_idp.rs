//! Against a real IdP: pysaml2's IdP (tests/peers/saml_idp.py, installed by tests/peers/saml.sh)
//! answers the SP's signed AuthnRequests over HTTP on loopback, and the SP verifies what it returns:
//! a signed assertion, a signed response with an encrypted assertion, and EduConnect-shaped attributes.

mod saml_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use passerelle::auth::saml::educonnect::{self, Profile};
use passerelle::auth::saml::metadata::sp_metadata;
use passerelle::auth::saml::{IdpMetadata, ServiceProvider, VerifiedAssertion, request};
use passerelle::space::SpaceId;
use saml_support::*;

struct Idp {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_idp() -> Idp {
    let python = std::env::var("PASSERELLE_PYSAML2_PYTHON")
        .expect("PASSERELLE_PYSAML2_PYTHON unset: run tests/peers/saml.sh (scripts/test.sh does)");
    let script = std::env::var("PASSERELLE_PYSAML2_IDP").expect("PASSERELLE_PYSAML2_IDP unset");
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("sp.xml");
    std::fs::write(&md, sp_metadata(&settings())).unwrap();
    let mut child = Command::new(python)
        .args([&script, IDP_ENTITY])
        .arg(fixture("idp.key"))
        .arg(fixture("idp.crt"))
        .arg(&md)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .expect("IdP prints its port")
        .parse()
        .unwrap();
    Idp {
        child,
        port,
        _dir: dir,
    }
}

/// An SP whose IdP metadata points at the given mode's SSO endpoint of the running pysaml2 IdP.
fn sp_for(idp: &Idp, mode: &str) -> ServiceProvider {
    let xml = idp_metadata_xml("idp.crt").replace(
        "https://idp.test/sso",
        &format!("http://127.0.0.1:{}/sso/{mode}", idp.port),
    );
    let mut s = settings();
    s.idp = IdpMetadata::parse(&xml, Some(IDP_ENTITY), now()).unwrap();
    ServiceProvider::new(s).unwrap()
}

/// Sends the browser to the IdP with a fresh AuthnRequest and posts its answer back to the SP.
async fn login(idp: &Idp, mode: &str) -> (VerifiedAssertion, String) {
    let sp = sp_for(idp, mode);
    let out = request::authn_request(sp.settings(), "pending-state-1", false, now()).unwrap();
    let page = reqwest::get(&out.url).await.unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert!(status.is_success(), "IdP refused the AuthnRequest: {html}");
    let field = |name: &str| {
        let marker = format!(r#"name="{name}" value=""#);
        let start = html
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {html}"))
            + marker.len();
        html[start..start + html[start..].find('"').unwrap()].to_string()
    };
    assert_eq!(field("RelayState"), "pending-state-1");
    let saml_response = field("SAMLResponse");
    let assertion = sp
        .verify_post(&saml_response, Some(&out.id), now())
        .unwrap();
    (assertion, saml_response)
}

#[tokio::test]
async fn pysaml2_signed_assertion_is_verified() {
    let idp = start_idp();
    let (a, raw) = login(&idp, "signed").await;
    assert_eq!(a.first("urn:oid:2.5.4.4"), Some("Martin"));
    assert!(a.name_id.is_some() && a.session_index.is_some());
    // A second SP instance (another request) must refuse the same response: InResponseTo is bound.
    let sp = sp_for(&idp, "signed");
    assert_eq!(
        sp.verify_post(&raw, Some("_other-request"), now())
            .unwrap_err()
            .code(),
        "saml_in_response_to"
    );
}

#[tokio::test]
async fn pysaml2_encrypted_assertion_is_decrypted() {
    let idp = start_idp();
    let (a, raw) = login(&idp, "encrypted").await;
    use base64::Engine;
    let xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap(),
    )
    .unwrap();
    assert!(
        xml.contains("EncryptedAssertion") && !xml.contains("Martin"),
        "assertion travels encrypted"
    );
    assert_eq!(a.first("urn:oid:2.5.4.4"), Some("Martin"));
}

#[tokio::test]
async fn pysaml2_educonnect_shaped_pupil_maps_and_is_profiled() {
    let idp = start_idp();
    let (a, _) = login(&idp, "educonnect-eleve").await;
    let id = educonnect::identity_for_space(&a, SpaceId::Eleve).unwrap();
    assert_eq!(id.profile, Profile::Eleve);
    assert_eq!(id.subject, "a1".repeat(48));
    assert_eq!(id.attributes["FrEduCtEleveUAI"], ["0254222C"]);
    assert_eq!(id.attributes["FrEduCtDateNaissance"], ["2010-04-12"]);
    assert_eq!(
        id.logout_return.as_deref(),
        Some("https://educonnect.education.gouv.fr/Logout")
    );
    assert_eq!(
        educonnect::identity_for_space(&a, SpaceId::Parent)
            .unwrap_err()
            .code(),
        "saml_profile_mismatch"
    );
}

#[tokio::test]
async fn pysaml2_educonnect_shaped_parent_opens_only_the_parent_space() {
    let idp = start_idp();
    let (a, _) = login(&idp, "educonnect-resp").await;
    assert_eq!(
        educonnect::identity_for_space(&a, SpaceId::Parent)
            .unwrap()
            .attributes["givenName"],
        ["Claire"]
    );
    assert!(educonnect::identity_for_space(&a, SpaceId::Eleve).is_err());
}

// --- the delegation, through the shared trait and a Redis replay cache --------------------------

use passerelle::auth::delegation::{Context, Delegation, Incoming, Outgoing, ReplayCache};
use passerelle::auth::saml::SamlDelegation;
use passerelle::session::{AnyStore, RedisStore};

fn redis_replay() -> ReplayCache {
    let url = std::env::var("PASSERELLE_TEST_REDIS")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let prefix = format!("test-saml-{}", uuid::Uuid::new_v4().simple());
    let store = RedisStore::new(&url, &prefix, passerelle::clock::Clock::System)
        .expect("Redis must be reachable");
    ReplayCache::new(AnyStore::Redis(store))
}

#[tokio::test]
async fn saml_delegation_logs_an_educonnect_pupil_in_and_refuses_the_replay() {
    let idp = start_idp();
    let mut s = sp_for(&idp, "educonnect-eleve").settings().clone();
    s.acs_url = ACS.into();
    let delegation = SamlDelegation::new(s, true, None).unwrap();
    let replay = redis_replay();
    let ctx = Context {
        space: SpaceId::Eleve,
        delegation: "educonnect",
        callback_url: ACS,
        state: "pending-state-from-the-flow",
        client_ip: [127, 0, 0, 1].into(),
        now: now() as u64,
        replay: &replay,
    };
    let Outgoing::Redirect(url) = delegation.start(&ctx).await.unwrap();
    let html = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let field = |name: &str| {
        let marker = format!(r#"name="{name}" value=""#);
        let start = html
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {html}"))
            + marker.len();
        html[start..start + html[start..].find('"').unwrap()].to_string()
    };
    let incoming = Incoming {
        post: true,
        query: vec![],
        form: vec![
            ("SAMLResponse".into(), field("SAMLResponse")),
            ("RelayState".into(), field("RelayState")),
        ],
    };
    let done = delegation.callback(&ctx, &incoming).await.unwrap();
    assert_eq!(done.identity.login, "a1".repeat(48));
    assert_eq!(done.identity.fields.prenom.as_deref(), Some("Léa"));
    assert_eq!(
        done.identity.fields.date_naissance.as_deref(),
        Some("12/04/2010")
    );
    assert!(done.logout_index.is_some());

    let replayed = delegation.callback(&ctx, &incoming).await.unwrap_err();
    assert_eq!(replayed.code(), "REPLAYED_TICKET");
    assert!(replayed.is_user_fault());

    // Same response, another pending login (another state): InResponseTo no longer matches.
    let other = Context {
        state: "another-state",
        ..ctx
    };
    let mut moved = incoming.clone();
    moved.form[1].1 = "another-state".into();
    let err = delegation.callback(&other, &moved).await.unwrap_err();
    assert!(err.is_user_fault(), "{err:?}");

    // A pupil logging in on the parent space is refused, and not counted as an attack.
    let parent = Context {
        space: SpaceId::Parent,
        state: "parent-state",
        ..ctx
    };
    let Outgoing::Redirect(url) = delegation.start(&parent).await.unwrap();
    let html = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let marker = r#"name="SAMLResponse" value=""#;
    let start = html.find(marker).unwrap() + marker.len();
    let response = html[start..start + html[start..].find('"').unwrap()].to_string();
    let incoming = Incoming {
        post: true,
        query: vec![],
        form: vec![
            ("SAMLResponse".into(), response),
            ("RelayState".into(), "parent-state".into()),
        ],
    };
    let err = delegation.callback(&parent, &incoming).await.unwrap_err();
    assert_eq!(err.code(), "INCOMPLETE_IDENTITY");
    assert!(!err.is_user_fault());
}

#[tokio::test]
async fn pysaml2_metadata_is_fetched_and_trusted() {
    let idp = start_idp();
    let url = format!("http://127.0.0.1:{}/metadata", idp.port);
    let md = IdpMetadata::fetch(&url, Some(IDP_ENTITY), now())
        .await
        .unwrap();
    assert_eq!(md.entity_id, IDP_ENTITY);
    assert!(
        md.sso_redirect
            .starts_with(&format!("http://127.0.0.1:{}/sso/", idp.port))
    );
    assert!(md.valid_until.is_some_and(|t| t > now()));
    assert_eq!(
        md.signing_certs,
        settings().idp.signing_certs,
        "the certificate in idp.crt"
    );
    // Expired by our clock two days later; refused for another entity id; plain http off loopback.
    assert_eq!(
        IdpMetadata::fetch(&url, Some(IDP_ENTITY), now() + 2 * 86400)
            .await
            .unwrap_err()
            .code(),
        "saml_metadata_expired"
    );
    assert!(
        IdpMetadata::fetch(&url, Some("https://other.test/idp"), now())
            .await
            .is_err()
    );
    assert!(
        IdpMetadata::fetch("http://idp.example.org/metadata", None, now())
            .await
            .is_err()
    );
}
