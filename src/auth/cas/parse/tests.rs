//! Recorded response shapes of the CAS server families ENTs run (see the domain notes), and the
//! hostile inputs a parser of network bytes must survive.

use super::*;

/// Apereo CAS 3 `/p3/serviceValidate` (with its bookkeeping attributes and multi-valued ones).
const APEREO_P3: &str = r#"<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
    <cas:authenticationSuccess>
        <cas:user>F08001ut</cas:user>
        <cas:attributes>
            <cas:credentialType>UsernamePasswordCredential</cas:credentialType>
            <cas:isFromNewLogin>true</cas:isFromNewLogin>
            <cas:authenticationDate>2026-11-29T07:55:01.123Z</cas:authenticationDate>
            <cas:successfulAuthenticationHandlers>LdapAuthenticationHandler</cas:successfulAuthenticationHandlers>
            <cas:nom>MARTIN</cas:nom>
            <cas:prenom>Claire</cas:prenom>
            <cas:dateNaissance>07/03/2011</cas:dateNaissance>
            <cas:codePostal>35000</cas:codePostal>
            <cas:categories>National_2</cas:categories>
            <cas:categories>National_4</cas:categories>
        </cas:attributes>
    </cas:authenticationSuccess>
</cas:serviceResponse>"#;

/// Edifice (Open ENT NG) `/serviceValidate`: data nested under `cas:userAttributes`, with structured
/// children.
const EDIFICE: &str = r#"<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationSuccess>
    <cas:user>7c1b9a1e-58a4-4a51-9f6c-3e1f6e0d2b11</cas:user>
    <cas:userAttributes>
      <cas:login>claire.martin</cas:login>
      <cas:displayName>Claire MARTIN</cas:displayName>
      <cas:firstName>Claire</cas:firstName>
      <cas:lastName>MARTIN</cas:lastName>
      <cas:birthDate>2011-03-07</cas:birthDate>
      <cas:profile>Relative</cas:profile>
      <cas:schools>
        <cas:school externalId="0350001A" main="true" name="Collège Exemple" type="college"/>
      </cas:schools>
      <cas:classes><cas:class>5A</cas:class><cas:class>4B</cas:class></cas:classes>
    </cas:userAttributes>
  </cas:authenticationSuccess>
</cas:serviceResponse>"#;

/// Pre-3.0 "Jasig style": attributes as siblings of `cas:user`.
const JASIG: &str = r#"<cas:serviceResponse xmlns:cas='http://www.yale.edu/tp/cas'>
  <cas:authenticationSuccess>
    <cas:user>cmartin</cas:user>
    <cas:ENTPersonJointure>AC-RENNES$1234567</cas:ENTPersonJointure>
    <cas:ENTPersonProfils>National_ELV</cas:ENTPersonProfils>
  </cas:authenticationSuccess>
</cas:serviceResponse>"#;

/// django-cas-server: each attribute both as a CAS 3 element and as `<cas:attribute name= value=/>`.
const DJANGO: &str = r#"<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationSuccess>
    <cas:user>claire.martin</cas:user>
    <cas:attributes>
      <cas:prenom>Claire</cas:prenom>
    </cas:attributes>
    <cas:attribute name="prenom" value="Claire"/>
    <cas:attribute name="nom" value="Martin"/>
  </cas:authenticationSuccess>
</cas:serviceResponse>"#;

const SERVICE: &str = "https://pronote.example.fr/auth/callback/parent/ent";
/// 2026-11-29T04:10:00Z
const NOW: i64 = 1_795_925_400;

fn saml(
    recipient: &str,
    audience: &str,
    not_before: &str,
    not_after: &str,
    status: &str,
) -> String {
    format!(
        r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Header/><SOAP-ENV:Body>
<Response xmlns="urn:oasis:names:tc:SAML:1.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:samlp="urn:oasis:names:tc:SAML:1.0:protocol" IssueInstant="2026-11-29T04:10:00Z" MajorVersion="1" MinorVersion="1" Recipient="{recipient}" ResponseID="_r1">
  <Status><StatusCode Value="{status}"></StatusCode></Status>
  <Assertion xmlns="urn:oasis:names:tc:SAML:1.0:assertion" AssertionID="_a1" IssueInstant="2026-11-29T04:10:00Z" Issuer="cas.example.fr" MajorVersion="1" MinorVersion="1">
    <Conditions NotBefore="{not_before}" NotOnOrAfter="{not_after}">
      <AudienceRestrictionCondition><Audience>
        {audience}
      </Audience></AudienceRestrictionCondition>
    </Conditions>
    <AttributeStatement>
      <Subject><NameIdentifier>claire.martin</NameIdentifier>
        <SubjectConfirmation><ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:artifact</ConfirmationMethod></SubjectConfirmation></Subject>
      <Attribute AttributeName="nom" AttributeNamespace="http://www.ja-sig.org/products/cas/"><AttributeValue>Martin</AttributeValue></Attribute>
      <Attribute AttributeName="categories" AttributeNamespace="http://www.ja-sig.org/products/cas/"><AttributeValue>National_2</AttributeValue><AttributeValue>National_4</AttributeValue></Attribute>
    </AttributeStatement>
    <AuthenticationStatement AuthenticationInstant="2026-11-29T04:10:00Z" AuthenticationMethod="urn:oasis:names:tc:SAML:1.0:am:password">
      <Subject><NameIdentifier>claire.martin</NameIdentifier></Subject>
    </AuthenticationStatement>
  </Assertion>
</Response></SOAP-ENV:Body></SOAP-ENV:Envelope>"#
    )
}

fn good_saml() -> String {
    saml(
        SERVICE,
        SERVICE,
        "2026-11-29T04:09:50Z",
        "2026-11-29T04:10:50Z",
        "samlp:Success",
    )
}

fn expect() -> SamlExpectations<'static> {
    SamlExpectations {
        service: SERVICE,
        now: NOW,
    }
}

#[test]
fn apereo_cas3_gives_user_and_multivalued_attributes() {
    let success = parse_service_response(APEREO_P3.as_bytes()).unwrap();
    assert_eq!(success.user, "F08001ut");
    assert_eq!(success.attributes["nom"], ["MARTIN"]);
    assert_eq!(success.attributes["dateNaissance"], ["07/03/2011"]);
    assert_eq!(
        success.attributes["categories"],
        ["National_2", "National_4"]
    );
}

#[test]
fn edifice_nested_user_attributes_are_flattened() {
    let success = parse_service_response(EDIFICE.as_bytes()).unwrap();
    assert_eq!(success.user, "7c1b9a1e-58a4-4a51-9f6c-3e1f6e0d2b11");
    assert_eq!(success.attributes["login"], ["claire.martin"]);
    assert_eq!(success.attributes["birthDate"], ["2011-03-07"]);
    assert_eq!(success.attributes["school.externalId"], ["0350001A"]);
    assert_eq!(success.attributes["class"], ["5A", "4B"]);
}

#[test]
fn jasig_siblings_and_name_value_attributes_are_read_once() {
    let jasig = parse_service_response(JASIG.as_bytes()).unwrap();
    assert_eq!(jasig.attributes["ENTPersonJointure"], ["AC-RENNES$1234567"]);
    let django = parse_service_response(DJANGO.as_bytes()).unwrap();
    assert_eq!(django.attributes["prenom"], ["Claire"]);
    assert_eq!(django.attributes["nom"], ["Martin"]);
}

#[test]
fn failure_codes_are_reported_and_sanitised() {
    let failure = |code: &str| {
        format!(
            r#"<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationFailure code="{code}">Ticket ST-1-secret not recognized</cas:authenticationFailure></cas:serviceResponse>"#
        )
    };
    for code in [
        "INVALID_TICKET",
        "INVALID_SERVICE",
        "INVALID_REQUEST",
        "INTERNAL_ERROR",
    ] {
        assert_eq!(
            parse_service_response(failure(code).as_bytes()),
            Err(CasParseError::Refused {
                code: code.to_owned()
            })
        );
    }
    assert_eq!(
        parse_service_response(failure("x y &lt;z&gt;").as_bytes()),
        Err(CasParseError::Refused {
            code: "UNKNOWN".to_owned()
        })
    );
    // The server's message (which may quote the ticket) never reaches the error.
    let err = parse_service_response(failure("INVALID_TICKET").as_bytes()).unwrap_err();
    assert!(!err.to_string().contains("ST-1"));
}

#[test]
fn json_success_and_failure() {
    let success = br#"{"serviceResponse":{"authenticationSuccess":{"user":"cmartin","attributes":{"nom":["Martin"],"codePostal":"35000","age":12}}}}"#;
    let parsed = parse_json(success).unwrap();
    assert_eq!(parsed.user, "cmartin");
    assert_eq!(parsed.attributes["nom"], ["Martin"]);
    assert_eq!(parsed.attributes["codePostal"], ["35000"]);
    assert_eq!(parsed.attributes["age"], ["12"]);
    let failure = br#"{"serviceResponse":{"authenticationFailure":{"code":"INVALID_TICKET","description":"x"}}}"#;
    assert_eq!(
        parse_json(failure),
        Err(CasParseError::Refused {
            code: "INVALID_TICKET".to_owned()
        })
    );
    assert!(matches!(
        parse_json(b"{\"serviceResponse\":{}}"),
        Err(CasParseError::Malformed(_))
    ));
}

#[test]
fn cas1_yes_and_no() {
    assert_eq!(parse_cas1(b"yes\ncmartin\n").unwrap().user, "cmartin");
    assert!(matches!(
        parse_cas1(b"no\n\n"),
        Err(CasParseError::Refused { .. })
    ));
    assert!(matches!(
        parse_cas1(b"yes\n\n"),
        Err(CasParseError::Malformed(_))
    ));
}

#[test]
fn saml11_with_attributes_is_accepted_within_its_conditions() {
    let success = parse_saml11(good_saml().as_bytes(), expect()).unwrap();
    assert_eq!(success.user, "claire.martin");
    assert_eq!(success.attributes["nom"], ["Martin"]);
    assert_eq!(
        success.attributes["categories"],
        ["National_2", "National_4"]
    );
}

#[test]
fn saml11_audience_recipient_and_time_are_checked() {
    let other = "https://evil.example/auth/callback/parent/ent";
    let cases = [
        saml(
            other,
            SERVICE,
            "2026-11-29T04:09:50Z",
            "2026-11-29T04:10:50Z",
            "samlp:Success",
        ),
        saml(
            SERVICE,
            other,
            "2026-11-29T04:09:50Z",
            "2026-11-29T04:10:50Z",
            "samlp:Success",
        ),
        saml(
            SERVICE,
            SERVICE,
            "2026-11-29T04:20:00Z",
            "2026-11-29T04:30:00Z",
            "samlp:Success",
        ),
        saml(
            SERVICE,
            SERVICE,
            "2026-11-29T03:00:00Z",
            "2026-11-29T03:05:00Z",
            "samlp:Success",
        ),
    ];
    for case in cases {
        assert!(matches!(
            parse_saml11(case.as_bytes(), expect()),
            Err(CasParseError::Condition(_))
        ));
    }
    let refused = saml(
        SERVICE,
        SERVICE,
        "2026-11-29T04:09:50Z",
        "2026-11-29T04:10:50Z",
        "samlp:Responder",
    );
    assert_eq!(
        parse_saml11(refused.as_bytes(), expect()),
        Err(CasParseError::Refused {
            code: "Responder".to_owned()
        })
    );
}

#[test]
fn saml11_with_two_assertions_is_refused() {
    let doubled = good_saml().replacen(
        "</Assertion>",
        "</Assertion><Assertion xmlns=\"urn:oasis:names:tc:SAML:1.0:assertion\"/>",
        1,
    );
    assert!(matches!(
        parse_saml11(doubled.as_bytes(), expect()),
        Err(CasParseError::Malformed(_))
    ));
}

#[test]
fn dtds_and_external_entities_are_refused() {
    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        APEREO_P3.replace("MARTIN", "&x;")
    );
    assert!(matches!(
        parse_service_response(xxe.as_bytes()),
        Err(CasParseError::Malformed(_))
    ));
    let bomb = format!(
        "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
        good_saml()
    );
    assert!(matches!(
        parse_saml11(bomb.as_bytes(), expect()),
        Err(CasParseError::Malformed(_))
    ));
}

#[test]
fn garbage_and_huge_bodies_fail_cleanly() {
    for garbage in [
        &b""[..],
        b"\xff\xfe\x00",
        b"<html><body>Erreur 500</body></html>",
        b"<cas:serviceResponse>",
        b"null",
        b"{}",
    ] {
        assert!(parse_service_response(garbage).is_err());
        assert!(parse_json(garbage).is_err());
        assert!(parse_saml11(garbage, expect()).is_err());
        assert!(parse_cas1(garbage).is_err());
    }
    let huge = format!("{}{}", APEREO_P3, " ".repeat(MAX_RESPONSE_BYTES));
    assert_eq!(
        parse_service_response(huge.as_bytes()),
        Err(CasParseError::TooLarge)
    );
    let deep = format!("{}{}", "<a>".repeat(5000), "</a>".repeat(5000));
    assert!(parse_service_response(deep.as_bytes()).is_err());
}

#[test]
fn user_must_be_present_and_single() {
    let empty = APEREO_P3.replace("F08001ut", "  ");
    assert!(matches!(
        parse_service_response(empty.as_bytes()),
        Err(CasParseError::Malformed(_))
    ));
    let doubled = APEREO_P3.replace(
        "<cas:user>F08001ut</cas:user>",
        "<cas:user>a</cas:user><cas:user>b</cas:user>",
    );
    assert!(matches!(
        parse_service_response(doubled.as_bytes()),
        Err(CasParseError::Malformed(_))
    ));
}
