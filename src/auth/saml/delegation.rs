//! The SAML2 SP behind the shared [`Delegation`] trait: the AuthnRequest at start, the POSTed response
//! at the callback (verified off the async runtime), assertion replay through the shared store, the
//! EduConnect profile rule, and IdP-initiated logout on the back channel.
//!
//! Binding to the pending login without storing anything more: RelayState is the flow's pending state,
//! and the AuthnRequest ID is derived from that state (`_` + SHA-256), so `InResponseTo` can only match
//! the one pending login of this browser, which the flow hands out once.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::SpSettings;
use super::educonnect;
use super::error::{Fault, SamlError};
use super::metadata::IdpMetadata;
use super::request;
use super::slo::{self, IncomingLogout};
use super::verify::{ServiceProvider, VerifiedAssertion};
use crate::auth::delegation::{
    AuthError, Authenticated, BackChannel, Context, Delegation, Incoming, Outgoing,
};
use crate::identity::mapping::{
    Attributes, Category, MappingRules, map_attributes, normalise_birth_date,
};
use crate::identity::{Identity, MappedFields, Protocol};

const REPLAY_NAMESPACE: &str = "saml-assertion";
/// RelayState of our LogoutRequests; the IdP's LogoutResponse only ends at the "logged out" page.
const LOGOUT_RELAY_STATE: &str = "deconnexion";
const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// One SAML IdP configured on one space.
#[derive(Debug, Clone)]
pub struct SamlDelegation {
    /// Our side of the exchange; its `idp` is replaced each time metadata is installed.
    template: Arc<SpSettings>,
    /// Pinned IdP signing certificates (PEM) that replace those of every metadata installed.
    pinned: Arc<Vec<Vec<u8>>>,
    /// The verifier for the IdP metadata last installed; `None` until the first good metadata.
    current: Arc<RwLock<Option<Arc<ServiceProvider>>>>,
    /// Read the identity the EduConnect way (OIDs, `FrEduCtId`, profile must match the space).
    educonnect: bool,
    /// How attributes become PRONOTE fields (other IdPs than EduConnect).
    mapping: MappingRules,
}

impl SamlDelegation {
    /// `settings.acs_url` must be the delegation's callback URL (`<public_url>/auth/callback/<space>/<id>`).
    pub fn new(
        settings: SpSettings,
        educonnect: bool,
        mapping: MappingRules,
    ) -> Result<Self, SamlError> {
        let delegation =
            Self::awaiting_metadata(settings.clone(), Vec::new(), educonnect, mapping)?;
        delegation.install(settings.idp)?;
        Ok(delegation)
    }

    /// A delegation whose IdP metadata comes later ([`Self::install`]); until then it answers that
    /// the provider is unavailable. `template.idp` only names the expected IdP.
    pub fn awaiting_metadata(
        template: SpSettings,
        pinned: Vec<Vec<u8>>,
        educonnect: bool,
        mapping: MappingRules,
    ) -> Result<Self, SamlError> {
        if educonnect {
            educonnect::settings_profile(&template)?;
        }
        Ok(SamlDelegation {
            template: Arc::new(template),
            pinned: Arc::new(pinned),
            current: Arc::new(RwLock::new(None)),
            educonnect,
            mapping,
        })
    }

    /// Trust `idp` from now on (pins applied). On error the previous metadata stays in use.
    pub fn install(&self, mut idp: IdpMetadata) -> Result<(), SamlError> {
        if !self.pinned.is_empty() {
            idp.pin_certificates(&self.pinned)?;
        }
        let mut settings = (*self.template).clone();
        settings.idp = idp;
        let sp = Arc::new(ServiceProvider::new(settings)?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(sp);
        Ok(())
    }

    /// Our settings (entity ID, ACS, SLS, keys): what the SP metadata publishes.
    pub fn sp_settings(&self) -> &SpSettings {
        &self.template
    }

    /// The verifier in use, if metadata was installed.
    pub fn service_provider(&self) -> Option<Arc<ServiceProvider>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The verifier, as long as its metadata is still valid at `now`; otherwise the IdP counts as
    /// unavailable (not the person's fault).
    fn usable(&self, now: u64) -> Result<Arc<ServiceProvider>, AuthError> {
        self.service_provider()
            .filter(|sp| sp.settings().idp.is_valid_at(now as i64))
            .ok_or_else(|| {
                AuthError::Unreachable(
                    "métadonnées du fournisseur d'identité absentes ou expirées".into(),
                )
            })
    }

    /// The AuthnRequest ID for a pending state: unguessable without the state, one per login.
    pub fn request_id_for(state: &str) -> String {
        format!(
            "_{}",
            hex::encode(Sha256::digest(format!("saml-request:{state}").as_bytes()))
        )
    }

    /// The handle stored with the session for single logout: a hash of the SessionIndex (or NameID).
    pub fn logout_index(issuer: &str, handle: &str) -> String {
        format!(
            "saml:{}",
            hex::encode(Sha256::digest(format!("{issuer}\n{handle}").as_bytes()))
        )
    }

    fn identity(
        &self,
        ctx: &Context<'_>,
        assertion: &VerifiedAssertion,
    ) -> Result<Identity, AuthError> {
        if self.educonnect {
            let person =
                educonnect::identity_for_space(assertion, ctx.space).map_err(to_auth_error)?;
            let first = |name: &str| person.attributes.get(name).and_then(|v| v.first()).cloned();
            return Ok(Identity {
                login: person.subject.clone(),
                protocol: Protocol::Saml,
                fields: MappedFields {
                    nom: first("sn"),
                    prenom: first("givenName"),
                    date_naissance: first("FrEduCtDateNaissance")
                        .map(|d| normalise_birth_date(&d).unwrap_or(d)),
                    // PRONOTE's national categories, so the identity headers say who this is.
                    categories: vec![
                        match person.profile {
                            educonnect::Profile::Eleve => Category::Eleve,
                            educonnect::Profile::Parent => Category::Parent,
                        }
                        .as_str()
                        .to_owned(),
                    ],
                    ..MappedFields::default()
                },
            });
        }
        let attributes: Attributes = assertion
            .attributes
            .iter()
            .flat_map(|(name, values)| {
                values
                    .iter()
                    .map(move |value| (name.as_str(), value.as_str()))
            })
            .collect();
        // A transient NameID changes at every login: never an account key.
        let subject = assertion
            .name_id
            .as_deref()
            .filter(|_| assertion.name_id_format.as_deref() != Some(TRANSIENT));
        let mapped = map_attributes(subject, &attributes, &self.mapping)?;
        Ok(Identity {
            login: mapped.login,
            protocol: Protocol::Saml,
            fields: mapped.fields,
        })
    }
}

/// SAML failures in the flow's vocabulary, keeping who is to blame.
fn to_auth_error(err: SamlError) -> AuthError {
    match (err.fault(), &err) {
        (_, SamlError::Replayed) => AuthError::Replayed,
        (_, SamlError::ProfileMismatch(_)) | (_, SamlError::Missing(_)) => {
            AuthError::IncompleteIdentity(err.to_string())
        }
        (Fault::User, _) => AuthError::Rejected(format!("{}: {err}", err.code())),
        (Fault::Idp, _) | (Fault::Config, _) => {
            AuthError::Malformed(format!("{}: {err}", err.code()))
        }
    }
}

/// What our LogoutRequest names about a session: its logout hint, kept with the session.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct LogoutRecord {
    name_id: String,
    format: Option<String>,
    session_index: Option<String>,
}

impl Delegation for SamlDelegation {
    async fn start(&self, ctx: &Context<'_>) -> Result<Outgoing, AuthError> {
        let sp = self.usable(ctx.now)?;
        let settings = sp.settings();
        if ctx.callback_url != settings.acs_url {
            return Err(AuthError::Malformed(
                "l'ACS configuré n'est pas l'URL de retour".into(),
            ));
        }
        let id = Self::request_id_for(ctx.state);
        let out = request::authn_request_with_id(settings, id, ctx.state, false, ctx.now as i64)
            .map_err(to_auth_error)?;
        Ok(Outgoing::Redirect(out.url))
    }

    async fn callback(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<Authenticated, AuthError> {
        let Some(response) = request
            .form
            .iter()
            .find(|(k, _)| k == "SAMLResponse")
            .map(|(_, v)| v.clone())
        else {
            return Err(AuthError::MissingToken);
        };
        // RelayState comes back from the IdP; it must be the state of the pending login the flow found.
        let relay = request
            .form
            .iter()
            .find(|(k, _)| k == "RelayState")
            .map(|(_, v)| v.as_str());
        // No state: an IdP-initiated response the flow let through (`accepts_unsolicited`); its
        // RelayState is the IdP's business and is ignored.
        let expected = if ctx.state.is_empty() {
            None
        } else if relay == Some(ctx.state) {
            Some(Self::request_id_for(ctx.state))
        } else {
            return Err(AuthError::NoPendingLogin);
        };
        let sp = self.usable(ctx.now)?;
        let verifier = Arc::clone(&sp);
        let now = ctx.now as i64;
        // libxmlsec is blocking CPU work (~1 ms): keep it off the async workers.
        let assertion = tokio::task::spawn_blocking(move || {
            verifier.verify_post(&response, expected.as_deref(), now)
        })
        .await
        .map_err(|_| AuthError::Malformed("vérification SAML interrompue".into()))?
        .map_err(to_auth_error)?;
        let ttl = Duration::from_secs(
            u64::try_from(assertion.replay_until - now)
                .unwrap_or(0)
                .max(60),
        );
        let replay_key = hex::encode(Sha256::digest(
            format!("{}\n{}", assertion.issuer, assertion.id).as_bytes(),
        ));
        ctx.replay
            .first_use(REPLAY_NAMESPACE, &replay_key, ttl)
            .await?;
        let identity = self.identity(ctx, &assertion)?;
        let handle = assertion
            .session_index
            .as_deref()
            .or(assertion.name_id.as_deref());
        let logout_index = handle.map(|h| Self::logout_index(&assertion.issuer, h));
        // What our LogoutRequest will have to name, kept with the session (only when the IdP has an
        // SLO endpoint to send it to).
        let logout_hint = match (&assertion.name_id, &sp.settings().idp.slo_redirect) {
            (Some(name_id), Some(_)) => serde_json::to_string(&LogoutRecord {
                name_id: name_id.clone(),
                format: assertion.name_id_format.clone(),
                session_index: assertion.session_index.clone(),
            })
            .ok(),
            _ => None,
        };
        Ok(Authenticated {
            identity,
            logout_index,
            logout_hint,
        })
    }

    /// A signed LogoutRequest naming the session (from its logout hint) when the IdP has an SLO
    /// endpoint; otherwise, for EduConnect, its logout page.
    fn logout(&self, ctx: &Context<'_>, hint: Option<&str>) -> Option<String> {
        let record = hint.and_then(|json| serde_json::from_str::<LogoutRecord>(json).ok());
        if let (Some(record), Ok(sp)) = (record, self.usable(ctx.now))
            && sp.settings().idp.slo_redirect.is_some()
        {
            match slo::logout_request(
                sp.settings(),
                &record.name_id,
                record.format.as_deref(),
                record.session_index.as_deref(),
                LOGOUT_RELAY_STATE,
                ctx.now as i64,
            ) {
                Ok(out) => return Some(out.url),
                Err(err) => {
                    tracing::warn!(code = err.code(), error = %err, "LogoutRequest SAML impossible")
                }
            }
        }
        let idp = self.service_provider().map_or_else(
            || self.template.idp.entity_id.clone(),
            |sp| sp.settings().idp.entity_id.clone(),
        );
        if idp == educonnect::PRODUCTION.entity_id {
            return Some(educonnect::PRODUCTION.logout.to_owned());
        }
        if idp == educonnect::PREPRODUCTION.entity_id {
            return Some(educonnect::PREPRODUCTION.logout.to_owned());
        }
        None
    }

    /// A logout message from the IdP over HTTP-Redirect, through the browser: its LogoutRequest ends
    /// the sessions it names (by SessionIndex, else NameID) and is answered with our signed
    /// LogoutResponse; its LogoutResponse (to our own request) ends at the "logged out" page.
    async fn back_channel(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<BackChannel, AuthError> {
        if request.param("SAMLRequest").is_none() && request.param("SAMLResponse").is_none() {
            return Ok(BackChannel::Ignored);
        }
        // The Redirect-binding signature covers the raw query; the flow hands decoded pairs, so the query
        // is re-encoded the standard way (base64 and our own RelayState survive this unchanged).
        let raw: Vec<String> = request
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let sp = self.usable(ctx.now)?;
        let settings = sp.settings();
        let now = ctx.now as i64;
        match slo::parse_redirect(settings, &raw.join("&"), now).map_err(to_auth_error)? {
            IncomingLogout::Request {
                id,
                session_indexes,
                name_id,
                relay_state,
            } => {
                let handle = session_indexes.into_iter().next().or(name_id);
                let then = match settings.idp.slo_redirect {
                    Some(_) => Some(
                        slo::logout_response(settings, &id, relay_state.as_deref(), now)
                            .map_err(to_auth_error)?,
                    ),
                    None => None,
                };
                Ok(BackChannel::FrontChannel {
                    logout_index: handle.map(|h| Self::logout_index(&settings.idp.entity_id, &h)),
                    then,
                })
            }
            IncomingLogout::Response { .. } => Ok(BackChannel::FrontChannel {
                logout_index: None,
                then: None,
            }),
        }
    }

    fn accepts_unsolicited(&self) -> bool {
        self.template.allow_unsolicited
    }

    async fn probe(&self) -> Result<(), AuthError> {
        self.usable(now_seconds()).map(|_| ())
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
