//! Federation metadata both ways: the STS's `FederationMetadata.xml` (read from a file or an URL,
//! strictly), and the RP metadata document we hand to the STS's administrator.
//!
//! From the STS we keep its entityID (the issuer of its tokens), the passive requestor endpoint, the
//! signing certificates (the only trust anchors; an STS without one is refused) and the claims it
//! offers (what PRONOTE's administrator picks from). Certificates can be pinned instead, so that a
//! metadata refresh never changes whom we trust.

use base64::Engine;
use openssl::x509::X509;

use super::error::WsFedError;
use crate::auth::saml::xml_escape;
use crate::auth::xmlsig::{self, NS_DSIG};

const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const NS_FED: &str = "http://docs.oasis-open.org/wsfed/federation/200706";
const NS_AUTH: &str = "http://docs.oasis-open.org/wsfed/authorization/200706";
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Largest metadata document accepted (ADFS's is about 60 KiB).
pub const MAX_METADATA_BYTES: usize = 1 << 20;

/// A claim the STS says it can send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedClaim {
    pub uri: String,
    pub display_name: Option<String>,
}

/// What we keep of an STS. The default (empty) value stands for "not fetched yet": no endpoint, no
/// certificate, so nothing can start or verify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StsMetadata {
    /// The STS's entityID: the `Issuer` of its tokens.
    pub entity_id: String,
    /// Where browsers are sent with `wa=wsignin1.0` (`fed:PassiveRequestorEndpoint`).
    pub passive_endpoint: String,
    /// DER certificates allowed to sign tokens.
    pub signing_certs: Vec<Vec<u8>>,
    pub claims_offered: Vec<OfferedClaim>,
}

impl StsMetadata {
    /// Reads an `EntityDescriptor` with a `RoleDescriptor` of type `fed:SecurityTokenServiceType`.
    pub fn parse(xml: &str) -> Result<Self, WsFedError> {
        let meta = |m: &str| WsFedError::Metadata(m.to_owned());
        let doc = xmlsig::parse_strict(xml, MAX_METADATA_BYTES).map_err(|e| match e {
            xmlsig::XmlSigError::Dtd => WsFedError::Dtd,
            other => WsFedError::Metadata(other.to_string()),
        })?;
        let entity = doc.root_element();
        if !entity.has_tag_name((NS_MD, "EntityDescriptor")) {
            return Err(meta("EntityDescriptor attendu"));
        }
        let entity_id = entity
            .attribute("entityID")
            .ok_or_else(|| meta("entityID manquant"))?
            .to_owned();
        let sts = entity
            .children()
            .find(|n| {
                n.has_tag_name((NS_MD, "RoleDescriptor"))
                    && n.attribute((NS_XSI, "type")).is_some_and(|t| {
                        let (prefix, local) = t.split_once(':').unwrap_or(("", t));
                        local == "SecurityTokenServiceType"
                            && n.lookup_namespace_uri(Some(prefix).filter(|p| !p.is_empty()))
                                == Some(NS_FED)
                    })
            })
            .ok_or_else(|| meta("aucun RoleDescriptor fed:SecurityTokenServiceType"))?;
        let passive_endpoint = sts
            .children()
            .find(|n| n.has_tag_name((NS_FED, "PassiveRequestorEndpoint")))
            .and_then(|n| n.descendants().find(|d| d.tag_name().name() == "Address"))
            .map(|address| address.text().unwrap_or_default().trim().to_owned())
            .filter(|address| !address.is_empty())
            .ok_or_else(|| meta("aucun PassiveRequestorEndpoint"))?;
        let mut signing_certs = Vec::new();
        for kd in sts
            .children()
            .filter(|n| n.has_tag_name((NS_MD, "KeyDescriptor")))
            .filter(|kd| matches!(kd.attribute("use"), None | Some("signing") | Some("")))
        {
            for cert in kd
                .descendants()
                .filter(|n| n.has_tag_name((NS_DSIG, "X509Certificate")))
            {
                signing_certs.push(decode_cert(cert.text().unwrap_or_default())?);
            }
        }
        if signing_certs.is_empty() {
            return Err(meta("aucun certificat de signature"));
        }
        let claims_offered = sts
            .children()
            .filter(|n| n.has_tag_name((NS_FED, "ClaimTypesOffered")))
            .flat_map(|offered| offered.children())
            .filter(|n| n.has_tag_name((NS_AUTH, "ClaimType")))
            .filter_map(|claim| {
                Some(OfferedClaim {
                    uri: claim.attribute("Uri")?.to_owned(),
                    display_name: claim
                        .children()
                        .find(|n| n.has_tag_name((NS_AUTH, "DisplayName")))
                        .and_then(|n| n.text())
                        .map(|t| t.trim().to_owned()),
                })
            })
            .collect();
        Ok(StsMetadata {
            entity_id,
            passive_endpoint,
            signing_certs,
            claims_offered,
        })
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self, WsFedError> {
        let xml = std::fs::read_to_string(path)
            .map_err(|e| WsFedError::Metadata(format!("{} : {e}", path.display())))?;
        Self::parse(&xml)
    }

    /// Replaces the signing certificates by pinned ones (PEM), so that whatever the metadata says
    /// later, only these sign.
    pub fn pin_certificates(&mut self, pems: &[Vec<u8>]) -> Result<(), WsFedError> {
        let mut certs = Vec::new();
        for pem in pems {
            let cert = X509::from_pem(pem)
                .map_err(|e| WsFedError::Metadata(format!("certificat illisible ({e})")))?;
            certs.push(
                cert.to_der()
                    .map_err(|e| WsFedError::Metadata(e.to_string()))?,
            );
        }
        if certs.is_empty() {
            return Err(WsFedError::Metadata("aucun certificat épinglé".into()));
        }
        self.signing_certs = certs;
        Ok(())
    }

    /// Keeps only the signing certificates whose SHA-256 (or, for ADFS's habit, SHA-1) thumbprint is
    /// listed (hex, any case, colons allowed); refuses when none is left.
    pub fn pin_thumbprints(&mut self, thumbprints: &[String]) -> Result<(), WsFedError> {
        let wanted: Vec<String> = thumbprints
            .iter()
            .map(|t| t.replace(':', "").to_ascii_lowercase())
            .collect();
        self.signing_certs.retain(|der| {
            let sha256 = hex::encode(openssl::sha::sha256(der));
            let sha1 = hex::encode(openssl::sha::sha1(der));
            wanted.iter().any(|w| *w == sha256 || *w == sha1)
        });
        if self.signing_certs.is_empty() {
            return Err(WsFedError::Metadata(
                "aucun certificat des métadonnées ne correspond aux empreintes épinglées".into(),
            ));
        }
        Ok(())
    }
}

/// Certificates the configuration pins (PEM) or thumbprints it keeps, applied to every copy of the
/// metadata, read from a file or fetched again.
#[derive(Debug, Clone, Default)]
pub struct Pins {
    pub certificates: Vec<Vec<u8>>,
    pub thumbprints: Vec<String>,
}

impl Pins {
    pub fn apply(&self, sts: &mut StsMetadata) -> Result<(), WsFedError> {
        if !self.certificates.is_empty() {
            sts.pin_certificates(&self.certificates)?;
        }
        if !self.thumbprints.is_empty() {
            sts.pin_thumbprints(&self.thumbprints)?;
        }
        Ok(())
    }
}

/// Metadata published by the STS at an URL, fetched at start and every `refresh`.
#[derive(Debug, Clone)]
pub struct MetadataUrl {
    pub url: String,
    pub refresh: std::time::Duration,
    pub pins: Pins,
}

impl MetadataUrl {
    /// Downloads (https, timeout, no redirects, size cap), reads and pins one copy.
    pub async fn fetch(&self) -> Result<StsMetadata, WsFedError> {
        let xml = crate::auth::metadata_fetch::fetch_document(&self.url, MAX_METADATA_BYTES)
            .await
            .map_err(WsFedError::Metadata)?;
        let mut sts = StsMetadata::parse(&xml)?;
        self.pins.apply(&mut sts)?;
        Ok(sts)
    }
}

fn decode_cert(text: &str) -> Result<Vec<u8>, WsFedError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| WsFedError::Metadata("certificat non base64".into()))?;
    X509::from_der(&der)
        .map_err(|e| WsFedError::Metadata(format!("certificat illisible ({e})")))?;
    Ok(der)
}

/// Our RP metadata (`fed:ApplicationServiceType`): the realm and where tokens are posted, for the
/// STS administrator (ADFS "Add Relying Party Trust" imports it).
pub fn rp_metadata(realm: &str, reply_url: &str, claims: &[&str]) -> String {
    let requested: String = claims
        .iter()
        .map(|uri| {
            format!(
                r#"<auth:ClaimType Uri="{}" Optional="true"/>"#,
                xml_escape(uri)
            )
        })
        .collect();
    let requested = if requested.is_empty() {
        String::new()
    } else {
        format!("<fed:ClaimTypesRequested>{requested}</fed:ClaimTypesRequested>")
    };
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<md:EntityDescriptor xmlns:md="{md}" xmlns:fed="{fed}" xmlns:auth="{auth}" xmlns:xsi="{xsi}" xmlns:wsa="http://www.w3.org/2005/08/addressing" entityID="{realm}">"#,
            r#"<md:RoleDescriptor xsi:type="fed:ApplicationServiceType" protocolSupportEnumeration="{fed}">"#,
            "{requested}",
            r#"<fed:TargetScopes><wsa:EndpointReference><wsa:Address>{realm}</wsa:Address></wsa:EndpointReference></fed:TargetScopes>"#,
            r#"<fed:PassiveRequestorEndpoint><wsa:EndpointReference><wsa:Address>{reply}</wsa:Address></wsa:EndpointReference></fed:PassiveRequestorEndpoint>"#,
            r#"</md:RoleDescriptor></md:EntityDescriptor>"#,
            "\n"
        ),
        md = NS_MD,
        fed = NS_FED,
        auth = NS_AUTH,
        xsi = NS_XSI,
        realm = xml_escape(realm),
        reply = xml_escape(reply_url),
        requested = requested,
    )
}
