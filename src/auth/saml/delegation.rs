//! The SAML2 SP behind the shared [`Delegation`] trait: the AuthnRequest at start, the POSTed response
//! at the callback (verified off the async runtime), assertion replay through the shared store, the
//! EduConnect profile rule, and IdP-initiated logout on the back channel.
//!
//! Binding to the pending login without storing anything more: RelayState is the flow's pending state,
//! and the AuthnRequest ID is derived from that state (`_` + SHA-256), so `InResponseTo` can only match
//! the one pending login of this browser, which the flow hands out once.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::SpSettings;
use super::educonnect;
use super::error::{Fault, SamlError};
use super::request;
use super::slo::{self, IncomingLogout};
use super::verify::{ServiceProvider, VerifiedAssertion};
use crate::auth::delegation::{
    AuthError, Authenticated, BackChannel, Context, Delegation, Incoming, Outgoing,
};
use crate::identity::{Identity, MappedFields, Protocol};

const REPLAY_NAMESPACE: &str = "saml-assertion";
const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// One SAML IdP configured on one space.
#[derive(Debug, Clone)]
pub struct SamlDelegation {
    sp: Arc<ServiceProvider>,
    /// Read the identity the EduConnect way (OIDs, `FrEduCtId`, profile must match the space).
    educonnect: bool,
    /// Attribute naming the person; `None` uses a non-transient NameID.
    login_attribute: Option<String>,
}

impl SamlDelegation {
    /// `settings.acs_url` must be the delegation's callback URL (`<public_url>/auth/callback/<space>/<id>`).
    pub fn new(
        settings: SpSettings,
        educonnect: bool,
        login_attribute: Option<String>,
    ) -> Result<Self, SamlError> {
        if educonnect {
            educonnect::settings_profile(&settings)?;
        }
        Ok(SamlDelegation {
            sp: Arc::new(ServiceProvider::new(settings)?),
            educonnect,
            login_attribute,
        })
    }

    pub fn service_provider(&self) -> &ServiceProvider {
        &self.sp
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
                    date_naissance: first("FrEduCtDateNaissance").map(|d| iso_to_pronote(&d)),
                    ..MappedFields::default()
                },
            });
        }
        let login = match &self.login_attribute {
            Some(name) => assertion.first(name).map(str::to_owned).ok_or_else(|| {
                AuthError::IncompleteIdentity(format!("attribut « {name} » absent"))
            })?,
            // A transient NameID changes at every login: never an account key.
            None => assertion
                .name_id
                .clone()
                .filter(|_| assertion.name_id_format.as_deref() != Some(TRANSIENT))
                .ok_or_else(|| {
                    AuthError::IncompleteIdentity("NameID transitoire ou absent".into())
                })?,
        };
        Ok(Identity {
            login,
            protocol: Protocol::Saml,
            fields: MappedFields::default(),
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

fn iso_to_pronote(date: &str) -> String {
    match (date.get(0..4), date.get(5..7), date.get(8..10)) {
        (Some(y), Some(m), Some(d)) if date.len() == 10 => format!("{d}/{m}/{y}"),
        _ => date.to_owned(),
    }
}

impl Delegation for SamlDelegation {
    async fn start(&self, ctx: &Context<'_>) -> Result<Outgoing, AuthError> {
        let settings = self.sp.settings();
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
        if relay != Some(ctx.state) {
            return Err(AuthError::NoPendingLogin);
        }
        let expected = Self::request_id_for(ctx.state);
        let sp = Arc::clone(&self.sp);
        let now = ctx.now as i64;
        // libxmlsec is blocking CPU work (~1 ms): keep it off the async workers.
        let assertion =
            tokio::task::spawn_blocking(move || sp.verify_post(&response, Some(&expected), now))
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
        Ok(Authenticated {
            identity,
            logout_index: handle.map(|h| Self::logout_index(&assertion.issuer, h)),
            logout_hint: None,
        })
    }

    fn logout(&self, _ctx: &Context<'_>, _hint: Option<&str>) -> Option<String> {
        // EduConnect ends its session at its logout page (FrEduUrlRetour is its usual value); other IdPs
        // need a LogoutRequest naming the session, which the flow does not hand us yet.
        let settings = self.sp.settings();
        if settings.idp.entity_id == educonnect::PRODUCTION.entity_id {
            return Some(educonnect::PRODUCTION.logout.to_owned());
        }
        if settings.idp.entity_id == educonnect::PREPRODUCTION.entity_id {
            return Some(educonnect::PREPRODUCTION.logout.to_owned());
        }
        None
    }

    async fn back_channel(
        &self,
        ctx: &Context<'_>,
        request: &Incoming,
    ) -> Result<BackChannel, AuthError> {
        if request.param("SAMLRequest").is_none() {
            return Ok(BackChannel::Ignored);
        }
        // The Redirect-binding signature covers the raw query; the flow hands decoded pairs, so the query
        // is re-encoded the standard way (base64 and our own RelayState survive this unchanged).
        let raw: Vec<String> = request
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let settings = self.sp.settings();
        match slo::parse_redirect(settings, &raw.join("&"), ctx.now as i64)
            .map_err(to_auth_error)?
        {
            IncomingLogout::Request {
                session_indexes,
                name_id,
                ..
            } => {
                let handle = session_indexes.into_iter().next().or(name_id);
                match handle {
                    Some(h) => Ok(BackChannel::Logout {
                        logout_index: Self::logout_index(&settings.idp.entity_id, &h),
                    }),
                    None => Ok(BackChannel::Ignored),
                }
            }
            IncomingLogout::Response { .. } => Ok(BackChannel::Ignored),
        }
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
