//! The answers of `/validate` (CAS 1 text), `/serviceValidate` and `/p3/serviceValidate` (CAS 2/3 XML,
//! or JSON with `format=JSON`), as the CAS protocol specification 3.0 writes them. Attributes go in
//! `cas:attributes` for CAS 2 too, as Apereo does: PRONOTE and most clients read them there.

use serde_json::json;

use super::release::Released;
use super::ticket::Refusal;
use crate::auth::cas::parse::CAS_NS;
use crate::ui::escape;

/// CAS 1: `yes\n<user>\n`.
pub fn cas1_success(released: &Released) -> String {
    // A line break inside the principal would forge a second line: CAS 1 cannot carry one.
    format!("yes\n{}\n", released.principal.replace(['\r', '\n'], " "))
}

/// CAS 1: `no\n\n`.
pub fn cas1_failure() -> &'static str {
    "no\n\n"
}

/// CAS 2/3 XML `cas:authenticationSuccess`.
pub fn xml_success(released: &Released, authenticated_at: &str, new_login: bool) -> String {
    let mut attributes = format!(
        "<cas:authenticationDate>{authenticated_at}</cas:authenticationDate>\
         <cas:isFromNewLogin>{new_login}</cas:isFromNewLogin>"
    );
    for (name, value) in &released.attributes {
        attributes.push_str(&format!("<cas:{name}>{}</cas:{name}>", escape(value)));
    }
    format!(
        "<cas:serviceResponse xmlns:cas=\"{CAS_NS}\"><cas:authenticationSuccess>\
         <cas:user>{user}</cas:user><cas:attributes>{attributes}</cas:attributes>\
         </cas:authenticationSuccess></cas:serviceResponse>\n",
        user = escape(&released.principal),
    )
}

/// CAS 2/3 XML `cas:authenticationFailure`.
pub fn xml_failure(refusal: Refusal) -> String {
    format!(
        "<cas:serviceResponse xmlns:cas=\"{CAS_NS}\"><cas:authenticationFailure code=\"{code}\">\
         {text}</cas:authenticationFailure></cas:serviceResponse>\n",
        code = refusal.code(),
        text = escape(&refusal.to_string()),
    )
}

/// CAS 3 JSON success.
pub fn json_success(released: &Released, authenticated_at: &str, new_login: bool) -> String {
    let mut attributes = serde_json::Map::new();
    attributes.insert("authenticationDate".to_owned(), json!([authenticated_at]));
    attributes.insert("isFromNewLogin".to_owned(), json!([new_login]));
    for (name, value) in &released.attributes {
        attributes.insert(name.clone(), json!([value]));
    }
    json!({"serviceResponse": {"authenticationSuccess": {
        "user": released.principal,
        "attributes": attributes,
    }}})
    .to_string()
}

/// CAS 3 JSON failure.
pub fn json_failure(refusal: Refusal) -> String {
    json!({"serviceResponse": {"authenticationFailure": {
        "code": refusal.code(),
        "description": refusal.to_string(),
    }}})
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::cas::parse::{CasParseError, parse_cas1, parse_json, parse_service_response};

    fn released() -> Released {
        Released {
            principal: "claire<&>".to_owned(),
            attributes: vec![
                ("nom".to_owned(), "Martin & Fils".to_owned()),
                ("categories".to_owned(), "National_2;National_4".to_owned()),
            ],
        }
    }

    /// The project's own CAS client parsers read what the server writes.
    #[test]
    fn every_format_reads_back_through_the_cas_client_parsers() {
        let xml = xml_success(&released(), "2026-11-29T07:55:00Z", true);
        let parsed = parse_service_response(xml.as_bytes()).unwrap();
        assert_eq!(parsed.user, "claire<&>");
        assert_eq!(parsed.attributes["nom"], ["Martin & Fils"]);
        assert_eq!(parsed.attributes["categories"], ["National_2;National_4"]);
        let json = json_success(&released(), "2026-11-29T07:55:00Z", false);
        let parsed = parse_json(json.as_bytes()).unwrap();
        assert_eq!(parsed.attributes["nom"], ["Martin & Fils"]);
        assert_eq!(
            parse_cas1(cas1_success(&released()).as_bytes())
                .unwrap()
                .user,
            "claire<&>"
        );
    }

    #[test]
    fn failures_carry_the_cas_error_code() {
        let refused = |body: &str| parse_service_response(body.as_bytes()).unwrap_err();
        assert_eq!(
            refused(&xml_failure(Refusal::InvalidService)),
            CasParseError::Refused {
                code: "INVALID_SERVICE".to_owned()
            }
        );
        assert_eq!(
            parse_json(json_failure(Refusal::InvalidTicket).as_bytes()).unwrap_err(),
            CasParseError::Refused {
                code: "INVALID_TICKET".to_owned()
            }
        );
        assert!(parse_cas1(cas1_failure().as_bytes()).is_err());
    }

    #[test]
    fn a_principal_cannot_forge_a_cas1_line() {
        let forged = Released {
            principal: "eve\nyes\nadmin".to_owned(),
            attributes: Vec::new(),
        };
        assert_eq!(cas1_success(&forged), "yes\neve yes admin\n");
    }
}
