//! WS-Federation passive requestor profile, relying-party side: Passerelle sends the browser to the
//! school's STS (ADFS, Entra ID, any WS-Fed STS) with `wa=wsignin1.0`, and reads the signed SAML token
//! it posts back.
//!
//! * [`metadata`]: the STS's `FederationMetadata.xml` (passive endpoint, signing certificates, offered
//!   claims) and the RP metadata we publish;
//! * [`signin`]: the `wsignin1.0` / `wsignout1.0` redirects;
//! * [`rstr`]: the strict reading of the posted `wresult` (a WS-Trust 2005/02 or 1.3
//!   RequestSecurityTokenResponse) down to the one signed assertion, cut out on its own;
//! * [`token`]: signature check (shared code in [`crate::auth::xmlsig`]) and the SAML 1.1 / SAML 2.0
//!   assertion rules, read from the verified bytes only;
//! * [`delegation`]: all of it behind the shared [`crate::auth::delegation::Delegation`] contract.
//!
//! Nothing here touches cookies or sessions. Replay (assertion IDs, single use) goes through the shared
//! replay cache in [`delegation`].

pub mod delegation;
pub mod error;
pub mod metadata;
pub mod rstr;
pub mod signin;
pub mod token;

pub use delegation::WsFedDelegation;
pub use error::WsFedError;
pub use metadata::StsMetadata;
pub use token::VerifiedToken;

/// Largest accepted `wresult` (an ADFS token with a dozen claims is about 8 KiB).
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 256 * 1024;

/// Everything needed to verify tokens for one delegation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `wtrealm`: our identifier at the STS, and the audience every token must name.
    pub realm: String,
    /// The STS: issuer, passive endpoint, signing certificates.
    pub sts: StsMetadata,
    /// `whr`: home-realm hint sent with the sign-in request.
    pub home_realm: Option<String>,
    /// `wfresh`: the longest age, in minutes, of the person's authentication at the STS (0 forces a new
    /// authentication).
    pub freshness: Option<u32>,
    /// Accept RSA-SHA1 / SHA-1 digests (old ADFS farms only; off by default).
    pub allow_sha1: bool,
    /// Tolerated clock difference with the STS, seconds.
    pub clock_skew: u64,
    /// Oldest accepted token (`IssueInstant`), seconds, whatever its own lifetime says.
    pub max_token_age: u64,
    /// Largest accepted `wresult`, bytes.
    pub max_token_bytes: usize,
}

impl Settings {
    /// Safe defaults: SHA-256 and stronger, 60 s skew, tokens at most one hour old, 256 KiB cap.
    pub fn new(realm: impl Into<String>, sts: StsMetadata) -> Self {
        Settings {
            realm: realm.into(),
            sts,
            home_realm: None,
            freshness: None,
            allow_sha1: false,
            clock_skew: 60,
            max_token_age: 3600,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }
}
