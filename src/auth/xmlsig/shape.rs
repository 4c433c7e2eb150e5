//! What an acceptable XML signature looks like, checked on the strict parse before libxmlsec1 runs
//! (the checks Oxide's omicron makes around samael): one `SignedInfo`, no `ds:Object`, exactly one
//! `Reference` whose URI is `#` + the ID of the signature's parent, only the enveloped-signature and
//! exclusive canonicalisation transforms, and algorithms from the allow-list (SHA-256 and stronger;
//! SHA-1 only when the caller opts in for a legacy provider).

use super::{NS_DSIG, XmlSigError};

const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";

const STRONG_SIGNATURES: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];
const STRONG_DIGESTS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
const SHA1_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const SHA1_DIGEST: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

fn dsig<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &str,
) -> Vec<roxmltree::Node<'a, 'input>> {
    node.children()
        .filter(|n| n.has_tag_name((NS_DSIG, name)))
        .collect()
}

/// Checks that `sig` (a `ds:Signature`) covers exactly `parent`, whose ID is in its `id_attribute`
/// (`ID` for SAML 2.0, `AssertionID` for SAML 1.1), with approved transforms and algorithms.
pub fn check_signature(
    sig: roxmltree::Node,
    parent: roxmltree::Node,
    id_attribute: &str,
    allow_sha1: bool,
) -> Result<(), XmlSigError> {
    let [signed_info] = dsig(sig, "SignedInfo")[..] else {
        return Err(XmlSigError::SignatureShape("SignedInfo"));
    };
    if !dsig(sig, "Object").is_empty() {
        return Err(XmlSigError::SignatureShape("ds:Object"));
    }
    let [c14n] = dsig(signed_info, "CanonicalizationMethod")[..] else {
        return Err(XmlSigError::SignatureShape("CanonicalizationMethod"));
    };
    let c14n_alg = c14n.attribute("Algorithm").unwrap_or_default();
    if c14n_alg != EXC_C14N && c14n_alg != C14N {
        return Err(XmlSigError::Algorithm(c14n_alg.to_string()));
    }
    let [method] = dsig(signed_info, "SignatureMethod")[..] else {
        return Err(XmlSigError::SignatureShape("SignatureMethod"));
    };
    let alg = method.attribute("Algorithm").unwrap_or_default();
    if !(STRONG_SIGNATURES.contains(&alg) || (allow_sha1 && alg == SHA1_SIGNATURE)) {
        return Err(XmlSigError::Algorithm(alg.to_string()));
    }
    let [reference] = dsig(signed_info, "Reference")[..] else {
        return Err(XmlSigError::SignatureShape("une seule Reference attendue"));
    };
    let parent_id = parent
        .attribute(id_attribute)
        .ok_or(XmlSigError::SignatureShape("élément signé sans ID"))?;
    match reference.attribute("URI") {
        Some(uri) if uri.strip_prefix('#') == Some(parent_id) => {}
        _ => {
            return Err(XmlSigError::SignatureShape(
                "la Reference ne désigne pas l'élément signé",
            ));
        }
    }
    for transforms in dsig(reference, "Transforms") {
        for transform in transforms.children().filter(|n| n.is_element()) {
            let alg = transform.attribute("Algorithm").unwrap_or_default();
            if !transform.has_tag_name((NS_DSIG, "Transform"))
                || (alg != ENVELOPED && alg != EXC_C14N)
            {
                return Err(XmlSigError::SignatureShape("transformation refusée"));
            }
        }
    }
    let [digest] = dsig(reference, "DigestMethod")[..] else {
        return Err(XmlSigError::SignatureShape("DigestMethod"));
    };
    let alg = digest.attribute("Algorithm").unwrap_or_default();
    if !(STRONG_DIGESTS.contains(&alg) || (allow_sha1 && alg == SHA1_DIGEST)) {
        return Err(XmlSigError::Algorithm(alg.to_string()));
    }
    Ok(())
}
