//! CAS single logout: the `logoutRequest` a CAS server posts (back channel) or sends through the browser
//! (front channel, deflated and base64-encoded) when the person logs out of the ENT.
//!
//! The message is an unsigned SAML 2 `LogoutRequest` whose `SessionIndex` is the service ticket that
//! opened the session. Being unsigned, it is only believed from configured source addresses (checked
//! by the caller) and can only end sessions, never open one.

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roxmltree::{Document, ParsingOptions};

pub(crate) const SAML2_PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// A logout request is a few hundred bytes; anything bigger is not one.
pub const MAX_LOGOUT_REQUEST_BYTES: usize = 16 * 1024;

/// The session index (service ticket) named by a `logoutRequest` XML document.
pub fn session_index(xml: &str) -> Option<String> {
    if xml.len() > MAX_LOGOUT_REQUEST_BYTES {
        return None;
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 1_000,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(xml, options).ok()?;
    let root = doc.root_element();
    if !root.has_tag_name((SAML2_PROTOCOL_NS, "LogoutRequest")) {
        return None;
    }
    let mut indexes = root
        .children()
        .filter(|n| n.has_tag_name((SAML2_PROTOCOL_NS, "SessionIndex")));
    let index = indexes.next()?;
    if indexes.next().is_some() {
        return None;
    }
    let text: String = index
        .children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let text = text.trim();
    (!text.is_empty() && text.len() <= 512).then(|| text.to_owned())
}

/// The front-channel form: base64 of raw DEFLATE of the XML (some servers send it undeflated).
pub fn decode_front_channel(value: &str) -> Option<String> {
    let bytes = STANDARD.decode(value.trim()).ok()?;
    if let Ok(text) = std::str::from_utf8(&bytes)
        && text.trim_start().starts_with('<')
    {
        return Some(text.to_owned());
    }
    let mut inflated = String::new();
    flate2::read::DeflateDecoder::new(bytes.as_slice())
        .take(MAX_LOGOUT_REQUEST_BYTES as u64 + 1)
        .read_to_string(&mut inflated)
        .ok()?;
    (inflated.len() <= MAX_LOGOUT_REQUEST_BYTES).then_some(inflated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="LR-1" Version="2.0" IssueInstant="2026-11-29T04:00:00Z"><saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>ST-1-abcdef</samlp:SessionIndex></samlp:LogoutRequest>"#;

    #[test]
    fn the_session_index_is_the_ticket() {
        assert_eq!(session_index(REQUEST).as_deref(), Some("ST-1-abcdef"));
    }

    #[test]
    fn other_documents_dtds_and_double_indexes_name_no_session() {
        assert_eq!(session_index("<a/>"), None);
        assert_eq!(session_index("garbage"), None);
        let doubled = REQUEST.replace(
            "</samlp:LogoutRequest>",
            "<samlp:SessionIndex>ST-2</samlp:SessionIndex></samlp:LogoutRequest>",
        );
        assert_eq!(session_index(&doubled), None);
        let dtd = format!("<!DOCTYPE x [<!ENTITY e \"ST-9\">]>{REQUEST}");
        assert_eq!(session_index(&dtd), None);
    }

    #[test]
    fn front_channel_requests_are_inflated() {
        use std::io::Write;
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(REQUEST.as_bytes()).unwrap();
        let deflated = STANDARD.encode(encoder.finish().unwrap());
        let xml = decode_front_channel(&deflated).unwrap();
        assert_eq!(session_index(&xml).as_deref(), Some("ST-1-abcdef"));
        let plain = STANDARD.encode(REQUEST);
        assert_eq!(decode_front_channel(&plain).as_deref(), Some(REQUEST));
    }
}
