//! The gateway currently serving, behind one [`ArcSwap`]: every request loads the current [`Gateway`]
//! when it starts and keeps it to the end, so a configuration swapped in by a reload applies to the next
//! request on every open connection, and no connection is dropped for it.
//!
//! What outlives a swap — sessions, the guard's counters, the publication overrides, the clock — is kept
//! in [`Shared`] and handed to each new [`Gateway`].

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::publication::Publication;
use super::{Gateway, StartError, request_metrics};
use crate::auth::LoginFlow;
use crate::auth::direct::UserDirectory;
use crate::auth::registry::Delegations;
use crate::clock::Clock;
use crate::config::Config;
use crate::guard::Guard;
use crate::identity::signed_headers::HeaderSigner;
use crate::proxy::Upstream;
use crate::session::{AnyStore, Sessions};

/// State that survives a configuration swap.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub store: AnyStore,
    pub guard: Guard,
    pub clock: Clock,
    pub publication: Publication,
    /// Whether the listeners terminate TLS (fixed at start: listeners are not rebuilt by a reload).
    pub tls: bool,
}

/// Build the per-configuration part of the gateway.
pub(crate) fn build(config: Arc<Config>, shared: &Shared) -> Result<Gateway, StartError> {
    let sessions = Sessions::new(
        shared.store.clone(),
        config.session.clone(),
        shared.clock.clone(),
    );
    let flow = LoginFlow::new(
        sessions,
        UserDirectory::new(&config.users),
        shared.guard.clone(),
        &config.identity.signing_key,
        config.listen.gateway_body_limit,
    )
    .with_delegations(
        Delegations::from_config(
            &config.spaces,
            &config.public_url,
            &config.identity.signing_key,
            &shared.clock,
        )?,
        &config.public_url,
        shared.clock.clone(),
    );
    let proto = if shared.tls || config.public_url.scheme() == "https" {
        "https"
    } else {
        "http"
    };
    Ok(Gateway {
        upstream: Upstream::new(&config.upstream)?,
        signer: HeaderSigner::new(&config.identity.header_prefix, &config.identity.signing_key)?,
        flow,
        clock: shared.clock.clone(),
        proto,
        requests: request_metrics::RequestCounters::new(),
        publication: shared.publication.clone(),
        config,
    })
}

/// The serving gateway and what a reload needs to build the next one.
#[derive(Debug)]
pub struct Live {
    current: ArcSwap<Gateway>,
    pub(crate) shared: Shared,
}

impl Live {
    pub(crate) fn new(gateway: Gateway, shared: Shared) -> Self {
        Live {
            current: ArcSwap::from_pointee(gateway),
            shared,
        }
    }

    /// The gateway serving now; hold it for one request, not longer.
    pub fn gateway(&self) -> Arc<Gateway> {
        self.current.load_full()
    }

    pub fn publication(&self) -> &Publication {
        &self.shared.publication
    }
}
