//! A SAML2 `[[delegation]]` resolved: keys and certificates read, the IdP metadata (when a file) read
//! and checked, EduConnect's security profile applied, each problem located to its file and line.
//! What only the running gateway knows (the ACS and SLS URLs) is added by the registry.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use url::Url;

use super::model::DelegationEntry;
use crate::auth::saml::{IdpMetadata, KeyPair, educonnect};
use crate::identity::mapping::{AttributeNames, MappingRules};

const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(60);
const DEFAULT_MAX_ISSUE_AGE: Duration = Duration::from_secs(300);
const DEFAULT_METADATA_REFRESH: Duration = Duration::from_secs(3600);

/// Where the IdP metadata comes from; both are read again every `metadata_refresh`.
#[derive(Debug, Clone)]
pub enum IdpSource {
    /// A local file, already read and checked once at load.
    File { path: PathBuf, first: IdpMetadata },
    /// Fetched at start and then periodically (https, or http on loopback for tests).
    Url(Url),
}

/// A resolved SAML2 delegation (see docs/saml.md).
#[derive(Debug, Clone)]
pub struct SamlConfig {
    pub sp_entity_id: String,
    pub idp: IdpSource,
    /// The entityID the metadata must describe.
    pub idp_entity_id: Option<String>,
    /// Pinned signing certificates (PEM), replacing the metadata's.
    pub idp_certificates: Vec<Vec<u8>>,
    pub signing_key: Option<KeyPair>,
    pub encryption_keys: Vec<KeyPair>,
    pub allow_unsolicited: bool,
    pub allow_sha1: bool,
    pub clock_skew: Duration,
    pub max_issue_age: Duration,
    pub metadata_refresh: Duration,
    pub educonnect: bool,
    /// How the assertion's attributes become PRONOTE fields (not used with `educonnect`); without a
    /// `login` attribute, a non-transient NameID names the person.
    pub mapping: MappingRules,
}

pub fn resolve(
    file: &Path,
    entry: &DelegationEntry,
    at: &mut impl FnMut(std::ops::Range<usize>, String),
) -> Option<SamlConfig> {
    let (Some(sp_entity_id), Some(metadata)) = (&entry.sp_entity_id, &entry.idp_metadata) else {
        at(
            entry.id.span(),
            "délégation SAML : sp_entity_id et idp_metadata sont exigés".to_owned(),
        );
        return None;
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let now = chrono::Utc::now().timestamp();
    let expected = entry.idp_entity_id.as_deref();
    let mut found: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let idp = if metadata.get_ref().starts_with("https://")
        || metadata.get_ref().starts_with("http://")
    {
        match Url::parse(metadata.get_ref()) {
            Ok(url) => {
                let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
                if url.scheme() != "https" && !loopback {
                    found.push((metadata.span(), "métadonnées : https:// exigé".to_owned()));
                }
                Some(IdpSource::Url(url))
            }
            Err(err) => {
                found.push((
                    metadata.span(),
                    format!("URL de métadonnées invalide : {err}"),
                ));
                None
            }
        }
    } else {
        let path = dir.join(metadata.get_ref());
        match IdpMetadata::from_file(&path, expected, now) {
            Ok(first) => Some(IdpSource::File { path, first }),
            Err(err) => {
                found.push((metadata.span(), format!("{err} ({})", path.display())));
                None
            }
        }
    };
    let idp_certificates: Vec<Vec<u8>> = entry
        .idp_certificates
        .iter()
        .filter_map(|c| read_file(dir, c, &mut found))
        .collect();
    let signing_key = match (&entry.signing_key, &entry.signing_certificate) {
        (Some(key), Some(cert)) => key_pair(dir, key, cert, &mut found),
        (None, None) => None,
        _ => {
            found.push((
                entry.id.span(),
                "signing_key et signing_certificate vont ensemble".to_owned(),
            ));
            None
        }
    };
    let encryption_keys: Vec<KeyPair> = entry
        .encryption_keys
        .iter()
        .filter_map(|files| key_pair(dir, &files.key, &files.certificate, &mut found))
        .collect();
    let educonnect = entry.educonnect.unwrap_or(false);
    if educonnect
        && let Some(problem) = educonnect::profile_problem(
            entry.allow_sha1,
            !encryption_keys.is_empty(),
            signing_key.is_some(),
        )
    {
        found.push((entry.id.span(), problem.to_owned()));
    }
    let clean = found.is_empty();
    for (span, message) in found {
        at(span, message);
    }
    let idp = idp?;
    clean.then(|| SamlConfig {
        sp_entity_id: sp_entity_id.clone(),
        idp,
        idp_entity_id: entry.idp_entity_id.clone(),
        idp_certificates,
        signing_key,
        encryption_keys,
        allow_unsolicited: entry.allow_unsolicited,
        allow_sha1: entry.allow_sha1,
        clock_skew: entry.clock_skew.map_or(DEFAULT_CLOCK_SKEW, |d| d.0),
        max_issue_age: entry.max_issue_age.map_or(DEFAULT_MAX_ISSUE_AGE, |d| d.0),
        metadata_refresh: entry
            .metadata_refresh
            .map_or(DEFAULT_METADATA_REFRESH, |d| d.0),
        educonnect,
        // SAML has no usual attribute names: only what the preset or the space file names.
        mapping: super::delegation::mapping_rules(entry, &AttributeNames::default()),
    })
}

fn read_file(
    dir: &Path,
    spanned: &Spanned<PathBuf>,
    found: &mut Vec<(std::ops::Range<usize>, String)>,
) -> Option<Vec<u8>> {
    let path = dir.join(spanned.get_ref());
    std::fs::read(&path)
        .map_err(|err| {
            found.push((
                spanned.span(),
                format!("{} illisible : {err}", path.display()),
            ))
        })
        .ok()
}

fn key_pair(
    dir: &Path,
    key: &Spanned<PathBuf>,
    cert: &Spanned<PathBuf>,
    found: &mut Vec<(std::ops::Range<usize>, String)>,
) -> Option<KeyPair> {
    let (key_pem, cert_pem) = (read_file(dir, key, found)?, read_file(dir, cert, found)?);
    KeyPair::from_pem(&key_pem, &cert_pem)
        .map_err(|err| found.push((key.span(), err.to_string())))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::super::delegation::{DelegationKind, DelegationSettings, resolve as resolve_all};
    use super::super::model::SpaceFile;
    use super::super::presets;
    use super::*;

    const IDP: &str = "https://pr4.educonnect.phm.education.gouv.fr/idp";

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/saml")
    }

    /// Writes the space file and an IdP metadata file beside it, and resolves the delegations.
    fn load(body: &str) -> (Vec<DelegationSettings>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let pem = std::fs::read_to_string(fixtures().join("idp.crt")).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        std::fs::write(
            dir.path().join("idp.xml"),
            format!(
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
            ),
        )
        .unwrap();
        let text = body.replace("FIX", fixtures().to_str().unwrap());
        let file: SpaceFile = toml::from_str(&text).unwrap();
        let catalogue =
            presets::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("ent-presets")).unwrap();
        let mut problems = Vec::new();
        let resolved = resolve_all(
            &dir.path().join("eleve.toml"),
            &text,
            file.delegations,
            &catalogue,
            &mut problems,
        );
        (resolved, problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn the_educonnect_preset_gives_a_profiled_saml_delegation_with_rollover_keys() {
        let (resolved, problems) = load(
            r#"published = true
[[delegation]]
id = "educonnect"
protocol = "saml"
preset = "educonnect-pr4"
sp_entity_id = "https://passerelle.example/saml"
idp_metadata = "idp.xml"
signing_key = "FIX/sp.key"
signing_certificate = "FIX/sp.crt"
encryption_keys = [
  { key = "FIX/sp2.key", certificate = "FIX/sp2.crt" },
  { key = "FIX/sp.key", certificate = "FIX/sp.crt" },
]
clock_skew = "30s"
"#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let DelegationKind::Saml(saml) = &resolved[0].kind else {
            panic!("SAML expected");
        };
        assert!(saml.educonnect);
        assert_eq!(saml.idp_entity_id.as_deref(), Some(IDP));
        assert_eq!(saml.encryption_keys.len(), 2);
        assert_eq!(saml.clock_skew, Duration::from_secs(30));
        assert!(matches!(&saml.idp, IdpSource::File { first, .. } if first.entity_id == IDP));
        assert_eq!(resolved[0].label, "EduConnect (pré-production PR4)");
    }

    #[test]
    fn educonnect_without_encryption_key_or_with_sha1_is_refused_at_its_line() {
        let (resolved, problems) = load(
            "published = true\n[[delegation]]\nid = \"educonnect\"\nprotocol = \"saml\"\npreset = \"educonnect-pr4\"\nsp_entity_id = \"https://p.example/saml\"\nidp_metadata = \"idp.xml\"\nallow_sha1 = true\n",
        );
        assert!(resolved.is_empty());
        let all = problems.join("\n");
        assert!(all.contains("eleve.toml:3:"), "{all}");
        assert!(all.contains("SHA-256"), "{all}");
    }

    #[test]
    fn missing_files_wrong_entity_plain_http_and_protocol_mismatch_are_located() {
        let (_, problems) = load(
            "published = true\n[[delegation]]\nid = \"a\"\nprotocol = \"saml\"\nsp_entity_id = \"https://p.example/saml\"\nidp_metadata = \"absent.xml\"\n[[delegation]]\nid = \"b\"\nprotocol = \"saml\"\nsp_entity_id = \"s\"\nidp_metadata = \"idp.xml\"\nidp_entity_id = \"https://autre.example/idp\"\nsigning_key = \"FIX/nope.key\"\nsigning_certificate = \"FIX/sp.crt\"\n[[delegation]]\nid = \"c\"\nprotocol = \"saml\"\nsp_entity_id = \"s\"\nidp_metadata = \"http://idp.example/metadata\"\n[[delegation]]\nid = \"d\"\nprotocol = \"cas\"\npreset = \"educonnect\"\n[[delegation]]\nid = \"e\"\nprotocol = \"saml\"\n",
        );
        let all = problems.join("\n");
        assert!(
            all.contains("eleve.toml:6:") && all.contains("absent.xml"),
            "{all}"
        );
        assert!(
            all.contains("au lieu de https://autre.example/idp"),
            "{all}"
        );
        assert!(all.contains("nope.key illisible"), "{all}");
        assert!(all.contains("https:// exigé"), "{all}");
        assert!(all.contains("est en protocole saml"), "{all}");
        assert!(all.contains("sp_entity_id et idp_metadata"), "{all}");
    }
}
