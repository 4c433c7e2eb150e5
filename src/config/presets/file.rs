//! One preset file as written in `ent-presets/<id>.toml`. Every field but `id` and `sources` may come
//! from the preset named by `extends`; unknown keys are errors, values validate themselves (https only).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, de};
use toml::Spanned;

use super::{Family, PresetProtocol, Status, Validation};
use crate::config::values::HttpsUrl;
use crate::identity::mapping::{AttributeNames, Category, MatchingMode, ValuePattern};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetFile {
    pub id: Spanned<PresetIdText>,
    /// Another preset whose fields this one inherits (a variant: EduConnect branch, avec/sans
    /// alimentation, teachers' branch).
    #[serde(default)]
    pub extends: Option<Spanned<String>>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub territory: Option<String>,
    #[serde(default)]
    pub family: Option<Family>,
    #[serde(default)]
    pub protocol: Option<PresetProtocol>,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub successor: Option<Spanned<String>>,
    /// Former or alternative host names of the same service (renamed hosts).
    #[serde(default)]
    pub aliases: Option<Vec<HostName>>,
    #[serde(default)]
    pub documentation: Option<HttpsUrl>,
    /// Where each fact comes from. Required in every file, variants included.
    pub sources: Spanned<Vec<String>>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub matching: Option<MatchingMode>,
    #[serde(default)]
    pub cas: Option<CasSection>,
    #[serde(default)]
    pub saml: Option<SamlSection>,
    #[serde(default)]
    pub attributes: Option<AttributeNames>,
    /// Raw values meaning each national category, e.g. `National_2 = ["resp1d", "resp2d"]`.
    #[serde(default)]
    pub categories: Option<BTreeMap<Category, Vec<ValuePattern>>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasSection {
    /// The CAS server root; `/login` and the validation path are appended.
    #[serde(default)]
    pub base_url: Option<Spanned<HttpsUrl>>,
    /// Explicit login URL, for servers whose endpoints do not share a root (PRONOTE's "adresses
    /// différentes").
    #[serde(default)]
    pub login_url: Option<Spanned<HttpsUrl>>,
    #[serde(default)]
    pub validate_url: Option<Spanned<HttpsUrl>>,
    #[serde(default)]
    pub validation: Option<Validation>,
    /// Fixed parameters added to every `/login` redirect (`selection`, `idpId`, `token`).
    #[serde(default)]
    pub login_params: Option<BTreeMap<String, Spanned<String>>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlSection {
    /// The IdP's entity ID (a URI; not always an URL).
    #[serde(default)]
    pub entity_id: Option<String>,
    /// SP-initiated single sign-on, HTTP-Redirect binding.
    #[serde(default)]
    pub sso_redirect_url: Option<HttpsUrl>,
    /// SP-initiated single sign-on, HTTP-POST binding.
    #[serde(default)]
    pub sso_post_url: Option<HttpsUrl>,
    /// IdP-initiated ("unsolicited") SSO, called with `?providerId=<SP entityID>`.
    #[serde(default)]
    pub unsolicited_sso_url: Option<HttpsUrl>,
}

/// A preset id: lowercase letters, digits and dashes (it is also the file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetIdText(pub String);

impl<'de> Deserialize<'de> for PresetIdText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let valid = !text.is_empty()
            && text.len() <= 64
            && !text.starts_with('-')
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(de::Error::custom(format!(
                "identifiant de preset invalide « {text} » : minuscules, chiffres et tirets (ex. \"ent-hdf\")"
            )));
        }
        Ok(PresetIdText(text))
    }
}

/// A DNS host name, optionally with a port (`ent77.seine-et-marne.fr`, `seshat.ac-x.fr:8443`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostName(pub String);

impl<'de> Deserialize<'de> for HostName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text.as_str(), None),
        };
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let valid = host.contains('.')
            && host.split('.').all(label_ok)
            && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
        if !valid {
            return Err(de::Error::custom(format!(
                "nom d'hôte invalide « {text} » : un nom DNS en minuscules, sans schéma ni chemin \
                 (ex. \"ent77.seine-et-marne.fr\")"
            )));
        }
        Ok(HostName(text))
    }
}
