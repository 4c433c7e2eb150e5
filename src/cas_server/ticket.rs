//! Service tickets: `ST-` and 43 random URL-safe characters (256 bits), bound to one service, valid for
//! a few seconds, handed out once.
//!
//! The store keeps, under a hash of the ticket, what validation will release (the [`Grant`]), through
//! [`Store::put_once`] / [`Store::take_once`]: the first validation takes the record, whatever its
//! outcome, so a ticket is never good twice, and with Redis any replica can validate a ticket another
//! replica issued. The expiry is also written in the record and checked against the gateway's clock,
//! so a lifetime of seconds holds even where the store rounds its TTLs.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::release::Released;
use crate::clock::Clock;
use crate::session::{AnyStore, Store, StoreError};

pub const TICKET_PREFIX: &str = "ST-";
/// Longest ticket looked up (the spec asks servers to accept up to 256 characters).
const MAX_TICKET_LEN: usize = 256;
const NAMESPACE: &str = "cas-bridge-st";

/// A freshly issued ticket: the secret the browser carries to the service. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceTicket(String);

impl ServiceTicket {
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        ServiceTicket(format!("{TICKET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ServiceTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceTicket({})", log_id(&self.0))
    }
}

/// A short hash prefix of a ticket, to follow it through the logs.
pub fn log_id(ticket: &str) -> String {
    hex::encode(&Sha256::digest(ticket.as_bytes())[..6])
}

/// What a ticket stands for, written at issue and read once at validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The service URL the ticket was issued for, byte for byte.
    pub service: String,
    pub released: Released,
    /// Unix seconds.
    pub expires_at: u64,
    /// Unix seconds of the login behind the ticket.
    pub authenticated_at: u64,
    /// Whether the person presented credentials for this ticket (`renew`), rather than single sign-on.
    pub new_login: bool,
}

/// Why a validation fails, with the CAS error code the protocol defines for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("paramètre ticket ou service absent")]
    InvalidRequest,
    #[error(
        "ticket qui n'est pas un ticket de service, ou renew demandé sans nouvelle authentification"
    )]
    InvalidTicketSpec,
    #[error("ticket inconnu, déjà utilisé ou expiré")]
    InvalidTicket,
    #[error("ticket émis pour un autre service")]
    InvalidService,
    #[error("adresse non autorisée à valider des tickets")]
    UnauthorizedService,
    #[error("erreur interne")]
    InternalError,
}

impl Refusal {
    /// The CAS error code (`cas:authenticationFailure code=…`).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::InvalidRequest => "INVALID_REQUEST",
            Refusal::InvalidTicketSpec => "INVALID_TICKET_SPEC",
            Refusal::InvalidTicket => "INVALID_TICKET",
            Refusal::InvalidService => "INVALID_SERVICE",
            Refusal::UnauthorizedService => "UNAUTHORIZED_SERVICE",
            Refusal::InternalError => "INTERNAL_ERROR",
        }
    }
}

/// Issues and redeems tickets over the shared store.
#[derive(Debug, Clone)]
pub struct Tickets {
    store: AnyStore,
    lifetime: Duration,
    clock: Clock,
}

impl Tickets {
    pub fn new(store: AnyStore, lifetime: Duration, clock: Clock) -> Self {
        Tickets {
            store,
            lifetime,
            clock,
        }
    }

    /// The store the tickets live in (shared with the bridge's other single-use records).
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// The expiry a ticket issued now gets.
    pub fn expiry(&self) -> u64 {
        self.clock.now() + self.lifetime.as_secs()
    }

    /// Remember `grant` under a new ticket.
    pub async fn issue(&self, grant: &Grant) -> Result<ServiceTicket, StoreError> {
        let ticket = ServiceTicket::generate();
        let value =
            serde_json::to_string(grant).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        self.store
            .put_once(
                NAMESPACE,
                &record_key(ticket.as_str()),
                &value,
                self.lifetime,
            )
            .await?;
        Ok(ticket)
    }

    /// Validate `ticket` for `service`: the first call takes the ticket whatever the outcome.
    /// `renew` asks that the ticket come from a fresh authentication.
    pub async fn redeem(
        &self,
        ticket: Option<&str>,
        service: Option<&str>,
        renew: bool,
    ) -> Result<Grant, Refusal> {
        let (Some(ticket), Some(service)) = (
            ticket.filter(|t| !t.is_empty()),
            service.filter(|s| !s.is_empty()),
        ) else {
            return Err(Refusal::InvalidRequest);
        };
        if !ticket.starts_with(TICKET_PREFIX) || ticket.len() > MAX_TICKET_LEN {
            return Err(Refusal::InvalidTicketSpec);
        }
        let record = self
            .store
            .take_once(NAMESPACE, &record_key(ticket))
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "ticket CAS illisible dans le stockage");
                Refusal::InternalError
            })?;
        let grant: Grant = record
            .and_then(|value| serde_json::from_str(&value).ok())
            .ok_or(Refusal::InvalidTicket)?;
        if self.clock.now() >= grant.expires_at {
            return Err(Refusal::InvalidTicket);
        }
        if grant.service != service {
            return Err(Refusal::InvalidService);
        }
        if renew && !grant.new_login {
            return Err(Refusal::InvalidTicketSpec);
        }
        Ok(grant)
    }
}

fn record_key(ticket: &str) -> String {
    hex::encode(Sha256::digest(ticket.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::MemoryStore;

    fn tickets(clock: &Clock) -> Tickets {
        Tickets::new(
            AnyStore::Memory(MemoryStore::new(clock.clone())),
            Duration::from_secs(10),
            clock.clone(),
        )
    }

    fn grant(tickets: &Tickets, new_login: bool) -> Grant {
        Grant {
            service: "https://pronote.example.fr/pronote/parent.html".to_owned(),
            released: Released {
                principal: "claire".to_owned(),
                attributes: Vec::new(),
            },
            expires_at: tickets.expiry(),
            authenticated_at: 1_000,
            new_login,
        }
    }

    #[test]
    fn tickets_are_st_and_256_random_bits() {
        let ticket = ServiceTicket::generate();
        assert!(ticket.as_str().starts_with("ST-"));
        assert_eq!(ticket.as_str().len(), 3 + 43);
        assert!(
            ticket.as_str()[3..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(ticket, ServiceTicket::generate());
        assert!(!format!("{ticket:?}").contains(ticket.as_str()));
    }

    #[tokio::test]
    async fn a_ticket_is_good_once_for_its_service_before_it_expires() {
        let clock = Clock::manual(1_000);
        let tickets = tickets(&clock);
        let service = "https://pronote.example.fr/pronote/parent.html";
        let issued = grant(&tickets, false);
        let ticket = tickets.issue(&issued).await.unwrap();
        let redeemed = tickets.redeem(Some(ticket.as_str()), Some(service), false);
        assert_eq!(redeemed.await, Ok(issued.clone()));
        let again = tickets.redeem(Some(ticket.as_str()), Some(service), false);
        assert_eq!(again.await, Err(Refusal::InvalidTicket));

        let other = tickets.issue(&issued).await.unwrap();
        let elsewhere = tickets.redeem(Some(other.as_str()), Some("https://evil.example/"), false);
        assert_eq!(elsewhere.await, Err(Refusal::InvalidService));
        let after = tickets.redeem(Some(other.as_str()), Some(service), false);
        assert_eq!(
            after.await,
            Err(Refusal::InvalidTicket),
            "consumed by the failed attempt"
        );

        let late = tickets.issue(&issued).await.unwrap();
        clock.advance(10);
        let expired = tickets.redeem(Some(late.as_str()), Some(service), false);
        assert_eq!(expired.await, Err(Refusal::InvalidTicket));
    }

    #[tokio::test]
    async fn malformed_requests_and_renew_without_login_are_refused() {
        let clock = Clock::manual(1_000);
        let tickets = tickets(&clock);
        let service = Some("https://pronote.example.fr/pronote/parent.html");
        assert_eq!(
            tickets.redeem(None, service, false).await,
            Err(Refusal::InvalidRequest)
        );
        assert_eq!(
            tickets.redeem(Some("PT-1"), service, false).await,
            Err(Refusal::InvalidTicketSpec)
        );
        let sso = tickets.issue(&grant(&tickets, false)).await.unwrap();
        assert_eq!(
            tickets.redeem(Some(sso.as_str()), service, true).await,
            Err(Refusal::InvalidTicketSpec)
        );
        let fresh = tickets.issue(&grant(&tickets, true)).await.unwrap();
        assert!(
            tickets
                .redeem(Some(fresh.as_str()), service, true)
                .await
                .is_ok()
        );
    }
}
