//! The provider's metadata (endpoints and signing keys), fetched from
//! `<issuer>/.well-known/openid-configuration` and kept for a while.
//!
//! Keys rotate: the cache is refreshed when it is older than its time to live, and earlier when a
//! token names a key the cached set lacks — at most once a minute, so that tokens with made-up key
//! ids cannot make the gateway hammer the provider.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use openidconnect::{DiscoveryError, IssuerUrl, ProviderMetadataWithLogout};
use tokio::sync::Mutex;

use super::error::OidcError;
use super::http::{HttpClient, transport_error};
use crate::clock::Clock;

/// Provider metadata, including `end_session_endpoint`.
pub type Metadata = ProviderMetadataWithLogout;

/// Shortest time between two refreshes caused by an unknown key id, in seconds.
const MIN_FORCED_REFRESH_SECS: u64 = 60;

struct Cached {
    metadata: Arc<Metadata>,
    fetched_at: u64,
}

/// A cached, refreshed copy of one provider's metadata.
pub struct Discovery {
    issuer: IssuerUrl,
    ttl_secs: u64,
    clock: Clock,
    current: ArcSwapOption<Cached>,
    /// Held while fetching, so that a burst of logins triggers one fetch, not one each.
    fetching: Mutex<()>,
}

impl Discovery {
    pub fn new(issuer: IssuerUrl, ttl_secs: u64, clock: Clock) -> Self {
        Discovery {
            issuer,
            ttl_secs,
            clock,
            current: ArcSwapOption::empty(),
            fetching: Mutex::new(()),
        }
    }

    /// The metadata, fetched now if missing or older than the time to live. When a refresh fails
    /// and an older copy exists, the older copy is used (the provider may only be briefly down).
    pub async fn get(&self, http: &HttpClient) -> Result<Arc<Metadata>, OidcError> {
        if let Some(cached) = self.fresh(self.ttl_secs) {
            return Ok(cached);
        }
        let _fetching = self.fetching.lock().await;
        if let Some(cached) = self.fresh(self.ttl_secs) {
            return Ok(cached);
        }
        match self.fetch(http).await {
            Ok(metadata) => Ok(metadata),
            Err(err) => match self.current.load_full() {
                Some(stale) if err.fault() == super::Fault::ProviderDown => {
                    tracing::warn!(issuer = %self.issuer.as_str(), error = %err, "métadonnées OpenID Connect non rafraîchies, ancienne copie utilisée");
                    Ok(Arc::clone(&stale.metadata))
                }
                _ => Err(err),
            },
        }
    }

    /// Fetch again because a token named an unknown key, unless that was done less than a minute
    /// ago. Returns the new metadata when a fetch happened.
    pub async fn refresh_for_unknown_key(
        &self,
        http: &HttpClient,
    ) -> Result<Option<Arc<Metadata>>, OidcError> {
        let _fetching = self.fetching.lock().await;
        if self.fresh(MIN_FORCED_REFRESH_SECS).is_some() {
            return Ok(None);
        }
        self.fetch(http).await.map(Some)
    }

    /// The last metadata fetched, however old, without any I/O (for callers that cannot wait).
    pub fn cached(&self) -> Option<Arc<Metadata>> {
        self.current
            .load_full()
            .map(|cached| Arc::clone(&cached.metadata))
    }

    fn fresh(&self, max_age: u64) -> Option<Arc<Metadata>> {
        let cached = self.current.load_full()?;
        let age = self.clock.now().saturating_sub(cached.fetched_at);
        (age < max_age).then(|| Arc::clone(&cached.metadata))
    }

    async fn fetch(&self, http: &HttpClient) -> Result<Arc<Metadata>, OidcError> {
        let metadata = Metadata::discover_async(self.issuer.clone(), http)
            .await
            .map_err(discovery_error)?;
        let metadata = Arc::new(metadata);
        self.current.store(Some(Arc::new(Cached {
            metadata: Arc::clone(&metadata),
            fetched_at: self.clock.now(),
        })));
        tracing::info!(issuer = %self.issuer.as_str(), "métadonnées OpenID Connect chargées");
        Ok(metadata)
    }
}

fn discovery_error(err: DiscoveryError<reqwest::Error>) -> OidcError {
    const WHAT: &str = "découverte";
    match err {
        DiscoveryError::Request(err) => transport_error(WHAT, &err),
        DiscoveryError::Response(status, _, _) => OidcError::ProviderFailure {
            what: WHAT,
            detail: format!("statut HTTP {status}"),
        },
        DiscoveryError::Parse(err) => OidcError::ProviderFailure {
            what: WHAT,
            detail: format!("document illisible ({err})"),
        },
        DiscoveryError::Validation(detail) => OidcError::ProviderFailure { what: WHAT, detail },
        DiscoveryError::UrlParse(err) => OidcError::Configuration(format!("émetteur : {err}")),
        other => OidcError::ProviderFailure {
            what: WHAT,
            detail: other.to_string(),
        },
    }
}
