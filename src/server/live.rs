//! The gateway currently serving, behind one [`ArcSwap`]: every request loads the current [`Gateway`]
//! when it starts and keeps it to the end, so a configuration swapped in by a reload applies to the next
//! request on every open connection, and no connection is dropped for it.
//!
//! What outlives a swap — sessions, the guard's counters, the publication overrides, the clock — is kept
//! in [`Shared`] and handed to each new [`Gateway`].
//!
//! [`Live::reload`] (SIGHUP, `POST /api/v1/reload`) re-reads and validates every file; only a
//! configuration that passed validation *and* built (delegations, upstream, header signer) is swapped
//! in. Anything else leaves the serving configuration untouched and reports why. Settings that belong to
//! the sockets or to state built once (listeners, TLS, admin listener and token, store, guard, logs) are
//! read but only take effect at the next restart; the report names them.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::publication::Publication;
use super::{Gateway, StartError, request_metrics};
use crate::auth::LoginFlow;
use crate::auth::direct::UserDirectory;
use crate::auth::registry::Delegations;
use crate::cas_server::CasBridge;
use crate::clock::Clock;
use crate::config::{Config, Problem, Problems};
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
    let delegations = Delegations::from_config(
        &config.spaces,
        &config.public_url,
        &config.identity.signing_key,
        &shared.clock,
    )?;
    let flow = LoginFlow::new(
        sessions,
        UserDirectory::new(&config.users),
        shared.guard.clone(),
        &config.identity.signing_key,
        config.listen.gateway_body_limit,
    )
    .with_delegations(
        delegations.clone(),
        &config.public_url,
        shared.clock.clone(),
    );
    let saml_refresh = crate::auth::saml::setup::RefreshTasks::spawn(
        delegations.metadata_refreshes(&config.spaces),
        &shared.clock,
    );
    let bridge = config
        .cas_server
        .clone()
        .map(|settings| {
            CasBridge::new(
                settings,
                &config.public_url,
                shared.store.clone(),
                shared.clock.clone(),
                config.session.absolute_timeout,
            )
        })
        .transpose()
        .map_err(StartError::CasBridge)?;
    let flow = match &bridge {
        Some(bridge) => flow.with_bridge_login(bridge.login_path()),
        None => flow,
    };
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
        bridge,
        _saml_refresh: saml_refresh,
        config,
    })
}

/// The serving gateway and what a reload needs to build the next one.
#[derive(Debug)]
pub struct Live {
    current: ArcSwap<Gateway>,
    pub(crate) shared: Shared,
    /// One reload at a time: two racing reloads could otherwise swap in the older file last.
    reloading: tokio::sync::Mutex<()>,
}

/// Why a reload was refused; the serving configuration is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Validation failed: every problem, located to file, line and column.
    #[error("configuration invalide, rechargement refusé :\n{0}")]
    Invalid(Problems),
    /// Valid files, but a part could not be built (an upstream URL the client refuses, …).
    #[error("configuration inutilisable, rechargement refusé : {0}")]
    Unusable(#[from] StartError),
}

impl ReloadError {
    /// Each problem on its own line, as `passerelle check` prints them.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ReloadError::Invalid(problems) => problems.0.iter().map(ToString::to_string).collect(),
            ReloadError::Unusable(err) => vec![err.to_string()],
        }
    }
}

/// What a successful reload did.
#[derive(Debug)]
pub struct Reloaded {
    pub source: PathBuf,
    /// Sections whose change waits for a restart (`listen`, `admin`, `store`, `guard`, `log`).
    pub restart_required: Vec<&'static str>,
}

/// The sections a reload cannot apply, each with a fingerprint of its value.
fn fixed_sections(config: &Config) -> [(&'static str, String); 5] {
    [
        ("listen", format!("{:?}", config.listen)),
        (
            "admin",
            format!("{:?}{:?}", config.admin_listen, config.admin),
        ),
        ("store", format!("{:?}", config.store)),
        ("guard", format!("{:?}", config.guard)),
        ("log", format!("{:?}", config.log)),
    ]
}

impl Live {
    pub(crate) fn new(gateway: Gateway, shared: Shared) -> Self {
        Live {
            current: ArcSwap::from_pointee(gateway),
            shared,
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Re-read the gateway file the serving configuration came from, validate everything, build it and
    /// swap it in; on any failure keep serving the current one. Logs the outcome either way.
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        let _turn = self.reloading.lock().await;
        let current = self.gateway();
        let source = current.config().source.clone();
        let path = source.clone();
        let loaded = tokio::task::spawn_blocking(move || crate::config::load(&path))
            .await
            .unwrap_or_else(|join| {
                Err(Problems(vec![Problem::whole_file(
                    &source,
                    format!("lecture interrompue : {join}"),
                )]))
            });
        let outcome = match loaded {
            Err(problems) => Err(ReloadError::Invalid(problems)),
            Ok(config) => {
                let before = fixed_sections(current.config());
                let restart_required = fixed_sections(&config)
                    .into_iter()
                    .zip(before)
                    .filter(|(new, old)| new.1 != old.1)
                    .map(|(new, _)| new.0)
                    .collect();
                build(Arc::new(config), &self.shared)
                    .map(|gateway| {
                        self.current.store(Arc::new(gateway));
                        Reloaded {
                            source: source.clone(),
                            restart_required,
                        }
                    })
                    .map_err(ReloadError::from)
            }
        };
        match &outcome {
            Ok(done) => tracing::info!(
                file = %done.source.display(),
                restart_required = ?done.restart_required,
                "configuration rechargée"
            ),
            Err(err) => {
                for problem in err.problems() {
                    tracing::error!(%problem, "rechargement refusé, l'ancienne configuration reste en service");
                }
            }
        }
        outcome
    }

    /// The gateway serving now; hold it for one request, not longer.
    pub fn gateway(&self) -> Arc<Gateway> {
        self.current.load_full()
    }

    pub fn publication(&self) -> &Publication {
        &self.shared.publication
    }
}
