//! The configured delegations of every space, built once at start, and what the gateway knows of their
//! providers' health (for `when_idp_down`).
//!
//! [`AnyDelegation`] is an enum, like the session store, so calls stay statically dispatched; each new
//! protocol adds a variant.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::cas::CasDelegation;
use super::delegation::{
    AuthError, Authenticated, BackChannel, Context, Delegation, Incoming, Outgoing,
};
use super::oidc::delegation::OidcDelegation;
use super::saml::SamlDelegation;
use super::saml::setup::{self as saml_setup, MetadataRefresh};
use super::wsfed::WsFedDelegation;
use super::{CALLBACK_PREFIX, LOGOUT_PATH, SLO_PREFIX};
use crate::clock::Clock;
use crate::config::{DelegationKind, SpaceTable};
use crate::space::SpaceId;

/// After a provider failed to answer, it is considered down this long (seconds).
const DOWN_FOR_SECS: u64 = 60;
/// A probe result is reused this long (seconds), so a rush of logins does not hammer a dead server.
const PROBE_FRESH_SECS: u64 = 15;

/// Every protocol behind [`Delegation`].
#[derive(Debug, Clone)]
// Built once at start, a handful per gateway: the size difference costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
pub enum AnyDelegation {
    Cas(CasDelegation),
    Oidc(OidcDelegation),
    Wsfed(WsFedDelegation),
    Saml(SamlDelegation),
}

impl Delegation for AnyDelegation {
    async fn start(&self, ctx: &Context<'_>) -> Result<Outgoing, AuthError> {
        match self {
            AnyDelegation::Cas(cas) => cas.start(ctx).await,
            AnyDelegation::Oidc(oidc) => oidc.start(ctx).await,
            AnyDelegation::Wsfed(wsfed) => wsfed.start(ctx).await,
            AnyDelegation::Saml(saml) => saml.start(ctx).await,
        }
    }
    async fn callback(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<Authenticated, AuthError> {
        match self {
            AnyDelegation::Cas(cas) => cas.callback(ctx, request).await,
            AnyDelegation::Oidc(oidc) => oidc.callback(ctx, request).await,
            AnyDelegation::Wsfed(wsfed) => wsfed.callback(ctx, request).await,
            AnyDelegation::Saml(saml) => saml.callback(ctx, request).await,
        }
    }
    fn logout(&self, ctx: &Context<'_>, hint: Option<&str>) -> Option<String> {
        match self {
            AnyDelegation::Cas(cas) => cas.logout(ctx, hint),
            AnyDelegation::Oidc(oidc) => oidc.logout(ctx, hint),
            AnyDelegation::Wsfed(wsfed) => wsfed.logout(ctx, hint),
            AnyDelegation::Saml(saml) => saml.logout(ctx, hint),
        }
    }
    async fn back_channel(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<BackChannel, AuthError> {
        match self {
            AnyDelegation::Cas(cas) => cas.back_channel(ctx, request).await,
            AnyDelegation::Oidc(oidc) => oidc.back_channel(ctx, request).await,
            AnyDelegation::Wsfed(wsfed) => wsfed.back_channel(ctx, request).await,
            AnyDelegation::Saml(saml) => saml.back_channel(ctx, request).await,
        }
    }
    fn accepts_unsolicited(&self) -> bool {
        match self {
            AnyDelegation::Cas(cas) => cas.accepts_unsolicited(),
            AnyDelegation::Oidc(oidc) => oidc.accepts_unsolicited(),
            AnyDelegation::Wsfed(wsfed) => wsfed.accepts_unsolicited(),
            AnyDelegation::Saml(saml) => saml.accepts_unsolicited(),
        }
    }
    async fn probe(&self) -> Result<(), AuthError> {
        match self {
            AnyDelegation::Cas(cas) => cas.probe().await,
            AnyDelegation::Oidc(oidc) => oidc.probe().await,
            AnyDelegation::Wsfed(wsfed) => wsfed.probe().await,
            AnyDelegation::Saml(saml) => saml.probe().await,
        }
    }
}

/// What this replica has seen of one provider.
#[derive(Debug, Default)]
pub struct Health {
    down_until: AtomicU64,
    probed_at: AtomicU64,
    probe_ok: AtomicBool,
}

impl Health {
    /// A validation call could not reach the provider.
    pub fn mark_down(&self, now: u64) {
        self.down_until
            .store(now + DOWN_FOR_SECS, Ordering::Relaxed);
    }

    /// Whether the provider is known to be down right now, without asking it.
    pub fn known_down(&self, now: u64) -> bool {
        self.down_until.load(Ordering::Relaxed) > now
    }
}

/// One delegation and its health.
#[derive(Debug)]
pub struct Registered {
    pub delegation: AnyDelegation,
    pub health: Health,
}

impl Registered {
    /// Whether the provider answers: known down → no; a fresh probe → its result; else probe now.
    pub async fn is_up(&self, now: u64) -> bool {
        if self.health.known_down(now) {
            return false;
        }
        let probed_at = self.health.probed_at.load(Ordering::Relaxed);
        if probed_at != 0 && now < probed_at + PROBE_FRESH_SECS {
            return self.health.probe_ok.load(Ordering::Relaxed);
        }
        let ok = self.delegation.probe().await.is_ok();
        self.health.probe_ok.store(ok, Ordering::Relaxed);
        self.health.probed_at.store(now.max(1), Ordering::Relaxed);
        if !ok {
            self.health.mark_down(now);
        }
        ok
    }
}

/// Building a delegation failed (the HTTP client could not be set up).
#[derive(Debug, thiserror::Error)]
#[error("délégation « {space}/{id} » : {reason}")]
pub struct BadDelegation {
    pub space: SpaceId,
    pub id: String,
    pub reason: String,
}

/// Every space's delegations by (space, id).
#[derive(Debug, Clone, Default)]
pub struct Delegations {
    by_id: Arc<HashMap<(SpaceId, String), Registered>>,
}

impl Delegations {
    /// Build every space's delegations. `public_url` gives the callback URLs, `key` the gateway's
    /// signing key (OIDC derives its nonce and PKCE verifier with it), `clock` the time.
    pub fn from_config(
        spaces: &SpaceTable,
        public_url: &url::Url,
        key: &[u8],
        clock: &Clock,
    ) -> Result<Self, BadDelegation> {
        let public_base = public_url.as_str().trim_end_matches('/');
        let mut by_id = HashMap::new();
        for space in SpaceId::ALL {
            for settings in &spaces.get(space).delegations {
                let delegation = match &settings.kind {
                    DelegationKind::Cas(cas) => CasDelegation::new(cas.clone())
                        .map(AnyDelegation::Cas)
                        .map_err(|err| BadDelegation {
                            space,
                            id: settings.id.clone(),
                            reason: err.to_string(),
                        })?,
                    DelegationKind::Oidc(oidc) => {
                        let callback =
                            format!("{public_base}{CALLBACK_PREFIX}{space}/{}", settings.id);
                        let logged_out = format!("{public_base}{LOGOUT_PATH}");
                        crate::auth::oidc::delegation::from_settings(
                            oidc, callback, logged_out, key, clock,
                        )
                        .map(AnyDelegation::Oidc)
                        .map_err(|err| BadDelegation {
                            space,
                            id: settings.id.clone(),
                            reason: err.to_string(),
                        })?
                    }
                    DelegationKind::Wsfed(wsfed) => AnyDelegation::Wsfed(WsFedDelegation::new(
                        wsfed.settings.clone(),
                        wsfed.mapping.clone(),
                        wsfed.sign_out,
                        wsfed.metadata_url.clone(),
                    )),
                    DelegationKind::Saml(saml) => {
                        let acs = format!("{public_base}{CALLBACK_PREFIX}{space}/{}", settings.id);
                        let sls = format!("{public_base}{SLO_PREFIX}{space}/{}", settings.id);
                        saml_setup::delegation(saml, acs, sls)
                            .map(AnyDelegation::Saml)
                            .map_err(|err| BadDelegation {
                                space,
                                id: settings.id.clone(),
                                reason: err.to_string(),
                            })?
                    }
                };
                by_id.insert(
                    (space, settings.id.clone()),
                    Registered {
                        delegation,
                        health: Health::default(),
                    },
                );
            }
        }
        Ok(Delegations {
            by_id: Arc::new(by_id),
        })
    }

    pub fn get(&self, space: SpaceId, id: &str) -> Option<&Registered> {
        self.by_id.get(&(space, id.to_owned()))
    }

    /// The SAML delegation `id` of `space`, if it is one (its SP metadata is served).
    pub fn saml(&self, space: SpaceId, id: &str) -> Option<&SamlDelegation> {
        match &self.get(space, id)?.delegation {
            AnyDelegation::Saml(saml) => Some(saml),
            _ => None,
        }
    }

    /// Every SAML delegation's metadata source, for the refresh task.
    pub fn metadata_refreshes(&self, spaces: &SpaceTable) -> Vec<MetadataRefresh> {
        let mut jobs = Vec::new();
        for space in SpaceId::ALL {
            for settings in &spaces.get(space).delegations {
                if let (DelegationKind::Saml(config), Some(saml)) =
                    (&settings.kind, self.saml(space, &settings.id))
                {
                    jobs.push(MetadataRefresh {
                        delegation: saml.clone(),
                        source: config.idp.clone(),
                        expected_entity_id: config.idp_entity_id.clone(),
                        every: config.metadata_refresh,
                        name: format!("{space}/{}", settings.id),
                    });
                }
            }
        }
        jobs
    }
}
