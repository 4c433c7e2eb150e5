//! The strict look at an untrusted SAML message before any signature code sees it.
//!
//! samael hands the bytes to libxml2 in recover mode, which accepts DTDs, trailing garbage and broken
//! markup; two parsers that disagree are how signature wrapping attacks work. So the message is first
//! parsed by roxmltree (well-formed or nothing, no DTD, bounded node count) and its shape checked the way
//! Oxide's omicron does: exactly one assertion, each signature covering exactly its parent element by
//! ID, no transform but enveloped-signature and exclusive canonicalisation, allowed algorithms only, no
//! comments or processing instructions. Only then does samael verify the same bytes.

use super::error::SamlError;
use super::{NS_ASSERTION, NS_DSIG, NS_PROTOCOL};
use crate::auth::xmlsig;

const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";

/// Which root element a message must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// `samlp:Response` (the ACS).
    Response,
    /// `samlp:LogoutRequest` or `samlp:LogoutResponse` (the SLS); signatures come in the query string.
    Logout,
}

/// What the pre-scan learned, for the checks that follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub root_name: String,
    pub root_id: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub response_signed: bool,
    pub assertion_signed: bool,
    pub assertion_encrypted: bool,
    /// Byte offset where `xmlns:ds` must be declared for samael to read the encrypted assertion's
    /// `KeyInfo` (see [`declare_ds_for_samael`]).
    pub ds_declaration_at: Option<usize>,
}

/// Parses strictly and checks the shape; `allow_sha1` widens the algorithm allow-list.
pub fn scan(
    xml: &str,
    expected: Expected,
    allow_sha1: bool,
    max_bytes: usize,
) -> Result<Scan, SamlError> {
    let doc = xmlsig::parse_strict(xml, max_bytes)?;
    let root = doc.root_element();
    let root_name = root.tag_name().name().to_string();
    let root_ok = root.tag_name().namespace() == Some(NS_PROTOCOL)
        && match expected {
            Expected::Response => root_name == "Response",
            Expected::Logout => root_name == "LogoutRequest" || root_name == "LogoutResponse",
        };
    if !root_ok {
        return Err(SamlError::Malformed(format!(
            "élément racine inattendu : {root_name}"
        )));
    }
    let root_id = root
        .attribute("ID")
        .ok_or(SamlError::Missing("ID"))?
        .to_string();

    xmlsig::refuse_hidden_content(&doc, &["ID"])?;

    let assertions: Vec<_> = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name((NS_ASSERTION, "Assertion"))
                || n.has_tag_name((NS_ASSERTION, "EncryptedAssertion"))
        })
        .collect();
    let assertion = match expected {
        Expected::Response => {
            if assertions.len() != 1 {
                return Err(SamlError::AssertionCount(assertions.len()));
            }
            let assertion = assertions[0];
            // The one assertion sits directly under the Response, nowhere else (Extensions, Advice…).
            if assertion.parent_element() != Some(root) {
                return Err(SamlError::SignatureShape("assertion hors de la réponse"));
            }
            Some(assertion)
        }
        Expected::Logout => {
            if !assertions.is_empty() {
                return Err(SamlError::AssertionCount(assertions.len()));
            }
            None
        }
    };
    let plain_assertion = assertion.filter(|a| a.tag_name().name() == "Assertion");

    let mut response_signed = false;
    let mut assertion_signed = false;
    for sig in doc
        .descendants()
        .filter(|n| n.has_tag_name((NS_DSIG, "Signature")))
    {
        let parent = sig
            .parent_element()
            .ok_or(SamlError::SignatureShape("signature orpheline"))?;
        if parent == root {
            if response_signed {
                return Err(SamlError::SignatureShape("deux signatures"));
            }
            response_signed = true;
        } else if Some(parent) == plain_assertion {
            if assertion_signed {
                return Err(SamlError::SignatureShape("deux signatures"));
            }
            assertion_signed = true;
        } else {
            return Err(SamlError::SignatureShape("signature mal placée"));
        }
        xmlsig::check_signature(sig, parent, "ID", allow_sha1)?;
    }
    if expected == Expected::Response && !response_signed && !assertion_signed {
        return Err(SamlError::Unsigned);
    }
    let assertion_encrypted = assertion.is_some() && plain_assertion.is_none();
    let ds_declaration_at = assertion
        .filter(|_| assertion_encrypted)
        .and_then(|a| {
            a.children()
                .find(|n| n.has_tag_name((NS_XENC, "EncryptedData")))
        })
        .and_then(|data| {
            data.children()
                .find(|n| n.has_tag_name((NS_DSIG, "KeyInfo")))
        })
        .and_then(|key_info| missing_ds_declaration(xml, key_info.range().start));
    // samael verifies before decrypting: an encrypted assertion is only trusted under a signed Response.
    if assertion_encrypted && !response_signed {
        return Err(SamlError::Unsigned);
    }
    Ok(Scan {
        root_name,
        root_id,
        destination: root.attribute("Destination").map(str::to_string),
        in_response_to: root.attribute("InResponseTo").map(str::to_string),
        response_signed,
        assertion_signed,
        assertion_encrypted,
        ds_declaration_at,
    })
}

/// Where to insert ` xmlns:ds="…"` in the start tag beginning at `start`, unless it already declares
/// `xmlns:ds` or `xmlns:dsig` itself.
fn missing_ds_declaration(xml: &str, start: usize) -> Option<usize> {
    let tag = xml.get(start..)?;
    let name_end = tag.find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')?;
    // The start tag ends at the first '>' outside a quoted attribute value.
    let mut quote = None;
    let mut end = None;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let start_tag = &tag[..end?];
    let declared = ["xmlns:ds=", "xmlns:dsig="]
        .iter()
        .any(|d| start_tag.contains(d));
    (!declared).then_some(start + name_end)
}

/// samael 0.0.22 only reads an `EncryptedData/KeyInfo` that declares `xmlns:ds` (or `xmlns:dsig`) on
/// itself, as Shibboleth writes it; pysaml2 and others declare the prefix higher up. Adding an unused,
/// same-valued declaration does not change the exclusive canonical form the signature covers (exc-c14n
/// renders only visibly used prefixes), so the signature still verifies; any other effect on the
/// signed bytes makes verification fail, never pass. Both the verifier and the reader see the same bytes.
pub fn declare_ds_for_samael<'a>(xml: &'a str, scan: &Scan) -> std::borrow::Cow<'a, str> {
    match scan.ds_declaration_at {
        Some(at) if xml.is_char_boundary(at) => {
            let mut out = String::with_capacity(xml.len() + 48);
            out.push_str(&xml[..at]);
            out.push_str(&format!(" xmlns:ds=\"{NS_DSIG}\""));
            out.push_str(&xml[at..]);
            std::borrow::Cow::Owned(out)
        }
        _ => std::borrow::Cow::Borrowed(xml),
    }
}
