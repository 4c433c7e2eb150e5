//! The strict parse: the first thing any untrusted XML goes through.
//!
//! libxml2 (under samael and libxmlsec1) parses in recover mode and accepts DTDs, trailing garbage and
//! broken markup; two parsers that disagree are how signature wrapping works. roxmltree accepts only
//! well-formed documents without DTD, and the node count is bounded before anything else is done.

use std::collections::HashSet;

use super::XmlSigError;

/// Largest number of XML nodes in one message: far above any real token, far below a DoS.
pub const NODES_LIMIT: u32 = 20_000;

/// Parses `xml` strictly: at most `max_bytes`, no DTD, at most [`NODES_LIMIT`] nodes.
pub fn parse_strict(xml: &str, max_bytes: usize) -> Result<roxmltree::Document<'_>, XmlSigError> {
    if xml.len() > max_bytes {
        return Err(XmlSigError::TooLarge);
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(xml, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => XmlSigError::Dtd,
        roxmltree::Error::NodesLimitReached => XmlSigError::TooLarge,
        other => XmlSigError::Malformed(other.to_string()),
    })
}

/// Refuses comments (they split text nodes: the NameID comment-injection attack), processing
/// instructions, and two elements carrying the same value in any of the `id_attributes` (a duplicate
/// ID lets a signature reference resolve to another element than the one read).
pub fn refuse_hidden_content(
    doc: &roxmltree::Document,
    id_attributes: &[&str],
) -> Result<(), XmlSigError> {
    let mut ids = HashSet::new();
    for node in doc.descendants() {
        if node.is_comment() {
            return Err(XmlSigError::Comment);
        }
        if node.is_pi() {
            return Err(XmlSigError::Malformed("instruction de traitement".into()));
        }
        for attribute in node.attributes() {
            if id_attributes.contains(&attribute.name()) && !ids.insert(attribute.value()) {
                return Err(XmlSigError::SignatureShape("identifiant dupliqué"));
            }
        }
    }
    Ok(())
}
