//! What can go wrong while talking OpenID Connect, said in French for people and as a stable code for
//! logs and metrics, and whose fault it is: the guard counts only the user's faults, and only a
//! provider that is down opens the `when_idp_down` fallback.

use thiserror::Error;

/// Who caused a failure, which decides what the shared login flow does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The browser brought something wrong (stale or forged state, replayed code, forged token, the
    /// person refused or was refused): reported to the guard.
    User,
    /// The provider cannot be reached or answers nonsense: not counted, `when_idp_down` applies.
    ProviderDown,
    /// The gateway or the provider registration is misconfigured: an administrator must act.
    Configuration,
}

/// Every failure of the OpenID Connect relying party.
#[derive(Debug, Error)]
pub enum OidcError {
    /// The provider redirected back with `error=…` (RFC 6749 §4.1.2.1).
    #[error("le fournisseur d'identité a refusé la connexion ({code})")]
    ProviderRefused {
        code: String,
        description: Option<String>,
    },
    /// The callback lacks `code` or `state`, or repeats them.
    #[error("la réponse du fournisseur d'identité est incomplète : {0}")]
    BadCallback(&'static str),
    /// The `state` returned is not the one issued to this browser (login CSRF or a stale tab).
    #[error("la demande de connexion a expiré ou ne vient pas de ce navigateur")]
    StateMismatch,
    /// The provider could not be reached at all (connection refused, DNS, timeout).
    #[error("le fournisseur d'identité est injoignable ({what})")]
    Unreachable { what: &'static str },
    /// The provider answered, but not with what the protocol requires (5xx, bad JSON, issuer mismatch).
    #[error("le fournisseur d'identité a répondu de façon inattendue ({what}) : {detail}")]
    ProviderFailure { what: &'static str, detail: String },
    /// The token endpoint refused the code (`invalid_grant`: replayed, expired or foreign code).
    #[error("le code d'autorisation a été refusé par le fournisseur d'identité ({code})")]
    CodeRejected { code: String },
    /// The token endpoint refused the gateway itself (`invalid_client`, `unauthorized_client`).
    #[error(
        "le fournisseur d'identité refuse la passerelle ({code}) : vérifiez l'enregistrement du client"
    )]
    ClientRejected { code: String },
    /// The ID token failed validation (signature, issuer, audience, expiry, algorithm).
    #[error("le jeton d'identité est invalide : {0}")]
    InvalidIdToken(String),
    /// The ID token's nonce is not the one sent with this login.
    #[error("le jeton d'identité ne correspond pas à cette demande de connexion")]
    NonceMismatch,
    /// The userinfo answer is unusable or about someone else.
    #[error("les informations de l'utilisateur sont invalides : {0}")]
    InvalidUserInfo(String),
    /// A back-channel `logout_token` failed validation.
    #[error("le jeton de déconnexion est invalide : {0}")]
    InvalidLogoutToken(String),
    /// The provider does not publish an `end_session_endpoint`.
    #[error("le fournisseur d'identité ne propose pas de déconnexion")]
    NoEndSession,
    /// Something in the gateway's own configuration is unusable (key, URL).
    #[error("configuration OpenID Connect invalide : {0}")]
    Configuration(String),
}

impl OidcError {
    /// A stable identifier for logs, metrics and the API.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::ProviderRefused { .. } => "oidc_provider_refused",
            OidcError::BadCallback(_) => "oidc_bad_callback",
            OidcError::StateMismatch => "oidc_state_mismatch",
            OidcError::Unreachable { .. } => "oidc_unreachable",
            OidcError::ProviderFailure { .. } => "oidc_provider_failure",
            OidcError::CodeRejected { .. } => "oidc_code_rejected",
            OidcError::ClientRejected { .. } => "oidc_client_rejected",
            OidcError::InvalidIdToken(_) => "oidc_invalid_id_token",
            OidcError::NonceMismatch => "oidc_nonce_mismatch",
            OidcError::InvalidUserInfo(_) => "oidc_invalid_userinfo",
            OidcError::InvalidLogoutToken(_) => "oidc_invalid_logout_token",
            OidcError::NoEndSession => "oidc_no_end_session",
            OidcError::Configuration(_) => "oidc_configuration",
        }
    }

    /// Whose fault the failure is.
    pub fn fault(&self) -> Fault {
        match self {
            OidcError::ProviderRefused { code, .. } => match code.as_str() {
                // The provider itself says it is in trouble.
                "server_error" | "temporarily_unavailable" => Fault::ProviderDown,
                // The request the gateway built is not acceptable to this provider.
                "invalid_request"
                | "unauthorized_client"
                | "unsupported_response_type"
                | "invalid_scope"
                | "invalid_client"
                | "invalid_request_uri"
                | "request_not_supported"
                | "registration_not_supported" => Fault::Configuration,
                // access_denied, login_required, consent_required…: the person was refused.
                _ => Fault::User,
            },
            OidcError::BadCallback(_)
            | OidcError::StateMismatch
            | OidcError::CodeRejected { .. }
            | OidcError::InvalidIdToken(_)
            | OidcError::NonceMismatch
            | OidcError::InvalidUserInfo(_)
            | OidcError::InvalidLogoutToken(_) => Fault::User,
            OidcError::Unreachable { .. } | OidcError::ProviderFailure { .. } => {
                Fault::ProviderDown
            }
            OidcError::ClientRejected { .. }
            | OidcError::NoEndSession
            | OidcError::Configuration(_) => Fault::Configuration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_error_codes_are_classified() {
        let refused = |code: &str| OidcError::ProviderRefused {
            code: code.to_owned(),
            description: None,
        };
        assert_eq!(refused("access_denied").fault(), Fault::User);
        assert_eq!(
            refused("temporarily_unavailable").fault(),
            Fault::ProviderDown
        );
        assert_eq!(refused("invalid_scope").fault(), Fault::Configuration);
        assert_eq!(
            OidcError::Unreachable {
                what: "découverte"
            }
            .fault(),
            Fault::ProviderDown
        );
        assert_eq!(OidcError::StateMismatch.fault(), Fault::User);
    }
}
