//! HTTPS on the public listener: rustls with the aws-lc-rs provider, HTTP/2 and HTTP/1.1 by ALPN.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificat illisible ({path}) : {reason}")]
    Certificate { path: String, reason: String },
    #[error("clé privée illisible ({path}) : {reason}")]
    Key { path: String, reason: String },
    #[error("configuration TLS refusée : {0}")]
    Config(#[from] rustls::Error),
}

pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.certificate)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|err| TlsError::Certificate {
            path: files.certificate.display().to_string(),
            reason: err.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Certificate {
            path: files.certificate.display().to_string(),
            reason: "aucun certificat dans le fichier".to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&files.private_key).map_err(|err| TlsError::Key {
        path: files.private_key.display().to_string(),
        reason: err.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
