//! The ways a SAML exchange can fail, each with a French message for people, a stable code for logs and
//! the API, and who is to blame: the browser (reported to the guard), the IdP, or our configuration.

use thiserror::Error;

/// Who caused a failure; decides whether the guard counts it against the client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Something the browser sent is invalid or hostile (forged, replayed, stale, mis-addressed).
    User,
    /// The IdP answered something we cannot use (refusal status, undecryptable assertion).
    Idp,
    /// Our own configuration or keys are wrong.
    Config,
}

#[derive(Debug, Error)]
pub enum SamlError {
    #[error("La réponse SAML est trop volumineuse.")]
    TooLarge,
    #[error("Le message SAML n'est pas encodé correctement.")]
    Encoding,
    #[error("Le message SAML n'est pas un document XML valide.")]
    Malformed(String),
    #[error("Le message SAML contient une déclaration de type de document (DTD), refusée.")]
    Dtd,
    #[error("Le message SAML contient un commentaire XML, refusé.")]
    Comment,
    #[error("La réponse SAML doit contenir exactement une assertion (trouvées : {0}).")]
    AssertionCount(usize),
    #[error("Le message SAML n'est pas signé.")]
    Unsigned,
    #[error("La signature du message SAML a une forme refusée ({0}).")]
    SignatureShape(&'static str),
    #[error("L'algorithme {0} n'est pas autorisé pour les signatures SAML.")]
    Algorithm(String),
    #[error("La signature du message SAML est invalide.")]
    Signature,
    #[error("Le message SAML n'est pas adressé à ce service (destination).")]
    Destination,
    #[error("L'assertion SAML n'est pas adressée à ce service (destinataire).")]
    Recipient,
    #[error("L'assertion SAML n'est pas destinée à ce service (audience).")]
    Audience,
    #[error("Le message SAML ne vient pas du fournisseur d'identité attendu.")]
    Issuer,
    #[error("L'assertion SAML a expiré ; veuillez vous reconnecter.")]
    Expired,
    #[error("L'assertion SAML n'est pas encore valide ; vérifiez l'horloge du serveur.")]
    NotYetValid,
    #[error("La réponse SAML ne correspond à aucune demande de connexion en cours.")]
    InResponseTo,
    #[error("Les connexions initiées par le fournisseur d'identité ne sont pas acceptées ici.")]
    Unsolicited,
    #[error("Cette assertion SAML a déjà été utilisée.")]
    Replayed,
    #[error("Le fournisseur d'identité a refusé la connexion ({0}).")]
    Status(String),
    #[error("L'assertion SAML chiffrée n'a pas pu être déchiffrée.")]
    Decrypt,
    #[error("La réponse SAML est incomplète : {0} manquant.")]
    Missing(&'static str),
    #[error("Le profil « {0} » ne donne pas accès à cet espace.")]
    ProfileMismatch(String),
    #[error("Le fournisseur d'identité n'a aucun certificat de signature : configuration refusée.")]
    NoSigningCertificate,
    #[error("Les métadonnées du fournisseur d'identité sont invalides : {0}")]
    Metadata(String),
    #[error("Les métadonnées du fournisseur d'identité ont expiré le {0}.")]
    MetadataExpired(String),
    #[error("Clé ou certificat SAML invalide : {0}")]
    Key(String),
}

impl SamlError {
    /// Stable identifier for logs, metrics and the API.
    pub fn code(&self) -> &'static str {
        match self {
            SamlError::TooLarge => "saml_too_large",
            SamlError::Encoding => "saml_encoding",
            SamlError::Malformed(_) => "saml_malformed",
            SamlError::Dtd => "saml_dtd",
            SamlError::Comment => "saml_comment",
            SamlError::AssertionCount(_) => "saml_assertion_count",
            SamlError::Unsigned => "saml_unsigned",
            SamlError::SignatureShape(_) => "saml_signature_shape",
            SamlError::Algorithm(_) => "saml_algorithm",
            SamlError::Signature => "saml_signature",
            SamlError::Destination => "saml_destination",
            SamlError::Recipient => "saml_recipient",
            SamlError::Audience => "saml_audience",
            SamlError::Issuer => "saml_issuer",
            SamlError::Expired => "saml_expired",
            SamlError::NotYetValid => "saml_not_yet_valid",
            SamlError::InResponseTo => "saml_in_response_to",
            SamlError::Unsolicited => "saml_unsolicited",
            SamlError::Replayed => "saml_replayed",
            SamlError::Status(_) => "saml_status",
            SamlError::Decrypt => "saml_decrypt",
            SamlError::Missing(_) => "saml_missing",
            SamlError::ProfileMismatch(_) => "saml_profile_mismatch",
            SamlError::NoSigningCertificate => "saml_no_signing_certificate",
            SamlError::Metadata(_) => "saml_metadata",
            SamlError::MetadataExpired(_) => "saml_metadata_expired",
            SamlError::Key(_) => "saml_key",
        }
    }

    /// Who is to blame. Everything a browser can forge or replay is the user's fault, so that an
    /// address probing the ACS with crafted responses gets suspended like one guessing passwords.
    pub fn fault(&self) -> Fault {
        match self {
            SamlError::Status(_) | SamlError::Decrypt => Fault::Idp,
            SamlError::NoSigningCertificate
            | SamlError::Metadata(_)
            | SamlError::MetadataExpired(_)
            | SamlError::Key(_) => Fault::Config,
            // A genuine person in the wrong space: refused, but not an attack.
            SamlError::ProfileMismatch(_) => Fault::Idp,
            _ => Fault::User,
        }
    }

    /// Whether the guard should count this failure against the client address.
    pub fn is_user_fault(&self) -> bool {
        self.fault() == Fault::User
    }
}

/// The shared signed-XML checks ([`crate::auth::xmlsig`]) keep their SAML codes.
impl From<crate::auth::xmlsig::XmlSigError> for SamlError {
    fn from(err: crate::auth::xmlsig::XmlSigError) -> Self {
        use crate::auth::xmlsig::XmlSigError as X;
        match err {
            X::TooLarge => SamlError::TooLarge,
            X::Dtd => SamlError::Dtd,
            X::Malformed(detail) => SamlError::Malformed(detail),
            X::Comment => SamlError::Comment,
            X::SignatureShape(what) => SamlError::SignatureShape(what),
            X::Algorithm(alg) => SamlError::Algorithm(alg),
            X::Signature => SamlError::Signature,
        }
    }
}
