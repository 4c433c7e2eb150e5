//! One configured WS-Federation delegation behind the shared flow's contract. The flow's pending-login
//! state travels as `wctx` and must come back unchanged; the token is verified off the async runtime
//! (libxmlsec1 blocks), its assertion ID is single use across replicas, and its claims go through the
//! shared identity mapping (group claim values → PRONOTE categories → spaces, in the shared callback).
//!
//! When the STS metadata comes from an URL, it is fetched in the background at start and every
//! `refresh`; a failed fetch keeps the last good copy. Until a first copy arrives, logins answer
//! "provider unreachable" (which `when_idp_down` turns into the direct form).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};

use super::error::WsFedError;
use super::metadata::MetadataUrl;
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
    /// The current settings; their `sts` is replaced by each metadata refresh.
    settings: Arc<ArcSwap<Settings>>,
    source: Option<Arc<MetadataUrl>>,
    /// Whether the refresh loop runs (started once, from inside the runtime).
    refreshing: Arc<AtomicBool>,
    rules: MappingRules,
    /// The gateway's logout also signs out at the STS (`wa=wsignout1.0`).
    sign_out: bool,
}

impl WsFedDelegation {
    /// `source`: where to fetch the STS metadata from (then `settings.sts` may be empty until the
    /// first fetch). Inside a Tokio runtime the fetch loop starts at once.
    pub fn new(
        settings: Settings,
        rules: MappingRules,
        sign_out: bool,
        source: Option<MetadataUrl>,
    ) -> Self {
        let delegation = WsFedDelegation {
            settings: Arc::new(ArcSwap::from_pointee(settings)),
            source: source.map(Arc::new),
            refreshing: Arc::new(AtomicBool::new(false)),
            rules,
            sign_out,
        };
        delegation.keep_fresh();
        delegation
    }

    /// The settings, once the STS metadata is known.
    pub fn settings(&self) -> Option<Arc<Settings>> {
        let settings = self.settings.load_full();
        (!settings.sts.signing_certs.is_empty()).then_some(settings)
    }

    /// Fetches the metadata again now (when it comes from an URL).
    pub async fn refresh(&self) -> Result<(), WsFedError> {
        if let Some(source) = &self.source {
            store(&self.settings, source.fetch().await?);
        }
        Ok(())
    }

    fn keep_fresh(&self) {
        let (Some(source), Ok(runtime)) =
            (self.source.clone(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        if self.refreshing.swap(true, Ordering::SeqCst) {
            return;
        }
        // Weak: the loop ends with the last clone of the delegation.
        let settings: Weak<ArcSwap<Settings>> = Arc::downgrade(&self.settings);
        runtime.spawn(async move {
            loop {
                let fetched = source.fetch().await;
                let Some(settings) = settings.upgrade() else {
                    return;
                };
                match fetched {
                    Ok(sts) => store(&settings, sts),
                    Err(err) => {
                        tracing::warn!(url = %source.url, code = err.code(), error = %err, "métadonnées WS-Federation non rafraîchies (dernière copie gardée)");
                    }
                }
                drop(settings);
                tokio::time::sleep(source.refresh).await;
            }
        });
    }

    /// Checks `wctx` against the pending state, then verifies the posted `wresult`.
    pub async fn verify(
        &self,
        settings: Arc<Settings>,
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
        tokio::task::spawn_blocking(move || token::verify(&wresult, &settings, now as i64))
            .await
            .map_err(|_| WsFedError::Signature)?
    }

    fn ready(&self) -> Result<Arc<Settings>, AuthError> {
        self.settings().ok_or_else(|| {
            self.keep_fresh();
            AuthError::Unreachable("métadonnées WS-Federation pas encore chargées".to_owned())
        })
    }
}

fn store(settings: &ArcSwap<Settings>, sts: super::StsMetadata) {
    let mut next = Settings::clone(&settings.load());
    next.sts = sts;
    settings.store(Arc::new(next));
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
    async fn start(&self, ctx: &Context<'_>) -> Result<Outgoing, AuthError> {
        signin::signin_url(&*self.ready()?, ctx.callback_url, ctx.state, ctx.now)
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
        let settings = self.ready()?;
        let verified = self
            .verify(settings, ctx.state, request, ctx.now)
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
            logout_hint: None,
        })
    }

    fn logout(&self, ctx: &Context<'_>, _hint: Option<&str>) -> Option<String> {
        if !self.sign_out {
            return None;
        }
        let mut back = url::Url::parse(ctx.callback_url).ok()?;
        back.set_path(LOGOUT_PATH);
        back.set_query(None);
        signin::signout_url(&*self.settings()?, back.as_str()).ok()
    }

    /// `wa=wsignoutcleanup1.0` (and `wsignout1.0`) loaded by the STS while it signs the person out
    /// everywhere: end this browser's session. It names nobody, so only the browser's own cookie can
    /// say which session; the flow answers at once.
    async fn back_channel(
        &self,
        _ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<BackChannel, AuthError> {
        match request.param("wa") {
            Some(signin::WSIGNOUT_CLEANUP | signin::WSIGNOUT) => Ok(BackChannel::EndBrowserSession),
            _ => Ok(BackChannel::Ignored),
        }
    }

    /// Up when the metadata is known; otherwise try to fetch it now.
    async fn probe(&self) -> Result<(), AuthError> {
        if self.settings().is_some() {
            return Ok(());
        }
        self.refresh()
            .await
            .map_err(|err| AuthError::Unreachable(err.to_string()))
    }
}
