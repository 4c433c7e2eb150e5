//! One configured WS-Federation delegation behind the shared flow's contract. The flow's pending-login
//! state travels as `wctx` and must come back unchanged; the token is verified off the async runtime
//! (libxmlsec1 blocks), its assertion ID is single use across replicas, and its claims go through the
//! shared identity mapping (group claim values → PRONOTE categories → spaces, in the shared callback).

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::error::WsFedError;
use super::signin::{self, WSIGNIN};
use super::{Settings, token};
use crate::auth::LOGOUT_PATH;
use crate::auth::delegation::{
    AuthError, Authenticated, BackChannel, Context, Delegation, Incoming, Outgoing,
};
use crate::identity::mapping::{MappingRules, map_attributes};
use crate::identity::{Identity, Protocol};

/// One `[[delegation]]` with `protocol = "wsfed"`.
#[derive(Debug, Clone)]
pub struct WsFedDelegation {
    settings: Arc<Settings>,
    rules: MappingRules,
    /// The gateway's logout also signs out at the STS (`wa=wsignout1.0`).
    sign_out: bool,
}

impl WsFedDelegation {
    pub fn new(settings: Settings, rules: MappingRules, sign_out: bool) -> Self {
        WsFedDelegation {
            settings: Arc::new(settings),
            rules,
            sign_out,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Checks `wctx` against the pending state, then verifies the posted `wresult`.
    pub async fn verify(
        &self,
        state: &str,
        request: &Incoming,
        now: u64,
    ) -> Result<token::VerifiedToken, WsFedError> {
        let form = |name: &str| {
            request
                .form
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        match form("wctx") {
            Some(context) if !state.is_empty() && context == state => {}
            _ => return Err(WsFedError::Context),
        }
        let wresult = form("wresult").ok_or(WsFedError::Missing("wresult"))?;
        let settings = Arc::clone(&self.settings);
        tokio::task::spawn_blocking(move || token::verify(&wresult, &settings, now as i64))
            .await
            .map_err(|_| WsFedError::Signature)?
    }
}

/// The shared flow's view of a refused token: counted by the guard unless the metadata is at fault.
fn auth_error(err: &WsFedError) -> AuthError {
    let message = format!("{} ({})", err, err.code());
    if err.is_user_fault() {
        AuthError::Rejected(message)
    } else {
        AuthError::Malformed(message)
    }
}

impl Delegation for WsFedDelegation {
    fn start(&self, ctx: &Context<'_>) -> Result<Outgoing, AuthError> {
        signin::signin_url(&self.settings, ctx.callback_url, ctx.state, ctx.now)
            .map(Outgoing::Redirect)
            .map_err(|err| AuthError::Malformed(format!("point d'accès WS-Federation : {err}")))
    }

    async fn callback(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<Authenticated, AuthError> {
        if !request.post
            || request.param("wa") != Some(WSIGNIN)
            || request.param("wresult").is_none()
        {
            return Err(AuthError::MissingToken);
        }
        let verified = self
            .verify(ctx.state, request, ctx.now)
            .await
            .map_err(|err| auth_error(&err))?;
        // Single use, across replicas; keyed by a hash of (issuer, assertion id), never the token.
        let digest = Sha256::digest(format!("{}\n{}", verified.issuer, verified.id).as_bytes());
        let ttl = (verified.replay_until - ctx.now as i64).max(60) as u64;
        ctx.replay
            .first_use(
                "wsfed-assertion",
                &hex::encode(digest),
                Duration::from_secs(ttl),
            )
            .await?;
        let mapped = map_attributes(verified.subject.as_deref(), &verified.claims, &self.rules)
            .map_err(|err| AuthError::IncompleteIdentity(err.to_string()))?;
        Ok(Authenticated {
            identity: Identity {
                login: mapped.login,
                protocol: Protocol::Wsfed,
                fields: mapped.fields,
            },
            logout_index: None,
        })
    }

    fn logout(&self, ctx: &Context<'_>) -> Option<String> {
        if !self.sign_out {
            return None;
        }
        let mut back = url::Url::parse(ctx.callback_url).ok()?;
        back.set_path(LOGOUT_PATH);
        back.set_query(None);
        signin::signout_url(&self.settings, back.as_str()).ok()
    }

    /// `wa=wsignoutcleanup1.0` (and `wsignout1.0`) loaded by the STS while it signs the person out
    /// everywhere: end this browser's session. It names nobody, so only the browser's own cookie can
    /// say which session; the flow answers at once.
    fn back_channel(
        &self,
        _ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<BackChannel, AuthError> {
        match request.param("wa") {
            Some(signin::WSIGNOUT_CLEANUP | signin::WSIGNOUT) => Ok(BackChannel::EndBrowserSession),
            _ => Ok(BackChannel::Ignored),
        }
    }
}
