//! Single logout toward the services: every ticket a gateway session handed out is remembered with
//! that session, and when the session ends at the gateway each service receives the CAS back-channel
//! `logoutRequest` (a SAML 2 `LogoutRequest` whose `SessionIndex` is the ticket), so PRONOTE closes the
//! session it opened with it. Best effort, as in every CAS server: each call has a bounded timeout and
//! its outcome is logged, never retried.
//!
//! The list lives in the shared store (a single-use record per session, rewritten at each ticket), so
//! the replica that ends the session needs not be the one that issued the tickets.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::ticket::log_id;
use crate::auth::cas::slo::SAML2_PROTOCOL_NS;
use crate::auth::cas::validate::format_instant;
use crate::session::{AnyStore, SessionKey, Store, StoreError};
use crate::ui::escape;

const NAMESPACE: &str = "cas-bridge-sso";
/// A session hands out a ticket per page PRONOTE protects; past this, the oldest are forgotten.
const MAX_REMEMBERED: usize = 64;

/// One ticket a session handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Issued {
    service: String,
    ticket: String,
}

/// Remembers tickets per session and tells services when the session ends.
#[derive(Debug, Clone)]
pub struct ServiceLogout {
    store: AnyStore,
    client: reqwest::Client,
    /// How long the record is kept: the sessions' absolute timeout.
    keep_for: Duration,
}

impl ServiceLogout {
    pub fn new(
        store: AnyStore,
        timeout: Duration,
        keep_for: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("Passerelle/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ServiceLogout {
            store,
            client,
            keep_for,
        })
    }

    /// Remember that the session `key` handed `ticket` to `service`.
    pub async fn remember(
        &self,
        key: &SessionKey,
        service: &str,
        ticket: &str,
    ) -> Result<(), StoreError> {
        let mut issued = self.take(key).await?;
        if issued.len() >= MAX_REMEMBERED {
            issued.remove(0);
        }
        issued.push(Issued {
            service: service.to_owned(),
            ticket: ticket.to_owned(),
        });
        let value =
            serde_json::to_string(&issued).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        self.store
            .put_once(NAMESPACE, &key.to_hex(), &value, self.keep_for)
            .await
    }

    /// The session `key` ended: post a `logoutRequest` to every service it gave a ticket to, all at
    /// once, and return when each has answered or timed out. Returns how many accepted it (2xx).
    pub async fn session_ended(&self, key: &SessionKey, now: u64) -> usize {
        let issued = match self.take(key).await {
            Ok(issued) => issued,
            Err(err) => {
                tracing::warn!(error = %err, "tickets de la session illisibles : pas de déconnexion des services");
                return 0;
            }
        };
        let mut calls = JoinSet::new();
        for Issued { service, ticket } in issued {
            let request = self
                .client
                .post(&service)
                .form(&[("logoutRequest", logout_request(&ticket, now))]);
            calls.spawn(async move {
                let outcome = request.send().await;
                let ticket = log_id(&ticket);
                match outcome {
                    Ok(response) if response.status().is_success() => {
                        tracing::info!(%service, %ticket, "déconnexion unique envoyée au service");
                        true
                    }
                    Ok(response) => {
                        tracing::warn!(%service, %ticket, status = response.status().as_u16(), "déconnexion unique refusée par le service");
                        false
                    }
                    Err(err) => {
                        tracing::warn!(%service, %ticket, error = %err.without_url(), "déconnexion unique : service injoignable");
                        false
                    }
                }
            });
        }
        let mut accepted = 0;
        while let Some(done) = calls.join_next().await {
            accepted += usize::from(done.unwrap_or(false));
        }
        accepted
    }

    async fn take(&self, key: &SessionKey) -> Result<Vec<Issued>, StoreError> {
        Ok(self
            .store
            .take_once(NAMESPACE, &key.to_hex())
            .await?
            .and_then(|value| serde_json::from_str(&value).ok())
            .unwrap_or_default())
    }
}

/// The back-channel message: the form the CAS specification gives, naming the ticket.
pub fn logout_request(ticket: &str, now: u64) -> String {
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"{SAML2_PROTOCOL_NS}\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"LR-{id}\" Version=\"2.0\" \
         IssueInstant=\"{instant}\"><saml:NameID>@NOT_USED@</saml:NameID>\
         <samlp:SessionIndex>{ticket}</samlp:SessionIndex></samlp:LogoutRequest>",
        id = uuid::Uuid::new_v4().simple(),
        instant = format_instant(now),
        ticket = escape(ticket),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logout_request_names_the_ticket_for_cas_clients() {
        let xml = logout_request("ST-abc", 1_795_925_400);
        assert_eq!(
            crate::auth::cas::slo::session_index(&xml).as_deref(),
            Some("ST-abc")
        );
    }
}
