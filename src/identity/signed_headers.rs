//! The header-mode identity contract with the upstream.
//!
//! The gateway owns a header namespace (default `X-Passerelle-`). Every incoming header in it is removed
//! (whatever its case, and with `_` in place of `-`, since some servers fold those together), then the
//! gateway adds:
//!
//! | header | value |
//! |---|---|
//! | `<prefix>User` | the login / principal |
//! | `<prefix>Space` | `parent`, `eleve`, … |
//! | `<prefix>Protocol` | `direct`, `cas`, `saml`, `wsfed`, `oidc` |
//! | `<prefix>Nom`, `-Prenom`, `-Date-Naissance`, `-Code-Postal`, `-Id-Produit` | when known |
//! | `<prefix>Categories` | `;`-joined, when known |
//! | `<prefix>Timestamp` | Unix seconds when the request was forwarded |
//! | `<prefix>Signature` | `v1=` + hex HMAC-SHA256 |
//!
//! Values are UTF-8, percent-encoded where they are not visible ASCII (and `%` itself), so that
//! "Hélène" travels as `H%C3%A9l%C3%A8ne`.
//!
//! The signature covers every other header of the namespace: take their names in lower case, sort them,
//! and feed `name:value\n` for each (values as sent, still percent-encoded) to HMAC-SHA256 with the
//! shared key. The upstream recomputes it, compares in constant time, and refuses a timestamp older than
//! a few seconds. [`verify`] is the reference implementation.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use sha2::Sha256;

use super::Identity;
use crate::space::SpaceId;

type HmacSha256 = Hmac<Sha256>;

/// What is percent-encoded in header values: controls, non-ASCII (always), and `%`.
const VALUE_ENCODE: &AsciiSet = &CONTROLS.add(b'%');

/// The suffixes of the signed headers, in the order their lower-case full names sort.
const SUFFIXES: [&str; 10] = [
    "categories",
    "code-postal",
    "date-naissance",
    "id-produit",
    "nom",
    "prenom",
    "protocol",
    "space",
    "timestamp",
    "user",
];
const SIGNATURE_SUFFIX: &str = "signature";

/// Builds and signs the identity headers. Created once; cheap to use per request.
#[derive(Clone)]
pub struct HeaderSigner {
    /// Lower-case prefix, e.g. `x-passerelle-`.
    prefix: String,
    names: [HeaderName; 10],
    signature: HeaderName,
    mac: HmacSha256,
}

impl std::fmt::Debug for HeaderSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderSigner")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The header prefix cannot form header names.
#[derive(Debug, thiserror::Error)]
#[error("préfixe d'en-tête inutilisable : {0}")]
pub struct BadPrefix(String);

impl HeaderSigner {
    pub fn new(prefix: &str, key: &[u8]) -> Result<Self, BadPrefix> {
        let prefix = prefix.to_ascii_lowercase();
        let name = |suffix: &str| {
            HeaderName::from_bytes(format!("{prefix}{suffix}").as_bytes())
                .map_err(|_| BadPrefix(prefix.clone()))
        };
        let mut names = Vec::with_capacity(SUFFIXES.len());
        for suffix in SUFFIXES {
            names.push(name(suffix)?);
        }
        let names: [HeaderName; 10] = names.try_into().map_err(|_| BadPrefix(prefix.clone()))?;
        let signature = name(SIGNATURE_SUFFIX)?;
        // HMAC accepts keys of any length; the config already demands at least 32 bytes.
        let mac = HmacSha256::new_from_slice(key).map_err(|_| BadPrefix(prefix.clone()))?;
        Ok(HeaderSigner {
            prefix,
            names,
            signature,
            mac,
        })
    }

    /// Whether a header belongs to the gateway's namespace (case-insensitive, `_` taken as `-`).
    pub fn is_namespaced(&self, name: &HeaderName) -> bool {
        let name = name.as_str().as_bytes();
        let prefix = self.prefix.as_bytes();
        name.len() >= prefix.len()
            && name.iter().zip(prefix).all(|(&got, &want)| {
                got.to_ascii_lowercase() == want || (got == b'_' && want == b'-')
            })
    }

    /// Remove every namespaced header; what a client sends there never reaches the upstream.
    pub fn strip(&self, headers: &mut HeaderMap) {
        let doomed: Vec<HeaderName> = headers
            .keys()
            .filter(|name| self.is_namespaced(name))
            .cloned()
            .collect();
        for name in doomed {
            headers.remove(&name);
        }
    }

    /// Add the identity headers and their signature.
    ///
    /// Runs on every authenticated request: the only allocations are the header values themselves
    /// (a `HeaderValue` owns its bytes). Values needing no percent-encoding are borrowed, the
    /// timestamp and the signature are formatted on the stack, and the MAC is fed the exact bytes
    /// that are sent.
    pub fn apply(&self, headers: &mut HeaderMap, identity: &Identity, space: SpaceId, now: u64) {
        let fields = &identity.fields;
        let categories: Cow<'_, str> = match fields.categories.as_slice() {
            [] => Cow::Borrowed(""),
            [only] => Cow::Borrowed(only),
            several => Cow::Owned(several.join(";")),
        };
        let mut digits = [0u8; 20];
        let timestamp = decimal(now, &mut digits);
        let values: [Option<&str>; 10] = [
            (!categories.is_empty()).then_some(&*categories),
            fields.code_postal.as_deref(),
            fields.date_naissance.as_deref(),
            fields.id_produit.as_deref(),
            fields.nom.as_deref(),
            fields.prenom.as_deref(),
            Some(identity.protocol.as_str()),
            Some(space.as_str()),
            Some(timestamp),
            Some(&identity.login),
        ];
        let mut mac = self.mac.clone();
        for (name, value) in self.names.iter().zip(values) {
            let Some(value) = value else { continue };
            let encoded = encode_value(value);
            mac.update(name.as_str().as_bytes());
            mac.update(b":");
            mac.update(encoded.as_bytes());
            mac.update(b"\n");
            headers.insert(name.clone(), encoded);
        }
        let mut signature = [0u8; 3 + 64];
        signature[..3].copy_from_slice(b"v1=");
        if hex::encode_to_slice(mac.finalize().into_bytes(), &mut signature[3..]).is_ok()
            && let Ok(value) = HeaderValue::from_bytes(&signature)
        {
            headers.insert(self.signature.clone(), value);
        }
    }
}

/// `n` in decimal, written into `buffer` (20 digits hold any `u64`).
fn decimal(mut n: u64, buffer: &mut [u8; 20]) -> &str {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buffer[start..]).unwrap_or("0")
}

fn encode_value(value: &str) -> HeaderValue {
    // Borrowed when nothing needs encoding (the usual case): one copy, into the header value.
    let encoded: Cow<'_, str> = utf8_percent_encode(value, VALUE_ENCODE).into();
    // Percent-encoding leaves only visible ASCII and spaces, which are always valid header bytes.
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Why [`verify`] refused a set of identity headers.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("signature absente")]
    Missing,
    #[error("signature invalide")]
    BadSignature,
    #[error("horodatage absent, illisible ou trop ancien")]
    Stale,
}

/// The upstream's side of the contract: check the signature and the timestamp's freshness.
pub fn verify(
    headers: &HeaderMap,
    prefix: &str,
    key: &[u8],
    now: u64,
    max_age_secs: u64,
) -> Result<(), VerifyError> {
    let prefix = prefix.to_ascii_lowercase();
    let signature_name = format!("{prefix}{SIGNATURE_SUFFIX}");
    let timestamp_name = format!("{prefix}timestamp");
    let given = headers
        .get(&signature_name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("v1="))
        .and_then(|v| hex::decode(v).ok())
        .ok_or(VerifyError::Missing)?;
    let mut signed: Vec<(&str, &[u8])> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with(&prefix) && name.as_str() != signature_name)
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    signed.sort_unstable_by_key(|(name, _)| *name);
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| VerifyError::BadSignature)?;
    for (name, value) in &signed {
        mac.update(name.as_bytes());
        mac.update(b":");
        mac.update(value);
        mac.update(b"\n");
    }
    mac.verify_slice(&given)
        .map_err(|_| VerifyError::BadSignature)?;
    let timestamp: u64 = headers
        .get(&timestamp_name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or(VerifyError::Stale)?;
    if now.saturating_sub(timestamp) > max_age_secs || timestamp > now + max_age_secs {
        return Err(VerifyError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{MappedFields, Protocol};

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claire() -> Identity {
        Identity {
            login: "claire.martin".to_owned(),
            protocol: Protocol::Direct,
            fields: MappedFields {
                nom: Some("Martin".to_owned()),
                prenom: Some("Hélène".to_owned()),
                categories: vec!["National_2".to_owned()],
                ..MappedFields::default()
            },
        }
    }

    #[test]
    fn timestamps_are_written_in_plain_decimal() {
        let mut buffer = [0u8; 20];
        assert_eq!(decimal(0, &mut buffer), "0");
        assert_eq!(decimal(1_780_000_000, &mut buffer), "1780000000");
        assert_eq!(decimal(u64::MAX, &mut buffer), u64::MAX.to_string());
    }

    #[test]
    fn several_categories_are_joined_with_semicolons() {
        let signer = HeaderSigner::new("X-Passerelle-", KEY).unwrap();
        let mut who = claire();
        who.fields.categories = vec!["National_2".to_owned(), "National_3".to_owned()];
        let mut headers = HeaderMap::new();
        signer.apply(&mut headers, &who, SpaceId::Parent, 1_000);
        assert_eq!(headers["x-passerelle-categories"], "National_2;National_3");
        assert_eq!(verify(&headers, "X-Passerelle-", KEY, 1_000, 30), Ok(()));
    }

    #[test]
    fn suffixes_are_sorted_so_the_signature_order_is_the_documented_one() {
        let mut sorted = SUFFIXES;
        sorted.sort_unstable();
        assert_eq!(sorted, SUFFIXES);
    }

    #[test]
    fn signed_headers_verify_and_carry_the_identity() {
        let signer = HeaderSigner::new("X-Passerelle-", KEY).unwrap();
        let mut headers = HeaderMap::new();
        signer.apply(&mut headers, &claire(), SpaceId::Parent, 1_000);
        assert_eq!(headers["x-passerelle-user"], "claire.martin");
        assert_eq!(headers["x-passerelle-space"], "parent");
        assert_eq!(headers["x-passerelle-prenom"], "H%C3%A9l%C3%A8ne");
        assert_eq!(headers["x-passerelle-categories"], "National_2");
        assert!(headers.get("x-passerelle-code-postal").is_none());
        assert_eq!(verify(&headers, "X-Passerelle-", KEY, 1_002, 30), Ok(()));
    }

    #[test]
    fn a_changed_value_or_key_or_an_old_timestamp_fails_verification() {
        let signer = HeaderSigner::new("X-Passerelle-", KEY).unwrap();
        let mut headers = HeaderMap::new();
        signer.apply(&mut headers, &claire(), SpaceId::Parent, 1_000);

        let mut tampered = headers.clone();
        tampered.insert("x-passerelle-user", HeaderValue::from_static("admin"));
        assert_eq!(
            verify(&tampered, "X-Passerelle-", KEY, 1_000, 30),
            Err(VerifyError::BadSignature)
        );

        let mut added = headers.clone();
        added.insert("x-passerelle-id-produit", HeaderValue::from_static("42"));
        assert_eq!(
            verify(&added, "X-Passerelle-", KEY, 1_000, 30),
            Err(VerifyError::BadSignature)
        );

        let other_key = b"another-key-another-key-another-key";
        assert_eq!(
            verify(&headers, "X-Passerelle-", other_key, 1_000, 30),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(&headers, "X-Passerelle-", KEY, 1_100, 30),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn namespace_matching_ignores_case_and_underscores() {
        let signer = HeaderSigner::new("X-Passerelle-", KEY).unwrap();
        for name in [
            "x-passerelle-user",
            "X-PASSERELLE-USER",
            "x_passerelle_user",
            "x-passerelle_user",
        ] {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert!(signer.is_namespaced(&name), "{name}");
        }
        for name in ["x-passerell", "x-other-user", "passerelle-user"] {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert!(!signer.is_namespaced(&name), "{name}");
        }
    }
}
