//! The ways a WS-Federation sign-in can fail: a French message, a stable code, and whether the guard
//! counts it against the client address.

use thiserror::Error;

use crate::auth::xmlsig::XmlSigError;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WsFedError {
    #[error("La réponse WS-Federation est trop volumineuse.")]
    TooLarge,
    #[error("La réponse WS-Federation n'est pas un document XML valide ({0}).")]
    Malformed(String),
    #[error(
        "La réponse WS-Federation contient une déclaration de type de document (DTD), refusée."
    )]
    Dtd,
    #[error("La réponse WS-Federation contient un commentaire XML, refusé.")]
    Comment,
    #[error("La réponse WS-Federation doit contenir exactement un jeton SAML signé ({0}).")]
    TokenShape(String),
    #[error("La signature du jeton a une forme refusée ({0}).")]
    SignatureShape(&'static str),
    #[error("L'algorithme {0} n'est pas autorisé pour les signatures.")]
    Algorithm(String),
    #[error("La signature du jeton est invalide.")]
    Signature,
    #[error("Le jeton ne vient pas du service d'authentification attendu.")]
    Issuer,
    #[error("Le jeton n'est pas destiné à ce service (audience).")]
    Audience,
    #[error("Le jeton a expiré ; veuillez vous reconnecter.")]
    Expired,
    #[error("Le jeton n'est pas encore valide ; vérifiez l'horloge du serveur.")]
    NotYetValid,
    #[error("Seuls les jetons « bearer » sont acceptés.")]
    NotBearer,
    #[error("Le jeton porte une condition inconnue ({0}).")]
    UnknownCondition(String),
    #[error("Le jeton est incomplet : {0} manquant.")]
    Missing(&'static str),
    #[error("La réponse ne correspond pas à la connexion en cours (wctx).")]
    Context,
    #[error("Les métadonnées du service d'authentification sont invalides : {0}")]
    Metadata(String),
}

impl WsFedError {
    /// Stable identifier for logs, metrics and the API.
    pub fn code(&self) -> &'static str {
        match self {
            WsFedError::TooLarge => "wsfed_too_large",
            WsFedError::Malformed(_) => "wsfed_malformed",
            WsFedError::Dtd => "wsfed_dtd",
            WsFedError::Comment => "wsfed_comment",
            WsFedError::TokenShape(_) => "wsfed_token_shape",
            WsFedError::SignatureShape(_) => "wsfed_signature_shape",
            WsFedError::Algorithm(_) => "wsfed_algorithm",
            WsFedError::Signature => "wsfed_signature",
            WsFedError::Issuer => "wsfed_issuer",
            WsFedError::Audience => "wsfed_audience",
            WsFedError::Expired => "wsfed_expired",
            WsFedError::NotYetValid => "wsfed_not_yet_valid",
            WsFedError::NotBearer => "wsfed_not_bearer",
            WsFedError::UnknownCondition(_) => "wsfed_unknown_condition",
            WsFedError::Missing(_) => "wsfed_missing",
            WsFedError::Context => "wsfed_context",
            WsFedError::Metadata(_) => "wsfed_metadata",
        }
    }

    /// Everything a browser can forge, replay or misdirect is the user's fault (the guard counts it);
    /// only bad metadata is ours.
    pub fn is_user_fault(&self) -> bool {
        !matches!(self, WsFedError::Metadata(_))
    }
}

impl From<XmlSigError> for WsFedError {
    fn from(err: XmlSigError) -> Self {
        match err {
            XmlSigError::TooLarge => WsFedError::TooLarge,
            XmlSigError::Dtd => WsFedError::Dtd,
            XmlSigError::Malformed(detail) => WsFedError::Malformed(detail),
            XmlSigError::Comment => WsFedError::Comment,
            XmlSigError::SignatureShape(what) => WsFedError::SignatureShape(what),
            XmlSigError::Algorithm(alg) => WsFedError::Algorithm(alg),
            XmlSigError::Signature => WsFedError::Signature,
        }
    }
}
