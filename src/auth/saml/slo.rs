//! Single logout over HTTP-Redirect, both ways: we send a LogoutRequest when a user logs out of the
//! gateway, and we accept the IdP's LogoutRequest (finding sessions by NameID / SessionIndex is the
//! caller's job) and answer with a LogoutResponse. Incoming messages must be signed in the query string
//! (bindings §3.4.4.1) by an IdP signing certificate; the XML itself goes through the strict pre-scan.

use std::io::Read;

use base64::Engine;
use flate2::read::DeflateDecoder;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use percent_encoding::percent_decode_str;

use super::error::SamlError;
use super::prescan::{self, Expected};
use super::request::{MessageKind, OutgoingRequest, redirect_url};
use super::{NS_ASSERTION, NS_PROTOCOL, SpSettings, new_id, saml_instant, xml_escape};

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// A LogoutRequest or LogoutResponse received from the IdP, signature checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncomingLogout {
    Request {
        id: String,
        name_id: Option<String>,
        session_indexes: Vec<String>,
        relay_state: Option<String>,
    },
    Response {
        in_response_to: Option<String>,
        success: bool,
        relay_state: Option<String>,
    },
}

/// The SP-initiated LogoutRequest for a session created from an assertion with `name_id` and
/// `session_index`.
pub fn logout_request(
    settings: &SpSettings,
    name_id: &str,
    name_id_format: Option<&str>,
    session_index: Option<&str>,
    relay_state: &str,
    now: i64,
) -> Result<OutgoingRequest, SamlError> {
    let endpoint = settings
        .idp
        .slo_redirect
        .as_deref()
        .ok_or_else(|| SamlError::Metadata("aucun SingleLogoutService HTTP-Redirect".into()))?;
    let id = new_id();
    let format = name_id_format
        .map(|f| format!(r#" Format="{}""#, xml_escape(f)))
        .unwrap_or_default();
    let index = session_index
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", xml_escape(s)))
        .unwrap_or_default();
    let xml = format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="{p}" xmlns:saml="{a}" ID="{id}" Version="2.0" IssueInstant="{t}" Destination="{d}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer><saml:NameID{format}>{name}</saml:NameID>{index}</samlp:LogoutRequest>"#
        ),
        p = NS_PROTOCOL,
        a = NS_ASSERTION,
        id = id,
        t = saml_instant(now),
        d = xml_escape(endpoint),
        issuer = xml_escape(&settings.entity_id),
        format = format,
        name = xml_escape(name_id),
        index = index,
    );
    let url = redirect_url(
        endpoint,
        MessageKind::Request,
        &xml,
        Some(relay_state),
        settings.signing_key.as_ref(),
    )?;
    Ok(OutgoingRequest { id, url })
}

/// Our LogoutResponse to an IdP-initiated LogoutRequest `in_response_to`.
pub fn logout_response(
    settings: &SpSettings,
    in_response_to: &str,
    relay_state: Option<&str>,
    now: i64,
) -> Result<String, SamlError> {
    let endpoint = settings
        .idp
        .slo_redirect
        .as_deref()
        .ok_or_else(|| SamlError::Metadata("aucun SingleLogoutService HTTP-Redirect".into()))?;
    let xml = format!(
        concat!(
            r#"<samlp:LogoutResponse xmlns:samlp="{p}" xmlns:saml="{a}" ID="{id}" Version="2.0" IssueInstant="{t}" Destination="{d}" InResponseTo="{irt}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{ok}"/></samlp:Status></samlp:LogoutResponse>"#
        ),
        p = NS_PROTOCOL,
        a = NS_ASSERTION,
        id = new_id(),
        t = saml_instant(now),
        d = xml_escape(endpoint),
        irt = xml_escape(in_response_to),
        issuer = xml_escape(&settings.entity_id),
        ok = STATUS_SUCCESS,
    );
    redirect_url(
        endpoint,
        MessageKind::Response,
        &xml,
        relay_state,
        settings.signing_key.as_ref(),
    )
}

/// Verifies and reads a logout message from the raw (still percent-encoded) query string of a GET on
/// the SLS. The signature covers the raw octets, so they are taken before any decoding.
pub fn parse_redirect(
    settings: &SpSettings,
    raw_query: &str,
    now: i64,
) -> Result<IncomingLogout, SamlError> {
    if raw_query.len() > settings.max_message_bytes {
        return Err(SamlError::TooLarge);
    }
    let mut message = None;
    let (mut relay, mut sig_alg, mut signature) = (None, None, None);
    for pair in raw_query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "SAMLRequest" | "SAMLResponse" => &mut message,
            "RelayState" => &mut relay,
            "SigAlg" => &mut sig_alg,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace((name, value)).is_some() {
            return Err(SamlError::Malformed("paramètre répété".into()));
        }
    }
    let (param, raw_message) = message.ok_or(SamlError::Missing("SAMLRequest"))?;
    let (_, raw_alg) = sig_alg.ok_or(SamlError::Unsigned)?;
    let (_, raw_signature) = signature.ok_or(SamlError::Unsigned)?;

    let alg = decode(raw_alg)?;
    let digest = match alg.as_str() {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => MessageDigest::sha256(),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => MessageDigest::sha384(),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => MessageDigest::sha512(),
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" if settings.allow_sha1 => {
            MessageDigest::sha1()
        }
        _ => return Err(SamlError::Algorithm(alg)),
    };
    let mut signed = format!("{param}={raw_message}");
    if let Some((_, raw_relay)) = relay {
        signed.push_str(&format!("&RelayState={raw_relay}"));
    }
    signed.push_str(&format!("&SigAlg={raw_alg}"));
    let signature = base64::engine::general_purpose::STANDARD
        .decode(decode(raw_signature)?)
        .map_err(|_| SamlError::Encoding)?;
    let verified = settings.idp.signing_certs.iter().any(|der| {
        X509::from_der(der)
            .and_then(|cert| cert.public_key())
            .and_then(|key| {
                let mut verifier = Verifier::new(digest, &key)?;
                verifier.update(signed.as_bytes())?;
                verifier.verify(&signature)
            })
            .unwrap_or(false)
    });
    if !verified {
        return Err(SamlError::Signature);
    }

    let deflated = base64::engine::general_purpose::STANDARD
        .decode(decode(raw_message)?)
        .map_err(|_| SamlError::Encoding)?;
    let mut xml = String::new();
    // Bound the inflated size: a few KiB of deflate can expand to gigabytes.
    DeflateDecoder::new(&deflated[..])
        .take(settings.max_message_bytes as u64 + 1)
        .read_to_string(&mut xml)
        .map_err(|_| SamlError::Encoding)?;
    let scan = prescan::scan(
        &xml,
        Expected::Logout,
        settings.allow_sha1,
        settings.max_message_bytes,
    )?;
    let relay_state = relay.map(|(_, r)| decode(r)).transpose()?;
    if let Some(dest) = &scan.destination
        && Some(dest) != settings.slo_url.as_ref()
    {
        return Err(SamlError::Destination);
    }
    read_logout(&xml, &scan, settings, relay_state, now)
}

fn read_logout(
    xml: &str,
    scan: &prescan::Scan,
    settings: &SpSettings,
    relay_state: Option<String>,
    now: i64,
) -> Result<IncomingLogout, SamlError> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| SamlError::Malformed(e.to_string()))?;
    let root = doc.root_element();
    let child_text = |ns: &str, name: &str| {
        root.children()
            .find(|n| n.has_tag_name((ns, name)))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_string())
    };
    if child_text(NS_ASSERTION, "Issuer").as_deref() != Some(settings.idp.entity_id.as_str()) {
        return Err(SamlError::Issuer);
    }
    if scan.root_name == "LogoutResponse" {
        let success = root
            .children()
            .find(|n| n.has_tag_name((NS_PROTOCOL, "Status")))
            .and_then(|s| {
                s.children()
                    .find(|n| n.has_tag_name((NS_PROTOCOL, "StatusCode")))
            })
            .and_then(|c| c.attribute("Value"))
            == Some(STATUS_SUCCESS);
        return Ok(IncomingLogout::Response {
            in_response_to: scan.in_response_to.clone(),
            success,
            relay_state,
        });
    }
    if let Some(noa) = root.attribute("NotOnOrAfter") {
        let noa = chrono::DateTime::parse_from_rfc3339(noa)
            .map_err(|_| SamlError::Malformed("NotOnOrAfter".into()))?
            .timestamp();
        if noa + settings.clock_skew as i64 <= now {
            return Err(SamlError::Expired);
        }
    }
    Ok(IncomingLogout::Request {
        id: scan.root_id.clone(),
        name_id: child_text(NS_ASSERTION, "NameID"),
        session_indexes: root
            .children()
            .filter(|n| n.has_tag_name((NS_PROTOCOL, "SessionIndex")))
            .filter_map(|n| n.text().map(|t| t.trim().to_string()))
            .collect(),
        relay_state,
    })
}

fn decode(raw: &str) -> Result<String, SamlError> {
    // application/x-www-form-urlencoded: '+' is a space before percent-decoding.
    let plus = raw.replace('+', " ");
    percent_decode_str(&plus)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| SamlError::Encoding)
}
