//! ID token validation, done by the `openidconnect` crate: signature against the provider's keys,
//! issuer, audience (and `azp`), expiry, nonce, and the configured algorithm allow-list.

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    ClaimsVerificationError, IdToken, IdTokenClaims, IdTokenVerifier, Nonce,
    SignatureVerificationError,
};

use super::RelyingParty;
use super::claims::OtherClaims;
use super::discovery::Metadata;
use super::error::OidcError;

/// An ID token whose extra claims (`sid`, provider-specific ones) are kept.
pub type FullIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
/// The validated content of a [`FullIdToken`].
pub type FullIdTokenClaims = IdTokenClaims<OtherClaims, CoreGenderClaim>;

impl RelyingParty {
    /// Validate a compact ID token for this login's `nonce`. A token signed with a key the cached
    /// set lacks triggers one (rate-limited) refresh of the provider's keys and a second attempt.
    pub async fn validate_id_token(
        &self,
        raw: &str,
        nonce: &Nonce,
    ) -> Result<FullIdTokenClaims, OidcError> {
        let token: FullIdToken = raw
            .parse()
            .map_err(|err| OidcError::InvalidIdToken(format!("jeton illisible ({err})")))?;
        let metadata = self.discovery.get(&self.http).await?;
        match token.claims(&self.id_token_verifier(&metadata), nonce) {
            Ok(claims) => return Ok(claims.clone()),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {}
            Err(err) => return Err(claims_error(err)),
        }
        match self.discovery.refresh_for_unknown_key(&self.http).await? {
            Some(metadata) => token
                .claims(&self.id_token_verifier(&metadata), nonce)
                .cloned()
                .map_err(claims_error),
            None => Err(claims_error(
                ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                ),
            )),
        }
    }

    fn id_token_verifier(&self, metadata: &Metadata) -> IdTokenVerifier<'static, CoreJsonWebKey> {
        let clock = self.clock.clone();
        IdTokenVerifier::new_public_client(
            self.client_id.clone(),
            self.issuer.clone(),
            metadata.jwks().clone(),
        )
        .set_allowed_algs(self.settings.allowed_algs.iter().cloned())
        .set_time_fn(move || {
            i64::try_from(clock.now())
                .ok()
                .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0))
                .unwrap_or_default()
        })
    }
}

fn claims_error(err: ClaimsVerificationError) -> OidcError {
    match err {
        ClaimsVerificationError::InvalidNonce(_) => OidcError::NonceMismatch,
        ClaimsVerificationError::Expired(_) => OidcError::InvalidIdToken("jeton expiré".into()),
        ClaimsVerificationError::InvalidAudience(_) => {
            OidcError::InvalidIdToken("destinataire inattendu".into())
        }
        ClaimsVerificationError::InvalidIssuer(_) => {
            OidcError::InvalidIdToken("émetteur inattendu".into())
        }
        ClaimsVerificationError::SignatureVerification(err) => {
            OidcError::InvalidIdToken(format!("signature refusée ({err})"))
        }
        other => OidcError::InvalidIdToken(other.to_string()),
    }
}
