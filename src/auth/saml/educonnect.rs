//! EduConnect, the ministry's IdP for pupils and parents (Shibboleth): its two environments, the OID
//! attribute names mapped to the names integrators use, the affiliation → PRONOTE profile rule, and the
//! logout return URL it hands out.
//!
//! Its security profile (signed AuthnRequests, signed responses, encrypted assertions, SHA-256) is what
//! [`settings_profile`] applies; the metadata itself is exchanged by hand with the EduConnect team.

use std::collections::BTreeMap;

use super::SpSettings;
use super::error::SamlError;
use super::verify::VerifiedAssertion;
use crate::space::SpaceId;

/// One EduConnect environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Environment {
    pub entity_id: &'static str,
    pub sso_redirect: &'static str,
    /// Used by ENTs for IdP-initiated login: `?providerId=<our entityID>`.
    pub unsolicited_sso: &'static str,
    pub logout: &'static str,
}

pub const PRODUCTION: Environment = Environment {
    entity_id: "https://educonnect.education.gouv.fr/idp",
    sso_redirect: "https://educonnect.education.gouv.fr/idp/profile/SAML2/Redirect/SSO",
    unsolicited_sso: "https://educonnect.education.gouv.fr/idp/profile/SAML2/Unsolicited/SSO",
    logout: "https://educonnect.education.gouv.fr/Logout",
};

/// Pre-production ("PR4"), for acceptance tests with the ministry.
pub const PREPRODUCTION: Environment = Environment {
    entity_id: "https://pr4.educonnect.phm.education.gouv.fr/idp",
    sso_redirect: "https://pr4.educonnect.phm.education.gouv.fr/idp/profile/SAML2/Redirect/SSO",
    unsolicited_sso: "https://pr4.educonnect.phm.education.gouv.fr/idp/profile/SAML2/Unsolicited/SSO",
    logout: "https://pr4.educonnect.phm.education.gouv.fr/Logout",
};

const OID_PREFIX: &str = "urn:oid:1.3.6.1.4.1.20326.10.999.1.";

/// OID → friendly name, as released by EduConnect (domain notes §2.3).
pub const ATTRIBUTES: &[(&str, &str)] = &[
    ("urn:oid:1.3.6.1.4.1.20326.10.999.1.57", "FrEduCtId"),
    (
        "urn:oid:1.3.6.1.4.1.20326.10.999.1.7",
        "FrEduCtPersonAffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.20326.10.999.1.64",
        "FrEduCtEleveINEHash",
    ),
    ("urn:oid:1.3.6.1.4.1.20326.10.999.1.72", "FrEduCtEleveUAI"),
    (
        "urn:oid:1.3.6.1.4.1.20326.10.999.1.73",
        "FrEduCtEleveNiveau",
    ),
    (
        "urn:oid:1.3.6.1.4.1.20326.10.999.1.67",
        "FrEduCtDateNaissance",
    ),
    (
        "urn:oid:1.3.6.1.4.1.20326.10.999.1.6",
        "FrEduCtDateConnexion",
    ),
    ("urn:oid:1.3.6.1.4.1.20326.10.999.1.5", "FrEduUrlRetour"),
    ("urn:oid:1.3.6.1.4.1.20326.10.999.1.76", "civility"),
    ("urn:oid:2.5.4.4", "sn"),
    ("urn:oid:2.5.4.42", "givenName"),
];

/// The attribute naming the person (stable, opaque, 96 hex characters observed).
pub const SUBJECT_ATTRIBUTE: &str = "FrEduCtId";

/// The friendly name for an attribute name (OIDs mapped; names EduConnect sends as-is, like
/// `FrEduCtRefId`, kept).
pub fn friendly_name(name: &str) -> &str {
    ATTRIBUTES
        .iter()
        .find(|(oid, _)| *oid == name)
        .map_or(name, |(_, friendly)| friendly)
}

/// The assertion's attributes under their friendly names.
pub fn friendly_attributes(assertion: &VerifiedAssertion) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, values) in &assertion.attributes {
        out.entry(friendly_name(name).to_string())
            .or_default()
            .extend(values.iter().cloned());
    }
    out
}

/// Whom an EduConnect account belongs to, from `FrEduCtPersonAffiliation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `eleve1d`, `eleve2d`.
    Eleve,
    /// `resp1d`, `resp2d` (représentant légal).
    Parent,
}

impl Profile {
    pub fn from_affiliation(value: &str) -> Option<Self> {
        let v = value.trim().to_ascii_lowercase();
        if v.starts_with("eleve") {
            Some(Profile::Eleve)
        } else if v.starts_with("resp") {
            Some(Profile::Parent)
        } else {
            None
        }
    }

    /// The PRONOTE space this profile may enter.
    pub fn space(self) -> SpaceId {
        match self {
            Profile::Eleve => SpaceId::Eleve,
            Profile::Parent => SpaceId::Parent,
        }
    }
}

/// An EduConnect identity, read from a verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EduConnectIdentity {
    /// `FrEduCtId`.
    pub subject: String,
    pub profile: Profile,
    /// All attributes under their friendly names.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// `FrEduUrlRetour`, when it is an https URL: where to send the browser after logout.
    pub logout_return: Option<String>,
}

/// Reads the identity and refuses it when its profile does not open `space` (a pupil on the parent
/// space, a parent on the pupil space, an unknown affiliation anywhere).
pub fn identity_for_space(
    assertion: &VerifiedAssertion,
    space: SpaceId,
) -> Result<EduConnectIdentity, SamlError> {
    let attributes = friendly_attributes(assertion);
    let first = |name: &str| attributes.get(name).and_then(|v| v.first()).cloned();
    let affiliation =
        first("FrEduCtPersonAffiliation").ok_or(SamlError::Missing("FrEduCtPersonAffiliation"))?;
    let profile = Profile::from_affiliation(&affiliation)
        .ok_or_else(|| SamlError::ProfileMismatch(affiliation.clone()))?;
    if profile.space() != space {
        return Err(SamlError::ProfileMismatch(affiliation));
    }
    let subject = first(SUBJECT_ATTRIBUTE).ok_or(SamlError::Missing(SUBJECT_ATTRIBUTE))?;
    // Only https URLs: the value is signed by the IdP, but an open redirect is never worth it.
    let logout_return = first("FrEduUrlRetour").filter(|u| {
        url::Url::parse(u).is_ok_and(|parsed| parsed.scheme() == "https" && parsed.host().is_some())
    });
    Ok(EduConnectIdentity {
        subject,
        profile,
        attributes,
        logout_return,
    })
}

/// EduConnect's documented security profile on top of the defaults: solicited responses (unless the
/// deployment opts into ENT-initiated logins), SHA-256+, and an encryption key is required.
pub fn settings_profile(settings: &SpSettings) -> Result<(), SamlError> {
    match profile_problem(
        settings.allow_sha1,
        !settings.encryption_keys.is_empty(),
        settings.signing_key.is_some(),
    ) {
        Some(problem) => Err(SamlError::Key(problem.into())),
        None => Ok(()),
    }
}

/// What breaks EduConnect's security profile in a delegation's settings, if anything (the
/// configuration reports it with its file and line).
pub fn profile_problem(
    allow_sha1: bool,
    has_encryption_key: bool,
    has_signing_key: bool,
) -> Option<&'static str> {
    if allow_sha1 {
        Some("EduConnect impose SHA-256 : allow_sha1 interdit")
    } else if !has_encryption_key {
        Some("EduConnect chiffre les assertions : clé de chiffrement requise")
    } else if !has_signing_key {
        Some("EduConnect attend des requêtes signées : clé de signature requise")
    } else {
        None
    }
}

/// Whether an attribute name is an EduConnect OID.
pub fn is_educonnect_oid(name: &str) -> bool {
    name.starts_with(OID_PREFIX)
}
