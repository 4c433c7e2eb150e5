//! The ENT preset catalogue: one TOML file per ENT or national identity provider in `ent-presets/`,
//! loaded and checked as a whole ([`load_dir`]) into a [`Catalogue`] of effective [`Preset`]s, with
//! `extends` inheritance already resolved.
//!
//! A preset is what PRONOTE calls a "modèle de configuration ENT": the URLs of the provider, the fixed
//! login parameters, the attribute names and category values, the first-connection matching mode.
//! A delegation in a space file names a preset and may override any of it.
//!
//! - [`file`]: the file format (what an admin writes).
//! - [`load`]: reading the folder, inheritance, checks across files (duplicates, dangling links, cycles).
//! - [`render`]: the text views of `passerelle presets list` / `show`.

mod file;
mod load;
pub mod render;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

use crate::identity::mapping::{AttributeNames, CategoryValues, MappingRules, MatchingMode};

pub use load::load_dir;

/// The platform a preset belongs to; it decides URL conventions (see docs/presets.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Kosmos / Skolengo (Jalios): `https://cas.<domaine>`, `selection=` picks the upstream IdP.
    Kosmos,
    /// Open ENT NG / Edifice (NEO, ONE): `<hôte>/cas`.
    Edifice,
    /// GIP RECIA (NetO'Centre): `idpId=` picks the upstream IdP.
    Recia,
    /// Itop / OZE.
    Itop,
    Itslearning,
    /// Envole / Scribe (EOLE), run by académies.
    Envole,
    Pentila,
    Esup,
    /// Tetra Informatique (Liberscol).
    Tetra,
    /// Aplon (ÉcoleDirecte).
    Aplon,
    Gestibase,
    /// A platform of its own (Toutatice, laclasse.com, Atrium…).
    Custom,
    /// A ministry or national service (EduConnect, HubEduConnect).
    National,
    /// No platform: everything is given in the space file.
    Manual,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Kosmos => "kosmos",
            Family::Edifice => "edifice",
            Family::Recia => "recia",
            Family::Itop => "itop",
            Family::Itslearning => "itslearning",
            Family::Envole => "envole",
            Family::Pentila => "pentila",
            Family::Esup => "esup",
            Family::Tetra => "tetra",
            Family::Aplon => "aplon",
            Family::Gestibase => "gestibase",
            Family::Custom => "custom",
            Family::National => "national",
            Family::Manual => "manual",
        }
    }
}

/// The protocol the gateway speaks to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresetProtocol {
    Cas,
    Saml,
    Wsfed,
    Oidc,
}

impl PresetProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            PresetProtocol::Cas => "cas",
            PresetProtocol::Saml => "saml",
            PresetProtocol::Wsfed => "wsfed",
            PresetProtocol::Oidc => "oidc",
        }
    }
}

impl fmt::Display for PresetProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the entry still describes a live service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Current,
    /// Still answering but superseded; schools should move.
    Legacy,
    /// Gone or replaced.
    Obsolete,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Current => "current",
            Status::Legacy => "legacy",
            Status::Obsolete => "obsolete",
        }
    }
}

/// How a preset's CAS server validates tickets: the same choices as a space file's delegation.
pub use crate::config::model::CasValidation as Validation;

/// CAS settings of a preset, inheritance resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CasSettings {
    pub base_url: Option<Url>,
    pub login_url: Option<Url>,
    pub validate_url: Option<Url>,
    pub validation: Validation,
    /// Fixed parameters for `/login`, e.g. `selection = "EDU"`.
    pub login_params: BTreeMap<String, String>,
}

impl CasSettings {
    /// Where the browser is sent: the explicit login URL, else `<base>/login`. `None` when the preset
    /// leaves the URL to the space file (per-school hosts, manual configuration).
    pub fn login_endpoint(&self) -> Option<Url> {
        self.login_url
            .clone()
            .or_else(|| self.base_url.as_ref().and_then(|b| join(b, "/login")))
    }

    /// Where tickets are validated: the explicit URL, else `<base>` + the validation flavour's path.
    pub fn validate_endpoint(&self) -> Option<Url> {
        self.validate_url.clone().or_else(|| {
            self.base_url
                .as_ref()
                .and_then(|b| join(b, &format!("/{}", self.validation.path())))
        })
    }

    /// The login redirect for `service`: `service` first, then the fixed parameters.
    pub fn login_redirect(&self, service: &Url) -> Option<Url> {
        let mut url = self.login_endpoint()?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("service", service.as_str());
            for (name, value) in &self.login_params {
                query.append_pair(name, value);
            }
        }
        Some(url)
    }
}

/// `https://h/cas` + `/login` → `https://h/cas/login` (Url::join would drop the last segment).
fn join(base: &Url, path: &str) -> Option<Url> {
    let text = format!("{}{path}", base.as_str().trim_end_matches('/'));
    Url::parse(&text).ok()
}

/// SAML2 identity-provider settings of a preset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamlSettings {
    pub entity_id: Option<String>,
    pub sso_redirect_url: Option<Url>,
    pub sso_post_url: Option<Url>,
    pub unsolicited_sso_url: Option<Url>,
}

/// One catalogue entry with its inheritance resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub id: String,
    /// The base preset this one extends, if any.
    pub extends: Option<String>,
    pub label: String,
    pub territory: String,
    pub family: Family,
    pub protocol: PresetProtocol,
    pub status: Status,
    pub successor: Option<String>,
    /// Other host names of the service (renamed hosts), without scheme.
    pub aliases: Vec<String>,
    pub documentation: Option<Url>,
    /// This file's own sources; the base's are on the base.
    pub sources: Vec<String>,
    pub notes: Option<String>,
    pub matching: MatchingMode,
    pub cas: Option<CasSettings>,
    pub saml: Option<SamlSettings>,
    /// Effective attribute names. For CAS presets, fields the file does not name default to
    /// PRONOTE's vocabulary (`nom`, `prenom`, `dateNaissance`, `codePostal`, `categories`).
    pub attributes: AttributeNames,
    pub categories: CategoryValues,
    /// The file it was read from.
    pub file: PathBuf,
}

impl Preset {
    /// The mapping rules a delegation using this preset starts from.
    pub fn mapping_rules(&self) -> MappingRules {
        MappingRules {
            names: self.attributes.clone(),
            categories: self.categories.clone(),
            matching: self.matching,
        }
    }

    /// Host names the preset answers to: its URLs' hosts, then its aliases.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        let urls = self.cas.iter().flat_map(|c| {
            [&c.base_url, &c.login_url, &c.validate_url]
                .into_iter()
                .flatten()
        });
        let saml = self.saml.iter().flat_map(|s| {
            [&s.sso_redirect_url, &s.sso_post_url, &s.unsolicited_sso_url]
                .into_iter()
                .flatten()
        });
        for url in urls.chain(saml) {
            if let Some(host) = url.host_str()
                && !hosts.iter().any(|h| h == host)
            {
                hosts.push(host.to_owned());
            }
        }
        for alias in &self.aliases {
            if !hosts.contains(alias) {
                hosts.push(alias.clone());
            }
        }
        hosts
    }
}

/// The whole catalogue, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    presets: BTreeMap<String, Preset>,
}

/// What `presets list` filters on; empty filters match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub territory: Option<String>,
    pub protocol: Option<PresetProtocol>,
    pub search: Option<String>,
}

impl Catalogue {
    pub fn get(&self, id: &str) -> Option<&Preset> {
        self.presets.get(id)
    }

    pub fn len(&self) -> usize {
        self.presets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.presets.is_empty()
    }

    /// Every preset, sorted by id.
    pub fn iter(&self) -> impl Iterator<Item = &Preset> {
        self.presets.values()
    }

    /// The preset chain from `id` up to its root base (`id` first).
    pub fn ancestry(&self, id: &str) -> Vec<&Preset> {
        let mut chain = Vec::new();
        let mut next = self.get(id);
        while let Some(preset) = next {
            if chain.iter().any(|p: &&Preset| p.id == preset.id) {
                break;
            }
            chain.push(preset);
            next = preset.extends.as_deref().and_then(|base| self.get(base));
        }
        chain
    }

    /// Presets matching every given filter. Territory and search ignore case and French accents;
    /// search looks at id, label, territory, family, hosts and notes.
    pub fn filter(&self, filter: &Filter) -> Vec<&Preset> {
        let territory = filter.territory.as_deref().map(fold);
        let search = filter.search.as_deref().map(fold);
        self.iter()
            .filter(|p| filter.protocol.is_none_or(|proto| p.protocol == proto))
            .filter(|p| {
                territory
                    .as_ref()
                    .is_none_or(|t| fold(&p.territory).contains(t))
            })
            .filter(|p| {
                search.as_ref().is_none_or(|word| {
                    let haystack = format!(
                        "{} {} {} {} {} {}",
                        p.id,
                        p.label,
                        p.territory,
                        p.family.as_str(),
                        p.hosts().join(" "),
                        p.notes.as_deref().unwrap_or("")
                    );
                    fold(&haystack).contains(word)
                })
            })
            .collect()
    }
}

/// Lowercase without French diacritics, so that "Eure-et-Loir" is found by "eure" and "Élèves" by
/// "eleves".
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            '’' => '\'',
            other => other,
        })
        .collect()
}
