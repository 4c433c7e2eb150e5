//! The server-to-server side: the service (PRONOTE) presents the ticket the browser brought and learns
//! who the person is. Every attempt consumes the ticket ([`super::ticket::Tickets::redeem`]). The
//! caller is the service's server, not the person: failures are logged and counted, never held against
//! the caller's address by the guard (that would suspend PRONOTE itself).

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use std::net::IpAddr;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::browser::{flag, param};
use super::ticket::{Grant, Refusal, log_id};
use super::{CasBridge, responses, saml11};
use crate::auth::cas::validate::format_instant;
use crate::web::{self, Body};

/// Which protocol version asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    /// `/validate`: text.
    Cas1,
    /// `/serviceValidate`.
    Cas2,
    /// `/p3/serviceValidate`, XML or `format=JSON`.
    Cas3,
}

impl Flavour {
    fn label(self) -> &'static str {
        match self {
            Flavour::Cas1 => "validate",
            Flavour::Cas2 => "serviceValidate",
            Flavour::Cas3 => "p3",
        }
    }
}

fn answer(content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(web::full(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}

fn record(
    flavour: &'static str,
    outcome: &Result<Grant, Refusal>,
    service: Option<&str>,
    ticket: &str,
) {
    let code = outcome.as_ref().map_or_else(|r| r.code(), |_| "SUCCESS");
    metrics::counter!("passerelle_cas_bridge_validations_total", "endpoint" => flavour, "outcome" => code)
        .increment(1);
    let ticket = log_id(ticket);
    match outcome {
        Ok(grant) => {
            tracing::info!(endpoint = flavour, service = service.unwrap_or(""), %ticket, principal = %grant.released.principal, "pont CAS : ticket validé");
        }
        Err(refusal) => {
            tracing::warn!(endpoint = flavour, service = service.unwrap_or(""), %ticket, code = refusal.code(), "pont CAS : validation refusée");
        }
    }
}

/// 403 for a caller outside `validation_sources`; every other answer, refusals included, is a 200
/// (the CAS protocol carries refusals in the body).
fn status_of(outcome: &Result<Grant, Refusal>) -> StatusCode {
    match outcome {
        Err(Refusal::UnauthorizedService) => StatusCode::FORBIDDEN,
        _ => StatusCode::OK,
    }
}

impl CasBridge {
    /// `GET /validate`, `/serviceValidate`, `/p3/serviceValidate`.
    pub(super) async fn validate(
        &self,
        request: &Request<Incoming>,
        flavour: Flavour,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let (ticket, service) = (param(&pairs, "ticket"), param(&pairs, "service"));
        let outcome = if self.settings.may_validate(client_ip) {
            self.tickets
                .redeem(ticket, service, flag(&pairs, "renew"))
                .await
        } else {
            Err(Refusal::UnauthorizedService)
        };
        record(flavour.label(), &outcome, service, ticket.unwrap_or(""));
        let status = status_of(&outcome);
        let json = flavour != Flavour::Cas1
            && param(&pairs, "format").is_some_and(|f| f.eq_ignore_ascii_case("json"));
        let mut response = match (flavour, outcome) {
            (Flavour::Cas1, Ok(grant)) => answer(
                "text/plain; charset=utf-8",
                responses::cas1_success(&grant.released),
            ),
            (Flavour::Cas1, Err(_)) => answer(
                "text/plain; charset=utf-8",
                responses::cas1_failure().to_owned(),
            ),
            (_, Ok(grant)) => {
                let at = format_instant(grant.authenticated_at);
                if json {
                    answer(
                        "application/json",
                        responses::json_success(&grant.released, &at, grant.new_login),
                    )
                } else {
                    answer(
                        "application/xml; charset=utf-8",
                        responses::xml_success(&grant.released, &at, grant.new_login),
                    )
                }
            }
            (_, Err(refusal)) if json => {
                answer("application/json", responses::json_failure(refusal))
            }
            (_, Err(refusal)) => answer(
                "application/xml; charset=utf-8",
                responses::xml_failure(refusal),
            ),
        };
        *response.status_mut() = status;
        response
    }

    /// `POST /samlValidate?TARGET=<service>` with a SOAP `samlp:Request`.
    pub(super) async fn saml_validate(
        &self,
        request: Request<Incoming>,
        client_ip: IpAddr,
    ) -> Response<Body> {
        let now = self.clock.now();
        let target = url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "TARGET")
            .map(|(_, v)| v.into_owned());
        if request.method() != Method::POST {
            let mut response = answer(
                "text/xml; charset=utf-8",
                saml11::failure(Refusal::InvalidRequest, target.as_deref(), now),
            );
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            return response;
        }
        let body = Limited::new(request.into_body(), saml11::MAX_REQUEST_BYTES)
            .collect()
            .await
            .map(|collected| collected.to_bytes());
        let ticket = match body.as_deref().map(saml11::parse_request) {
            Ok(Ok(ticket)) => Some(ticket),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "pont CAS : requête samlValidate illisible");
                None
            }
            Err(_) => None,
        };
        let outcome = match &ticket {
            _ if !self.settings.may_validate(client_ip) => Err(Refusal::UnauthorizedService),
            Some(ticket) => {
                self.tickets
                    .redeem(Some(ticket), target.as_deref(), false)
                    .await
            }
            None => Err(Refusal::InvalidRequest),
        };
        record(
            "samlValidate",
            &outcome,
            target.as_deref(),
            ticket.as_deref().unwrap_or(""),
        );
        let body = match (&outcome, &target) {
            (Ok(grant), Some(service)) => saml11::success(
                &grant.released,
                service,
                &self.issuer,
                grant.authenticated_at,
                now,
            ),
            (Err(refusal), _) => saml11::failure(*refusal, target.as_deref(), now),
            // `redeem` refuses a missing service, so a success always has one.
            (Ok(_), None) => saml11::failure(Refusal::InvalidRequest, None, now),
        };
        let mut response = answer("text/xml; charset=utf-8", body);
        *response.status_mut() = status_of(&outcome);
        response
    }
}
