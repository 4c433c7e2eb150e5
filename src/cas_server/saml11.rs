//! `/samlValidate`, the CAS SAML 1.1 profile PRONOTE validates with by default: reading the SOAP
//! `samlp:Request` (untrusted bytes: size cap, DTDs refused, see `fuzz/fuzz_targets/cas_saml_request.rs`)
//! and writing the SOAP `samlp:Response` with `Recipient`, `Conditions` (`NotBefore`, `NotOnOrAfter`,
//! `Audience`), the `NameIdentifier` and the attributes in the namespace CAS servers use for PRONOTE.

use rand::RngCore;
use roxmltree::Node;

use super::release::Released;
use super::ticket::Refusal;
use crate::auth::cas::parse::{SAML1_ASSERTION_NS, SAML1_PROTOCOL_NS, SOAP_ENV_NS, parse_xml};
use crate::auth::cas::validate::format_instant;
use crate::ui::escape;

/// A `samlp:Request` is a few hundred bytes.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// The attribute namespace of CAS SAML 1.1 responses (Apereo, Edifice, laclasse), which PRONOTE reads.
pub const CAS_ATTRIBUTE_NAMESPACE: &str = "http://www.ja-sig.org/products/cas";
/// How long the assertion is valid: what Apereo issues.
const ASSERTION_VALIDITY_SECS: u64 = 30;

/// Why a `samlValidate` body names no ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlRequestError {
    #[error("requête SAML trop volumineuse")]
    TooLarge,
    #[error("requête SAML illisible : {0}")]
    Malformed(String),
}

/// The ticket (`samlp:AssertionArtifact`) of a SOAP `samlp:Request`: exactly one envelope, body,
/// request and artifact, in their namespaces.
pub fn parse_request(body: &[u8]) -> Result<String, SamlRequestError> {
    let malformed = |what: &str| SamlRequestError::Malformed(what.to_owned());
    if body.len() > MAX_REQUEST_BYTES {
        return Err(SamlRequestError::TooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed("pas de l'UTF-8"))?;
    let doc = parse_xml(text).map_err(|err| SamlRequestError::Malformed(err.to_string()))?;
    let envelope = doc.root_element();
    if !envelope.has_tag_name((SOAP_ENV_NS, "Envelope")) {
        return Err(malformed("pas d'enveloppe SOAP"));
    }
    let body = only_child(envelope, SOAP_ENV_NS, "Body").ok_or_else(|| malformed("Body"))?;
    let request =
        only_child(body, SAML1_PROTOCOL_NS, "Request").ok_or_else(|| malformed("samlp:Request"))?;
    let artifact = only_child(request, SAML1_PROTOCOL_NS, "AssertionArtifact")
        .ok_or_else(|| malformed("samlp:AssertionArtifact"))?;
    if artifact.children().any(|n| n.is_element()) {
        return Err(malformed("samlp:AssertionArtifact contient des éléments"));
    }
    let ticket: String = artifact
        .children()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect();
    let ticket = ticket.trim();
    if ticket.is_empty() || ticket.len() > 256 {
        return Err(malformed("ticket vide ou trop long"));
    }
    Ok(ticket.to_owned())
}

/// The single element child `ns:name` of `node`; `None` when absent or repeated.
fn only_child<'a, 'input>(
    node: Node<'a, 'input>,
    ns: &str,
    name: &str,
) -> Option<Node<'a, 'input>> {
    let mut found = node.children().filter(|n| n.has_tag_name((ns, name)));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("_{}", hex::encode(bytes))
}

fn envelope(response_attributes: &str, inner: &str, now: u64) -> String {
    format!(
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{SOAP_ENV_NS}\"><SOAP-ENV:Header/><SOAP-ENV:Body>\
         <Response xmlns=\"{SAML1_PROTOCOL_NS}\" xmlns:saml=\"{SAML1_ASSERTION_NS}\" \
         xmlns:samlp=\"{SAML1_PROTOCOL_NS}\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" IssueInstant=\"{instant}\" \
         MajorVersion=\"1\" MinorVersion=\"1\" ResponseID=\"{id}\"{response_attributes}>{inner}\
         </Response></SOAP-ENV:Body></SOAP-ENV:Envelope>\n",
        instant = format_instant(now),
        id = random_id(),
    )
}

/// The subject PRONOTE matches on, as both statements carry it.
fn subject(principal: &str) -> String {
    format!(
        "<Subject><NameIdentifier>{}</NameIdentifier><SubjectConfirmation>\
         <ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:artifact</ConfirmationMethod>\
         </SubjectConfirmation></Subject>",
        escape(principal)
    )
}

/// A successful validation of a ticket issued for `service`. `issuer` is the gateway's host.
pub fn success(
    released: &Released,
    service: &str,
    issuer: &str,
    authenticated_at: u64,
    now: u64,
) -> String {
    let service_xml = escape(service);
    let mut attributes = String::new();
    for (name, value) in &released.attributes {
        attributes.push_str(&format!(
            "<Attribute AttributeName=\"{name}\" AttributeNamespace=\"{CAS_ATTRIBUTE_NAMESPACE}\">\
             <AttributeValue xsi:type=\"xsd:string\">{}</AttributeValue></Attribute>",
            escape(value)
        ));
    }
    let subject = subject(&released.principal);
    let assertion = format!(
        "<Assertion xmlns=\"{SAML1_ASSERTION_NS}\" AssertionID=\"{id}\" IssueInstant=\"{instant}\" \
         Issuer=\"{issuer}\" MajorVersion=\"1\" MinorVersion=\"1\">\
         <Conditions NotBefore=\"{instant}\" NotOnOrAfter=\"{until}\"><AudienceRestrictionCondition>\
         <Audience>{service_xml}</Audience></AudienceRestrictionCondition></Conditions>\
         <AttributeStatement>{subject}{attributes}</AttributeStatement>\
         <AuthenticationStatement AuthenticationInstant=\"{authenticated}\" \
         AuthenticationMethod=\"urn:oasis:names:tc:SAML:1.0:am:password\">{subject}\
         </AuthenticationStatement></Assertion>",
        id = random_id(),
        instant = format_instant(now),
        until = format_instant(now + ASSERTION_VALIDITY_SECS),
        issuer = escape(issuer),
        authenticated = format_instant(authenticated_at),
    );
    envelope(
        &format!(" Recipient=\"{service_xml}\""),
        &format!("<Status><StatusCode Value=\"samlp:Success\"></StatusCode></Status>{assertion}"),
        now,
    )
}

/// A refused validation: `samlp:Responder` with the CAS code in the status message, where CAS clients
/// (django-cas-server, Apereo, Passerelle's own) look for it.
pub fn failure(refusal: Refusal, service: Option<&str>, now: u64) -> String {
    let recipient = service.map_or_else(String::new, |s| format!(" Recipient=\"{}\"", escape(s)));
    let status = if refusal == Refusal::InvalidRequest {
        "samlp:Requester"
    } else {
        "samlp:Responder"
    };
    envelope(
        &recipient,
        &format!(
            "<Status><StatusCode Value=\"{status}\"></StatusCode><StatusMessage>{code}: {text}\
             </StatusMessage></Status>",
            code = refusal.code(),
            text = escape(&refusal.to_string()),
        ),
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::cas::parse::{CasParseError, SamlExpectations, parse_saml11};

    const SERVICE: &str = "https://pronote.example.fr/pronote/parent.html?a=1&b=2";
    const NOW: u64 = 1_795_925_400;

    /// What python-cas and PRONOTE post.
    const REQUEST: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">\n<SOAP-ENV:Header/>\n<SOAP-ENV:Body>\n<samlp:Request xmlns:samlp=\"urn:oasis:names:tc:SAML:1.0:protocol\" MajorVersion=\"1\" MinorVersion=\"1\" RequestID=\"_1\" IssueInstant=\"2026-11-29T07:55:00.071189\">\n<samlp:AssertionArtifact>\n  ST-abc\n</samlp:AssertionArtifact></samlp:Request>\n</SOAP-ENV:Body>\n</SOAP-ENV:Envelope>";

    #[test]
    fn the_artifact_is_the_ticket() {
        assert_eq!(parse_request(REQUEST.as_bytes()).as_deref(), Ok("ST-abc"));
    }

    #[test]
    fn other_documents_doubles_and_dtds_name_no_ticket() {
        let doubled = REQUEST.replace(
            "</samlp:Request>",
            "<samlp:AssertionArtifact>ST-2</samlp:AssertionArtifact></samlp:Request>",
        );
        let dtd = format!(
            "<!DOCTYPE x [<!ENTITY e \"ST-9\">]>{}",
            REQUEST.replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "")
        );
        let nested = REQUEST.replace("ST-abc", "<x>ST-abc</x>");
        let no_envelope = "<samlp:Request xmlns:samlp=\"urn:oasis:names:tc:SAML:1.0:protocol\"><samlp:AssertionArtifact>ST-1</samlp:AssertionArtifact></samlp:Request>";
        for bad in [
            doubled.as_str(),
            &dtd,
            &nested,
            no_envelope,
            "",
            "ST-1",
            "<a/>",
        ] {
            assert!(parse_request(bad.as_bytes()).is_err(), "{bad}");
        }
        let huge = format!("{REQUEST}{}", " ".repeat(MAX_REQUEST_BYTES));
        assert_eq!(
            parse_request(huge.as_bytes()),
            Err(SamlRequestError::TooLarge)
        );
    }

    /// The project's CAS client (which checks Recipient, Audience and the validity window, as PRONOTE
    /// does) accepts the response for the right service and refuses it for another.
    #[test]
    fn the_response_satisfies_a_strict_saml_client() {
        let released = Released {
            principal: "claire".to_owned(),
            attributes: vec![
                ("nom".to_owned(), "Martin".to_owned()),
                ("dateNaissance".to_owned(), "14/03/1982".to_owned()),
            ],
        };
        let body = success(&released, SERVICE, "pronote.example.fr", NOW - 2, NOW);
        let expect = |service| SamlExpectations {
            service,
            now: NOW as i64,
        };
        let parsed = parse_saml11(body.as_bytes(), expect(SERVICE)).unwrap();
        assert_eq!(parsed.user, "claire");
        assert_eq!(parsed.attributes["dateNaissance"], ["14/03/1982"]);
        assert!(body.contains(&format!("AttributeNamespace=\"{CAS_ATTRIBUTE_NAMESPACE}\"")));
        assert!(matches!(
            parse_saml11(body.as_bytes(), expect("https://evil.example/")),
            Err(CasParseError::Condition(_))
        ));
        let late = SamlExpectations {
            service: SERVICE,
            now: (NOW + 3600) as i64,
        };
        assert!(matches!(
            parse_saml11(body.as_bytes(), late),
            Err(CasParseError::Condition(_))
        ));
    }

    #[test]
    fn a_failure_names_its_cas_code() {
        let body = failure(Refusal::InvalidTicket, Some(SERVICE), NOW);
        let expect = SamlExpectations {
            service: SERVICE,
            now: NOW as i64,
        };
        assert_eq!(
            parse_saml11(body.as_bytes(), expect),
            Err(CasParseError::Refused {
                code: "INVALID_TICKET".to_owned()
            })
        );
    }
}
