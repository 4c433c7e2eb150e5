//! Reading what a CAS server answers to a validation request: CAS 1 text, CAS 2/3 XML (attributes as
//! CAS 3 `cas:attributes`, Jasig-style siblings of `cas:user`, `cas:attribute name= value=`, Edifice's
//! nested `cas:userAttributes`), CAS 3 JSON, and SAML 1.1 `samlValidate` SOAP responses.
//!
//! The input is untrusted bytes from the network: the size is capped before parsing, XML goes through
//! roxmltree with DTDs refused (so no entity expansion, no external entities), and every way to fail is
//! a [`CasParseError`]; nothing here panics (see the fuzz target `fuzz/fuzz_targets/cas_response.rs`).

use std::collections::BTreeMap;

use roxmltree::{Document, Node, ParsingOptions};

/// Largest validation response read; real ones are a few KiB.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

pub(crate) const CAS_NS: &str = "http://www.yale.edu/tp/cas";
pub(crate) const SAML1_PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:1.0:protocol";
pub(crate) const SAML1_ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
pub(crate) const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// Allowed clock difference with the CAS server for SAML time conditions.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// A successful validation: the principal and the released attributes (multi-valued, in order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CasSuccess {
    pub user: String,
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl CasSuccess {
    fn add(&mut self, name: &str, value: &str) {
        let value = value.trim();
        if name.is_empty() || value.is_empty() {
            return;
        }
        // Some servers release each attribute twice (CAS 3 element and `cas:attribute` form).
        let values = self.attributes.entry(name.to_owned()).or_default();
        if !values.iter().any(|v| v == value) {
            values.push(value.to_owned());
        }
    }
}

/// Why a validation response does not authenticate anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CasParseError {
    /// The server said no (`INVALID_TICKET`, `INVALID_SERVICE`, `samlp:Responder`, CAS 1 `no`…).
    #[error("le serveur CAS a refusé le ticket ({code})")]
    Refused { code: String },
    #[error("réponse du serveur CAS trop volumineuse")]
    TooLarge,
    #[error("réponse du serveur CAS illisible : {0}")]
    Malformed(String),
    /// A SAML condition does not hold (audience, recipient, validity window).
    #[error("assertion SAML refusée : {0}")]
    Condition(String),
}

fn malformed(what: impl Into<String>) -> CasParseError {
    CasParseError::Malformed(what.into())
}

fn check_size(body: &[u8]) -> Result<&str, CasParseError> {
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(CasParseError::TooLarge);
    }
    std::str::from_utf8(body).map_err(|_| malformed("pas de l'UTF-8"))
}

pub(crate) fn parse_xml(text: &str) -> Result<Document<'_>, CasParseError> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 20_000,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|err| malformed(format!("XML : {err}")))
}

/// CAS 1 `/validate`: `yes\n<user>\n` or `no\n\n`.
pub fn parse_cas1(body: &[u8]) -> Result<CasSuccess, CasParseError> {
    let text = check_size(body)?;
    let mut lines = text.lines();
    match (lines.next().map(str::trim), lines.next().map(str::trim)) {
        (Some("yes"), Some(user)) if !user.is_empty() => Ok(CasSuccess {
            user: user.to_owned(),
            attributes: BTreeMap::new(),
        }),
        (Some("no"), _) => Err(CasParseError::Refused {
            code: "INVALID_TICKET".to_owned(),
        }),
        _ => Err(malformed("réponse CAS 1 inattendue")),
    }
}

/// CAS 2/3 XML `cas:serviceResponse`.
pub fn parse_service_response(body: &[u8]) -> Result<CasSuccess, CasParseError> {
    let text = check_size(body)?;
    let doc = parse_xml(text)?;
    let root = doc.root_element();
    if !is_cas(root, "serviceResponse") {
        return Err(malformed("pas de cas:serviceResponse"));
    }
    let mut outcome = root.children().filter(Node::is_element);
    let Some(result) = outcome.next() else {
        return Err(malformed("cas:serviceResponse vide"));
    };
    if is_cas(result, "authenticationFailure") {
        return Err(CasParseError::Refused {
            code: failure_code(result.attribute("code").unwrap_or("")),
        });
    }
    if !is_cas(result, "authenticationSuccess") {
        return Err(malformed("ni succès ni échec"));
    }
    if outcome.next().is_some() {
        return Err(malformed("plusieurs résultats dans cas:serviceResponse"));
    }
    let mut users = result.children().filter(|n| is_cas(*n, "user"));
    let user = users
        .next()
        .map(|n| text_of(n).trim().to_owned())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| malformed("cas:user absent ou vide"))?;
    if users.next().is_some() {
        return Err(malformed("plusieurs cas:user"));
    }
    let mut success = CasSuccess {
        user,
        attributes: BTreeMap::new(),
    };
    for child in result.children().filter(Node::is_element) {
        match child.tag_name().name() {
            "user" | "proxyGrantingTicket" | "proxies" => {}
            // CAS 3 and Edifice's nesting: everything under them is attributes, at any depth.
            "attributes" | "userAttributes" => collect_nested(child, &mut success, 0),
            // RubyCAS / django-cas-server style: <cas:attribute name="x" value="y"/>.
            "attribute" => {
                if let (Some(name), Some(value)) =
                    (child.attribute("name"), child.attribute("value"))
                {
                    success.add(name, value);
                }
            }
            // Jasig-style: attributes as siblings of cas:user.
            _ => collect_nested(child, &mut success, 0),
        }
    }
    Ok(success)
}

/// Collect the leaves under `node`: an element with text is `name = text`; an element's XML
/// attributes become `name.attr = value` (Edifice's `<cas:school externalId=… name=…/>`).
fn collect_nested(node: Node<'_, '_>, success: &mut CasSuccess, depth: usize) {
    if depth > 16 {
        return;
    }
    let elements: Vec<Node<'_, '_>> = node.children().filter(Node::is_element).collect();
    let name = node.tag_name().name();
    let is_container = matches!(name, "attributes" | "userAttributes");
    if !is_container {
        for attribute in node.attributes() {
            success.add(&format!("{name}.{}", attribute.name()), attribute.value());
        }
    }
    if elements.is_empty() {
        if !is_container {
            success.add(name, &text_of(node));
        }
        return;
    }
    for child in elements {
        collect_nested(child, success, depth + 1);
    }
}

/// CAS 3 JSON (`format=JSON`).
pub fn parse_json(body: &[u8]) -> Result<CasSuccess, CasParseError> {
    check_size(body)?;
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|err| malformed(format!("JSON : {err}")))?;
    let response = value
        .get("serviceResponse")
        .ok_or_else(|| malformed("pas de serviceResponse"))?;
    if let Some(failure) = response.get("authenticationFailure") {
        let code = failure.get("code").and_then(|c| c.as_str()).unwrap_or("");
        return Err(CasParseError::Refused {
            code: failure_code(code),
        });
    }
    let success = response
        .get("authenticationSuccess")
        .ok_or_else(|| malformed("ni succès ni échec"))?;
    let user = success
        .get("user")
        .and_then(|u| u.as_str())
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| malformed("user absent ou vide"))?;
    let mut result = CasSuccess {
        user: user.to_owned(),
        attributes: BTreeMap::new(),
    };
    if let Some(attributes) = success.get("attributes").and_then(|a| a.as_object()) {
        for (name, value) in attributes {
            match value {
                serde_json::Value::Array(values) => {
                    for v in values {
                        add_json(&mut result, name, v);
                    }
                }
                other => add_json(&mut result, name, other),
            }
        }
    }
    Ok(result)
}

fn add_json(result: &mut CasSuccess, name: &str, value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) => result.add(name, s),
        serde_json::Value::Number(n) => result.add(name, &n.to_string()),
        serde_json::Value::Bool(b) => result.add(name, if *b { "true" } else { "false" }),
        _ => {}
    }
}

/// What a SAML 1.1 response must match.
#[derive(Debug, Clone, Copy)]
pub struct SamlExpectations<'a> {
    /// The service URL used at login: `Recipient` and `Audience` must equal it.
    pub service: &'a str,
    /// Unix seconds, for `NotBefore` / `NotOnOrAfter`.
    pub now: i64,
}

/// A SAML 1.1 `samlValidate` SOAP response.
pub fn parse_saml11(
    body: &[u8],
    expect: SamlExpectations<'_>,
) -> Result<CasSuccess, CasParseError> {
    let text = check_size(body)?;
    let doc = parse_xml(text)?;
    let responses: Vec<Node<'_, '_>> = doc
        .descendants()
        .filter(|n| n.has_tag_name((SAML1_PROTOCOL_NS, "Response")))
        .collect();
    let [response] = responses.as_slice() else {
        return Err(malformed("il faut exactement une samlp:Response"));
    };
    let status = child(*response, SAML1_PROTOCOL_NS, "Status")
        .and_then(|s| child(s, SAML1_PROTOCOL_NS, "StatusCode"))
        .and_then(|c| c.attribute("Value"))
        .ok_or_else(|| malformed("StatusCode absent"))?;
    if local_part(status) != "Success" {
        let message = child(*response, SAML1_PROTOCOL_NS, "Status")
            .and_then(|s| child(s, SAML1_PROTOCOL_NS, "StatusMessage"))
            .map(|m| text_of(m).trim().to_owned())
            .unwrap_or_default();
        return Err(CasParseError::Refused {
            code: failure_code(saml_status_code(status, &message)),
        });
    }
    if let Some(recipient) = response.attribute("Recipient")
        && recipient.trim() != expect.service
    {
        return Err(CasParseError::Condition(
            "Recipient différent du service".to_owned(),
        ));
    }
    let assertions: Vec<Node<'_, '_>> = response
        .children()
        .filter(|n| n.has_tag_name((SAML1_ASSERTION_NS, "Assertion")))
        .collect();
    let [assertion] = assertions.as_slice() else {
        return Err(malformed("il faut exactement une saml:Assertion"));
    };
    let conditions = child(*assertion, SAML1_ASSERTION_NS, "Conditions")
        .ok_or_else(|| CasParseError::Condition("Conditions absentes".to_owned()))?;
    check_window(conditions, expect.now)?;
    let audiences: Vec<String> = conditions
        .descendants()
        .filter(|n| n.has_tag_name((SAML1_ASSERTION_NS, "Audience")))
        .map(|n| text_of(n).trim().to_owned())
        .collect();
    if !audiences.iter().any(|a| a == expect.service) {
        return Err(CasParseError::Condition(
            "Audience différente du service".to_owned(),
        ));
    }
    let statement = child(*assertion, SAML1_ASSERTION_NS, "AttributeStatement");
    let authn = child(*assertion, SAML1_ASSERTION_NS, "AuthenticationStatement");
    let name_id = statement
        .or(authn)
        .and_then(|s| child(s, SAML1_ASSERTION_NS, "Subject"))
        .and_then(|s| child(s, SAML1_ASSERTION_NS, "NameIdentifier"))
        .map(|n| text_of(n).trim().to_owned())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| malformed("NameIdentifier absent ou vide"))?;
    let mut success = CasSuccess {
        user: name_id,
        attributes: BTreeMap::new(),
    };
    if let Some(statement) = statement {
        for attribute in statement
            .children()
            .filter(|n| n.has_tag_name((SAML1_ASSERTION_NS, "Attribute")))
        {
            let Some(name) = attribute.attribute("AttributeName") else {
                continue;
            };
            for value in attribute
                .children()
                .filter(|n| n.has_tag_name((SAML1_ASSERTION_NS, "AttributeValue")))
            {
                success.add(name, &text_of(value));
            }
        }
    }
    Ok(success)
}

fn check_window(conditions: Node<'_, '_>, now: i64) -> Result<(), CasParseError> {
    let instant = |name: &str| -> Result<Option<i64>, CasParseError> {
        conditions
            .attribute(name)
            .map(|text| {
                parse_instant(text.trim())
                    .ok_or_else(|| malformed(format!("date {name} illisible")))
            })
            .transpose()
    };
    if let Some(not_before) = instant("NotBefore")?
        && now + CLOCK_SKEW_SECS < not_before
    {
        return Err(CasParseError::Condition(
            "pas encore valide (NotBefore)".to_owned(),
        ));
    }
    match instant("NotOnOrAfter")? {
        Some(not_after) if now - CLOCK_SKEW_SECS >= not_after => Err(CasParseError::Condition(
            "expirée (NotOnOrAfter)".to_owned(),
        )),
        Some(_) => Ok(()),
        None => Err(CasParseError::Condition(
            "NotOnOrAfter absent : assertion sans limite de validité".to_owned(),
        )),
    }
}

/// `xs:dateTime` in UTC as SAML requires (`2026-11-29T04:10:00Z`, optional fraction, or `+00:00`).
pub fn parse_instant(text: &str) -> Option<i64> {
    let text = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let time = time.split('.').next()?;
    let mut time_parts = time.splitn(3, ':');
    let hour: i64 = time_parts.next()?.parse().ok()?;
    let minute: i64 = time_parts.next()?.parse().ok()?;
    let second: i64 = time_parts.next()?.parse().ok()?;
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second)
        && (1970..=9999).contains(&year);
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// django-cas-server and Apereo put the CAS failure code in the SAML status message.
fn saml_status_code<'a>(status: &'a str, message: &'a str) -> &'a str {
    const KNOWN: [&str; 3] = ["INVALID_TICKET", "INVALID_SERVICE", "INVALID_REQUEST"];
    KNOWN
        .into_iter()
        .find(|code| message.contains(code))
        .unwrap_or_else(|| local_part(status))
}

/// Keep only what a stable failure code can be: short, upper-case letters and `_`.
fn failure_code(raw: &str) -> String {
    let code = raw.trim();
    if !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        code.to_owned()
    } else {
        "UNKNOWN".to_owned()
    }
}

fn local_part(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

fn is_cas(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(CAS_NS)
}

fn child<'a, 'input>(node: Node<'a, 'input>, ns: &str, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|n| n.has_tag_name((ns, name)))
}

/// The concatenated text directly inside `node` (CDATA included).
fn text_of(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

#[cfg(test)]
mod tests;
