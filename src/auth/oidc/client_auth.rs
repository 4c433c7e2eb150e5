//! `private_key_jwt` (OpenID Connect Core §9): the gateway proves its identity at the token endpoint
//! with a short-lived JWT signed by its own RSA key instead of a shared secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{CsrfToken, JsonWebKey, PrivateSigningKey};

use super::error::OidcError;

/// The `client_assertion_type` value for a JWT assertion (RFC 7523).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of an assertion: long enough for one request.
const ASSERTION_LIFETIME_SECS: u64 = 60;

/// A signed assertion for one token request to `audience` (the token endpoint URL).
pub fn assertion(
    key: &CoreRsaPrivateSigningKey,
    client_id: &str,
    audience: &str,
    now: u64,
) -> Result<String, OidcError> {
    let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
    if let Some(kid) = key.as_verification_key().key_id() {
        header["kid"] = serde_json::Value::String(kid.to_string());
    }
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        // Providers refuse a replayed assertion by its jti.
        "jti": CsrfToken::new_random().secret(),
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key
        .sign(
            &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            signing_input.as_bytes(),
        )
        .map_err(|err| OidcError::Configuration(format!("signature de l'assertion : {err}")))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}
