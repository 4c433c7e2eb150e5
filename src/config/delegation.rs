//! A space's delegations, validated: from the `[[delegation]]` tables as written (and, later, the preset
//! they name) to settings the auth code can use without further checks.
//!
//! The preset seam: [`PresetSource`] gives the catalogue entry a delegation names; [`fill_from_preset`]
//! copies every key the space file left out. The catalogue itself (loading `ent-presets/`) is not here.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use super::model::{
    AttributeNames, CasValidation, DelegationEntry, DelegationProtocol, OidcClientAuth,
};
use super::presets::{Catalogue, Status};
use super::problems::Problem;
pub use super::saml::{IdpSource, SamlConfig};
use super::values::HttpUrl;
use crate::auth::saml::educonnect;
use crate::identity::mapping::{CategoryValues, MappingRules, SpaceRules};
use toml::Spanned;

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One validated delegation of a space.
#[derive(Debug, Clone)]
pub struct DelegationSettings {
    /// Unique within the space; part of the callback URL.
    pub id: String,
    pub label: String,
    pub kind: DelegationKind,
    /// Which categories open which space.
    pub space_rules: SpaceRules,
}

/// The protocol-specific settings.
#[derive(Debug, Clone)]
pub enum DelegationKind {
    Cas(CasSettings),
    Oidc(OidcSettings),
    Saml(SamlConfig),
    Wsfed(WsFedSettings),
}

/// A resolved WS-Federation delegation (see docs/wsfed.md): the STS metadata is read and the pinned
/// certificates loaded at configuration time, so `passerelle check` reports them.
#[derive(Debug, Clone)]
pub struct WsFedSettings {
    /// The verification settings; with `metadata_url`, their `sts` is empty until the first fetch.
    pub settings: crate::auth::wsfed::Settings,
    pub metadata_url: Option<crate::auth::wsfed::metadata::MetadataUrl>,
    pub mapping: MappingRules,
    pub sign_out: bool,
}

/// A resolved OpenID Connect delegation (see docs/oidc.md).
#[derive(Clone)]
pub struct OidcSettings {
    pub issuer: Url,
    pub client_id: String,
    pub client_auth: OidcClientAuth,
    /// The client secret, or the PEM of the private key for `private_key_jwt`.
    pub credential: String,
    pub key_id: Option<String>,
    pub scopes: Vec<String>,
    pub userinfo: bool,
    pub provider_logout: bool,
    pub discovery_ttl: Duration,
    pub mapping: MappingRules,
}

impl std::fmt::Debug for OidcSettings {
    // The credential stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .field("client_auth", &self.client_auth)
            .finish_non_exhaustive()
    }
}

/// A CAS delegation, every URL resolved.
#[derive(Debug, Clone)]
pub struct CasSettings {
    pub login_url: Url,
    /// The validation endpoint for `validation` (for `json`, without `format=JSON`, added when called).
    pub validate_url: Url,
    pub validation: CasValidation,
    /// Where the gateway's logout sends the browser (`?service=` is added), if anywhere.
    pub logout_url: Option<Url>,
    pub login_params: Vec<(String, String)>,
    pub renew: bool,
    pub gateway: bool,
    /// How the released attributes become PRONOTE fields.
    pub mapping: MappingRules,
    pub slo_sources: Vec<IpNet>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

/// Where preset entries come from: the ENT catalogue ([`Catalogue`] implements it).
pub trait PresetSource {
    /// The catalogue entry `id`, written with the same keys as a `[[delegation]]` table, or why it
    /// cannot fill a delegation (unknown, obsolete, another protocol), in French.
    fn preset(&self, id: &str) -> Result<DelegationEntry, String>;
}

impl PresetSource for Catalogue {
    fn preset(&self, id: &str) -> Result<DelegationEntry, String> {
        let preset = self.get(id).ok_or_else(|| {
            format!("preset inconnu « {id} » (catalogue des ENT : `passerelle presets list`)")
        })?;
        if preset.status == Status::Obsolete {
            let successor = preset
                .successor
                .as_deref()
                .map_or_else(String::new, |s| format!(", remplacé par « {s} »"));
            return Err(format!("preset « {id} » obsolète{successor}"));
        }
        let mut entry = empty_entry(&preset.id);
        entry.label = Some(preset.label.clone());
        entry.attributes = Some(preset.attributes.clone());
        entry.matching = Some(preset.matching);
        entry.categories = Some(
            preset
                .categories
                .iter()
                .map(|(category, values)| (category, values.to_vec()))
                .collect(),
        );
        if let Some(saml) = &preset.saml {
            entry.protocol = Spanned::new(0..0, DelegationProtocol::Saml);
            entry.idp_entity_id = saml.entity_id.clone();
            // The ministry's IdP gets its identity rules and security profile.
            entry.educonnect = Some(saml.entity_id.as_deref().is_some_and(|id| {
                [educonnect::PRODUCTION, educonnect::PREPRODUCTION]
                    .iter()
                    .any(|env| env.entity_id == id)
            }));
            return Ok(entry);
        }
        let Some(cas) = &preset.cas else {
            return Err(format!(
                "preset « {id} » : protocole {} pas encore pris en charge par les délégations",
                preset.protocol
            ));
        };
        let url = |url: &Option<Url>| url.clone().map(|u| Spanned::new(0..0, HttpUrl(u)));
        entry.base_url = url(&cas.base_url);
        entry.login_url = url(&cas.login_url);
        entry.validate_url = url(&cas.validate_url);
        entry.validation = Some(cas.validation);
        entry.login_params = cas.login_params.clone();
        Ok(entry)
    }
}

/// A CAS `[[delegation]]` with only its id set, every other key at its default.
fn empty_entry(id: &str) -> DelegationEntry {
    DelegationEntry {
        id: Spanned::new(0..0, id.to_owned()),
        protocol: Spanned::new(0..0, DelegationProtocol::Cas),
        label: None,
        preset: None,
        base_url: None,
        login_url: None,
        validate_url: None,
        logout_url: None,
        cas_logout: false,
        validation: None,
        login_params: Default::default(),
        renew: false,
        gateway: false,
        attributes: None,
        matching: None,
        categories: None,
        spaces: None,
        slo_sources: Vec::new(),
        allow_insecure_http: false,
        connect_timeout: None,
        timeout: None,
        issuer: None,
        client_id: None,
        client_secret: None,
        client_auth: None,
        private_key: None,
        key_id: None,
        scopes: Vec::new(),
        userinfo: false,
        provider_logout: false,
        discovery_ttl: None,
        sp_entity_id: None,
        idp_metadata: None,
        idp_entity_id: None,
        idp_certificates: Vec::new(),
        signing_key: None,
        signing_certificate: None,
        encryption_keys: Vec::new(),
        allow_unsolicited: false,
        allow_sha1: false,
        clock_skew: None,
        max_issue_age: None,
        metadata_refresh: None,
        educonnect: None,
        wsfed: None,
    }
}

/// Copy into `entry` every protocol key it leaves out, from `preset` (the space file wins).
pub fn fill_from_preset(entry: &mut DelegationEntry, preset: &DelegationEntry) {
    macro_rules! fill {
        ($($field:ident),*) => {$(
            if entry.$field.is_none() {
                entry.$field = preset.$field.clone();
            }
        )*};
    }
    fill!(
        label,
        base_url,
        login_url,
        validate_url,
        logout_url,
        validation,
        matching,
        connect_timeout,
        timeout,
        idp_entity_id,
        educonnect
    );
    // Attribute names and category values merge key by key: a space file that renames one attribute
    // or one category keeps the preset's others.
    if let Some(base) = &preset.attributes {
        entry.attributes = Some(entry.attributes.take().unwrap_or_default().or(base));
    }
    if let Some(base) = &preset.categories {
        let categories = entry.categories.get_or_insert_with(Default::default);
        for (category, values) in base {
            categories
                .entry(*category)
                .or_insert_with(|| values.clone());
        }
    }
    for (key, value) in &preset.login_params {
        entry
            .login_params
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }
}

/// Validate a space file's delegations; every problem is pushed with its location.
pub fn resolve(
    file: &Path,
    text: &str,
    mut entries: Vec<DelegationEntry>,
    presets: &dyn PresetSource,
    problems: &mut Vec<Problem>,
) -> Vec<DelegationSettings> {
    let mut seen = HashSet::new();
    let mut resolved = Vec::with_capacity(entries.len());
    for entry in &mut entries {
        let before = problems.len();
        let mut at = |span: std::ops::Range<usize>, message: String| {
            problems.push(Problem::at_span(file, text, span, message))
        };
        let id = entry.id.get_ref().clone();
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            at(
                entry.id.span(),
                format!(
                    "id de délégation invalide « {id} » : lettres, chiffres, - et _ (64 au plus)"
                ),
            );
        } else if !seen.insert(id.clone()) {
            at(
                entry.id.span(),
                format!("id de délégation « {id} » en double"),
            );
        }
        if let Some(preset_id) = entry.preset.clone() {
            match presets.preset(preset_id.get_ref()) {
                Ok(preset) if preset.protocol.get_ref() != entry.protocol.get_ref() => at(
                    entry.protocol.span(),
                    format!(
                        "le preset « {} » est en protocole {}",
                        preset_id.get_ref(),
                        preset.protocol.get_ref().as_str()
                    ),
                ),
                Ok(preset) => fill_from_preset(entry, &preset),
                Err(message) => at(preset_id.span(), message),
            }
        }
        if entry.wsfed.is_some() && *entry.protocol.get_ref() != DelegationProtocol::Wsfed {
            at(
                entry.protocol.span(),
                "la table [delegation.wsfed] ne sert qu'avec protocol = \"wsfed\"".to_owned(),
            );
        }
        let kind = match entry.protocol.get_ref() {
            DelegationProtocol::Cas => resolve_cas(entry, &mut at).map(DelegationKind::Cas),
            DelegationProtocol::Oidc => {
                resolve_oidc(file, entry, &mut at).map(DelegationKind::Oidc)
            }
            DelegationProtocol::Saml => {
                super::saml::resolve(file, entry, &mut at).map(DelegationKind::Saml)
            }
            DelegationProtocol::Wsfed => {
                super::wsfed::resolve(file, entry, &mut at).map(DelegationKind::Wsfed)
            }
        };
        if let (Some(kind), true) = (kind, problems.len() == before) {
            resolved.push(DelegationSettings {
                label: entry.label.clone().unwrap_or_else(|| id.clone()),
                id,
                kind,
                space_rules: entry.spaces.clone().unwrap_or_default(),
            });
        }
    }
    resolved
}

fn resolve_cas(
    entry: &DelegationEntry,
    at: &mut impl FnMut(std::ops::Range<usize>, String),
) -> Option<CasSettings> {
    let validation = entry.validation.unwrap_or_default();
    let join = |base: &Url, tail: &str| {
        let mut url = base.clone();
        let path = format!("{}/{tail}", base.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    };
    let validate_tail = validation.path();
    let base = entry.base_url.as_ref().map(|url| &url.get_ref().0);
    let login_url = entry
        .login_url
        .as_ref()
        .map(|url| url.get_ref().0.clone())
        .or_else(|| base.map(|base| join(base, "login")));
    let validate_url = entry
        .validate_url
        .as_ref()
        .map(|url| url.get_ref().0.clone())
        .or_else(|| base.map(|base| join(base, validate_tail)));
    let (Some(login_url), Some(validate_url)) = (login_url, validate_url) else {
        at(
            entry.id.span(),
            "délégation CAS : il faut base_url, ou login_url et validate_url".to_owned(),
        );
        return None;
    };
    let logout_url = match (&entry.logout_url, entry.cas_logout, base) {
        (Some(url), _, _) => Some(url.get_ref().0.clone()),
        (None, true, Some(base)) => Some(join(base, "logout")),
        (None, true, None) => {
            at(
                entry.id.span(),
                "cas_logout = true demande base_url ou logout_url".to_owned(),
            );
            return None;
        }
        (None, false, _) => None,
    };
    if entry.renew && entry.gateway {
        at(
            entry.id.span(),
            "renew et gateway s'excluent (protocole CAS)".to_owned(),
        );
    }
    if !entry.allow_insecure_http {
        for url in [Some(&login_url), Some(&validate_url), logout_url.as_ref()]
            .into_iter()
            .flatten()
        {
            if url.scheme() != "https" {
                at(
                    entry.id.span(),
                    format!(
                        "URL CAS non chiffrée « {url} » : https:// exigé (allow_insecure_http = true \
                         seulement pour un essai local)"
                    ),
                );
            }
        }
    }
    for name in ["service", "ticket", "renew", "gateway"] {
        if entry.login_params.contains_key(name) {
            at(
                entry.id.span(),
                format!("login_params ne peut pas fixer « {name} » : la passerelle s'en charge"),
            );
        }
    }
    Some(CasSettings {
        login_url,
        validate_url,
        validation,
        logout_url,
        login_params: entry
            .login_params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        renew: entry.renew,
        gateway: entry.gateway,
        mapping: mapping_rules(entry, &AttributeNames::pronote()),
        slo_sources: entry.slo_sources.clone(),
        connect_timeout: entry
            .connect_timeout
            .map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.0),
        timeout: entry.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0),
    })
}

/// The entry's mapping rules; attribute names it leaves out are the protocol's usual ones.
pub(super) fn mapping_rules(
    entry: &DelegationEntry,
    protocol_names: &AttributeNames,
) -> MappingRules {
    MappingRules {
        names: entry
            .attributes
            .clone()
            .unwrap_or_default()
            .or(protocol_names),
        categories: entry
            .categories
            .as_ref()
            .map(CategoryValues::with_overrides)
            .unwrap_or_default(),
        matching: entry.matching.unwrap_or_default(),
    }
}

fn resolve_oidc(
    file: &Path,
    entry: &DelegationEntry,
    at: &mut impl FnMut(std::ops::Range<usize>, String),
) -> Option<OidcSettings> {
    let (Some(issuer), Some(client_id)) = (&entry.issuer, &entry.client_id) else {
        at(
            entry.id.span(),
            "délégation OpenID Connect : issuer et client_id sont exigés".to_owned(),
        );
        return None;
    };
    if issuer.get_ref().0.scheme() != "https" && !entry.allow_insecure_http {
        at(
            issuer.span(),
            "issuer non chiffré : https:// exigé (allow_insecure_http = true seulement pour un essai local)"
                .to_owned(),
        );
    }
    let client_auth = entry.client_auth.unwrap_or_default();
    let credential = match client_auth {
        OidcClientAuth::ClientSecretBasic | OidcClientAuth::ClientSecretPost => {
            match entry.client_secret.as_deref().filter(|s| !s.is_empty()) {
                Some(secret) => secret.to_owned(),
                None => {
                    at(
                        entry.id.span(),
                        "client_secret exigé par cette méthode d'authentification".to_owned(),
                    );
                    return None;
                }
            }
        }
        OidcClientAuth::PrivateKeyJwt => {
            let Some(path) = &entry.private_key else {
                at(
                    entry.id.span(),
                    "private_key_jwt demande private_key (clé RSA PEM PKCS#1)".to_owned(),
                );
                return None;
            };
            let full = file.parent().unwrap_or(Path::new(".")).join(path.get_ref());
            match std::fs::read_to_string(&full) {
                Ok(pem) if pem.contains("BEGIN RSA PRIVATE KEY") => pem,
                Ok(_) => {
                    at(
                        path.span(),
                        "clé privée : PEM PKCS#1 attendu (BEGIN RSA PRIVATE KEY ; openssl rsa -traditional)"
                            .to_owned(),
                    );
                    return None;
                }
                Err(err) => {
                    at(
                        path.span(),
                        format!("clé privée illisible ({}) : {err}", full.display()),
                    );
                    return None;
                }
            }
        }
    };
    Some(OidcSettings {
        issuer: issuer.get_ref().0.clone(),
        client_id: client_id.clone(),
        client_auth,
        credential,
        key_id: entry.key_id.clone(),
        scopes: entry.scopes.clone(),
        userinfo: entry.userinfo,
        provider_logout: entry.provider_logout,
        discovery_ttl: entry
            .discovery_ttl
            .map_or(Duration::from_secs(3600), |d| d.0),
        mapping: mapping_rules(entry, &AttributeNames::openid_connect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::SpaceFile;

    fn load(text: &str) -> (Vec<DelegationSettings>, Vec<String>) {
        let file: SpaceFile = toml::from_str(text).unwrap();
        let mut problems = Vec::new();
        let resolved = resolve(
            Path::new("parent.toml"),
            text,
            file.delegations,
            &Catalogue::default(),
            &mut problems,
        );
        (resolved, problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn base_url_gives_login_and_validation_endpoints() {
        let (resolved, problems) = load(
            "published = true\n[[delegation]]\nid = \"ent\"\nprotocol = \"cas\"\nbase_url = \"https://ent.example.fr/cas/\"\nvalidation = \"p3\"\ncas_logout = true\n[delegation.login_params]\nselection = \"EDU_parent_eleve\"\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let DelegationKind::Cas(cas) = &resolved[0].kind else {
            panic!("CAS expected");
        };
        assert_eq!(cas.login_url.as_str(), "https://ent.example.fr/cas/login");
        assert_eq!(
            cas.validate_url.as_str(),
            "https://ent.example.fr/cas/p3/serviceValidate"
        );
        assert_eq!(
            cas.logout_url.as_ref().map(Url::as_str),
            Some("https://ent.example.fr/cas/logout")
        );
        assert_eq!(
            cas.login_params,
            vec![("selection".to_owned(), "EDU_parent_eleve".to_owned())]
        );
        assert_eq!(resolved[0].label, "ent");
    }

    #[test]
    fn oidc_delegations_need_issuer_client_and_credential() {
        let (resolved, problems) = load(
            "published = true\n[[delegation]]\nid = \"ent\"\nprotocol = \"oidc\"\nissuer = \"https://op.example\"\nclient_id = \"gw\"\nclient_secret = \"s\"\nscopes = [\"profile\"]\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let DelegationKind::Oidc(oidc) = &resolved[0].kind else {
            panic!("OIDC expected");
        };
        assert_eq!(oidc.client_auth, OidcClientAuth::ClientSecretBasic);
        assert_eq!(oidc.scopes, ["profile"]);
        let (_, problems) = load(
            "published = true\n[[delegation]]\nid = \"ent\"\nprotocol = \"oidc\"\nissuer = \"http://op.example\"\nclient_id = \"gw\"\n[[delegation]]\nid = \"b\"\nprotocol = \"oidc\"\nclient_id = \"gw\"\n",
        );
        let all = problems.join("\n");
        assert!(all.contains("https:// exigé"), "{all}");
        assert!(all.contains("client_secret exigé"), "{all}");
        assert!(all.contains("issuer et client_id"), "{all}");
    }

    #[test]
    fn plain_http_duplicate_ids_missing_urls_and_unknown_presets_are_refused() {
        let (_, problems) = load(
            "published = true\n[[delegation]]\nid = \"ent\"\nprotocol = \"cas\"\nbase_url = \"http://ent.example.fr/cas\"\n[[delegation]]\nid = \"ent\"\nprotocol = \"cas\"\npreset = \"inconnu\"\n",
        );
        let all = problems.join("\n");
        assert!(all.contains("https:// exigé"), "{all}");
        assert!(all.contains("en double"), "{all}");
        assert!(all.contains("preset inconnu"), "{all}");
        assert!(all.contains("il faut base_url"), "{all}");
    }
}
