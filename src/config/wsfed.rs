//! `protocol = "wsfed"` delegations: from the `[delegation.wsfed]` table to verification settings.
//! The STS metadata file and the pinned certificates are read here, so that `passerelle check` points
//! at the line of a missing file, an STS without signing certificate or a thumbprint that matches
//! nothing.

use std::path::Path;
use std::time::Duration;

use super::delegation::WsFedSettings;
use super::model::DelegationEntry;
use crate::auth::wsfed::metadata::{MetadataUrl, Pins};
use crate::auth::wsfed::{Settings, StsMetadata};
use crate::identity::mapping::AttributeNames;

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
    let mut pins = Pins {
        certificates: Vec::new(),
        thumbprints: wsfed.thumbprints.clone(),
    };
    for path in &wsfed.certificates {
        match std::fs::read(dir.join(path.get_ref())) {
            Ok(pem) if openssl::x509::X509::from_pem(&pem).is_ok() => pins.certificates.push(pem),
            Ok(_) => {
                at(path.span(), "certificat PEM illisible".to_owned());
                return None;
            }
            Err(err) => {
                at(path.span(), format!("certificat illisible : {err}"));
                return None;
            }
        }
    }
    let location = wsfed.metadata.get_ref().to_string_lossy();
    let (sts, metadata_url) = if location.starts_with("https://") || location.starts_with("http://")
    {
        let Ok(url) = url::Url::parse(&location) else {
            at(
                wsfed.metadata.span(),
                format!("URL de métadonnées invalide « {location} »"),
            );
            return None;
        };
        if url.scheme() != "https" && !entry.allow_insecure_http {
            at(
                wsfed.metadata.span(),
                "métadonnées non chiffrées : https:// exigé (allow_insecure_http = true seulement \
                 pour un essai local)"
                    .to_owned(),
            );
        }
        let refresh = wsfed
            .metadata_refresh
            .map_or(Duration::from_secs(24 * 3600), |d| d.0)
            .max(Duration::from_secs(60));
        let source = MetadataUrl {
            url: url.into(),
            refresh,
            pins,
        };
        // Fetched by the running gateway; `passerelle check` stays offline.
        (StsMetadata::default(), Some(source))
    } else {
        let mut sts = match StsMetadata::from_file(&dir.join(wsfed.metadata.get_ref())) {
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
                    "point d'accès passif non chiffré « {} » : https:// exigé (allow_insecure_http = \
                     true seulement pour un essai local)",
                    sts.passive_endpoint
                ),
            );
        }
        if let Err(err) = pins.apply(&mut sts) {
            at(wsfed.metadata.span(), err.to_string());
            return None;
        }
        (sts, None)
    };
    let mut settings = Settings::new(realm, sts);
    settings.home_realm = wsfed.home_realm.clone();
    settings.freshness = wsfed.freshness;
    settings.allow_sha1 = wsfed.allow_sha1;
    settings.clock_skew = wsfed.clock_skew.map_or(60, |d| d.0.as_secs());
    settings.max_token_age = wsfed
        .max_token_age
        .map_or(Duration::from_secs(3600), |d| d.0)
        .as_secs();
    Some(WsFedSettings {
        settings,
        metadata_url,
        // Group claim values per profile: the delegation's `categories`, as for every protocol.
        mapping: super::delegation::mapping_rules(entry, &default_claims()),
        sign_out: wsfed.sign_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::delegation::{DelegationKind, resolve as resolve_space};
    use crate::config::model::SpaceFile;
    use crate::config::presets::Catalogue;

    const CERT: &str = include_str!("../../tests/fixtures/saml/idp.crt");

    fn metadata(endpoint: &str) -> String {
        let b64: String = CERT.lines().filter(|l| !l.starts_with("-----")).collect();
        format!(
            r#"<EntityDescriptor entityID="http://adfs.exemple.fr/adfs/services/trust" xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>{b64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor><fed:PassiveRequestorEndpoint><EndpointReference xmlns="http://www.w3.org/2005/08/addressing"><Address>{endpoint}</Address></EndpointReference></fed:PassiveRequestorEndpoint></RoleDescriptor></EntityDescriptor>"#
        )
    }

    fn load(dir: &Path, text: &str) -> (Vec<crate::config::DelegationSettings>, String) {
        let file: SpaceFile = toml::from_str(text).expect("space file");
        let mut problems = Vec::new();
        let resolved = resolve_space(
            &dir.join("professeur.toml"),
            text,
            file.delegations,
            &Catalogue::default(),
            &mut problems,
        );
        let all = problems.iter().map(ToString::to_string).collect::<Vec<_>>();
        (resolved, all.join("\n"))
    }

    const HEAD: &str = "published = true\n[[delegation]]\nid = \"adfs\"\nprotocol = \"wsfed\"\n";

    #[test]
    fn a_wsfed_delegation_reads_its_metadata_and_profiles() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sts.xml"),
            metadata("https://adfs.exemple.fr/adfs/ls/"),
        )
        .unwrap();
        let (resolved, problems) = load(
            dir.path(),
            &format!(
                "{HEAD}categories = {{ National_3 = [\"Professeurs\"] }}\n[delegation.wsfed]\nrealm = \"urn:pronote\"\nmetadata = \"sts.xml\"\n\
                 home_realm = \"urn:ad\"\n"
            ),
        );
        assert!(problems.is_empty(), "{problems}");
        let DelegationKind::Wsfed(wsfed) = &resolved[0].kind else {
            panic!("WS-Fed expected");
        };
        let s = &wsfed.settings;
        assert_eq!(s.realm, "urn:pronote");
        assert_eq!(
            s.sts.entity_id,
            "http://adfs.exemple.fr/adfs/services/trust"
        );
        assert_eq!(s.sts.passive_endpoint, "https://adfs.exemple.fr/adfs/ls/");
        assert_eq!(s.home_realm.as_deref(), Some("urn:ad"));
        let teacher: Vec<_> = wsfed
            .mapping
            .categories
            .categories_of("professeurs")
            .collect();
        assert_eq!(teacher, [crate::identity::mapping::Category::Enseignant]);
        assert_eq!(
            wsfed.mapping.names.categories.as_deref(),
            Some("http://schemas.xmlsoap.org/claims/Group")
        );
    }

    #[test]
    fn problems_point_at_the_wsfed_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("http.xml"),
            metadata("http://adfs.exemple.fr/adfs/ls/"),
        )
        .unwrap();
        let (_, problems) = load(dir.path(), HEAD);
        assert!(problems.contains("[delegation.wsfed] exigée"), "{problems}");
        let (_, problems) = load(
            dir.path(),
            &format!("{HEAD}[delegation.wsfed]\nrealm = \"urn:p\"\nmetadata = \"absent.xml\"\n"),
        );
        assert!(problems.contains(":7:"), "{problems}");
        let (_, problems) = load(
            dir.path(),
            &format!("{HEAD}[delegation.wsfed]\nrealm = \"urn:p\"\nmetadata = \"http.xml\"\n"),
        );
        assert!(problems.contains("https:// exigé"), "{problems}");
        let (_, problems) = load(
            dir.path(),
            &format!(
                "{HEAD}allow_insecure_http = true\n[delegation.wsfed]\nrealm = \"urn:p\"\n\
                 metadata = \"http.xml\"\nthumbprints = [\"00ff\"]\n"
            ),
        );
        assert!(problems.contains("empreintes"), "{problems}");
        let (_, problems) = load(
            dir.path(),
            "published = true\n[[delegation]]\nid = \"ent\"\nprotocol = \"cas\"\n\
             base_url = \"https://ent.exemple.fr/cas\"\n[delegation.wsfed]\nrealm = \"urn:p\"\n\
             metadata = \"http.xml\"\n",
        );
        assert!(problems.contains("ne sert qu'avec"), "{problems}");
        assert!(
            toml::from_str::<SpaceFile>(&format!(
                "{HEAD}[delegation.wsfed]\nrealm = \"urn:p\"\nmetadata = \"x\"\nrelam = \"typo\"\n"
            ))
            .is_err()
        );
    }
}
