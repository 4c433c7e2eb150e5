//! SAML test fixtures: responses built from a template with the current time and signed (and
//! encrypted) by the real `xmlsec1` command with the keys in tests/fixtures/saml/ (see gen.sh there).
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

use passerelle::auth::saml::{IdpMetadata, KeyPair, ServiceProvider, SpSettings};

pub const IDP_ENTITY: &str = "https://idp.test/idp";
pub const SP_ENTITY: &str = "https://passerelle.test/saml/metadata";
pub const ACS: &str = "https://passerelle.test/auth/callback/eleve/educonnect";
pub const REQUEST_ID: &str = "_4b1c7e0e-1d2f-4a55-9f0e-3a1b2c3d4e5f";
const P: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const A: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/saml")
        .join(name)
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn instant(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn idp_metadata_xml(cert: &str) -> String {
    let pem = std::fs::read_to_string(fixture(cert)).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP_ENTITY}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/slo"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
}

pub fn key_pair(name: &str) -> KeyPair {
    KeyPair::from_files(
        &fixture(&format!("{name}.key")),
        &fixture(&format!("{name}.crt")),
    )
    .unwrap()
}

/// SP settings trusting idp.crt, decrypting with sp.key (and `sp2.key` when `rollover`).
pub fn settings() -> SpSettings {
    let idp = IdpMetadata::parse(&idp_metadata_xml("idp.crt"), Some(IDP_ENTITY), now()).unwrap();
    let mut s = SpSettings::new(SP_ENTITY, ACS, idp);
    s.slo_url = Some("https://passerelle.test/auth/saml/sls".into());
    s.signing_key = Some(key_pair("sp"));
    s.encryption_keys = vec![key_pair("sp")];
    s
}

pub fn sp() -> ServiceProvider {
    ServiceProvider::new(settings()).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Assertion,
    Response,
    Nothing,
}

/// A response to build; every field is what a well-behaved IdP would send, tests change one.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub now: i64,
    pub response_id: String,
    pub assertion_id: String,
    pub in_response_to: Option<String>,
    pub destination: String,
    pub recipient: String,
    pub audience: String,
    pub issuer: String,
    pub name_id: String,
    pub not_before: i64,
    pub not_on_or_after: i64,
    pub attributes: Vec<(String, Vec<String>)>,
    pub sign: Sign,
    pub key: &'static str,
    pub sha1: bool,
    /// Encrypt the assertion for this certificate (fixture name), then sign the Response.
    pub encrypt_for: Option<&'static str>,
}

impl Default for Fixture {
    fn default() -> Self {
        let now = now();
        Fixture {
            now,
            response_id: format!("_r{}", uuid::Uuid::new_v4().simple()),
            assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
            in_response_to: Some(REQUEST_ID.into()),
            destination: ACS.into(),
            recipient: ACS.into(),
            audience: SP_ENTITY.into(),
            issuer: IDP_ENTITY.into(),
            name_id: "alice@idp.test".into(),
            not_before: now - 30,
            not_on_or_after: now + 300,
            attributes: vec![
                (
                    "urn:oid:1.3.6.1.4.1.20326.10.999.1.57".into(),
                    vec!["c0ffee".repeat(16)],
                ),
                (
                    "urn:oid:1.3.6.1.4.1.20326.10.999.1.7".into(),
                    vec!["eleve2d".into()],
                ),
                ("urn:oid:2.5.4.4".into(), vec!["Martin".into()]),
                ("urn:oid:2.5.4.42".into(), vec!["Léa".into()]),
                (
                    "urn:oid:1.3.6.1.4.1.20326.10.999.1.72".into(),
                    vec!["0254222C".into()],
                ),
                (
                    "urn:oid:1.3.6.1.4.1.20326.10.999.1.5".into(),
                    vec!["https://educonnect.education.gouv.fr/Logout".into()],
                ),
            ],
            sign: Sign::Assertion,
            key: "idp",
            sha1: false,
            encrypt_for: None,
        }
    }
}

pub fn signature_template(id: &str, sha1: bool) -> String {
    let (sig, dig) = if sha1 {
        (
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        )
    } else {
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        )
    };
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{sig}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{dig}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data></ds:X509Data></ds:KeyInfo></ds:Signature>"##
    )
}

impl Fixture {
    pub fn assertion_xml(&self) -> String {
        let sig = if self.sign == Sign::Assertion {
            signature_template(&self.assertion_id, self.sha1)
        } else {
            String::new()
        };
        let irt = self
            .in_response_to
            .as_ref()
            .map(|r| format!(r#" InResponseTo="{r}""#))
            .unwrap_or_default();
        let mut attrs = String::new();
        for (name, values) in &self.attributes {
            attrs.push_str(&format!(r#"<saml:Attribute Name="{name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">"#));
            for v in values {
                attrs.push_str(&format!("<saml:AttributeValue>{v}</saml:AttributeValue>"));
            }
            attrs.push_str("</saml:Attribute>");
        }
        format!(
            concat!(
                r#"<saml:Assertion xmlns:saml="{A}" ID="{id}" Version="2.0" IssueInstant="{now}">"#,
                r#"<saml:Issuer>{issuer}</saml:Issuer>{sig}"#,
                r#"<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">{name}</saml:NameID>"#,
                r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{noa}" Recipient="{recipient}"{irt}/></saml:SubjectConfirmation></saml:Subject>"#,
                r#"<saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
                r#"<saml:AuthnStatement AuthnInstant="{now}" SessionIndex="_session1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
                r#"<saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>"#
            ),
            A = A,
            id = self.assertion_id,
            now = instant(self.now),
            issuer = self.issuer,
            sig = sig,
            name = self.name_id,
            noa = instant(self.not_on_or_after),
            nb = instant(self.not_before),
            recipient = self.recipient,
            irt = irt,
            aud = self.audience,
            attrs = attrs,
        )
    }

    /// The unsigned document with its signature template(s) in place.
    pub fn template(&self) -> String {
        let sig = if self.sign == Sign::Response {
            signature_template(&self.response_id, self.sha1)
        } else {
            String::new()
        };
        let irt = self
            .in_response_to
            .as_ref()
            .map(|r| format!(r#" InResponseTo="{r}""#))
            .unwrap_or_default();
        let assertion = if self.encrypt_for.is_some() {
            format!(
                "<saml:EncryptedAssertion>{}</saml:EncryptedAssertion>",
                self.assertion_xml()
            )
        } else {
            self.assertion_xml()
        };
        format!(
            r#"<samlp:Response xmlns:samlp="{P}" xmlns:saml="{A}" ID="{}" Version="2.0" IssueInstant="{}" Destination="{}"{irt}><saml:Issuer>{}</saml:Issuer>{sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
            self.response_id,
            instant(self.now),
            self.destination,
            self.issuer,
        )
    }

    /// The finished response: encrypted (if asked), then signed with xmlsec1.
    pub fn build(&self) -> String {
        let mut xml = self.template();
        if let Some(cert) = self.encrypt_for {
            xml = encrypt_assertion(&xml, cert);
        }
        if self.sign == Sign::Nothing {
            return xml;
        }
        sign(&xml, self.key)
    }

    pub fn build_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.build())
    }
}

fn run_xmlsec(args: &[&str]) -> Vec<u8> {
    let out = Command::new("xmlsec1")
        .args(args)
        .output()
        .expect("xmlsec1 is installed (scripts/test.sh)");
    assert!(
        out.status.success(),
        "xmlsec1 {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Signs the first `ds:Signature` template of `xml` with `key` (fixture name).
pub fn sign(xml: &str, key: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.xml");
    std::fs::write(&input, xml).unwrap();
    let keyarg = format!(
        "{},{}",
        fixture(&format!("{key}.key")).display(),
        fixture(&format!("{key}.crt")).display()
    );
    let out = run_xmlsec(&[
        "--sign",
        "--privkey-pem",
        &keyarg,
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        input.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out).unwrap();
    // xmlsec1 adds an XML declaration; drop it so tests can splice documents together.
    match text.strip_prefix("<?xml version=\"1.0\"?>\n") {
        Some(rest) => rest.trim_end().to_string(),
        None => text.trim_end().to_string(),
    }
}

const ENC_TEMPLATE: &str = r#"<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>"#;

/// Replaces the (only) `saml:Assertion` of `xml` by its encryption for `cert` (fixture name).
pub fn encrypt_assertion(xml: &str, cert: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.xml");
    let tmpl = dir.path().join("tmpl.xml");
    std::fs::write(&data, xml).unwrap();
    std::fs::write(&tmpl, ENC_TEMPLATE).unwrap();
    let out = run_xmlsec(&[
        "--encrypt",
        "--pubkey-cert-pem",
        fixture(&format!("{cert}.crt")).to_str().unwrap(),
        "--session-key",
        "aes-128",
        "--xml-data",
        data.to_str().unwrap(),
        "--node-name",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        tmpl.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out).unwrap();
    match text.strip_prefix("<?xml version=\"1.0\"?>\n") {
        Some(rest) => rest.trim_end().to_string(),
        None => text.trim_end().to_string(),
    }
}
