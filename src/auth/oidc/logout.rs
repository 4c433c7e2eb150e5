//! Ending sessions: RP-initiated logout (the browser goes to the provider's `end_session_endpoint`)
//! and back-channel logout (the provider POSTs a signed `logout_token`; OpenID Connect Back-Channel
//! Logout 1.0 §2.6), which says which provider session (`sid`) or person (`sub`) to log out.

use openidconnect::{CsrfToken, JsonWebKey, LogoutRequest};
use serde::Deserialize;
use url::Url;

use super::RelyingParty;
use super::discovery::Metadata;
use super::error::OidcError;
use super::id_token::FullIdToken;
use super::jws;

/// The `events` member a logout token must carry.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Clock difference tolerated with the provider, in seconds.
const SKEW_SECS: u64 = 60;
/// Oldest logout token accepted (by `iat`) when it has no `exp`.
const MAX_AGE_SECS: u64 = 600;

/// What a verified logout token asks for. The caller ends the sessions indexed by `session_id`
/// (or, when the provider sent only `sub`, every session of `subject` from this provider), and
/// remembers `token_id` until `expires_at` to refuse a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutNotice {
    pub subject: Option<String>,
    pub session_id: Option<String>,
    pub token_id: String,
    pub expires_at: u64,
}

#[derive(Deserialize)]
struct LogoutClaims {
    iss: String,
    aud: serde_json::Value,
    iat: Option<u64>,
    exp: Option<u64>,
    jti: Option<String>,
    sub: Option<String>,
    sid: Option<String>,
    events: Option<serde_json::Map<String, serde_json::Value>>,
    nonce: Option<serde_json::Value>,
}

impl RelyingParty {
    /// Where to send the browser to end the provider session too: the `end_session_endpoint` with
    /// `id_token_hint`, `client_id`, the registered `post_logout_redirect_uri` and `state`.
    pub async fn logout_url(
        &self,
        id_token_hint: Option<&str>,
        state: Option<&str>,
    ) -> Result<Url, OidcError> {
        let metadata = self.discovery.get(&self.http).await?;
        self.logout_url_with(&metadata, id_token_hint, state)
    }

    /// [`RelyingParty::logout_url`] from already known metadata. Does no I/O.
    pub fn logout_url_with(
        &self,
        metadata: &Metadata,
        id_token_hint: Option<&str>,
        state: Option<&str>,
    ) -> Result<Url, OidcError> {
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .ok_or(OidcError::NoEndSession)?;
        let mut request = LogoutRequest::from(endpoint).set_client_id(self.client_id.clone());
        // A hint that no longer parses is dropped rather than failing the logout.
        if let Some(token) = id_token_hint.and_then(|raw| raw.parse::<FullIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        if let Some(uri) = &self.post_logout_redirect_uri {
            request = request.set_post_logout_redirect_uri(uri.clone());
        }
        if let Some(state) = state {
            request = request.set_state(CsrfToken::new(state.to_owned()));
        }
        Ok(request.http_get_url())
    }

    /// Verify a back-channel `logout_token`: signature by the provider's key with an allowed
    /// algorithm, then its claims ([`check_claims`]).
    pub async fn verify_logout_token(&self, raw: &str) -> Result<LogoutNotice, OidcError> {
        let invalid = |reason: &str| OidcError::InvalidLogoutToken(reason.to_owned());
        let token = jws::split(raw).map_err(invalid)?;
        // Refused before any key lookup, so that garbage never makes the gateway fetch keys.
        self.check_header(&token.header)?;
        let mut metadata = self.discovery.get(&self.http).await?;
        let kid = token.header.kid.as_deref();
        if jws::select_key(metadata.jwks(), &token.header.alg, kid).is_none()
            && let Some(fresh) = self.discovery.refresh_for_unknown_key(&self.http).await?
        {
            metadata = fresh;
        }
        self.verify_logout_token_with(&metadata, raw)
    }

    /// [`RelyingParty::verify_logout_token`] against already known metadata (no key refresh, no
    /// I/O).
    pub fn verify_logout_token_with(
        &self,
        metadata: &Metadata,
        raw: &str,
    ) -> Result<LogoutNotice, OidcError> {
        let invalid = |reason: &str| OidcError::InvalidLogoutToken(reason.to_owned());
        let token = jws::split(raw).map_err(invalid)?;
        self.check_header(&token.header)?;
        let kid = token.header.kid.as_deref();
        let key = jws::select_key(metadata.jwks(), &token.header.alg, kid)
            .ok_or_else(|| invalid("aucune clé du fournisseur ne correspond"))?;
        key.verify_signature(
            &token.header.alg,
            token.signing_input.as_bytes(),
            &token.signature,
        )
        .map_err(|_| invalid("signature refusée"))?;
        check_claims(
            &token.payload,
            self.issuer.as_str(),
            &self.settings.client_id,
            self.clock.now(),
        )
    }
}

impl RelyingParty {
    fn check_header(&self, header: &jws::Header) -> Result<(), OidcError> {
        let invalid = |reason: &str| OidcError::InvalidLogoutToken(reason.to_owned());
        if !self.settings.allowed_algs.contains(&header.alg) {
            return Err(invalid("algorithme non autorisé"));
        }
        if header.crit.is_some() {
            return Err(invalid("extension critique inconnue"));
        }
        if let Some(typ) = &header.typ {
            let typ = typ.to_ascii_lowercase();
            let typ = typ.strip_prefix("application/").unwrap_or(&typ);
            if typ != "logout+jwt" && typ != "jwt" {
                return Err(invalid("type de jeton inattendu"));
            }
        }
        Ok(())
    }
}

/// The claim checks of Back-Channel Logout §2.6 on a payload whose signature was verified.
pub fn check_claims(
    payload: &[u8],
    issuer: &str,
    client_id: &str,
    now: u64,
) -> Result<LogoutNotice, OidcError> {
    let invalid = |reason: &str| OidcError::InvalidLogoutToken(reason.to_owned());
    let claims: LogoutClaims =
        serde_json::from_slice(payload).map_err(|_| invalid("contenu illisible"))?;
    if claims.iss != issuer {
        return Err(invalid("émetteur inattendu"));
    }
    let audience_ok = match &claims.aud {
        serde_json::Value::String(aud) => aud == client_id,
        serde_json::Value::Array(auds) => auds.iter().any(|aud| aud.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(invalid("destinataire inattendu"));
    }
    let iat = claims.iat.ok_or_else(|| invalid("iat absent"))?;
    if iat > now.saturating_add(SKEW_SECS) {
        return Err(invalid("émis dans le futur"));
    }
    let expires_at = match claims.exp {
        Some(exp) => exp.saturating_add(SKEW_SECS),
        None => iat.saturating_add(MAX_AGE_SECS),
    };
    if expires_at <= now {
        return Err(invalid("jeton expiré"));
    }
    let is_logout_event = claims
        .events
        .as_ref()
        .and_then(|events| events.get(BACKCHANNEL_EVENT))
        .is_some_and(serde_json::Value::is_object);
    if !is_logout_event {
        return Err(invalid("événement de déconnexion absent"));
    }
    // A nonce would mean an ID token is being passed off as a logout token.
    if claims.nonce.is_some() {
        return Err(invalid("nonce interdit"));
    }
    if claims.sid.is_none() && claims.sub.is_none() {
        return Err(invalid("ni sid ni sub"));
    }
    let token_id = claims
        .jti
        .filter(|jti| !jti.is_empty())
        .ok_or_else(|| invalid("jti absent"))?;
    Ok(LogoutNotice {
        subject: claims.sub,
        session_id: claims.sid,
        token_id,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://op.example";

    fn check(claims: serde_json::Value) -> Result<LogoutNotice, OidcError> {
        check_claims(claims.to_string().as_bytes(), ISS, "rp", 1_000)
    }

    fn good() -> serde_json::Value {
        serde_json::json!({
            "iss": ISS, "aud": ["rp"], "iat": 990, "jti": "j1", "sid": "s1",
            "events": { BACKCHANNEL_EVENT: {} }
        })
    }

    #[test]
    fn a_well_formed_logout_token_names_its_session() {
        let notice = check(good()).expect("valid");
        assert_eq!(notice.session_id.as_deref(), Some("s1"));
        assert_eq!(notice.token_id, "j1");
        assert_eq!(notice.expires_at, 990 + MAX_AGE_SECS);
    }

    #[test]
    fn logout_tokens_breaking_a_rule_are_refused() {
        let cases: [(&str, serde_json::Value); 9] = [
            ("iss", serde_json::json!("https://evil.example")),
            ("aud", serde_json::json!("other")),
            ("iat", serde_json::json!(2_000)),
            ("exp", serde_json::json!(100)),
            ("events", serde_json::json!({"other": {}})),
            ("nonce", serde_json::json!("n")),
            ("jti", serde_json::Value::Null),
            ("iat", serde_json::Value::Null),
            ("aud", serde_json::json!(3)),
        ];
        for (claim, value) in cases {
            let mut claims = good();
            claims[claim] = value.clone();
            assert!(check(claims).is_err(), "{claim} = {value}");
        }
        let mut no_subject = good();
        no_subject
            .as_object_mut()
            .map(|claims| claims.remove("sid"));
        assert!(check(no_subject).is_err());
    }
}
