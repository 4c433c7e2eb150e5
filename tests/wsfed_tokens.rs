//! Token verification on its own, with tokens the real STS signed (tests/peers/wsfed.sh): each
//! refusal has the reason it should have, and the STS metadata is read as PRONOTE's administrator
//! would see it (passive endpoint, signing certificate, offered claims).

mod common;
mod oidc_peer;
mod wsfed_peer;

use passerelle::auth::wsfed::token::verify;
use passerelle::auth::wsfed::{Settings, StsMetadata};
use wsfed_peer::{ISSUER, REALM, SigningKey, Sts, USER};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

async fn settings(key: &SigningKey) -> Settings {
    let sts = Sts::start(key, "saml11");
    let metadata = StsMetadata::parse(&sts.metadata().await).expect("STS metadata");
    assert_eq!(metadata.entity_id, ISSUER);
    assert_eq!(metadata.passive_endpoint, format!("{}/wsfed", sts.base));
    assert_eq!(metadata.signing_certs.len(), 1);
    assert!(
        metadata.claims_offered.iter().any(|c| c.uri
            == "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
            && c.display_name.as_deref() == Some("Surname")),
        "{:?}",
        metadata.claims_offered
    );
    Settings::new(REALM, metadata)
}

fn code(
    result: Result<passerelle::auth::wsfed::VerifiedToken, passerelle::auth::wsfed::WsFedError>,
) -> &'static str {
    match result {
        Ok(token) => panic!("accepted: {token:?}"),
        Err(err) => err.code(),
    }
}

#[tokio::test]
async fn genuine_tokens_of_both_versions_verify_and_carry_their_claims() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(dir.path(), "sts");
    let settings = settings(&key).await;
    for version in ["1.1", "2.0"] {
        let token = verify(&key.issue(version, REALM, 600), &settings, now()).expect(version);
        assert_eq!(token.issuer, ISSUER);
        assert_eq!(token.subject.as_deref(), Some(USER));
        assert_eq!(
            token.claims.get("http://schemas.xmlsoap.org/claims/Group"),
            ["Professeurs", "Utilisateurs du domaine"]
        );
        assert!(token.replay_until > now() && token.replay_until <= now() + 700);
    }
}

#[tokio::test]
async fn each_bad_token_is_refused_for_its_own_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(dir.path(), "sts");
    let attacker = SigningKey::generate(dir.path(), "attaquant");
    let settings = settings(&key).await;
    let token = key.issue("1.1", REALM, 600);
    let check = |wresult: &str| code(verify(wresult, &settings, now()));

    assert_eq!(
        check(&token.replace(">Professeurs<", ">Direction<")),
        "wsfed_signature"
    );
    assert_eq!(check(&attacker.issue("2.0", REALM, 600)), "wsfed_signature");
    assert_eq!(check(&key.issue("1.1", "urn:autre", 600)), "wsfed_audience");
    assert_eq!(check(&key.issue("2.0", "urn:autre", 600)), "wsfed_audience");
    assert_eq!(check(&key.issue("1.1", REALM, -7200)), "wsfed_expired");
    assert_eq!(check(&key.issue("2.0", REALM, -7200)), "wsfed_expired");
    assert_eq!(
        check(&format!("<!DOCTYPE t [<!ENTITY e \"x\">]>{token}")),
        "wsfed_dtd"
    );
    assert_eq!(
        check(&token.replacen(">prof.test<", ">prof.test<!---->.evil<", 1)),
        "wsfed_comment"
    );
    let start = token.find("<saml:Assertion").expect("assertion");
    let end = token.find("</saml:Assertion>").expect("end") + "</saml:Assertion>".len();
    let copy = &token[start..end];
    let twice = format!("{}{copy}{}", &token[..end], &token[end..]);
    assert_eq!(check(&twice), "wsfed_signature_shape", "duplicate ID");
    let other_id = copy.replacen("AssertionID=\"_", "AssertionID=\"_autre", 1);
    let twice = format!("{}{other_id}{}", &token[..end], &token[end..]);
    assert_eq!(check(&twice), "wsfed_token_shape", "two assertions");
    assert_eq!(check(&"x".repeat(300 * 1024)), "wsfed_too_large");
    // The clock matters too: a genuine token is refused once it has lived too long.
    assert_eq!(
        code(verify(&token, &settings, now() + 3 * 3600)),
        "wsfed_expired"
    );
}

#[tokio::test]
async fn pinned_thumbprints_must_match_a_metadata_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(dir.path(), "sts");
    let mut settings = settings(&key).await;
    let der = settings.sts.signing_certs[0].clone();
    let thumbprint = hex::encode(openssl::sha::sha256(&der));
    let mut pinned = settings.sts.clone();
    pinned
        .pin_thumbprints(&[thumbprint])
        .expect("matching thumbprint");
    assert_eq!(pinned.signing_certs, vec![der]);
    assert!(settings.sts.pin_thumbprints(&["00".repeat(32)]).is_err());
}

#[tokio::test]
async fn sha1_signatures_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate(dir.path(), "sts");
    let mut settings = settings(&key).await;
    for version in ["1.1", "2.0"] {
        let token = key.issue_spec(serde_json::json!({
            "version": version, "realm": REALM, "lifetime": 600, "sha1": true
        }));
        assert!(token.contains("xmldsig#rsa-sha1"), "{token}");
        assert_eq!(code(verify(&token, &settings, now())), "wsfed_algorithm");
        settings.allow_sha1 = true;
        verify(&token, &settings, now()).expect("SHA-1 accepted when allowed");
        settings.allow_sha1 = false;
    }
}
