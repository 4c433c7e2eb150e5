//! The posted `wresult`: a WS-Trust RequestSecurityTokenResponse (2005/02, as ADFS and node-wsfed
//! send it, or a 1.3 `RequestSecurityTokenResponseCollection` holding one), read strictly down to the
//! one signed SAML assertion it carries.
//!
//! The RSTR wrapper itself is not signed: its `Lifetime`, `AppliesTo`, `TokenType` and `KeyType` are
//! only cross-checked (a stale or foreign wrapper is refused), never trusted. What is trusted comes
//! from the assertion, and only after [`super::token`] verified the standalone copy made here.

use crate::auth::xmlsig::{self, NS_DSIG};

use super::error::WsFedError;

const NS_TRUST_2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust";
const NS_TRUST_13: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
const NS_WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
pub(crate) const NS_SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
pub(crate) const NS_SAML2: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// Token types that name a SAML 1.1 or a SAML 2.0 assertion.
const SAML1_TOKEN_TYPES: &[&str] = &[
    NS_SAML1,
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1",
];
const SAML2_TOKEN_TYPES: &[&str] = &[
    NS_SAML2,
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0",
];
/// Key types meaning "bearer" (WS-Trust 1.3, and the 2005/02 spelling ADFS uses).
const BEARER_KEY_TYPES: &[&str] = &[
    "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey",
    "http://schemas.xmlsoap.org/ws/2005/02/trust/Bearer",
];
/// Attributes that identify elements; all of their values in one document must differ.
const ID_ATTRIBUTES: &[&str] = &["ID", "AssertionID", "Id"];

/// Which SAML version the token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `saml:Assertion` in `urn:oasis:names:tc:SAML:1.0:assertion`, ID in `AssertionID` (ADFS default).
    Saml11,
    /// `saml:Assertion` in `urn:oasis:names:tc:SAML:2.0:assertion`, ID in `ID`.
    Saml20,
}

impl TokenKind {
    pub fn id_attribute(self) -> &'static str {
        match self {
            TokenKind::Saml11 => "AssertionID",
            TokenKind::Saml20 => "ID",
        }
    }
}

/// What the RSTR carries, before any signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rstr {
    pub kind: TokenKind,
    /// The assertion alone, as a document of its own: the bytes to verify and then to read.
    pub assertion: String,
    /// `t:Lifetime` as epoch seconds (`wsu:Created`, `wsu:Expires`), when given.
    pub created: Option<i64>,
    pub expires: Option<i64>,
    /// `wsp:AppliesTo` address, when given.
    pub applies_to: Option<String>,
}

/// Reads `wresult` strictly: size cap, no DTD, comments or processing instructions, unique IDs, one
/// RSTR, exactly one assertion in the whole document (under `RequestedSecurityToken`), exactly one
/// signature, enveloped in that assertion and referencing its ID, with allowed algorithms.
pub fn parse(wresult: &str, allow_sha1: bool, max_bytes: usize) -> Result<Rstr, WsFedError> {
    let doc = xmlsig::parse_strict(wresult, max_bytes)?;
    xmlsig::refuse_hidden_content(&doc, ID_ATTRIBUTES)?;
    let root = doc.root_element();
    let trust = root.tag_name().namespace().unwrap_or_default();
    if trust != NS_TRUST_2005 && trust != NS_TRUST_13 {
        return Err(WsFedError::Malformed(
            "espace de noms WS-Trust inconnu".into(),
        ));
    }
    let rstr = match root.tag_name().name() {
        "RequestSecurityTokenResponse" => root,
        "RequestSecurityTokenResponseCollection" => {
            let mut responses = root
                .children()
                .filter(|n| n.has_tag_name((trust, "RequestSecurityTokenResponse")));
            match (responses.next(), responses.next()) {
                (Some(one), None) => one,
                _ => {
                    return Err(WsFedError::TokenShape(
                        "une seule RequestSecurityTokenResponse attendue".into(),
                    ));
                }
            }
        }
        other => return Err(WsFedError::Malformed(format!("élément racine {other}"))),
    };
    let child = |name: &str| {
        let mut found = rstr.children().filter(|n| n.has_tag_name((trust, name)));
        match (found.next(), found.next()) {
            (one, None) => Ok(one),
            _ => Err(WsFedError::TokenShape(format!("{name} en double"))),
        }
    };

    // Exactly one assertion in the whole document, right under RequestedSecurityToken.
    let assertions: Vec<_> = doc
        .descendants()
        .filter(|n| {
            n.is_element()
                && n.tag_name().name().ends_with("Assertion")
                && matches!(n.tag_name().namespace(), Some(NS_SAML1 | NS_SAML2))
        })
        .collect();
    let [assertion] = assertions[..] else {
        return Err(WsFedError::TokenShape(format!(
            "{} assertions",
            assertions.len()
        )));
    };
    let kind = match (
        assertion.tag_name().namespace(),
        assertion.tag_name().name(),
    ) {
        (Some(NS_SAML1), "Assertion") => TokenKind::Saml11,
        (Some(NS_SAML2), "Assertion") => TokenKind::Saml20,
        _ => {
            return Err(WsFedError::TokenShape(
                "assertion chiffrée non prise en charge".into(),
            ));
        }
    };
    let holder =
        child("RequestedSecurityToken")?.ok_or(WsFedError::Missing("RequestedSecurityToken"))?;
    if assertion.parent_element() != Some(holder) {
        return Err(WsFedError::TokenShape(
            "assertion hors de RequestedSecurityToken".into(),
        ));
    }

    // Exactly one signature in the document, a direct child of the assertion, covering it by ID.
    let signatures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name((NS_DSIG, "Signature")))
        .collect();
    match signatures[..] {
        [] => return Err(WsFedError::TokenShape("jeton non signé".into())),
        [sig] if sig.parent_element() == Some(assertion) => {
            xmlsig::check_signature(sig, assertion, kind.id_attribute(), allow_sha1)?;
        }
        [_] => return Err(WsFedError::SignatureShape("signature mal placée")),
        _ => return Err(WsFedError::SignatureShape("plusieurs signatures")),
    }

    if let Some(token_type) = child("TokenType")? {
        let value = token_type.text().unwrap_or_default().trim();
        let expected = match kind {
            TokenKind::Saml11 => SAML1_TOKEN_TYPES,
            TokenKind::Saml20 => SAML2_TOKEN_TYPES,
        };
        if !expected.contains(&value) {
            return Err(WsFedError::TokenShape(format!("TokenType {value}")));
        }
    }
    if let Some(key_type) = child("KeyType")? {
        let value = key_type.text().unwrap_or_default().trim();
        if !BEARER_KEY_TYPES.contains(&value) {
            return Err(WsFedError::NotBearer);
        }
    }
    let (mut created, mut expires) = (None, None);
    if let Some(lifetime) = child("Lifetime")? {
        for node in lifetime.children().filter(|n| n.is_element()) {
            let at = Some(instant(node.text().unwrap_or_default())?);
            if node.has_tag_name((NS_WSU, "Created")) {
                created = at;
            } else if node.has_tag_name((NS_WSU, "Expires")) {
                expires = at;
            }
        }
    }
    let applies_to = rstr
        .children()
        .find(|n| n.tag_name().name() == "AppliesTo")
        .and_then(|n| n.descendants().find(|d| d.tag_name().name() == "Address"))
        .map(|address| address.text().unwrap_or_default().trim().to_owned());

    Ok(Rstr {
        kind,
        assertion: xmlsig::standalone(wresult, assertion)?,
        created,
        expires,
        applies_to,
    })
}

/// An `xs:dateTime` as epoch seconds.
pub(crate) fn instant(text: &str) -> Result<i64, WsFedError> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp())
        .map_err(|_| WsFedError::Malformed(format!("date illisible « {} »", text.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_a1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>"##;

    fn saml11(inner: &str) -> String {
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" MajorVersion="1" MinorVersion="1" AssertionID="_a1" Issuer="urn:sts">{inner}</saml:Assertion>"#
        )
    }

    fn rstr(ns: &str, body: &str) -> String {
        format!(
            r#"<t:RequestSecurityTokenResponse xmlns:t="{ns}">{body}</t:RequestSecurityTokenResponse>"#
        )
    }

    fn token(extra: &str) -> String {
        rstr(
            NS_TRUST_2005,
            &format!(
                "<t:RequestedSecurityToken>{}</t:RequestedSecurityToken>{extra}",
                saml11(SIG)
            ),
        )
    }

    fn code(xml: &str) -> &'static str {
        parse(xml, false, 64 * 1024).map_or_else(|e| e.code(), |_| "ok")
    }

    #[test]
    fn a_well_shaped_response_yields_the_standalone_assertion() {
        let parsed = parse(
            &token("<t:TokenType>urn:oasis:names:tc:SAML:1.0:assertion</t:TokenType>"),
            false,
            64 * 1024,
        )
        .expect("shape");
        assert_eq!(parsed.kind, TokenKind::Saml11);
        assert!(parsed.assertion.starts_with("<saml:Assertion"));
        assert!(parsed.assertion.ends_with("</saml:Assertion>"));
    }

    #[test]
    fn wrappers_that_contradict_or_hide_the_token_are_refused() {
        assert_eq!(code(&rstr("urn:autre", "")), "wsfed_malformed");
        assert_eq!(
            code(&token("<t:KeyType>urn:symmetric</t:KeyType>")),
            "wsfed_not_bearer"
        );
        assert_eq!(
            code(&token(
                "<t:TokenType>urn:oasis:names:tc:SAML:2.0:assertion</t:TokenType>"
            )),
            "wsfed_token_shape"
        );
        assert_eq!(
            code(&rstr(NS_TRUST_2005, &saml11(SIG))),
            "wsfed_missing",
            "assertion outside RequestedSecurityToken"
        );
        let unsigned = rstr(
            NS_TRUST_2005,
            &format!(
                "<t:RequestedSecurityToken>{}</t:RequestedSecurityToken>",
                saml11("")
            ),
        );
        assert_eq!(code(&unsigned), "wsfed_token_shape");
        let misplaced = rstr(
            NS_TRUST_2005,
            &format!(
                "<t:RequestedSecurityToken>{}</t:RequestedSecurityToken>{SIG}",
                saml11("")
            ),
        );
        assert_eq!(code(&misplaced), "wsfed_signature_shape");
        let collection = format!(
            r#"<t:RequestSecurityTokenResponseCollection xmlns:t="{NS_TRUST_13}"><t:RequestSecurityTokenResponse/><t:RequestSecurityTokenResponse/></t:RequestSecurityTokenResponseCollection>"#
        );
        assert_eq!(code(&collection), "wsfed_token_shape");
        assert_eq!(code(&token("<!-- x -->")), "wsfed_comment");
        assert_eq!(
            code(&token(
                "<t:Lifetime><wsu:Expires xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">hier</wsu:Expires></t:Lifetime>"
            )),
            "wsfed_malformed"
        );
    }
}
