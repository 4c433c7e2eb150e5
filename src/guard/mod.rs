//! The guard: what stands between the login surface and people who fail too often.
//!
//! Every failed authentication that is the user's fault (bad password, invalid ticket, rejected
//! assertion) is reported here with [`Guard::record_failure`]; the login surface asks [`Guard::check`]
//! before doing any work. This first version counts failures (logs and metrics) and never refuses;
//! suspension policy, rate limiting and shared stores come with the guard issue behind the same calls.

use std::net::IpAddr;

/// What the guard says about a client on the login surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Suspended after too many failures; may retry after this many seconds.
    Suspended {
        retry_after_secs: u64,
    },
    /// Too many requests in a short time; may retry after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
}

/// Why an authentication failed, as far as the guard cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    BadPassword,
    /// A delegation's token was refused: invalid, replayed, for another service, or failing its
    /// conditions (CAS ticket, SAML assertion, OIDC code).
    InvalidTicket,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::BadPassword => "bad_password",
            FailureKind::InvalidTicket => "invalid_ticket",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Guard;

impl Guard {
    pub fn new() -> Self {
        Guard
    }

    pub async fn check(&self, _ip: IpAddr) -> Verdict {
        Verdict::Allowed
    }

    pub async fn record_failure(&self, ip: IpAddr, login: Option<&str>, kind: FailureKind) {
        metrics::counter!("passerelle_auth_failures_total", "kind" => kind.as_str()).increment(1);
        tracing::info!(%ip, login = login.unwrap_or(""), kind = kind.as_str(), "échec d'authentification");
    }
}
