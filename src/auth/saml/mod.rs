//! SAML2 service provider: what Passerelle needs to log people in through a SAML2 IdP (EduConnect,
//! academic portals, ENTs) and nothing more.
//!
//! * [`metadata`]: our SP metadata, the IdP's metadata (trust anchors and endpoints);
//! * [`request`]: AuthnRequest over HTTP-Redirect (deflate, base64, optional signature);
//! * [`prescan`]: the strict look at untrusted XML before any signature code touches it;
//! * [`verify`]: the response path (pre-scan, samael's high-level verification, our own checks);
//! * [`slo`]: single logout over HTTP-Redirect, both directions;
//! * [`educonnect`]: the ministry IdP's endpoints, attribute names and profiles.
//!
//! This module never touches cookies, sessions or HTTP plumbing; it turns bytes into a
//! [`VerifiedAssertion`] or a [`SamlError`]. Remembering request ids and assertion ids (replay) is the
//! caller's job, through the session store, because only it knows the browser and the cluster.

pub mod delegation;
pub mod educonnect;
pub mod error;
pub mod keys;
pub mod metadata;
pub mod prescan;
pub mod request;
pub mod setup;
pub mod slo;
pub mod verify;

pub use delegation::SamlDelegation;
pub use error::{Fault, SamlError};
pub use keys::KeyPair;
pub use metadata::IdpMetadata;
pub use verify::{ServiceProvider, VerifiedAssertion};

pub(crate) const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(crate) const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";

/// Default cap on a decoded SAML message (a Shibboleth response with an encrypted assertion is ~10 KiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Everything the SP needs for one delegation.
#[derive(Debug, Clone)]
pub struct SpSettings {
    /// Our entityID (also the expected `Audience`).
    pub entity_id: String,
    /// Assertion Consumer Service URL (expected `Destination` and `Recipient`).
    pub acs_url: String,
    /// Single Logout Service URL, if we offer SLO.
    pub slo_url: Option<String>,
    /// Key used to sign AuthnRequests and logout messages; `None` sends them unsigned.
    pub signing_key: Option<KeyPair>,
    /// Keys that may decrypt assertions, tried in order (two during a rollover).
    pub encryption_keys: Vec<KeyPair>,
    pub idp: IdpMetadata,
    /// Accept RSA-SHA1 / SHA-1 digests (legacy IdPs only; off by default).
    pub allow_sha1: bool,
    /// Accept IdP-initiated responses (no `InResponseTo`); off by default.
    pub allow_unsolicited: bool,
    /// Tolerated clock difference with the IdP, seconds.
    pub clock_skew: u64,
    /// Oldest accepted `IssueInstant`, seconds (after skew).
    pub max_issue_age: u64,
    /// Largest accepted decoded message, bytes.
    pub max_message_bytes: usize,
}

impl SpSettings {
    /// Settings with the safe defaults: SHA-256+, solicited only, 60 s skew, 5 min issue age.
    pub fn new(entity_id: impl Into<String>, acs_url: impl Into<String>, idp: IdpMetadata) -> Self {
        SpSettings {
            entity_id: entity_id.into(),
            acs_url: acs_url.into(),
            slo_url: None,
            signing_key: None,
            encryption_keys: Vec::new(),
            idp,
            allow_sha1: false,
            allow_unsolicited: false,
            clock_skew: 60,
            max_issue_age: 300,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// Escapes text for an XML attribute or element.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `_` + a random UUID: an NCName, unguessable, used for request and message IDs.
pub(crate) fn new_id() -> String {
    format!("_{}", uuid::Uuid::new_v4())
}

/// An instant as SAML writes it (UTC, seconds).
pub(crate) fn saml_instant(epoch_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(epoch_seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
