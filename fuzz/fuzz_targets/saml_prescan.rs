//! The SAML input path before any signature check: the strict pre-scan of a posted response or a
//! logout message, the interop rewrite that follows it, IdP metadata parsing, and the splitting and
//! decoding of an HTTP-Redirect logout query (which stops at the signature check on random input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle::auth::saml::prescan::{self, Expected};
use passerelle::auth::saml::{IdpMetadata, SpSettings, slo};

const IDP_METADATA: &str = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.test/idp"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>CERT</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for expected in [Expected::Response, Expected::Logout] {
        if let Ok(scan) = prescan::scan(&text, expected, false, 256 * 1024) {
            let _ = prescan::declare_ds_for_samael(&text, &scan);
        }
    }
    let _ = IdpMetadata::parse(&text, None, 0);

    let pem = include_str!("../../tests/fixtures/saml/idp.crt");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let Ok(idp) = IdpMetadata::parse(&IDP_METADATA.replace("CERT", &b64), None, 0) else { return };
    let mut settings = SpSettings::new("https://sp.test", "https://sp.test/acs", idp);
    settings.slo_url = Some("https://sp.test/sls".into());
    let _ = slo::parse_redirect(&settings, &text, 0);
});
