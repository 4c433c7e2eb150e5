//! The one place where signed XML from outside is parsed and checked, shared by the SAML2 SP
//! ([`crate::auth::saml`]) and the WS-Federation RP ([`crate::auth::wsfed`]).
//!
//! * [`strict`]: the strict parse every untrusted document goes through first (roxmltree: well formed
//!   or nothing, no DTD, bounded size and node count, no comments or processing instructions, unique
//!   IDs), so that libxml2's recover mode never sees something our reader would read differently;
//! * [`shape`]: what a signature may look like (one `Reference` to its parent's ID, enveloped-signature
//!   and exclusive canonicalisation only, the algorithm allow-list);
//! * [`enveloped`]: verifying one enveloped signature with libxmlsec1 on a standalone copy of the
//!   signed element, whose bytes are then the only ones read (the SAML 1.1 tokens of WS-Federation,
//!   which samael's high-level path cannot take);
//! * `xmlsec_noise`: libxmlsec1's error printer sent to `tracing` instead of stderr.

pub mod enveloped;
pub mod shape;
pub mod strict;
pub(crate) mod xmlsec_noise;

pub use enveloped::{standalone, verify_enveloped};
pub use shape::check_signature;
pub use strict::{parse_strict, refuse_hidden_content};

pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Why a signed document was refused before (or while) its signature was checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlSigError {
    #[error("document trop volumineux")]
    TooLarge,
    #[error("déclaration de type de document (DTD) refusée")]
    Dtd,
    #[error("document XML invalide : {0}")]
    Malformed(String),
    #[error("commentaire XML refusé")]
    Comment,
    #[error("forme de signature refusée ({0})")]
    SignatureShape(&'static str),
    #[error("algorithme non autorisé : {0}")]
    Algorithm(String),
    #[error("signature invalide")]
    Signature,
}
