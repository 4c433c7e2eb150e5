//! Splitting a compact JWS (`header.payload.signature`) and finding the provider key that must have
//! signed it. Used for back-channel logout tokens, which the `openidconnect` crate does not model;
//! the signature itself is still checked by the crate's key type. Parses untrusted bytes: bounded,
//! never panics, fuzzed (`fuzz/fuzz_targets/oidc_logout_token.rs`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
use openidconnect::{
    JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeySet, JsonWebKeyUse, JwsSigningAlgorithm,
};
use serde::Deserialize;

/// Largest token accepted; real logout tokens are under 2 KiB.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The protected header fields that matter here.
#[derive(Debug, Deserialize)]
pub struct Header {
    pub alg: CoreJwsSigningAlgorithm,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
    /// Critical extensions: none is understood, so any makes the token unacceptable (RFC 7515 §4.1.11).
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
}

/// A compact JWS taken apart (nothing verified yet).
#[derive(Debug)]
pub struct Compact<'a> {
    pub header: Header,
    pub payload: Vec<u8>,
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

/// Take a compact JWS apart. Errors are short French reasons.
pub fn split(raw: &str) -> Result<Compact<'_>, &'static str> {
    if raw.len() > MAX_TOKEN_LEN {
        return Err("jeton trop long");
    }
    let mut parts = raw.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("format compact attendu (trois parties)");
    };
    let signing_input = &raw[..header.len() + 1 + payload.len()];
    let header_bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| "en-tête mal encodé")?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| "en-tête illisible")?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| "contenu mal encodé")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "signature mal encodée")?;
    Ok(Compact {
        header,
        payload,
        signing_input,
        signature,
    })
}

/// The one key of `keys` that may have produced a signature with `alg` and `kid`, as the crate
/// selects keys for ID tokens: matching id (when the token names one), key type, use and algorithm.
pub fn select_key<'k>(
    keys: &'k JsonWebKeySet<CoreJsonWebKey>,
    alg: &CoreJwsSigningAlgorithm,
    kid: Option<&str>,
) -> Option<&'k CoreJsonWebKey> {
    let mut eligible = keys.keys().iter().filter(|key| {
        let id_matches = kid.is_none_or(|kid| key.key_id().is_some_and(|id| id.as_str() == kid));
        let use_ok = key
            .key_use()
            .is_none_or(|key_use| key_use.allows_signature());
        let type_ok = alg.key_type().as_ref() == Some(key.key_type());
        let alg_ok = match key.signing_alg() {
            JsonWebKeyAlgorithm::Unspecified => true,
            JsonWebKeyAlgorithm::Algorithm(key_alg) => key_alg == alg,
            JsonWebKeyAlgorithm::Unsupported => false,
        };
        id_matches && use_ok && type_ok && alg_ok
    });
    let first = eligible.next()?;
    // Two candidates means the token does not say which key: refuse rather than guess.
    eligible.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        for bad in [
            "",
            ".",
            "..",
            "a.b.c",
            "e30.e30",
            "e30.e30.e30.e30",
            "!!.e30.",
            "e30.e30.",
        ] {
            assert!(split(bad).is_err(), "{bad}");
        }
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(split(&long).is_err());
        // {"alg":"RS256"} . {} . (empty signature)
        let ok = split("eyJhbGciOiJSUzI1NiJ9.e30.").expect("parsed");
        assert_eq!(ok.header.alg, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
        assert_eq!(ok.signing_input, "eyJhbGciOiJSUzI1NiJ9.e30");
    }
}
