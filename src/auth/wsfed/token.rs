//! The token check: the standalone assertion cut out by [`super::rstr`] is verified with libxmlsec1
//! against the STS's certificates ([`crate::auth::xmlsig::verify_enveloped`]), then the same bytes, and
//! only they, are parsed to apply the assertion rules: issuer, audience = our realm, validity window
//! with our clock and skew, bearer subject confirmation only, no unknown condition.

use crate::auth::xmlsig::{self, NS_DSIG};
use crate::identity::mapping::Attributes;

use super::Settings;
use super::error::WsFedError;
use super::rstr::{self, NS_SAML1, NS_SAML2, Rstr, TokenKind, instant};

const BEARER_SAML1: &str = "urn:oasis:names:tc:SAML:1.0:cm:bearer";
const BEARER_SAML2: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// What a valid token says, read only from the verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub kind: TokenKind,
    /// `AssertionID` / `ID`: remember it until [`Self::replay_until`] and refuse it if seen again.
    pub id: String,
    pub issuer: String,
    /// The NameIdentifier / NameID, when given.
    pub subject: Option<String>,
    /// Claims by URI (SAML 1.1: `AttributeNamespace` + `/` + `AttributeName`, as ADFS names them;
    /// SAML 2.0: `Name`).
    pub claims: Attributes,
    /// Epoch seconds after which the token is dead anyway.
    pub replay_until: i64,
}

/// Verifies `wresult` (the posted RSTR) for `settings` at `now` (epoch seconds). Blocking
/// (libxmlsec1): call it from `spawn_blocking`.
pub fn verify(wresult: &str, settings: &Settings, now: i64) -> Result<VerifiedToken, WsFedError> {
    let rstr = rstr::parse(wresult, settings.allow_sha1, settings.max_token_bytes)?;
    check_wrapper(&rstr, settings, now)?;
    xmlsig::verify_enveloped(
        &rstr.assertion,
        &settings.sts.signing_certs,
        rstr.kind.id_attribute(),
    )?;
    // From here on, only the verified standalone bytes are read.
    let doc = xmlsig::parse_strict(&rstr.assertion, settings.max_token_bytes)?;
    let assertion = doc.root_element();
    match rstr.kind {
        TokenKind::Saml11 => read_saml11(assertion, settings, now),
        TokenKind::Saml20 => read_saml20(assertion, settings, now),
    }
}

/// The unsigned RSTR may not contradict the token: a stale lifetime or another realm is refused.
fn check_wrapper(rstr: &Rstr, settings: &Settings, now: i64) -> Result<(), WsFedError> {
    let skew = settings.clock_skew as i64;
    if rstr.expires.is_some_and(|expires| expires + skew <= now) {
        return Err(WsFedError::Expired);
    }
    if rstr.created.is_some_and(|created| created > now + skew) {
        return Err(WsFedError::NotYetValid);
    }
    if rstr
        .applies_to
        .as_deref()
        .is_some_and(|to| to != settings.realm)
    {
        return Err(WsFedError::Audience);
    }
    Ok(())
}

/// The rules both SAML versions share, once their fields are read.
struct Window {
    issued: i64,
    not_before: Option<i64>,
    not_on_or_after: i64,
}

fn check_window(w: &Window, settings: &Settings, now: i64) -> Result<i64, WsFedError> {
    let skew = settings.clock_skew as i64;
    if w.issued > now + skew || w.not_before.is_some_and(|nb| nb > now + skew) {
        return Err(WsFedError::NotYetValid);
    }
    let oldest = w.issued + settings.max_token_age as i64;
    if w.not_on_or_after + skew <= now || oldest + skew < now {
        return Err(WsFedError::Expired);
    }
    Ok(w.not_on_or_after.min(oldest) + skew)
}

fn attribute_instant(node: roxmltree::Node, name: &str) -> Result<Option<i64>, WsFedError> {
    node.attribute(name).map(instant).transpose()
}

fn text(node: roxmltree::Node) -> String {
    node.text().unwrap_or_default().trim().to_owned()
}

/// Children of `node` in namespace `ns`, by local name.
fn children<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children().filter(move |n| n.has_tag_name((ns, name)))
}

/// The one subject all statements name: different subjects in one token are refused.
fn same_subject(found: &mut Option<String>, value: String) -> Result<(), WsFedError> {
    match found {
        Some(previous) if *previous != value => {
            Err(WsFedError::TokenShape("plusieurs sujets".into()))
        }
        _ => {
            *found = Some(value);
            Ok(())
        }
    }
}

/// The assertion's `Conditions` (SAML 1.1 and 2.0 differ only in names): an audience restriction
/// naming our realm is required, `ignorable` conditions pass, any other is refused; then the validity
/// window. Returns until when the assertion id must be remembered.
fn check_conditions(
    conditions: roxmltree::Node,
    ns: &'static str,
    audience_restriction: &str,
    ignorable: &[&str],
    issued: i64,
    settings: &Settings,
    now: i64,
) -> Result<i64, WsFedError> {
    let mut audience_checked = false;
    for condition in conditions.children().filter(|n| n.is_element()) {
        let name = condition.tag_name().name();
        if condition.tag_name().namespace() != Some(ns) {
            return Err(WsFedError::UnknownCondition(name.to_owned()));
        }
        if name == audience_restriction {
            if !children(condition, ns, "Audience").any(|au| text(au) == settings.realm) {
                return Err(WsFedError::Audience);
            }
            audience_checked = true;
        } else if !ignorable.contains(&name) {
            return Err(WsFedError::UnknownCondition(name.to_owned()));
        }
    }
    if !audience_checked {
        return Err(WsFedError::Audience);
    }
    let window = Window {
        issued,
        not_before: attribute_instant(conditions, "NotBefore")?,
        not_on_or_after: attribute_instant(conditions, "NotOnOrAfter")?
            .ok_or(WsFedError::Missing("NotOnOrAfter"))?,
    };
    check_window(&window, settings, now)
}

fn read_saml11(
    a: roxmltree::Node,
    settings: &Settings,
    now: i64,
) -> Result<VerifiedToken, WsFedError> {
    let ns = NS_SAML1;
    if a.attribute("MajorVersion") != Some("1") {
        return Err(WsFedError::TokenShape("version SAML 1.x attendue".into()));
    }
    let id = a
        .attribute("AssertionID")
        .ok_or(WsFedError::Missing("AssertionID"))?
        .to_owned();
    let issuer = a.attribute("Issuer").unwrap_or_default();
    if issuer != settings.sts.entity_id {
        return Err(WsFedError::Issuer);
    }
    let issued =
        attribute_instant(a, "IssueInstant")?.ok_or(WsFedError::Missing("IssueInstant"))?;
    let conditions = children(a, ns, "Conditions")
        .next()
        .ok_or(WsFedError::Missing("Conditions"))?;
    let replay_until = check_conditions(
        conditions,
        ns,
        "AudienceRestrictionCondition",
        &["DoNotCacheCondition"],
        issued,
        settings,
        now,
    )?;

    let mut subject = None;
    let mut claims = Attributes::new();
    let mut statements = 0;
    for statement in a.children().filter(|n| n.is_element()) {
        let name = statement.tag_name().name();
        if statement.has_tag_name((NS_DSIG, "Signature")) || name == "Conditions" {
            continue;
        }
        if statement.tag_name().namespace() != Some(ns) {
            return Err(WsFedError::TokenShape(format!("élément {name}")));
        }
        match name {
            "AttributeStatement" | "AuthenticationStatement" => statements += 1,
            "Advice" => return Err(WsFedError::TokenShape("Advice".into())),
            _ => continue,
        }
        let subj = children(statement, ns, "Subject")
            .next()
            .ok_or(WsFedError::Missing("Subject"))?;
        // Bearer only: every subject confirmation must be bearer, and there must be one.
        let methods: Vec<String> = subj
            .descendants()
            .filter(|n| n.has_tag_name((ns, "ConfirmationMethod")))
            .map(text)
            .collect();
        if methods.is_empty() || methods.iter().any(|m| m != BEARER_SAML1) {
            return Err(WsFedError::NotBearer);
        }
        if let Some(name_id) = children(subj, ns, "NameIdentifier").next() {
            same_subject(&mut subject, text(name_id))?;
        }
        for attribute in children(statement, ns, "Attribute") {
            let namespace = attribute
                .attribute("AttributeNamespace")
                .unwrap_or_default();
            let local = attribute.attribute("AttributeName").unwrap_or_default();
            let uri = if namespace.is_empty() {
                local.to_owned()
            } else {
                format!("{}/{local}", namespace.trim_end_matches('/'))
            };
            for value in children(attribute, ns, "AttributeValue") {
                claims.insert(uri.clone(), text(value));
            }
        }
    }
    if statements == 0 {
        return Err(WsFedError::Missing("AttributeStatement"));
    }
    Ok(VerifiedToken {
        kind: TokenKind::Saml11,
        id,
        issuer: issuer.to_owned(),
        subject,
        claims,
        replay_until,
    })
}

fn read_saml20(
    a: roxmltree::Node,
    settings: &Settings,
    now: i64,
) -> Result<VerifiedToken, WsFedError> {
    let ns = NS_SAML2;
    if a.attribute("Version") != Some("2.0") {
        return Err(WsFedError::TokenShape("version SAML 2.0 attendue".into()));
    }
    let id = a
        .attribute("ID")
        .ok_or(WsFedError::Missing("ID"))?
        .to_owned();
    let issuer = children(a, ns, "Issuer")
        .next()
        .map(text)
        .ok_or(WsFedError::Missing("Issuer"))?;
    if issuer != settings.sts.entity_id {
        return Err(WsFedError::Issuer);
    }
    if children(a, ns, "Advice").next().is_some() {
        return Err(WsFedError::TokenShape("Advice".into()));
    }
    let issued =
        attribute_instant(a, "IssueInstant")?.ok_or(WsFedError::Missing("IssueInstant"))?;
    let conditions = children(a, ns, "Conditions")
        .next()
        .ok_or(WsFedError::Missing("Conditions"))?;
    // Single use is what we enforce anyway; a proxy restriction does not concern us.
    let mut replay_until = check_conditions(
        conditions,
        ns,
        "AudienceRestriction",
        &["OneTimeUse", "ProxyRestriction"],
        issued,
        settings,
        now,
    )?;

    let subj = children(a, ns, "Subject")
        .next()
        .ok_or(WsFedError::Missing("Subject"))?;
    let confirmations: Vec<_> = children(subj, ns, "SubjectConfirmation").collect();
    if confirmations.is_empty()
        || confirmations
            .iter()
            .any(|c| c.attribute("Method") != Some(BEARER_SAML2))
    {
        return Err(WsFedError::NotBearer);
    }
    let skew = settings.clock_skew as i64;
    for data in confirmations
        .iter()
        .flat_map(|c| children(*c, ns, "SubjectConfirmationData"))
    {
        if let Some(noa) = attribute_instant(data, "NotOnOrAfter")? {
            if noa + skew <= now {
                return Err(WsFedError::Expired);
            }
            replay_until = replay_until.max(noa + skew);
        }
        if attribute_instant(data, "NotBefore")?.is_some_and(|nb| nb > now + skew) {
            return Err(WsFedError::NotYetValid);
        }
    }
    let subject = children(subj, ns, "NameID").next().map(text);
    let mut claims = Attributes::new();
    for attribute in children(a, ns, "AttributeStatement")
        .flat_map(|statement| children(statement, ns, "Attribute"))
    {
        let name = attribute.attribute("Name").unwrap_or_default();
        for value in children(attribute, ns, "AttributeValue") {
            claims.insert(name, text(value));
        }
    }
    Ok(VerifiedToken {
        kind: TokenKind::Saml20,
        id,
        issuer,
        subject,
        claims,
        replay_until,
    })
}
