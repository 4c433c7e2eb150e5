//! From a resolved `[[delegation]]` ([`SamlConfig`]) to a running [`SamlDelegation`], and keeping its
//! IdP metadata fresh: read again every `metadata_refresh` (file or URL); a failed read keeps the last
//! good metadata, which stops being trusted once its `validUntil` has passed.

use std::time::Duration;

use super::SpSettings;
use super::delegation::SamlDelegation;
use super::error::SamlError;
use super::metadata::IdpMetadata;
use crate::clock::Clock;
use crate::config::saml::{IdpSource, SamlConfig};

/// Builds the delegation; `acs_url` is its callback URL and `sls_url` its single-logout URL. A file
/// source is installed at once; a URL source waits for [`refresh_once`].
pub fn delegation(
    config: &SamlConfig,
    acs_url: String,
    sls_url: String,
) -> Result<SamlDelegation, SamlError> {
    // Names the expected IdP until real metadata is installed; trusts nobody (no certificate).
    let placeholder = IdpMetadata {
        entity_id: config.idp_entity_id.clone().unwrap_or_default(),
        signing_certs: Vec::new(),
        sso_redirect: String::new(),
        slo_redirect: None,
        valid_until: None,
    };
    let mut template = SpSettings::new(config.sp_entity_id.clone(), acs_url, placeholder);
    template.slo_url = Some(sls_url);
    template.signing_key = config.signing_key.clone();
    template.encryption_keys = config.encryption_keys.clone();
    template.allow_sha1 = config.allow_sha1;
    template.allow_unsolicited = config.allow_unsolicited;
    template.clock_skew = config.clock_skew.as_secs();
    template.max_issue_age = config.max_issue_age.as_secs();
    let delegation = SamlDelegation::awaiting_metadata(
        template,
        config.idp_certificates.clone(),
        config.educonnect,
        config.mapping.clone(),
    )?;
    if let IdpSource::File { first, .. } = &config.idp {
        delegation.install(first.clone())?;
    }
    Ok(delegation)
}

/// What the refresh task needs for one delegation.
#[derive(Debug, Clone)]
pub struct MetadataRefresh {
    pub delegation: SamlDelegation,
    pub source: IdpSource,
    pub expected_entity_id: Option<String>,
    pub every: Duration,
    /// `space/id`, for the logs.
    pub name: String,
}

/// Reads the metadata once and installs it; on failure the previous metadata stays.
pub async fn refresh_once(job: &MetadataRefresh, now: i64) -> Result<(), SamlError> {
    let expected = job.expected_entity_id.as_deref();
    let idp = match &job.source {
        IdpSource::File { path, .. } => IdpMetadata::from_file(path, expected, now)?,
        IdpSource::Url(url) => IdpMetadata::fetch(url.as_str(), expected, now).await?,
    };
    job.delegation.install(idp)
}

/// Refreshes `job` until the returned future is dropped (the server drops it at shutdown). A URL
/// source is fetched at once, then every `every`; a failure is retried sooner (a tenth of the
/// period, at least 10 s) so that a start while the IdP is down does not wait an hour.
pub async fn keep_fresh(job: MetadataRefresh, clock: Clock) {
    let fetch_now = matches!(job.source, IdpSource::Url(_));
    if !fetch_now {
        tokio::time::sleep(job.every).await;
    }
    loop {
        let wait = match refresh_once(&job, clock.now() as i64).await {
            Ok(()) => {
                tracing::info!(delegation = %job.name, "métadonnées SAML du fournisseur d'identité chargées");
                job.every
            }
            Err(err) => {
                tracing::warn!(delegation = %job.name, code = err.code(), error = %err, "métadonnées SAML non rafraîchies : les dernières valides restent en usage");
                (job.every / 10).max(Duration::from_secs(10))
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// The metadata refresh tasks of one configuration; dropping it stops them, so a reloaded
/// configuration (which builds its own) never leaves the old ones running.
#[derive(Debug, Default)]
pub struct RefreshTasks(Vec<tokio::task::AbortHandle>);

impl RefreshTasks {
    /// Starts [`keep_fresh`] for each job (needs a Tokio runtime).
    pub fn spawn(jobs: Vec<MetadataRefresh>, clock: &Clock) -> Self {
        RefreshTasks(
            jobs.into_iter()
                .map(|job| tokio::spawn(keep_fresh(job, clock.clone())).abort_handle())
                .collect(),
        )
    }
}

impl Drop for RefreshTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
