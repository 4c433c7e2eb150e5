//! Messages we send over the HTTP-Redirect binding: the AuthnRequest (and, through [`redirect_url`],
//! the logout messages of [`super::slo`]). Deflate (raw), base64, URL-encode; signed with `SigAlg` and
//! `Signature` over the exact query string when the SP has a signing key (SAML bindings §3.4.4.1).

use std::io::Write;

use base64::Engine;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use openssl::hash::MessageDigest;
use openssl::sign::Signer;
use url::form_urlencoded::byte_serialize;

use super::error::SamlError;
use super::keys::KeyPair;
use super::{NS_ASSERTION, NS_PROTOCOL, SpSettings, new_id, saml_instant, xml_escape};

pub const SIG_ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// An AuthnRequest ready to send: remember `id` in the pending login, redirect the browser to `url`.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    /// The request ID (`_` + UUID) that the response's `InResponseTo` must carry.
    pub id: String,
    pub url: String,
}

/// Whether the query parameter is a request or a response (they travel under different names).
#[derive(Debug, Clone, Copy)]
pub enum MessageKind {
    Request,
    Response,
}

/// Builds the AuthnRequest for `settings.idp` and the redirect URL carrying it and `relay_state`.
pub fn authn_request(
    settings: &SpSettings,
    relay_state: &str,
    force_authn: bool,
    now: i64,
) -> Result<OutgoingRequest, SamlError> {
    authn_request_with_id(settings, new_id(), relay_state, force_authn, now)
}

/// As [`authn_request`] with a chosen ID (an NCName; the delegation derives it from the pending state so
/// that nothing else needs storing).
pub fn authn_request_with_id(
    settings: &SpSettings,
    id: String,
    relay_state: &str,
    force_authn: bool,
    now: i64,
) -> Result<OutgoingRequest, SamlError> {
    let xml = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="{p}" xmlns:saml="{a}" ID="{id}" Version="2.0" IssueInstant="{instant}" "#,
            r#"Destination="{dest}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="{binding}"{force}>"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:NameIDPolicy AllowCreate="true"/>"#,
            r#"</samlp:AuthnRequest>"#
        ),
        p = NS_PROTOCOL,
        a = NS_ASSERTION,
        id = id,
        instant = saml_instant(now),
        dest = xml_escape(&settings.idp.sso_redirect),
        acs = xml_escape(&settings.acs_url),
        binding = BINDING_POST,
        force = if force_authn {
            r#" ForceAuthn="true""#
        } else {
            ""
        },
        issuer = xml_escape(&settings.entity_id),
    );
    let url = redirect_url(
        &settings.idp.sso_redirect,
        MessageKind::Request,
        &xml,
        Some(relay_state),
        settings.signing_key.as_ref(),
    )?;
    Ok(OutgoingRequest { id, url })
}

/// `endpoint?SAMLRequest=…&RelayState=…&SigAlg=…&Signature=…`.
pub fn redirect_url(
    endpoint: &str,
    kind: MessageKind,
    xml: &str,
    relay_state: Option<&str>,
    key: Option<&KeyPair>,
) -> Result<String, SamlError> {
    let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
    deflater
        .write_all(xml.as_bytes())
        .map_err(|e| SamlError::Malformed(e.to_string()))?;
    let deflated = deflater
        .finish()
        .map_err(|e| SamlError::Malformed(e.to_string()))?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(deflated);

    let param = match kind {
        MessageKind::Request => "SAMLRequest",
        MessageKind::Response => "SAMLResponse",
    };
    let mut query = format!("{param}={}", enc(&encoded));
    if let Some(relay) = relay_state {
        query.push_str(&format!("&RelayState={}", enc(relay)));
    }
    if let Some(key) = key {
        query.push_str(&format!("&SigAlg={}", enc(SIG_ALG_RSA_SHA256)));
        let signature = sign(key, query.as_bytes())?;
        query.push_str(&format!("&Signature={}", enc(&signature)));
    }
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Ok(format!("{endpoint}{separator}{query}"))
}

fn sign(key: &KeyPair, data: &[u8]) -> Result<String, SamlError> {
    let mut signer = Signer::new(MessageDigest::sha256(), &key.key)
        .map_err(|e| SamlError::Key(e.to_string()))?;
    signer
        .update(data)
        .map_err(|e| SamlError::Key(e.to_string()))?;
    let signature = signer
        .sign_to_vec()
        .map_err(|e| SamlError::Key(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signature))
}

fn enc(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}
