//! The SP's key pairs: one for signing requests, one or two for decrypting assertions (two during a
//! rollover: the new certificate is published in the metadata while the old one still decrypts).

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::error::SamlError;

/// A private key and its certificate, loaded from PEM.
#[derive(Clone)]
pub struct KeyPair {
    pub key: PKey<Private>,
    pub cert: X509,
}

impl std::fmt::Debug for KeyPair {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("subject", &self.cert.subject_name())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    pub fn from_pem(key_pem: &[u8], cert_pem: &[u8]) -> Result<Self, SamlError> {
        let key = PKey::private_key_from_pem(key_pem)
            .map_err(|e| SamlError::Key(format!("clé privée illisible ({e})")))?;
        let cert = X509::from_pem(cert_pem)
            .map_err(|e| SamlError::Key(format!("certificat illisible ({e})")))?;
        let public = cert
            .public_key()
            .map_err(|e| SamlError::Key(format!("certificat sans clé publique ({e})")))?;
        if !key.public_eq(&public) {
            return Err(SamlError::Key(
                "la clé privée ne correspond pas au certificat".into(),
            ));
        }
        Ok(KeyPair { key, cert })
    }

    pub fn from_files(
        key_path: &std::path::Path,
        cert_path: &std::path::Path,
    ) -> Result<Self, SamlError> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| SamlError::Key(format!("{}: {e}", p.display())))
        };
        Self::from_pem(&read(key_path)?, &read(cert_path)?)
    }

    /// The certificate as base64 DER, the form used inside `ds:X509Certificate`.
    pub fn cert_base64(&self) -> String {
        use base64::Engine;
        let der = self.cert.to_der().unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(der)
    }
}
