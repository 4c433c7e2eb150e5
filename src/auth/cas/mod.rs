//! CAS delegation: Passerelle as a CAS client of the school's ENT.
//!
//! - [`client`]: the browser redirects to the CAS server's `/login` and `/logout`;
//! - [`validate`]: the server-to-server ticket validation (reqwest, rustls, timeouts, no redirects);
//! - [`parse`]: reading every response shape ENT CAS servers send (strict XML, size cap);
//! - [`slo`]: single-logout requests.
//!
//! [`CasDelegation`] puts them behind [`Delegation`]; it knows nothing of cookies or sessions.

pub mod client;
pub mod parse;
pub mod slo;
pub mod validate;

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::delegation::{
    AuthError, Authenticated, BackChannel, Context, Delegation, Incoming, Outgoing,
};
use crate::config::CasSettings;
use crate::config::model::CasValidation;
use crate::identity::mapping::{Attributes, map_attributes};
use crate::identity::{Identity, MappedFields, Protocol};
use parse::CasSuccess;
use validate::Validator;

/// Tickets are remembered this long: well past any CAS server's ticket lifetime (spec: 5 min at most).
const TICKET_MEMORY: Duration = Duration::from_secs(15 * 60);
/// Longest ticket accepted (the spec recommends servers accept up to 256 characters).
const MAX_TICKET_LEN: usize = 256;

/// One configured CAS server.
#[derive(Debug, Clone)]
pub struct CasDelegation {
    settings: CasSettings,
    validator: Validator,
}

impl CasDelegation {
    pub fn new(settings: CasSettings) -> Result<Self, reqwest::Error> {
        Ok(CasDelegation {
            validator: Validator::new(settings.clone())?,
            settings,
        })
    }

    /// The handle stored with the session for single logout: a hash of the ticket, so the store never
    /// holds a ticket.
    pub fn logout_index(ticket: &str) -> String {
        format!("cas:{}", hex::encode(Sha256::digest(ticket.as_bytes())))
    }

    fn identity(&self, success: CasSuccess) -> Result<Identity, AuthError> {
        // CAS 1 answers a bare principal: there is nothing to map, and no profile to check.
        if self.settings.validation == CasValidation::Validate {
            return Ok(Identity {
                login: success.user,
                protocol: Protocol::Cas,
                fields: MappedFields::default(),
            });
        }
        let attributes: Attributes = success
            .attributes
            .into_iter()
            .flat_map(|(name, values)| values.into_iter().map(move |value| (name.clone(), value)))
            .collect();
        let mapped = map_attributes(Some(&success.user), &attributes, &self.settings.mapping)?;
        Ok(Identity {
            login: mapped.login,
            protocol: Protocol::Cas,
            fields: mapped.fields,
        })
    }
}

/// A ticket as the spec describes it: printable ASCII, bounded length.
fn well_formed_ticket(ticket: &str) -> bool {
    !ticket.is_empty()
        && ticket.len() <= MAX_TICKET_LEN
        && ticket.bytes().all(|b| b.is_ascii_graphic())
}

impl Delegation for CasDelegation {
    async fn start(&self, ctx: &Context<'_>) -> Result<Outgoing, AuthError> {
        Ok(Outgoing::Redirect(client::login_redirect(
            &self.settings,
            ctx.callback_url,
        )))
    }

    async fn callback(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<Authenticated, AuthError> {
        let ticket = request
            .query
            .iter()
            .find(|(k, _)| k == "ticket")
            .map(|(_, v)| v.as_str());
        let Some(ticket) = ticket.filter(|t| !t.is_empty()) else {
            return Err(AuthError::MissingToken);
        };
        if !well_formed_ticket(ticket) {
            return Err(AuthError::InvalidTicket {
                code: "INVALID_TICKET_SPEC".to_owned(),
            });
        }
        let ticket_hash = hex::encode(Sha256::digest(ticket.as_bytes()));
        // Before the network: a replayed ticket costs the CAS server nothing.
        ctx.replay
            .first_use("cas-ticket", &ticket_hash, TICKET_MEMORY)
            .await?;
        let success = self
            .validator
            .validate(ctx.callback_url, ticket, ctx.now)
            .await?;
        Ok(Authenticated {
            identity: self.identity(success)?,
            logout_index: Some(Self::logout_index(ticket)),
            logout_hint: None,
        })
    }

    fn logout(&self, ctx: &Context<'_>, _hint: Option<&str>) -> Option<String> {
        let mut back = url::Url::parse(ctx.callback_url).ok()?;
        back.set_path(&ctx.space.page_path(crate::space::Variant::Desktop));
        back.set_query(None);
        client::logout_redirect(&self.settings, back.as_str())
    }

    async fn back_channel(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<BackChannel, AuthError> {
        let xml = if request.post {
            request
                .form
                .iter()
                .find(|(k, _)| k == "logoutRequest")
                .map(|(_, v)| v.clone())
        } else {
            request
                .query
                .iter()
                .find(|(k, _)| k == "logoutRequest" || k == "SAMLRequest")
                .and_then(|(_, v)| slo::decode_front_channel(v))
        };
        let Some(xml) = xml else {
            return Ok(BackChannel::Ignored);
        };
        // The back channel is unsigned: only the configured CAS servers may use it. The front
        // channel comes through the browser and can only end sessions, which any page could do by
        // logging the user out; it is accepted from anywhere.
        if request.post
            && !self
                .settings
                .slo_sources
                .iter()
                .any(|net| net.contains(&ctx.client_ip))
        {
            return Err(AuthError::ForbiddenSource);
        }
        let ticket = slo::session_index(&xml)
            .ok_or_else(|| AuthError::Malformed("logoutRequest illisible".to_owned()))?;
        Ok(BackChannel::Logout {
            logout_index: Self::logout_index(&ticket),
        })
    }

    async fn probe(&self) -> Result<(), AuthError> {
        self.validator.probe().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_must_be_short_printable_ascii() {
        assert!(well_formed_ticket("ST-1-abc"));
        assert!(!well_formed_ticket(""));
        assert!(!well_formed_ticket("ST 1"));
        assert!(!well_formed_ticket(&"a".repeat(257)));
    }
}
