//! One enveloped signature, verified on a standalone copy of the element it signs, whose bytes are the
//! only ones read afterwards.
//!
//! samael's high-level path (the SAML SP's) needs a `samlp:Response` around the assertion and only knows
//! `ID` attributes; the SAML 1.1 assertions of WS-Federation (`AssertionID`) sit in an RSTR. Verifying
//! the whole document and then reading it would be open to signature wrapping, so: the caller checks
//! the shape on the strict parse (one signature, child of the element, one `Reference` to the element's
//! ID, see [`super::shape`]); [`standalone`] cuts the element out with the namespace declarations it
//! inherits (exclusive canonicalisation renders only the prefixes used, and inclusive canonicalisation
//! all in-scope ones, so the signed form is unchanged); [`verify_enveloped`] checks it with
//! libxmlsec1 against the trusted certificates only (a certificate in `KeyInfo` is never used); the
//! caller parses the same standalone bytes, and nothing else, to read the claims.

use samael::crypto::{CertificateDer, Crypto, CryptoProvider};

use super::{XmlSigError, xmlsec_noise};
use crate::auth::saml::xml_escape;

/// The element `node` of the document `xml` as a document of its own: its bytes, with declarations
/// added to its start tag for the namespaces it inherits from its ancestors.
pub fn standalone(xml: &str, node: roxmltree::Node) -> Result<String, XmlSigError> {
    let text = xml
        .get(node.range())
        .ok_or_else(|| XmlSigError::Malformed("élément introuvable".into()))?;
    let declared = declared_prefixes(text)?;
    let mut declarations = String::new();
    for ns in node.namespaces() {
        let prefix = ns.name();
        if prefix == Some("xml") || declared.contains(&prefix.unwrap_or("")) {
            continue;
        }
        match prefix {
            Some(prefix) => declarations.push_str(&format!(" xmlns:{prefix}=\"")),
            None => declarations.push_str(" xmlns=\""),
        }
        declarations.push_str(&xml_escape(ns.uri()));
        declarations.push('"');
    }
    let name_end = text
        .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
        .ok_or_else(|| XmlSigError::Malformed("balise ouvrante illisible".into()))?;
    let mut out = String::with_capacity(text.len() + declarations.len());
    out.push_str(&text[..name_end]);
    out.push_str(&declarations);
    out.push_str(&text[name_end..]);
    Ok(out)
}

/// The prefixes (`""` for the default namespace) declared on the start tag that begins `element`,
/// read attribute by attribute (the document is already known to be well formed).
fn declared_prefixes(element: &str) -> Result<Vec<&str>, XmlSigError> {
    let bad = || XmlSigError::Malformed("balise ouvrante illisible".into());
    let mut rest = element
        .strip_prefix('<')
        .ok_or_else(bad)?
        .trim_start_matches(|c: char| !c.is_ascii_whitespace() && c != '>' && c != '/');
    let mut prefixes = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('>') || rest.starts_with('/') {
            return Ok(prefixes);
        }
        let eq = rest.find('=').ok_or_else(bad)?;
        let name = rest[..eq].trim_end();
        rest = rest[eq + 1..].trim_start();
        let quote = rest.chars().next().ok_or_else(bad)?;
        if quote != '"' && quote != '\'' {
            return Err(bad());
        }
        let close = rest[1..].find(quote).ok_or_else(bad)?;
        rest = &rest[close + 2..];
        if name == "xmlns" {
            prefixes.push("");
        } else if let Some(prefix) = name.strip_prefix("xmlns:") {
            prefixes.push(prefix);
        }
    }
}

/// Verifies the one enveloped signature of the standalone document `xml` (see [`standalone`]) with one
/// of `certificates` (DER), resolving references through `id_attribute`. Blocking (libxmlsec1).
pub fn verify_enveloped(
    xml: &str,
    certificates: &[Vec<u8>],
    id_attribute: &str,
) -> Result<(), XmlSigError> {
    if certificates.is_empty() {
        // Fail closed: no trust anchor means nothing verifies.
        return Err(XmlSigError::Signature);
    }
    let mut verified = false;
    for der in certificates {
        let cert = CertificateDer::from(der.clone());
        let outcome = std::panic::catch_unwind(|| {
            Crypto::verify_signed_xml(xml.as_bytes(), &cert, Some(id_attribute))
        });
        xmlsec_noise::install();
        if matches!(outcome, Ok(Ok(()))) {
            verified = true;
            break;
        }
    }
    if verified {
        Ok(())
    } else {
        Err(XmlSigError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherited_namespaces_are_declared_on_the_standalone_copy() {
        let xml = r#"<r:Root xmlns:r="urn:r" xmlns:a="urn:a" xmlns="urn:d"><a:El a:x='1' xmlns:b="urn:b"><b:c/><d/></a:El></r:Root>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let el = doc.root_element().first_child().unwrap();
        let copy = standalone(xml, el).unwrap();
        let parsed = roxmltree::Document::parse(&copy).unwrap();
        let root = parsed.root_element();
        assert!(root.has_tag_name(("urn:a", "El")));
        assert_eq!(root.attribute(("urn:a", "x")), Some("1"));
        let names: Vec<_> = root
            .children()
            .map(|c| c.tag_name().namespace().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(names, ["urn:b", "urn:d"]);
        assert_eq!(copy.matches("xmlns:b=").count(), 1, "{copy}");
    }

    #[test]
    fn nothing_verifies_without_a_certificate() {
        assert_eq!(
            verify_enveloped("<a/>", &[], "ID"),
            Err(XmlSigError::Signature)
        );
    }
}
