//! Metadata both ways: the SP metadata we publish (entityID, signing and encryption certificates, ACS,
//! SLS), and the IdP metadata we trust (from a file or an URL), read strictly and checked for validity.
//!
//! The IdP's signing certificates are the only source of trust for responses: an IdP without one is
//! refused here, because samael silently skips signature checks when it has no certificate.

use base64::Engine;
use openssl::x509::X509;
use std::str::FromStr;

use super::error::SamlError;
use super::{NS_DSIG, NS_MD, SpSettings, xml_escape};

const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// Largest metadata document accepted (aggregates are not supported; one entity is small).
pub const MAX_METADATA_BYTES: usize = 1 << 20;

/// What we keep from an IdP's metadata.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// DER certificates allowed to sign responses and logout messages.
    pub signing_certs: Vec<Vec<u8>>,
    /// SingleSignOnService location for the HTTP-Redirect binding.
    pub sso_redirect: String,
    /// SingleLogoutService location for the HTTP-Redirect binding, if offered.
    pub slo_redirect: Option<String>,
    /// `validUntil`, seconds since the epoch.
    pub valid_until: Option<i64>,
}

impl IdpMetadata {
    /// Reads an `EntityDescriptor` (or the one entity of an `EntitiesDescriptor` whose entityID is
    /// `expected_entity_id`), refusing DTDs, expired metadata and an IdP without signing certificate.
    pub fn parse(xml: &str, expected_entity_id: Option<&str>, now: i64) -> Result<Self, SamlError> {
        if xml.len() > MAX_METADATA_BYTES {
            return Err(SamlError::Metadata("document trop volumineux".into()));
        }
        let doc = roxmltree::Document::parse(xml).map_err(|e| match e {
            roxmltree::Error::DtdDetected => SamlError::Dtd,
            other => SamlError::Metadata(other.to_string()),
        })?;
        let root = doc.root_element();
        let entity = if root.has_tag_name((NS_MD, "EntityDescriptor")) {
            root
        } else if root.has_tag_name((NS_MD, "EntitiesDescriptor")) {
            check_valid_until(root, now)?;
            let wanted = expected_entity_id.ok_or_else(|| {
                SamlError::Metadata("agrégat de métadonnées : précisez l'entityID attendu".into())
            })?;
            root.descendants()
                .find(|n| {
                    n.has_tag_name((NS_MD, "EntityDescriptor"))
                        && n.attribute("entityID") == Some(wanted)
                })
                .ok_or_else(|| SamlError::Metadata(format!("entité {wanted} absente")))?
        } else {
            return Err(SamlError::Metadata("élément racine inattendu".into()));
        };
        let valid_until = check_valid_until(entity, now)?;
        let entity_id = entity
            .attribute("entityID")
            .ok_or_else(|| SamlError::Metadata("entityID manquant".into()))?
            .to_string();
        if let Some(expected) = expected_entity_id
            && expected != entity_id
        {
            return Err(SamlError::Metadata(format!(
                "entityID {entity_id} au lieu de {expected}"
            )));
        }
        let idp = entity
            .children()
            .find(|n| n.has_tag_name((NS_MD, "IDPSSODescriptor")))
            .ok_or_else(|| SamlError::Metadata("IDPSSODescriptor manquant".into()))?;

        // Keys marked for signing; keys without `use` serve both purposes (SAML metadata §2.4.1.1).
        let mut signing_certs = Vec::new();
        for kd in idp
            .children()
            .filter(|n| n.has_tag_name((NS_MD, "KeyDescriptor")))
        {
            if !matches!(kd.attribute("use"), None | Some("signing") | Some("")) {
                continue;
            }
            for cert in kd
                .descendants()
                .filter(|n| n.has_tag_name((NS_DSIG, "X509Certificate")))
            {
                signing_certs.push(decode_cert(cert.text().unwrap_or(""))?);
            }
        }
        if signing_certs.is_empty() {
            return Err(SamlError::NoSigningCertificate);
        }
        let endpoint = |name: &str| {
            idp.children()
                .find(|n| {
                    n.has_tag_name((NS_MD, name))
                        && n.attribute("Binding") == Some(BINDING_REDIRECT)
                })
                .and_then(|n| n.attribute("Location"))
                .map(str::to_string)
        };
        let sso_redirect = endpoint("SingleSignOnService")
            .ok_or_else(|| SamlError::Metadata("aucun SingleSignOnService HTTP-Redirect".into()))?;
        Ok(IdpMetadata {
            entity_id,
            signing_certs,
            sso_redirect,
            slo_redirect: endpoint("SingleLogoutService"),
            valid_until,
        })
    }

    pub fn from_file(
        path: &std::path::Path,
        expected_entity_id: Option<&str>,
        now: i64,
    ) -> Result<Self, SamlError> {
        let xml = std::fs::read_to_string(path)
            .map_err(|e| SamlError::Metadata(format!("{}: {e}", path.display())))?;
        Self::parse(&xml, expected_entity_id, now)
    }

    /// Downloads and reads the IdP metadata at `url` (https, or http on loopback for tests), with a
    /// timeout, no redirects and the size cap; the same checks as [`IdpMetadata::parse`] follow.
    pub async fn fetch(
        url: &str,
        expected_entity_id: Option<&str>,
        now: i64,
    ) -> Result<Self, SamlError> {
        let xml = crate::auth::metadata_fetch::fetch_document(url, MAX_METADATA_BYTES)
            .await
            .map_err(SamlError::Metadata)?;
        Self::parse(&xml, expected_entity_id, now)
    }

    /// Replace the signing certificates by pinned ones from the configuration, so that a metadata
    /// refresh cannot change whom we trust.
    pub fn pin_certificates(&mut self, pems: &[Vec<u8>]) -> Result<(), SamlError> {
        let mut certs = Vec::new();
        for pem in pems {
            let cert = X509::from_pem(pem).map_err(|e| SamlError::Key(e.to_string()))?;
            certs.push(cert.to_der().map_err(|e| SamlError::Key(e.to_string()))?);
        }
        if certs.is_empty() {
            return Err(SamlError::NoSigningCertificate);
        }
        self.signing_certs = certs;
        Ok(())
    }

    /// Whether the metadata is still valid at `now` (a refresh loop drops stale copies with this).
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.valid_until.is_none_or(|until| now < until)
    }

    /// The IdP as samael sees it: a minimal descriptor built from what we chose to trust, not the raw
    /// document (so nothing we did not read can influence verification).
    pub(crate) fn samael_descriptor(
        &self,
    ) -> Result<samael::metadata::EntityDescriptor, SamlError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut keys = String::new();
        for der in &self.signing_certs {
            keys.push_str(&format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                b64.encode(der)
            ));
        }
        let xml = format!(
            r#"<md:EntityDescriptor xmlns:md="{NS_MD}" xmlns:ds="{NS_DSIG}" entityID="{}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location="{}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            xml_escape(&self.entity_id),
            xml_escape(&self.sso_redirect),
        );
        samael::metadata::EntityDescriptor::from_str(&xml)
            .map_err(|e| SamlError::Metadata(e.to_string()))
    }
}

fn check_valid_until(node: roxmltree::Node, now: i64) -> Result<Option<i64>, SamlError> {
    let Some(value) = node.attribute("validUntil") else {
        return Ok(None);
    };
    let until = chrono::DateTime::parse_from_rfc3339(value)
        .map_err(|_| SamlError::Metadata(format!("validUntil illisible : {value}")))?
        .timestamp();
    if until <= now {
        return Err(SamlError::MetadataExpired(value.to_string()));
    }
    Ok(Some(until))
}

fn decode_cert(text: &str) -> Result<Vec<u8>, SamlError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| SamlError::Metadata("certificat non base64".into()))?;
    X509::from_der(&der).map_err(|e| SamlError::Metadata(format!("certificat illisible ({e})")))?;
    Ok(der)
}

/// The SP metadata document to hand to the IdP (EduConnect asks for it by mail) and to serve.
pub fn sp_metadata(settings: &SpSettings) -> String {
    let mut keys = String::new();
    if let Some(signing) = &settings.signing_key {
        keys.push_str(&key_descriptor("signing", &signing.cert_base64(), ""));
    }
    for enc in &settings.encryption_keys {
        // Advertise only what samael can decrypt, so the IdP picks a supported pair.
        let methods = concat!(
            r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/>"#,
            r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>"#,
            r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#
        );
        keys.push_str(&key_descriptor("encryption", &enc.cert_base64(), methods));
    }
    let slo = settings
        .slo_url
        .as_deref()
        .map(|url| {
            format!(
                r#"<md:SingleLogoutService Binding="{BINDING_REDIRECT}" Location="{}"/>"#,
                xml_escape(url)
            )
        })
        .unwrap_or_default();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" entityID="{entity}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="{signed}" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            "{keys}{slo}",
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/>"#,
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#,
            "\n"
        ),
        md = NS_MD,
        ds = NS_DSIG,
        entity = xml_escape(&settings.entity_id),
        signed = settings.signing_key.is_some(),
        keys = keys,
        slo = slo,
        post = BINDING_POST,
        acs = xml_escape(&settings.acs_url),
    )
}

fn key_descriptor(usage: &str, cert_b64: &str, methods: &str) -> String {
    format!(
        r#"<md:KeyDescriptor use="{usage}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{methods}</md:KeyDescriptor>"#
    )
}
