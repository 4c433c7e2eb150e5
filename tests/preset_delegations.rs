//! The ENT catalogue feeds delegations: every usable CAS preset becomes a working delegation whose
//! login redirect is built, and a space file can override what a preset says.

mod common;

use std::path::{Path, PathBuf};

use passerelle::auth::cas::client::login_redirect;
use passerelle::config::presets::{self, PresetProtocol, Status};
use passerelle::config::{self, Config, DelegationKind};
use passerelle::space::SpaceId;

fn catalogue_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ent-presets")
}

/// A valid configuration whose parents' space has `delegation` as its only `[[delegation]]`.
fn with_parent_delegation(dir: &Path, delegation: &str) -> PathBuf {
    let path = common::Setup::new("127.0.0.1:9".parse().unwrap()).write(dir);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = format!("presets_dir = \"{}\"\n{text}", catalogue_dir().display());
    std::fs::write(&path, text).unwrap();
    std::fs::write(
        dir.join("spaces/parent.toml"),
        format!(
            "published = true\ndirect_login = \"when_idp_down\"\n\n[[delegation]]\n{delegation}"
        ),
    )
    .unwrap();
    path
}

fn load(path: &Path) -> Result<Config, String> {
    config::load(path).map_err(|problems| problems.to_string())
}

fn parent_cas(config: &Config) -> &passerelle::config::CasSettings {
    match &config.spaces.get(SpaceId::Parent).delegations[0].kind {
        DelegationKind::Cas(cas) => cas,
        #[allow(unreachable_patterns)]
        _ => panic!("a CAS delegation"),
    }
}

#[test]
fn every_usable_cas_preset_becomes_a_delegation_with_its_login_redirect() {
    let catalogue = presets::load_dir(&catalogue_dir()).unwrap();
    let service = "https://pronote.example.fr/auth/callback/parent/ent";
    let mut built = 0;
    for preset in catalogue.iter() {
        let usable = preset.protocol == PresetProtocol::Cas
            && preset.status != Status::Obsolete
            && preset.cas.as_ref().is_some_and(|cas| {
                cas.login_endpoint().is_some() && cas.validate_endpoint().is_some()
            });
        if !usable {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = with_parent_delegation(
            dir.path(),
            &format!(
                "id = \"ent\"\nprotocol = \"cas\"\npreset = \"{}\"\n",
                preset.id
            ),
        );
        let config =
            load(&path).unwrap_or_else(|problems| panic!("preset {}: {problems}", preset.id));
        let delegation = &config.spaces.get(SpaceId::Parent).delegations[0];
        assert_eq!(delegation.label, preset.label, "{}", preset.id);
        let redirect = url::Url::parse(&login_redirect(parent_cas(&config), service)).unwrap();
        assert_eq!(redirect.scheme(), "https", "{}", preset.id);
        let pairs: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
        assert_eq!(
            pairs[0],
            ("service".to_owned(), service.to_owned()),
            "{}",
            preset.id
        );
        for (name, value) in &preset.cas.as_ref().unwrap().login_params {
            assert!(
                pairs.contains(&(name.clone(), value.clone())),
                "{}: {name}={value} in {redirect}",
                preset.id
            );
        }
        built += 1;
    }
    assert!(built >= 60, "only {built} presets built a redirect");
}

#[test]
fn a_space_file_overrides_what_the_preset_says() {
    let dir = tempfile::tempdir().unwrap();
    let path = with_parent_delegation(
        dir.path(),
        "id = \"ent\"\nprotocol = \"cas\"\npreset = \"arsene76-educonnect\"\nlabel = \"Élève ou parent\"\nvalidation = \"p3\"\n\
         [delegation.login_params]\nselection = \"AUTRE_parent_eleve\"\n",
    );
    let config = load(&path).unwrap();
    let delegation = &config.spaces.get(SpaceId::Parent).delegations[0];
    assert_eq!(delegation.label, "Élève ou parent");
    let cas = parent_cas(&config);
    assert!(
        cas.validate_url.as_str().ends_with("/p3/serviceValidate"),
        "{}",
        cas.validate_url
    );
    assert!(
        cas.login_url
            .as_str()
            .starts_with("https://cas.arsene76.fr/"),
        "{}",
        cas.login_url
    );
    let redirect = login_redirect(cas, "https://pronote.example.fr/cb");
    assert!(
        redirect.contains("selection=AUTRE_parent_eleve"),
        "{redirect}"
    );
    assert!(
        !redirect.contains("EDU_parent_eleve"),
        "the space file's value wins: {redirect}"
    );
}

#[test]
fn an_obsolete_or_unknown_preset_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = with_parent_delegation(
        dir.path(),
        "id = \"ent\"\nprotocol = \"cas\"\npreset = \"arsene76-aten\"\n",
    );
    let problems = load(&path).unwrap_err();
    assert!(problems.contains("spaces/parent.toml:7:10:"), "{problems}");
    assert!(
        problems.contains("obsolète") && problems.contains("arsene76-educonnect"),
        "{problems}"
    );

    let path = with_parent_delegation(
        dir.path(),
        "id = \"ent\"\nprotocol = \"cas\"\npreset = \"ent-imaginaire\"\n",
    );
    let problems = load(&path).unwrap_err();
    assert!(
        problems.contains("preset inconnu « ent-imaginaire »"),
        "{problems}"
    );
}

/// The preset's first-connection mode and category values reach the mapping rules; a space file that
/// names one attribute (the product id the preset leaves open) keeps the preset's other names, and a
/// category it redefines replaces only that category.
#[test]
fn preset_mapping_rules_merge_with_the_space_file() {
    use passerelle::identity::mapping::{Attributes, Category, MatchingMode, map_attributes};
    let dir = tempfile::tempdir().unwrap();
    let path = with_parent_delegation(
        dir.path(),
        "id = \"ent\"\nprotocol = \"cas\"\npreset = \"chercan-avec-alimentation\"\n\
         attributes = { id_produit = \"pronoteId\" }\ncategories = { National_2 = [\"Responsable*\"] }\n",
    );
    let config = load(&path).unwrap();
    let rules = &parent_cas(&config).mapping;
    assert_eq!(rules.matching, MatchingMode::ProductId);
    assert_eq!(rules.names.id_produit.as_deref(), Some("pronoteId"));
    assert_eq!(
        rules.names.nom.as_deref(),
        Some("nom"),
        "kept from the preset"
    );

    let released: Attributes = [("pronoteId", "12345"), ("categories", "ResponsableLegal")]
        .into_iter()
        .collect();
    let mapped = map_attributes(Some("u1"), &released, rules).unwrap();
    assert_eq!(mapped.fields.id_produit.as_deref(), Some("12345"));
    assert!(mapped.categories.contains(&Category::Parent));
    // Without the product id, PRONOTE could not match the account: refused before PRONOTE sees it.
    let without: Attributes = [("categories", "National_1")].into_iter().collect();
    assert_eq!(
        map_attributes(Some("u1"), &without, rules)
            .unwrap_err()
            .code(),
        "id_produit_absent"
    );
}
