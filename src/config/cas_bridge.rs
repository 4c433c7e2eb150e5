//! The CAS bridge's configuration (Passerelle as the CAS server PRONOTE delegates to, docs/cas-bridge.md):
//! the gateway file's `[cas_server]` section, each space file's `[cas_server]` table (which service
//! URLs belong to the space and what is released to them), and their validation.

use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::problems::Problem;
use super::values::HumanDuration;
use crate::space::SpaceId;

/// Longest ticket lifetime accepted: the CAS specification recommends five minutes at most.
const MAX_TICKET_LIFETIME: Duration = Duration::from_secs(300);
/// Compiled size limit of one service pattern, so a pathological pattern cannot eat memory.
const PATTERN_SIZE_LIMIT: usize = 64 * 1024;

/// `[cas_server]` in `passerelle.toml`: its presence turns the bridge on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasServerSection {
    /// Where the CAS endpoints are served on the public listener (`/cas/login`, `/cas/samlValidate`…).
    #[serde(default = "default_prefix")]
    pub prefix: Spanned<String>,
    /// How long a service ticket may wait for its validation (the spec: a few seconds to 5 minutes).
    #[serde(default = "default_ticket_lifetime")]
    pub ticket_lifetime: Spanned<HumanDuration>,
    /// How long each single-logout call to a service may take.
    #[serde(default = "default_logout_timeout")]
    pub logout_timeout: HumanDuration,
    /// Only these addresses may validate tickets (PRONOTE's servers); empty: any. Validation releases
    /// names and birth dates, so a ticket leaked from a browser is worth nothing elsewhere.
    #[serde(default)]
    pub validation_sources: Vec<IpNet>,
}

fn default_prefix() -> Spanned<String> {
    Spanned::new(0..0, "/cas".to_owned())
}
fn default_ticket_lifetime() -> Spanned<HumanDuration> {
    Spanned::new(0..0, HumanDuration(Duration::from_secs(10)))
}
fn default_logout_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}

/// `[cas_server]` in a space file: the services (PRONOTE's "URL du client CAS") that authenticate
/// through this space, and what they receive.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasServiceEntry {
    /// Exact service URLs, or anchored regular expressions written `^…$`.
    pub services: Vec<Spanned<String>>,
    #[serde(default)]
    pub principal: Principal,
    /// Attributes released besides the principal, under PRONOTE's names.
    #[serde(default = "ReleasedAttribute::all")]
    pub attributes: Vec<ReleasedAttribute>,
}

/// Which identity field is the CAS principal (`cas:user`, SAML `NameIdentifier`): what PRONOTE stores
/// as the person's "Id. CAS".
#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// The identity's subject: the ENT's id, the NameID, the direct login.
    #[default]
    Login,
    /// The PRONOTE product id ("Id. PRONOTE-ENT"), for `modePremiereConnexion` by product id.
    IdProduit,
}

impl Principal {
    pub fn as_str(self) -> &'static str {
        match self {
            Principal::Login => "login",
            Principal::IdProduit => "id_produit",
        }
    }
}

/// An attribute PRONOTE's CAS delegation reads, by the name it reads it under.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum ReleasedAttribute {
    #[serde(rename = "nom")]
    Nom,
    #[serde(rename = "prenom")]
    Prenom,
    /// `dd/mm/yyyy`.
    #[serde(rename = "dateNaissance")]
    DateNaissance,
    #[serde(rename = "codePostal")]
    CodePostal,
    /// `National_1`…`National_4`, `;`-joined in one value.
    #[serde(rename = "categories")]
    Categories,
}

impl ReleasedAttribute {
    pub fn all() -> Vec<ReleasedAttribute> {
        vec![
            ReleasedAttribute::Nom,
            ReleasedAttribute::Prenom,
            ReleasedAttribute::DateNaissance,
            ReleasedAttribute::CodePostal,
            ReleasedAttribute::Categories,
        ]
    }

    pub fn name(self) -> &'static str {
        match self {
            ReleasedAttribute::Nom => "nom",
            ReleasedAttribute::Prenom => "prenom",
            ReleasedAttribute::DateNaissance => "dateNaissance",
            ReleasedAttribute::CodePostal => "codePostal",
            ReleasedAttribute::Categories => "categories",
        }
    }
}

/// One allowed service: an exact URL or an anchored pattern.
#[derive(Debug, Clone)]
pub enum ServicePattern {
    Exact(String),
    Anchored(regex::Regex),
}

impl ServicePattern {
    pub fn matches(&self, service: &str) -> bool {
        match self {
            ServicePattern::Exact(url) => url == service,
            ServicePattern::Anchored(pattern) => pattern.is_match(service),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ServicePattern::Exact(url) => url,
            ServicePattern::Anchored(pattern) => pattern.as_str(),
        }
    }
}

/// What one space releases, to which services.
#[derive(Debug, Clone)]
pub struct SpaceBridge {
    pub space: SpaceId,
    pub services: Vec<ServicePattern>,
    pub principal: Principal,
    pub attributes: Vec<ReleasedAttribute>,
}

/// The validated bridge settings.
#[derive(Debug, Clone)]
pub struct CasBridgeSettings {
    /// E.g. `/cas`, no trailing slash.
    pub prefix: String,
    pub ticket_lifetime: Duration,
    pub logout_timeout: Duration,
    /// Who may call the validation endpoints; empty: anyone.
    pub validation_sources: Vec<IpNet>,
    /// In the order of [`SpaceId::ALL`]: the first space whose services match a URL owns it.
    pub spaces: Vec<SpaceBridge>,
}

impl CasBridgeSettings {
    /// The space a service URL belongs to, if any.
    pub fn space_for(&self, service: &str) -> Option<&SpaceBridge> {
        self.spaces
            .iter()
            .find(|space| space.services.iter().any(|p| p.matches(service)))
    }

    /// Whether `client` may validate tickets.
    pub fn may_validate(&self, client: std::net::IpAddr) -> bool {
        self.validation_sources.is_empty()
            || self
                .validation_sources
                .iter()
                .any(|net| net.contains(&client))
    }

    pub fn space(&self, space: SpaceId) -> Option<&SpaceBridge> {
        self.spaces.iter().find(|s| s.space == space)
    }
}

/// Check the gateway section; `None` when it has problems (pushed with their location).
pub fn resolve_section(
    file: &Path,
    text: &str,
    section: &CasServerSection,
    problems: &mut Vec<Problem>,
) -> Option<(String, Duration, Duration)> {
    let before = problems.len();
    let prefix = section.prefix.get_ref();
    let reserved = ["/auth", "/pronote"]
        .iter()
        .any(|r| prefix == r || prefix.starts_with(&format!("{r}/")));
    let well_formed = prefix.len() > 1
        && prefix.starts_with('/')
        && !prefix.ends_with('/')
        && !prefix.contains("//")
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        && !prefix
            .split('/')
            .any(|segment| segment == "." || segment == "..");
    if !well_formed || reserved {
        problems.push(Problem::at_span(
            file,
            text,
            section.prefix.span(),
            format!(
                "[cas_server] prefix « {prefix} » : un chemin comme \"/cas\" (commence par /, sans / final, \
                 hors de /auth et /pronote)"
            ),
        ));
    }
    let lifetime = section.ticket_lifetime.get_ref().0;
    if lifetime.is_zero() || lifetime > MAX_TICKET_LIFETIME {
        problems.push(Problem::at_span(
            file,
            text,
            section.ticket_lifetime.span(),
            "[cas_server] ticket_lifetime doit être entre 1 seconde et 5 minutes".to_owned(),
        ));
    }
    (problems.len() == before).then(|| (prefix.clone(), lifetime, section.logout_timeout.0))
}

/// Check a space file's `[cas_server]` table; `None` when it has problems.
pub fn resolve_space(
    file: &Path,
    text: &str,
    space: SpaceId,
    entry: &CasServiceEntry,
    problems: &mut Vec<Problem>,
) -> Option<SpaceBridge> {
    let before = problems.len();
    if entry.services.is_empty() {
        problems.push(Problem::whole_file(
            file,
            "[cas_server] services : au moins une URL de service (l'« URL du client CAS » de PRONOTE)",
        ));
    }
    let mut services = Vec::with_capacity(entry.services.len());
    for service in &entry.services {
        match parse_pattern(service.get_ref()) {
            Ok(pattern) => services.push(pattern),
            Err(why) => problems.push(Problem::at_span(file, text, service.span(), why)),
        }
    }
    (problems.len() == before).then(|| SpaceBridge {
        space,
        services,
        principal: entry.principal,
        attributes: entry.attributes.clone(),
    })
}

fn parse_pattern(text: &str) -> Result<ServicePattern, String> {
    if text.starts_with('^') {
        if !text.ends_with('$') {
            return Err(format!(
                "motif de service « {text} » : un motif commence par ^ et finit par $ (ancré des deux côtés)"
            ));
        }
        return regex::RegexBuilder::new(text)
            .size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map(ServicePattern::Anchored)
            .map_err(|err| format!("motif de service « {text} » invalide : {err}"));
    }
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(ServicePattern::Exact(text.to_owned()))
        }
        _ => Err(format!(
            "service « {text} » : une URL http(s) complète, ou un motif ^…$"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_services_match_byte_for_byte_and_patterns_are_anchored() {
        let exact = parse_pattern("https://pronote.example.fr/pronote/parent.html").unwrap();
        assert!(exact.matches("https://pronote.example.fr/pronote/parent.html"));
        assert!(!exact.matches("https://pronote.example.fr/pronote/parent.html?x=1"));
        let pattern =
            parse_pattern(r"^https://pronote\.example\.fr/pronote/(mobile\.)?parent\.html(\?.*)?$")
                .unwrap();
        assert!(pattern.matches("https://pronote.example.fr/pronote/mobile.parent.html?fd=1"));
        assert!(
            !pattern
                .matches("https://evil.example/?https://pronote.example.fr/pronote/parent.html")
        );
        assert!(parse_pattern(r"^https://pronote\.example\.fr/.*").is_err());
        assert!(parse_pattern("pronote.example.fr/parent.html").is_err());
        assert!(parse_pattern("javascript:alert(1)").is_err());
    }
}
