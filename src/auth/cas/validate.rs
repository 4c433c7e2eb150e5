//! Server-to-server ticket validation: one HTTP call to the CAS server in the configured flavour, over
//! rustls, with timeouts, never following redirects, reading at most
//! [`parse::MAX_RESPONSE_BYTES`]. Transport failures say "unreachable" (the `when_idp_down` fallback),
//! refusals say "invalid ticket" (the guard counts them). The ticket is never logged: reqwest errors are
//! stripped of their URL, which carries it.

use std::time::Duration;

use rand::RngCore;

use super::parse::{self, CasParseError, CasSuccess, SamlExpectations};
use crate::auth::delegation::AuthError;
use crate::config::CasSettings;
use crate::config::model::CasValidation;

/// How long the `when_idp_down` probe waits for the CAS server.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// An HTTP client set up for one CAS server.
#[derive(Debug, Clone)]
pub struct Validator {
    client: reqwest::Client,
    settings: CasSettings,
}

impl Validator {
    pub fn new(settings: CasSettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("Passerelle/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Validator { client, settings })
    }

    /// Ask the CAS server who holds `ticket` for `service`.
    pub async fn validate(
        &self,
        service: &str,
        ticket: &str,
        now: u64,
    ) -> Result<CasSuccess, AuthError> {
        let mut url = self.settings.validate_url.clone();
        let request = match self.settings.validation {
            CasValidation::SamlValidate => {
                url.query_pairs_mut().append_pair("TARGET", service);
                self.client
                    .post(url)
                    .header("content-type", "text/xml; charset=utf-8")
                    .header(
                        "soapaction",
                        "http://www.oasis-open.org/committees/security",
                    )
                    .body(saml_request(ticket, now))
            }
            flavour => {
                {
                    let mut query = url.query_pairs_mut();
                    query
                        .append_pair("service", service)
                        .append_pair("ticket", ticket);
                    if self.settings.renew {
                        query.append_pair("renew", "true");
                    }
                    if flavour == CasValidation::Json {
                        query.append_pair("format", "JSON");
                    }
                }
                self.client.get(url)
            }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(AuthError::ProviderError(status.as_u16()));
        }
        let body = read_capped(response).await?;
        let parsed = match self.settings.validation {
            CasValidation::SamlValidate => parse::parse_saml11(
                &body,
                SamlExpectations {
                    service,
                    now: i64::try_from(now).unwrap_or(i64::MAX),
                },
            ),
            CasValidation::ServiceValidate | CasValidation::P3 => {
                parse::parse_service_response(&body)
            }
            CasValidation::Json => parse::parse_json(&body),
            CasValidation::Validate => parse::parse_cas1(&body),
        };
        parsed.map_err(|err| match err {
            CasParseError::Refused { code } if code == "INVALID_SERVICE" => {
                AuthError::InvalidService
            }
            CasParseError::Refused { code } if code == "INTERNAL_ERROR" => {
                AuthError::ProviderError(200)
            }
            CasParseError::Refused { code } => AuthError::InvalidTicket { code },
            CasParseError::Condition(why) => AuthError::Rejected(why),
            err @ (CasParseError::TooLarge | CasParseError::Malformed(_)) => {
                AuthError::Malformed(err.to_string())
            }
        })
    }

    /// Whether the CAS server answers at all (any HTTP status counts as up).
    pub async fn probe(&self) -> Result<(), AuthError> {
        self.client
            .get(self.settings.login_url.clone())
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .map(drop)
            .map_err(transport)
    }
}

fn transport(err: reqwest::Error) -> AuthError {
    let err = err.without_url();
    let kind = if err.is_timeout() {
        "délai dépassé"
    } else if err.is_connect() {
        "connexion impossible"
    } else {
        "erreur réseau"
    };
    AuthError::Unreachable(format!("{kind} ({err})"))
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, AuthError> {
    if response
        .content_length()
        .is_some_and(|length| length > parse::MAX_RESPONSE_BYTES as u64)
    {
        return Err(AuthError::Malformed(CasParseError::TooLarge.to_string()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > parse::MAX_RESPONSE_BYTES {
            return Err(AuthError::Malformed(CasParseError::TooLarge.to_string()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The SOAP envelope of a SAML 1.1 `samlp:Request` for one artifact (the ticket).
fn saml_request(ticket: &str, now: u64) -> String {
    let mut id = [0u8; 16];
    rand::rng().fill_bytes(&mut id);
    format!(
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\"><SOAP-ENV:Header/>\
         <SOAP-ENV:Body><samlp:Request xmlns:samlp=\"urn:oasis:names:tc:SAML:1.0:protocol\" MajorVersion=\"1\" \
         MinorVersion=\"1\" RequestID=\"_{id}\" IssueInstant=\"{instant}\">\
         <samlp:AssertionArtifact>{ticket}</samlp:AssertionArtifact></samlp:Request></SOAP-ENV:Body>\
         </SOAP-ENV:Envelope>",
        id = hex::encode(id),
        instant = format_instant(now),
        ticket = crate::ui::escape(ticket),
    )
}

/// Unix seconds as `xs:dateTime` UTC.
pub(crate) fn format_instant(now: u64) -> String {
    let days = (now / 86_400) as i64;
    let secs = now % 86_400;
    // Inverse of days_from_civil (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip_through_the_parser() {
        for now in [
            0u64,
            951_782_400,
            1_700_000_000,
            1_795_838_400,
            4_102_444_799,
        ] {
            assert_eq!(
                parse::parse_instant(&format_instant(now)),
                Some(now as i64),
                "{now}"
            );
        }
        assert_eq!(format_instant(1_795_838_400), "2026-11-28T04:00:00Z");
    }

    #[test]
    fn the_saml_request_escapes_the_ticket() {
        let body = saml_request("ST-1<x>", 0);
        assert!(body.contains("<samlp:AssertionArtifact>ST-1&lt;x&gt;</samlp:AssertionArtifact>"));
    }
}
