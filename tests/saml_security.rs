//! The SAML response path against a signing IdP made of real `xmlsec1` signatures: the good responses
//! pass, and every attack of the security suite is refused with its own error, without panicking.
//! The XSW cases follow the eight wrapping variants of "On Breaking SAML" (Somorovsky et al., 2012).

mod saml_support;

use passerelle::auth::saml::educonnect::{self, Profile};
use passerelle::auth::saml::{IdpMetadata, SamlError, ServiceProvider, request, slo};
use passerelle::space::SpaceId;
use saml_support::*;

fn verify(xml: &str) -> Result<passerelle::auth::saml::VerifiedAssertion, SamlError> {
    sp().verify_xml(xml, Some(REQUEST_ID), now())
}

fn assert_refused(
    result: Result<passerelle::auth::saml::VerifiedAssertion, SamlError>,
    code: &str,
) {
    match result {
        Ok(a) => panic!("accepted, expected {code}: {a:?}"),
        Err(e) => {
            assert_eq!(e.code(), code, "{e}");
            assert!(
                e.is_user_fault() || code == "saml_decrypt",
                "{code} should count for the guard"
            );
        }
    }
}

fn extract<'a>(xml: &'a str, open: &str, close: &str) -> &'a str {
    let start = xml.find(open).expect("open tag");
    let end = xml[start..].find(close).expect("close tag") + start + close.len();
    &xml[start..end]
}

fn signed_assertion_response() -> (Fixture, String) {
    let f = Fixture::default();
    let xml = f.build();
    (f, xml)
}

/// An unsigned assertion for "admin", the identity an attacker wants.
fn evil_assertion() -> String {
    Fixture {
        name_id: "admin@idp.test".into(),
        sign: Sign::Nothing,
        ..Fixture::default()
    }
    .assertion_xml()
}

fn response_shell(id: &str, children: &str) -> String {
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{}" Destination="{ACS}" InResponseTo="{REQUEST_ID}"><saml:Issuer>{IDP_ENTITY}</saml:Issuer>{children}</samlp:Response>"#,
        instant(now())
    )
}

const STATUS: &str = r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>"#;

// --- good responses -----------------------------------------------------------------------------

#[test]
fn signed_assertion_is_accepted_and_read() {
    let (f, xml) = signed_assertion_response();
    let a = verify(&xml).unwrap();
    assert_eq!(a.id, f.assertion_id);
    assert_eq!(a.name_id.as_deref(), Some("alice@idp.test"));
    assert_eq!(a.session_index.as_deref(), Some("_session1"));
    assert_eq!(a.in_response_to.as_deref(), Some(REQUEST_ID));
    assert_eq!(a.first("urn:oid:2.5.4.4"), Some("Martin"));
    assert!(a.replay_until >= f.not_on_or_after);
}

#[test]
fn signed_response_is_accepted() {
    let xml = Fixture {
        sign: Sign::Response,
        ..Fixture::default()
    }
    .build();
    assert_eq!(
        verify(&xml).unwrap().name_id.as_deref(),
        Some("alice@idp.test")
    );
}

#[test]
fn base64_post_field_is_accepted() {
    let b64 = Fixture::default().build_base64();
    assert!(sp().verify_post(&b64, Some(REQUEST_ID), now()).is_ok());
}

#[test]
fn encrypted_assertion_under_signed_response_is_decrypted() {
    let f = Fixture {
        sign: Sign::Response,
        encrypt_for: Some("sp"),
        ..Fixture::default()
    };
    let xml = f.build();
    assert!(xml.contains("EncryptedData") && !xml.contains("alice@idp.test"));
    let a = verify(&xml).unwrap();
    assert_eq!(a.id, f.assertion_id);
    assert_eq!(a.name_id.as_deref(), Some("alice@idp.test"));
}

#[test]
fn rollover_key_decrypts_with_the_second_key() {
    let mut s = settings();
    s.encryption_keys = vec![key_pair("sp2"), key_pair("sp")];
    let sp = ServiceProvider::new(s).unwrap();
    for cert in ["sp", "sp2"] {
        let xml = Fixture {
            sign: Sign::Response,
            encrypt_for: Some(cert),
            ..Fixture::default()
        }
        .build();
        assert!(
            sp.verify_xml(&xml, Some(REQUEST_ID), now()).is_ok(),
            "encrypted for {cert}"
        );
    }
}

#[test]
fn assertion_encrypted_for_another_key_is_refused() {
    let xml = Fixture {
        sign: Sign::Response,
        encrypt_for: Some("attacker"),
        ..Fixture::default()
    }
    .build();
    let err = verify(&xml).unwrap_err();
    assert_eq!(err.code(), "saml_decrypt");
    assert!(!err.is_user_fault());
}

#[test]
fn encrypted_assertion_without_signed_response_is_refused() {
    let f = Fixture {
        sign: Sign::Nothing,
        encrypt_for: Some("sp"),
        ..Fixture::default()
    };
    assert_refused(verify(&f.build()), "saml_unsigned");
}

#[test]
fn unsolicited_response_is_accepted_when_opted_in() {
    let mut s = settings();
    s.allow_unsolicited = true;
    let sp = ServiceProvider::new(s).unwrap();
    let xml = Fixture {
        in_response_to: None,
        ..Fixture::default()
    }
    .build();
    assert!(sp.verify_xml(&xml, None, now()).is_ok());
}

#[test]
fn sha1_is_accepted_only_with_the_legacy_opt_in() {
    let xml = Fixture {
        sha1: true,
        ..Fixture::default()
    }
    .build();
    let mut s = settings();
    s.allow_sha1 = true;
    assert!(
        ServiceProvider::new(s)
            .unwrap()
            .verify_xml(&xml, Some(REQUEST_ID), now())
            .is_ok()
    );
}

// --- the eight XSW variants ---------------------------------------------------------------------

/// XSW1: a new unsigned Response (evil assertion) carries the original signature, with the original
/// signed Response moved into it (`ds:Object`).
#[test]
fn xsw1_response_wrapped_in_signature_object_is_refused() {
    let orig = Fixture {
        sign: Sign::Response,
        ..Fixture::default()
    }
    .build();
    let sig = extract(&orig, "<ds:Signature", "</ds:Signature>");
    let orig_unsigned = orig.replace(sig, "");
    let wrapped_sig = sig.replace(
        "</ds:Signature>",
        &format!("<ds:Object>{orig_unsigned}</ds:Object></ds:Signature>"),
    );
    let evil = response_shell(
        "_evil_response",
        &format!("{wrapped_sig}{STATUS}{}", evil_assertion()),
    );
    assert_refused(verify(&evil), "saml_assertion_count");
}

/// XSW2: as XSW1 with the original Response detached, a sibling before the signature.
#[test]
fn xsw2_detached_original_response_is_refused() {
    let orig = Fixture {
        sign: Sign::Response,
        ..Fixture::default()
    }
    .build();
    let sig = extract(&orig, "<ds:Signature", "</ds:Signature>");
    let orig_unsigned = orig.replace(sig, "");
    let evil = response_shell(
        "_evil_response",
        &format!("{orig_unsigned}{sig}{STATUS}{}", evil_assertion()),
    );
    assert_refused(verify(&evil), "saml_assertion_count");
}

/// XSW3: the evil assertion inserted before the signed one.
#[test]
fn xsw3_evil_assertion_before_signed_one_is_refused() {
    let (_, orig) = signed_assertion_response();
    let signed = extract(&orig, "<saml:Assertion", "</saml:Assertion>");
    let evil = response_shell(
        "_evil_response",
        &format!("{STATUS}{}{signed}", evil_assertion()),
    );
    assert_refused(verify(&evil), "saml_assertion_count");
}

/// XSW4: the evil assertion wraps the signed one.
#[test]
fn xsw4_evil_assertion_wrapping_signed_one_is_refused() {
    let (_, orig) = signed_assertion_response();
    let signed = extract(&orig, "<saml:Assertion", "</saml:Assertion>");
    let wrapper =
        evil_assertion().replace("</saml:Assertion>", &format!("{signed}</saml:Assertion>"));
    let evil = response_shell("_evil_response", &format!("{STATUS}{wrapper}"));
    assert_refused(verify(&evil), "saml_assertion_count");
}

/// XSW5: the signature moved into the evil assertion, the original assertion (unsigned) appended.
#[test]
fn xsw5_signature_moved_into_evil_assertion_is_refused() {
    let (_, orig) = signed_assertion_response();
    let signed = extract(&orig, "<saml:Assertion", "</saml:Assertion>");
    let sig = extract(signed, "<ds:Signature", "</ds:Signature>");
    let original = signed.replace(sig, "");
    let evil_a = evil_assertion().replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig}"), 1);
    let evil = response_shell("_evil_response", &format!("{STATUS}{evil_a}{original}"));
    assert_refused(verify(&evil), "saml_assertion_count");
}

/// XSW6: as XSW5 with the original assertion inside the moved signature's `ds:Object`.
#[test]
fn xsw6_original_assertion_inside_signature_object_is_refused() {
    let (_, orig) = signed_assertion_response();
    let signed = extract(&orig, "<saml:Assertion", "</saml:Assertion>");
    let sig = extract(signed, "<ds:Signature", "</ds:Signature>");
    let original = signed.replace(sig, "");
    let moved = sig.replace(
        "</ds:Signature>",
        &format!("<ds:Object>{original}</ds:Object></ds:Signature>"),
    );
    let evil_a = evil_assertion().replacen("</saml:Issuer>", &format!("</saml:Issuer>{moved}"), 1);
    let evil = response_shell("_evil_response", &format!("{STATUS}{evil_a}"));
    assert_refused(verify(&evil), "saml_assertion_count");
}

/// XSW7: the signed assertion hidden in `samlp:Extensions`, the evil one in its place.
#[test]
fn xsw7_signed_assertion_in_extensions_is_refused() {
    let (_, orig) = signed_assertion_response();
    let signed = extract(&orig, "<saml:Assertion", "</saml:Assertion>");
    let evil = response_shell(
        "_evil_response",
        &format!(
            "<samlp:Extensions>{signed}</samlp:Extensions>{STATUS}{}",
            evil_assertion()
        ),
    );
    assert_refused(verify(&evil), "saml_assertion_count");
}

/// XSW8: the evil assertion carries a signature whose `ds:Object` holds the complete signed original.
#[test]
fn xsw8_signed_assertion_inside_evil_signature_object_is_refused() {
    let (_, orig) = signed_assertion_response();
    let signed = extract(&orig, "<saml:Assertion", "</saml:Assertion>");
    let sig = extract(signed, "<ds:Signature", "</ds:Signature>");
    let moved = sig.replace(
        "</ds:Signature>",
        &format!("<ds:Object>{signed}</ds:Object></ds:Signature>"),
    );
    let evil_a = evil_assertion().replacen("</saml:Issuer>", &format!("</saml:Issuer>{moved}"), 1);
    let evil = response_shell("_evil_response", &format!("{STATUS}{evil_a}"));
    assert_refused(verify(&evil), "saml_assertion_count");
}

/// A single-assertion wrapping that the count cannot see: the signature of the Response points at
/// another element. The Reference check catches it.
#[test]
fn signature_referencing_another_element_is_refused() {
    let f = Fixture {
        sign: Sign::Response,
        ..Fixture::default()
    };
    let orig = f.build();
    let tampered = orig.replacen(&format!("ID=\"{}\"", f.response_id), "ID=\"_other\"", 1);
    assert_refused(verify(&tampered), "saml_signature_shape");
}

// --- the other attacks --------------------------------------------------------------------------

#[test]
fn comment_injection_in_name_id_is_refused() {
    let xml = Fixture {
        name_id: "admin@idp.test.evil.net".into(),
        ..Fixture::default()
    }
    .build();
    let injected = xml.replace("admin@idp.test.evil.net", "admin@idp.test<!---->.evil.net");
    assert_refused(verify(&injected), "saml_comment");
}

#[test]
fn modified_name_id_is_refused() {
    let (_, xml) = signed_assertion_response();
    assert_refused(
        verify(&xml.replace("alice@idp.test", "admin@idp.test")),
        "saml_signature",
    );
}

#[test]
fn removed_signature_is_refused() {
    let (_, xml) = signed_assertion_response();
    let sig = extract(&xml, "<ds:Signature", "</ds:Signature>");
    assert_refused(verify(&xml.replace(sig, "")), "saml_unsigned");
}

#[test]
fn signature_by_another_key_is_refused() {
    let xml = Fixture {
        key: "attacker",
        ..Fixture::default()
    }
    .build();
    assert_refused(verify(&xml), "saml_signature");
}

#[test]
fn sha1_signature_is_refused_by_default() {
    let xml = Fixture {
        sha1: true,
        ..Fixture::default()
    }
    .build();
    assert_refused(verify(&xml), "saml_algorithm");
}

#[test]
fn expired_assertion_is_refused() {
    let t = now() - 3600;
    let xml = Fixture {
        now: t,
        not_before: t - 30,
        not_on_or_after: t + 300,
        ..Fixture::default()
    }
    .build();
    assert_refused(verify(&xml), "saml_expired");
}

#[test]
fn expired_assertion_is_refused_by_our_clock_too() {
    // Issued now for samael's system clock, but our clock (the gateway's) is an hour later.
    let xml = Fixture::default().build();
    assert_refused(
        sp().verify_xml(&xml, Some(REQUEST_ID), now() + 3600),
        "saml_expired",
    );
}

#[test]
fn not_yet_valid_assertion_is_refused() {
    let t = now() + 3600;
    let xml = Fixture {
        now: t,
        not_before: t - 30,
        not_on_or_after: t + 300,
        ..Fixture::default()
    }
    .build();
    assert_refused(verify(&xml), "saml_not_yet_valid");
}

#[test]
fn wrong_audience_is_refused() {
    let xml = Fixture {
        audience: "https://other-sp.test".into(),
        ..Fixture::default()
    }
    .build();
    assert_refused(verify(&xml), "saml_audience");
}

#[test]
fn wrong_destination_is_refused() {
    let xml = Fixture {
        destination: "https://other-sp.test/acs".into(),
        ..Fixture::default()
    }
    .build();
    assert_refused(verify(&xml), "saml_destination");
}

#[test]
fn wrong_recipient_is_refused() {
    let xml = Fixture {
        recipient: "https://other-sp.test/acs".into(),
        ..Fixture::default()
    }
    .build();
    assert_refused(verify(&xml), "saml_recipient");
}

#[test]
fn unknown_in_response_to_is_refused() {
    let (_, xml) = signed_assertion_response();
    assert_refused(
        sp().verify_xml(&xml, Some("_another-request"), now()),
        "saml_in_response_to",
    );
}

#[test]
fn unsolicited_response_is_refused_by_default() {
    let xml = Fixture {
        in_response_to: None,
        ..Fixture::default()
    }
    .build();
    assert_refused(sp().verify_xml(&xml, None, now()), "saml_unsolicited");
}

#[test]
fn wrong_issuer_is_refused() {
    let xml = Fixture {
        issuer: "https://evil-idp.test/idp".into(),
        ..Fixture::default()
    }
    .build();
    let err = verify(&xml).unwrap_err();
    assert!(
        matches!(err.code(), "saml_issuer" | "saml_signature"),
        "{err}"
    );
}

#[test]
fn dtd_and_external_entity_are_refused() {
    let (_, xml) = signed_assertion_response();
    let xxe = format!(
        "<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        xml.replace("alice@idp.test", "&xxe;")
    );
    assert_refused(verify(&xxe), "saml_dtd");
}

#[test]
fn two_assertions_are_refused() {
    let (_, xml) = signed_assertion_response();
    let signed = extract(&xml, "<saml:Assertion", "</saml:Assertion>").to_string();
    let doubled = xml.replace(&signed, &format!("{signed}{signed}"));
    let err = verify(&doubled).unwrap_err();
    assert!(
        matches!(err.code(), "saml_assertion_count" | "saml_signature_shape"),
        "{err}"
    );
}

#[test]
fn huge_input_is_refused() {
    let huge = "A".repeat(20 * 1024 * 1024);
    assert_refused(
        sp().verify_post(&huge, Some(REQUEST_ID), now()),
        "saml_too_large",
    );
    let (_, xml) = signed_assertion_response();
    let padded = xml.replace(
        "<samlp:Status>",
        &format!(
            "<samlp:Extensions>{}</samlp:Extensions><samlp:Status>",
            "<x/>".repeat(100_000)
        ),
    );
    assert_refused(verify(&padded), "saml_too_large");
}

#[test]
fn garbage_never_panics() {
    let sp = sp();
    let (_, xml) = signed_assertion_response();
    for cut in (0..xml.len()).step_by(97) {
        if let Some(prefix) = xml.get(..cut) {
            assert!(sp.verify_xml(prefix, Some(REQUEST_ID), now()).is_err());
        }
    }
    for junk in ["", "%%%", "PD94bWw=", "<samlp:Response/>", "\u{0}\u{1}"] {
        assert!(sp.verify_post(junk, Some(REQUEST_ID), now()).is_err());
    }
}

// --- configuration ------------------------------------------------------------------------------

#[test]
fn idp_without_signing_certificate_is_refused() {
    let xml = idp_metadata_xml("idp.crt").replace(r#"use="signing""#, r#"use="encryption""#);
    let err = IdpMetadata::parse(&xml, Some(IDP_ENTITY), now()).unwrap_err();
    assert_eq!(err.code(), "saml_no_signing_certificate");
    let mut s = settings();
    s.idp.signing_certs.clear();
    assert_eq!(
        ServiceProvider::new(s).unwrap_err().code(),
        "saml_no_signing_certificate"
    );
}

#[test]
fn expired_idp_metadata_is_refused() {
    let xml = idp_metadata_xml("idp.crt").replace(
        r#"entityID="https://idp.test/idp""#,
        r#"entityID="https://idp.test/idp" validUntil="2020-01-01T00:00:00Z""#,
    );
    assert_eq!(
        IdpMetadata::parse(&xml, Some(IDP_ENTITY), now())
            .unwrap_err()
            .code(),
        "saml_metadata_expired"
    );
}

#[test]
fn sp_metadata_lists_both_keys_and_endpoints() {
    let mut s = settings();
    s.encryption_keys.push(key_pair("sp2"));
    let xml = passerelle::auth::saml::metadata::sp_metadata(&s);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("entityID"), Some(SP_ENTITY));
    let uses: Vec<_> = doc
        .descendants()
        .filter_map(|n| n.attribute("use"))
        .collect();
    assert_eq!(uses, ["signing", "encryption", "encryption"]);
    assert!(xml.contains(ACS) && xml.contains("https://passerelle.test/auth/saml/sls"));
    assert!(xml.contains(r#"AuthnRequestsSigned="true""#));
}

// --- requests, logout, EduConnect ---------------------------------------------------------------

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[test]
fn authn_request_is_deflated_and_signed() {
    use base64::Engine;
    use std::io::Read;
    let s = settings();
    let out = request::authn_request(&s, "state-123", false, now()).unwrap();
    assert!(out.id.starts_with('_') && out.url.starts_with("https://idp.test/sso?SAMLRequest="));
    assert_eq!(
        query_param(&out.url, "RelayState").as_deref(),
        Some("state-123")
    );
    let raw = base64::engine::general_purpose::STANDARD
        .decode(query_param(&out.url, "SAMLRequest").unwrap())
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&raw[..])
        .read_to_string(&mut xml)
        .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("ID"), Some(out.id.as_str()));
    assert_eq!(
        doc.root_element().attribute("AssertionConsumerServiceURL"),
        Some(ACS)
    );
    // The signature covers the raw query up to SigAlg and verifies with our certificate.
    let query = out.url.split_once('?').unwrap().1;
    let (signed, sig) = query.split_once("&Signature=").unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(
            percent_encoding::percent_decode_str(sig)
                .decode_utf8()
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
    let cert = openssl::x509::X509::from_pem(&std::fs::read(fixture("sp.crt")).unwrap()).unwrap();
    let key = cert.public_key().unwrap();
    let mut v = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    v.update(signed.as_bytes()).unwrap();
    assert!(v.verify(&sig).unwrap());
}

/// An IdP-initiated LogoutRequest, as the IdP would send it (signed with the IdP key).
fn idp_logout_url(key: Option<&str>) -> String {
    let xml = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr1" Version="2.0" IssueInstant="{}" Destination="https://passerelle.test/auth/saml/sls"><saml:Issuer>{IDP_ENTITY}</saml:Issuer><saml:NameID>alice@idp.test</saml:NameID><samlp:SessionIndex>_session1</samlp:SessionIndex></samlp:LogoutRequest>"#,
        instant(now())
    );
    let kp = key.map(key_pair);
    request::redirect_url(
        "https://passerelle.test/auth/saml/sls",
        request::MessageKind::Request,
        &xml,
        Some("rs"),
        kp.as_ref(),
    )
    .unwrap()
}

#[test]
fn idp_logout_request_is_verified_and_read() {
    let url = idp_logout_url(Some("idp"));
    let query = url.split_once('?').unwrap().1;
    let got = slo::parse_redirect(&settings(), query, now()).unwrap();
    assert_eq!(
        got,
        slo::IncomingLogout::Request {
            id: "_lr1".into(),
            name_id: Some("alice@idp.test".into()),
            session_indexes: vec!["_session1".into()],
            relay_state: Some("rs".into()),
        }
    );
    let answer = slo::logout_response(&settings(), "_lr1", Some("rs"), now()).unwrap();
    assert!(answer.starts_with("https://idp.test/slo?SAMLResponse="));
}

#[test]
fn unsigned_or_forged_logout_request_is_refused() {
    let s = settings();
    let unsigned = idp_logout_url(None);
    assert_eq!(
        slo::parse_redirect(&s, unsigned.split_once('?').unwrap().1, now())
            .unwrap_err()
            .code(),
        "saml_unsigned"
    );
    let forged = idp_logout_url(Some("attacker"));
    assert_eq!(
        slo::parse_redirect(&s, forged.split_once('?').unwrap().1, now())
            .unwrap_err()
            .code(),
        "saml_signature"
    );
}

#[test]
fn sp_logout_request_names_the_session() {
    let out = slo::logout_request(
        &settings(),
        "alice@idp.test",
        None,
        Some("_session1"),
        "st",
        now(),
    )
    .unwrap();
    assert!(
        out.url.starts_with("https://idp.test/slo?SAMLRequest=") && out.url.contains("&Signature=")
    );
}

#[test]
fn educonnect_attributes_map_to_a_pupil() {
    let a = verify(&Fixture::default().build()).unwrap();
    let id = educonnect::identity_for_space(&a, SpaceId::Eleve).unwrap();
    assert_eq!(id.profile, Profile::Eleve);
    assert_eq!(id.subject, "c0ffee".repeat(16));
    assert_eq!(id.attributes["FrEduCtEleveUAI"], ["0254222C"]);
    assert_eq!(id.attributes["givenName"], ["Léa"]);
    assert_eq!(
        id.logout_return.as_deref(),
        Some("https://educonnect.education.gouv.fr/Logout")
    );
}

#[test]
fn educonnect_pupil_is_refused_on_the_parent_space() {
    let a = verify(&Fixture::default().build()).unwrap();
    let err = educonnect::identity_for_space(&a, SpaceId::Parent).unwrap_err();
    assert_eq!(err.code(), "saml_profile_mismatch");
    assert!(!err.is_user_fault());
}

#[test]
fn educonnect_parent_opens_the_parent_space() {
    let mut f = Fixture::default();
    f.attributes[1].1 = vec!["resp2d".into()];
    let a = verify(&f.build()).unwrap();
    assert_eq!(
        educonnect::identity_for_space(&a, SpaceId::Parent)
            .unwrap()
            .profile,
        Profile::Parent
    );
    assert!(educonnect::identity_for_space(&a, SpaceId::Eleve).is_err());
}
