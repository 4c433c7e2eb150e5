//! `protocol = "wsfed"` delegations: from the `[delegation.wsfed]` table to verification settings.
//! The STS metadata file and the pinned certificates are read here, so that `passerelle check` points
//! at the line of a missing file, an STS without signing certificate or a thumbprint that matches
//! nothing.

use std::path::Path;
use std::time::Duration;

use super::delegation::WsFedSettings;
use super::model::DelegationEntry;
use crate::auth::wsfed::{Settings, StsMetadata};
use crate::identity::mapping::{AttributeNames, CategoryValues, MappingRules};

/// The claim URIs ADFS (and node-wsfed) use, taken when the space file names none.
fn default_claims() -> AttributeNames {
    AttributeNames {
        login: None,
        nom: Some("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname".to_owned()),
        prenom: Some("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname".to_owned()),
        date_naissance: None,
        code_postal: None,
        categories: Some("http://schemas.xmlsoap.org/claims/Group".to_owned()),
        id_produit: None,
    }
}

pub fn resolve(
    file: &Path,
    entry: &DelegationEntry,
    at: &mut impl FnMut(std::ops::Range<usize>, String),
) -> Option<WsFedSettings> {
    let Some(wsfed) = &entry.wsfed else {
        at(
            entry.id.span(),
            "délégation WS-Federation : table [delegation.wsfed] exigée (realm, metadata)"
                .to_owned(),
        );
        return None;
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let realm = wsfed.realm.get_ref().trim();
    if realm.is_empty() {
        at(wsfed.realm.span(), "realm vide".to_owned());
        return None;
    }
    let metadata_path = dir.join(wsfed.metadata.get_ref());
    let mut sts = match StsMetadata::from_file(&metadata_path) {
        Ok(sts) => sts,
        Err(err) => {
            at(wsfed.metadata.span(), err.to_string());
            return None;
        }
    };
    let insecure =
        url::Url::parse(&sts.passive_endpoint).map_or(true, |url| url.scheme() != "https");
    if insecure && !entry.allow_insecure_http {
        at(
            wsfed.metadata.span(),
            format!(
                "point d'accès passif non chiffré « {} » : https:// exigé (allow_insecure_http = true \
                 seulement pour un essai local)",
                sts.passive_endpoint
            ),
        );
    }
    if !wsfed.certificates.is_empty() {
        let mut pems = Vec::new();
        for path in &wsfed.certificates {
            match std::fs::read(dir.join(path.get_ref())) {
                Ok(pem) => pems.push(pem),
                Err(err) => {
                    at(path.span(), format!("certificat illisible : {err}"));
                    return None;
                }
            }
        }
        if let Err(err) = sts.pin_certificates(&pems) {
            at(wsfed.certificates[0].span(), err.to_string());
            return None;
        }
    }
    if !wsfed.thumbprints.is_empty()
        && let Err(err) = sts.pin_thumbprints(&wsfed.thumbprints)
    {
        at(wsfed.metadata.span(), err.to_string());
        return None;
    }
    let mut settings = Settings::new(realm, sts);
    settings.home_realm = wsfed.home_realm.clone();
    settings.freshness = wsfed.freshness;
    settings.allow_sha1 = wsfed.allow_sha1;
    settings.clock_skew = wsfed.clock_skew.map_or(60, |d| d.0.as_secs());
    settings.max_token_age = wsfed
        .max_token_age
        .map_or(Duration::from_secs(3600), |d| d.0)
        .as_secs();
    let rules = MappingRules {
        names: entry
            .attributes
            .clone()
            .unwrap_or_default()
            .or(&default_claims()),
        categories: CategoryValues::with_overrides(&wsfed.profiles),
        matching: wsfed.matching.unwrap_or_default(),
    };
    Some(WsFedSettings {
        settings,
        rules,
        sign_out: wsfed.sign_out,
    })
}
