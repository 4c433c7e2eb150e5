//! The response path: bytes posted to the ACS become a [`VerifiedAssertion`] or a [`SamlError`].
//!
//! Order matters: size cap, base64, strict pre-scan ([`super::prescan`]), then samael's high-level
//! `parse_xml_response` (which verifies the signature and returns only the assertion it covers), then
//! the checks samael skips or does with the system clock: audience required, time window with our clock
//! and skew, `InResponseTo` against the one pending request. The low-level "verify, then parse the whole
//! document" path of samael is never used: it is open to signature wrapping.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use base64::Engine;
use samael::crypto::AllowedSignatureAlgorithm;
use samael::schema::Assertion;
use samael::service_provider::{Error as SpError, ServiceProviderBuilder};

use super::SpSettings;
use super::error::SamlError;
use super::prescan::{self, Expected};
use crate::auth::xmlsig::xmlsec_noise;

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// What a valid response tells us, read only from the assertion samael verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// Assertion ID: remember it until [`Self::replay_until`] and refuse it if seen again.
    pub id: String,
    pub issuer: String,
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    /// `SessionIndex` of the AuthnStatement, for single logout.
    pub session_index: Option<String>,
    /// Attribute values by attribute `Name` (EduConnect uses OIDs; see [`super::educonnect`]).
    pub attributes: BTreeMap<String, Vec<String>>,
    /// The request this answers; `None` for an accepted unsolicited response.
    pub in_response_to: Option<String>,
    /// Epoch seconds after which the assertion is dead anyway (latest NotOnOrAfter + skew).
    pub replay_until: i64,
}

impl VerifiedAssertion {
    /// First value of an attribute.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.attributes
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}

/// A SAML SP for one IdP, ready to verify responses. Cheap to share (`Send + Sync`).
pub struct ServiceProvider {
    settings: SpSettings,
    /// One samael SP per decryption key (or one without key): samael holds a single key, so a
    /// rollover is tried key by key.
    inner: Vec<samael::service_provider::ServiceProvider>,
}

impl std::fmt::Debug for ServiceProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProvider")
            .field("entity_id", &self.settings.entity_id)
            .field("idp", &self.settings.idp.entity_id)
            .finish_non_exhaustive()
    }
}

impl ServiceProvider {
    pub fn new(settings: SpSettings) -> Result<Self, SamlError> {
        if settings.idp.signing_certs.is_empty() {
            return Err(SamlError::NoSigningCertificate);
        }
        let descriptor = settings.idp.samael_descriptor()?;
        // With SHA-1 allowed, samael's list (which cannot name SHA-1) is lifted and our pre-scan's
        // allow-list is the only one; otherwise both apply.
        let algorithms = (!settings.allow_sha1).then(|| {
            vec![
                AllowedSignatureAlgorithm::RsaSha256,
                AllowedSignatureAlgorithm::RsaSha384,
                AllowedSignatureAlgorithm::RsaSha512,
                AllowedSignatureAlgorithm::EcdsaSha256,
                AllowedSignatureAlgorithm::EcdsaSha384,
                AllowedSignatureAlgorithm::EcdsaSha512,
            ]
        });
        let keys: Vec<Option<_>> = if settings.encryption_keys.is_empty() {
            vec![None]
        } else {
            settings
                .encryption_keys
                .iter()
                .map(|k| Some(k.key.clone()))
                .collect()
        };
        let mut inner = Vec::new();
        for key in keys {
            let sp = ServiceProviderBuilder::default()
                .entity_id(settings.entity_id.clone())
                .acs_url(settings.acs_url.clone())
                .slo_url(settings.slo_url.clone())
                .metadata_url(None::<String>)
                .idp_metadata(descriptor.clone())
                .key(key)
                .allow_idp_initiated(settings.allow_unsolicited)
                .max_clock_skew(chrono::Duration::seconds(settings.clock_skew as i64))
                .max_issue_delay(chrono::Duration::seconds(
                    (settings.max_issue_age + settings.clock_skew) as i64,
                ))
                .allowed_signature_algorithms(algorithms.clone())
                .build()
                .map_err(|e| SamlError::Key(e.to_string()))?;
            // samael fails open without a signing certificate: make sure it has ours.
            match sp.idp_signing_certs() {
                Ok(Some(certs)) if !certs.is_empty() => {}
                _ => return Err(SamlError::NoSigningCertificate),
            }
            inner.push(sp);
        }
        Ok(ServiceProvider { settings, inner })
    }

    pub fn settings(&self) -> &SpSettings {
        &self.settings
    }

    /// Verifies the `SAMLResponse` form field of an HTTP-POST to the ACS.
    ///
    /// `expected_request_id` is the ID of the AuthnRequest this browser's pending login sent, or `None`
    /// when there is no pending login (an unsolicited response, refused unless opted in). `now` is
    /// epoch seconds. Blocking (libxmlsec): call it from `spawn_blocking`.
    pub fn verify_post(
        &self,
        saml_response: &str,
        expected_request_id: Option<&str>,
        now: i64,
    ) -> Result<VerifiedAssertion, SamlError> {
        // base64 is 4/3 of the payload; refuse before allocating anything for a huge field.
        if saml_response.len() > self.settings.max_message_bytes / 3 * 4 + 8 {
            return Err(SamlError::TooLarge);
        }
        let compact: String = saml_response
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| SamlError::Encoding)?;
        let xml = String::from_utf8(bytes).map_err(|_| SamlError::Encoding)?;
        self.verify_xml(&xml, expected_request_id, now)
    }

    /// Same as [`Self::verify_post`] on an already decoded document.
    pub fn verify_xml(
        &self,
        xml: &str,
        expected_request_id: Option<&str>,
        now: i64,
    ) -> Result<VerifiedAssertion, SamlError> {
        let s = &self.settings;
        let scan = prescan::scan(xml, Expected::Response, s.allow_sha1, s.max_message_bytes)?;
        if expected_request_id.is_none() && !s.allow_unsolicited {
            return Err(SamlError::Unsolicited);
        }
        if let Some(destination) = &scan.destination
            && destination != &s.acs_url
        {
            return Err(SamlError::Destination);
        }
        if scan
            .in_response_to
            .as_deref()
            .is_some_and(|irt| Some(irt) != expected_request_id)
        {
            return Err(SamlError::InResponseTo);
        }
        if scan.assertion_encrypted && s.encryption_keys.is_empty() {
            return Err(SamlError::Decrypt);
        }

        let xml = &*prescan::declare_ds_for_samael(xml, &scan);
        let possible: Vec<&str> = expected_request_id.into_iter().collect();
        let mut result = Err(SamlError::Decrypt);
        for sp in &self.inner {
            // samael has a few unwrap()s on decrypted content; a panic must be a refusal, not a crash.
            let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| {
                sp.parse_xml_response(xml, (!possible.is_empty()).then_some(&possible[..]))
            }))
            .unwrap_or(Err(SpError::UnexpectedError));
            xmlsec_noise::install();
            result = parsed.map_err(|e| map_samael_error(e, expected_request_id.is_none()));
            // Only a decryption failure is worth retrying with the next (rollover) key.
            if !matches!(result, Err(SamlError::Decrypt)) {
                break;
            }
        }
        let assertion = result?;
        self.check_assertion(&assertion, expected_request_id, now)
    }

    /// Our checks on the verified assertion, with our clock.
    fn check_assertion(
        &self,
        a: &Assertion,
        expected_request_id: Option<&str>,
        now: i64,
    ) -> Result<VerifiedAssertion, SamlError> {
        let s = &self.settings;
        let skew = s.clock_skew as i64;
        if a.issuer.value.as_deref() != Some(s.idp.entity_id.as_str()) {
            return Err(SamlError::Issuer);
        }
        let issued = a.issue_instant.timestamp();
        if issued > now + skew {
            return Err(SamlError::NotYetValid);
        }
        if issued + s.max_issue_age as i64 + skew < now {
            return Err(SamlError::Expired);
        }
        let conditions = a
            .conditions
            .as_ref()
            .ok_or(SamlError::Missing("Conditions"))?;
        // samael only checks the audience when a restriction is present; we require one.
        let audiences = conditions
            .audience_restrictions
            .as_deref()
            .unwrap_or_default();
        if audiences.is_empty()
            || !audiences
                .iter()
                .all(|r| r.audience.iter().any(|au| au == &s.entity_id))
        {
            return Err(SamlError::Audience);
        }
        if let Some(nb) = conditions.not_before
            && now + skew < nb.timestamp()
        {
            return Err(SamlError::NotYetValid);
        }
        let mut until = issued + s.max_issue_age as i64;
        if let Some(noa) = conditions.not_on_or_after {
            if noa.timestamp() + skew <= now {
                return Err(SamlError::Expired);
            }
            until = until.max(noa.timestamp());
        }

        let subject = a.subject.as_ref().ok_or(SamlError::Missing("Subject"))?;
        let data = subject
            .subject_confirmations
            .iter()
            .flatten()
            .filter(|c| c.method.as_deref() == Some(BEARER))
            .filter_map(|c| c.subject_confirmation_data.as_ref())
            .find(|d| d.recipient.as_deref() == Some(s.acs_url.as_str()))
            .ok_or(SamlError::Recipient)?;
        if let Some(nb) = data.not_before
            && now + skew < nb.timestamp()
        {
            return Err(SamlError::NotYetValid);
        }
        let noa = data
            .not_on_or_after
            .ok_or(SamlError::Missing("NotOnOrAfter"))?;
        if noa.timestamp() + skew <= now {
            return Err(SamlError::Expired);
        }
        until = until.max(noa.timestamp());
        // With unsolicited responses allowed samael skips InResponseTo entirely; we do not.
        match (expected_request_id, data.in_response_to.as_deref()) {
            (Some(expected), Some(got)) if expected == got => {}
            (None, None) => {}
            (None, Some(_)) | (Some(_), _) => return Err(SamlError::InResponseTo),
        }

        let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for statement in a.attribute_statements.iter().flatten() {
            for attr in &statement.attributes {
                let Some(name) = attr.name.clone().or_else(|| attr.friendly_name.clone()) else {
                    continue;
                };
                let values = attributes.entry(name).or_default();
                values.extend(attr.values.iter().filter_map(|v| v.value.clone()));
            }
        }
        let name_id = subject.name_id.as_ref();
        Ok(VerifiedAssertion {
            id: a.id.clone(),
            issuer: s.idp.entity_id.clone(),
            name_id: name_id.map(|n| n.value.clone()),
            name_id_format: name_id.and_then(|n| n.format.clone()),
            session_index: a
                .authn_statements
                .iter()
                .flatten()
                .find_map(|st| st.session_index.clone()),
            attributes,
            in_response_to: data.in_response_to.clone(),
            replay_until: until + skew,
        })
    }
}

fn map_samael_error(e: SpError, unsolicited: bool) -> SamlError {
    match e {
        SpError::FailedToValidateSignature => SamlError::Signature,
        SpError::DestinationValidationError { .. } => SamlError::Destination,
        SpError::AssertionRecipientMismatch { .. } => SamlError::Recipient,
        SpError::AssertionExpired { .. }
        | SpError::ResponseExpired { .. }
        | SpError::AssertionConditionExpired { .. }
        | SpError::AssertionSubjectConfirmationExpired { .. } => SamlError::Expired,
        SpError::AssertionConditionExpiredBefore { .. }
        | SpError::AssertionSubjectConfirmationExpiredBefore { .. } => SamlError::NotYetValid,
        SpError::AssertionConditionAudienceRestrictionFailed { .. } => SamlError::Audience,
        SpError::AssertionInResponseToInvalid { .. }
        | SpError::ResponseInResponseToInvalid { .. } => {
            if unsolicited {
                SamlError::Unsolicited
            } else {
                SamlError::InResponseTo
            }
        }
        SpError::AssertionIssuerMismatch { .. } | SpError::ResponseIssuerMismatch { .. } => {
            SamlError::Issuer
        }
        SpError::ResponseBadStatusCode { code } => SamlError::Status(code),
        SpError::AssertionBearerSubjectConfirmationMissing
        | SpError::AssertionSubjectConfirmationMissing => SamlError::Missing("SubjectConfirmation"),
        SpError::MissingPrivateKeySP
        | SpError::MissingEncryptedKeyInfo
        | SpError::MissingEncryptedValueInfo
        | SpError::EncryptedAssertionKeyMethodUnsupported { .. }
        | SpError::EncryptedAssertionValueMethodUnsupported { .. }
        | SpError::EncryptedAssertionInvalid
        | SpError::FailedToDecryptAssertion
        | SpError::EncryptedAssertionsNotYetSupported => SamlError::Decrypt,
        SpError::CryptoProviderError(_) => SamlError::Decrypt,
        other => SamlError::Malformed(other.to_string()),
    }
}
