//! The ENT preset catalogue: the shipped files load and pass the checks, broken files are reported
//! with file:line:column, inheritance resolves as documented, the CLI lists and shows presets, and the
//! presets drive the identity mapping.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use passerelle::config::presets::{self, Catalogue, Filter, PresetProtocol, Status, Validation};
use passerelle::identity::mapping::{
    Attributes, Category, MatchingMode, SpaceRules, map_attributes,
};
use passerelle::space::SpaceId;
use url::Url;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn catalogue() -> Catalogue {
    match presets::load_dir(&repo().join("ent-presets")) {
        Ok(catalogue) => catalogue,
        Err(problems) => panic!("the shipped catalogue must load:\n{problems}"),
    }
}

#[test]
fn every_shipped_preset_file_loads_and_there_are_at_least_sixty() {
    let catalogue = catalogue();
    let files = std::fs::read_dir(repo().join("ent-presets"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(catalogue.len(), files, "one preset per file");
    assert!(catalogue.len() >= 60, "{} presets", catalogue.len());
    for preset in catalogue.iter() {
        assert!(!preset.sources.is_empty(), "{} has sources", preset.id);
        let stem = preset.file.file_stem().unwrap().to_str().unwrap();
        assert_eq!(stem, preset.id, "file name is the id");
        if preset.status != Status::Current {
            // Legacy and obsolete entries point to a live successor when one is known.
            if let Some(successor) = &preset.successor {
                assert!(catalogue.get(successor).is_some());
            }
        }
    }
    for required in [
        "educonnect",
        "educonnect-pr4",
        "configuration-manuelle",
        "hubeduconnect",
    ] {
        assert!(
            catalogue.get(required).is_some(),
            "{required} is in the catalogue"
        );
    }
}

#[test]
fn every_cas_preset_with_urls_builds_an_https_login_redirect() {
    let catalogue = catalogue();
    let service = Url::parse("https://pronote.college.fr/pronote/parent.html").unwrap();
    let mut built = 0;
    for preset in catalogue.iter() {
        let Some(cas) = &preset.cas else { continue };
        let Some(redirect) = cas.login_redirect(&service) else {
            // Only gone services and presets that leave the host to the space file lack a URL; the
            // latter say so.
            assert!(
                preset.status == Status::Obsolete
                    || preset
                        .notes
                        .as_deref()
                        .unwrap_or("")
                        .contains("fichier d'espace"),
                "{} has no CAS URL and does not explain why",
                preset.id
            );
            continue;
        };
        built += 1;
        assert_eq!(redirect.scheme(), "https", "{}", preset.id);
        assert!(
            redirect.path().ends_with("/login"),
            "{}: {redirect}",
            preset.id
        );
        let pairs: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
        assert_eq!(
            pairs[0],
            ("service".into(), service.to_string()),
            "{}",
            preset.id
        );
        for (name, value) in &cas.login_params {
            assert!(
                pairs.contains(&(name.clone(), value.clone())),
                "{}",
                preset.id
            );
        }
        let validate = cas.validate_endpoint().unwrap();
        assert_eq!(validate.scheme(), "https");
    }
    assert!(built >= 60, "{built} CAS presets build a redirect");
}

#[test]
fn variants_inherit_from_their_base_and_override_only_what_they_say() {
    let catalogue = catalogue();
    let edu = catalogue.get("monbureaunumerique-educonnect").unwrap();
    let cas = edu.cas.as_ref().unwrap();
    assert_eq!(
        cas.login_endpoint().unwrap().as_str(),
        "https://cas.monbureaunumerique.fr/login"
    );
    assert_eq!(
        cas.login_params.get("selection").map(String::as_str),
        Some("EDU")
    );
    assert_eq!(
        edu.territory,
        catalogue.get("monbureaunumerique").unwrap().territory
    );

    let with = catalogue.get("chercan-avec-alimentation").unwrap();
    let without = catalogue.get("chercan-sans-alimentation").unwrap();
    assert_eq!(with.matching, MatchingMode::ProductId);
    assert_eq!(without.matching, MatchingMode::Identity);
    assert_eq!(with.cas, without.cas);

    // Edifice ENTs get PronoteRegisteredService's attribute names and samlValidate from the base.
    let hdf = catalogue.get("enthdf").unwrap();
    assert_eq!(hdf.extends.as_deref(), Some("open-ent-ng"));
    assert_eq!(
        hdf.cas.as_ref().unwrap().validation,
        Validation::SamlValidate
    );
    assert_eq!(
        hdf.cas
            .as_ref()
            .unwrap()
            .validate_endpoint()
            .unwrap()
            .as_str(),
        "https://enthdf.fr/cas/samlValidate"
    );
    assert_eq!(
        hdf.attributes.date_naissance.as_deref(),
        Some("dateNaissance")
    );
    assert!(hdf.documentation.is_some());

    // A renamed host: the new URL, the old host as an alias.
    let ent77 = catalogue.get("ent77").unwrap();
    assert_eq!(
        ent77
            .cas
            .as_ref()
            .unwrap()
            .base_url
            .as_ref()
            .unwrap()
            .host_str(),
        Some("ent.seine-et-marne.fr")
    );
    assert!(
        ent77
            .hosts()
            .contains(&"ent77.seine-et-marne.fr".to_owned())
    );

    // Pre-production never inherits production endpoints.
    let pr4 = catalogue.get("educonnect-pr4").unwrap();
    let saml = pr4.saml.as_ref().unwrap();
    assert_eq!(
        saml.entity_id.as_deref(),
        Some("https://pr4.educonnect.phm.education.gouv.fr/idp")
    );
    assert_eq!(saml.sso_redirect_url, None);
    assert_eq!(
        pr4.attributes,
        catalogue.get("educonnect").unwrap().attributes
    );

    let obsolete = catalogue.get("entmip").unwrap();
    assert_eq!(obsolete.status, Status::Obsolete);
    assert_eq!(obsolete.successor.as_deref(), Some("mon-ent-occitanie"));
}

#[test]
fn list_filters_by_territory_protocol_and_word_ignoring_accents() {
    let catalogue = catalogue();
    let saml = catalogue.filter(&Filter {
        protocol: Some(PresetProtocol::Saml),
        ..Filter::default()
    });
    assert!(saml.iter().all(|p| p.protocol == PresetProtocol::Saml));
    assert!(saml.iter().any(|p| p.id == "educonnect"));

    let loiret = catalogue.filter(&Filter {
        territory: Some("LOIR-ET-CHER".into()),
        ..Filter::default()
    });
    let ids: BTreeSet<&str> = loiret.iter().map(|p| p.id.as_str()).collect();
    assert!(ids.contains("colleges41-avec-alimentation"), "{ids:?}");

    let by_word = catalogue.filter(&Filter {
        search: Some("euréliens".into()),
        ..Filter::default()
    });
    assert_eq!(by_word.len(), 3, "base and its two variants");
    let by_host = catalogue.filter(&Filter {
        search: Some("seine-et-marne".into()),
        ..Filter::default()
    });
    assert!(by_host.iter().any(|p| p.id == "ent77"));
}

// --- The CLI -----------------------------------------------------------------------------------------

fn passerelle(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(args)
        .current_dir(repo())
        .env_remove("PASSERELLE_PRESETS_DIR")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn presets_list_prints_a_filtered_table() {
    let (ok, out, _) = passerelle(&["presets", "list", "--protocol", "saml"]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("TERRITOIRE"));
    assert!(out.contains("educonnect-pr4"));
    assert!(!out.contains("monbureaunumerique"));
    assert!(lines.last().unwrap().ends_with("preset(s)"));

    let (ok, out, _) = passerelle(&[
        "presets",
        "list",
        "--territory",
        "cher",
        "--search",
        "alimentation",
    ]);
    assert!(ok);
    assert!(out.contains("chercan-avec-alimentation") && out.contains("chercan-sans-alimentation"));

    let (ok, _, err) = passerelle(&["presets", "list", "--protocol", "ldap"]);
    assert!(!ok);
    assert!(err.contains("protocole inconnu"), "{err}");
}

#[test]
fn presets_show_prints_the_effective_preset_with_its_inheritance() {
    let (ok, out, _) = passerelle(&[
        "presets",
        "show",
        "mon-ent-occitanie-enseignants-montpellier",
    ]);
    assert!(ok);
    assert!(
        out.contains("hérite de             mon-ent-occitanie"),
        "{out}"
    );
    assert!(out.contains("https://cas.mon-ent-occitanie.fr/login"));
    assert!(out.contains("selection=MONTP-AAA_enseignant"));
    assert!(
        out.contains("[mon-ent-occitanie]"),
        "inherited sources are labelled"
    );

    let (ok, _, err) = passerelle(&["presets", "show", "nope"]);
    assert!(!ok);
    assert!(err.contains("introuvable"));
}

#[test]
fn presets_show_lists_what_a_space_file_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let space = dir.path().join("parent.toml");
    std::fs::write(
        &space,
        "published = true\n[[delegation]]\nid = \"ent\"\nprotocol = \"cas\"\npreset = \"arsene76-educonnect\"\n\
         validation = \"p3\"\nlogin_params = { selection = \"AUTRE_parent_eleve\" }\n",
    )
    .unwrap();
    let space = space.to_str().unwrap();
    let (ok, out, err) = passerelle(&[
        "presets",
        "show",
        "arsene76-educonnect",
        "--space-file",
        space,
    ]);
    assert!(ok, "{err}");
    let (preset, overridden) = out
        .split_once("[surchargé par le fichier d'espace : délégation « ent »]")
        .expect("an overrides section");
    assert!(preset.contains("selection=EDU_parent_eleve"), "{preset}");
    assert!(
        overridden.contains("validation            \"p3\""),
        "{overridden}"
    );
    assert!(overridden.contains("AUTRE_parent_eleve"), "{overridden}");
    assert!(!overridden.contains("protocol"), "{overridden}");

    let (ok, _, err) = passerelle(&[
        "presets",
        "show",
        "chercan-avec-alimentation",
        "--space-file",
        space,
    ]);
    assert!(!ok);
    assert!(err.contains("aucune délégation n'utilise"), "{err}");
}

#[test]
fn a_broken_catalogue_makes_the_cli_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "x.toml",
        "id = \"x\"\nsources = []\nsurprise = 1\n",
    );
    let (ok, _, err) = passerelle(&["presets", "--dir", dir.path().to_str().unwrap(), "list"]);
    assert!(!ok);
    assert!(err.contains("x.toml:3:1"), "{err}");
}

// --- Broken presets ---------------------------------------------------------------------------------

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const GOOD: &str = r#"id = "base"
label = "Base"
territory = "Ici"
family = "kosmos"
protocol = "cas"
sources = ["test"]

[cas]
base_url = "https://cas.example.fr"
"#;

/// The problems reported for a catalogue made of `GOOD` plus `files`, as "file:line:col: message".
fn problems(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base.toml", GOOD);
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    match presets::load_dir(dir.path()) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .0
            .iter()
            .map(|p| {
                let shown = p.to_string();
                shown
                    .strip_prefix(&format!("{}/", dir.path().display()))
                    .unwrap_or(&shown)
                    .to_owned()
            })
            .collect(),
    }
}

fn variant(id: &str, body: &str) -> String {
    format!("id = \"{id}\"\nextends = \"base\"\nsources = [\"test\"]\n{body}")
}

#[test]
fn the_good_fixture_loads() {
    assert_eq!(problems(&[]), Vec::<String>::new());
}

#[test]
fn an_unknown_key_is_located() {
    let found = problems(&[("v.toml", &variant("v", "colour = \"blue\"\n"))]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("v.toml:4:1: unknown field `colour`"),
        "{found:?}"
    );
}

#[test]
fn a_plain_http_url_is_refused_where_it_is_written() {
    let found = problems(&[(
        "v.toml",
        &variant("v", "\n[cas]\nbase_url = \"http://cas.example.fr\"\n"),
    )]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("v.toml:6:12:"), "{found:?}");
    assert!(found[0].contains("seul https://"), "{found:?}");
    let found = problems(&[("v.toml", &variant("v", "documentation = \"pas une url\"\n"))]);
    assert!(
        found[0].starts_with("v.toml:4:17:") && found[0].contains("URL invalide"),
        "{found:?}"
    );
}

#[test]
fn a_duplicate_id_is_reported_on_the_second_file() {
    let found = problems(&[("zz-copy.toml", &GOOD.replace("Base", "Copie"))]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("zz-copy.toml:1:6: identifiant « base » déjà utilisé par"),
        "{found:?}"
    );
}

#[test]
fn dangling_successors_and_bases_are_reported() {
    let found = problems(&[(
        "v.toml",
        &variant("v", "status = \"obsolete\"\nsuccessor = \"ghost\"\n"),
    )]);
    assert_eq!(
        found,
        ["v.toml:5:13: successeur « ghost » introuvable dans le catalogue"]
    );
    let found = problems(&[(
        "v.toml",
        "id = \"v\"\nextends = \"ghost\"\nsources = [\"t\"]\n",
    )]);
    assert_eq!(
        found,
        ["v.toml:2:11: extends : preset « ghost » introuvable dans le catalogue"]
    );
}

#[test]
fn an_inheritance_cycle_is_refused() {
    let found = problems(&[
        ("a.toml", "id = \"a\"\nextends = \"b\"\nsources = [\"t\"]\n"),
        ("b.toml", "id = \"b\"\nextends = \"c\"\nsources = [\"t\"]\n"),
        ("c.toml", "id = \"c\"\nextends = \"a\"\nsources = [\"t\"]\n"),
        ("d.toml", "id = \"d\"\nextends = \"a\"\nsources = [\"t\"]\n"),
    ]);
    assert_eq!(
        found.len(),
        3,
        "one per member of the cycle, none for d: {found:?}"
    );
    assert!(
        found.contains(&"a.toml:2:11: héritage circulaire : a → b → c → a".to_owned()),
        "{found:?}"
    );
    let found = problems(&[("s.toml", "id = \"s\"\nextends = \"s\"\nsources = [\"t\"]\n")]);
    assert!(
        found
            .iter()
            .any(|p| p.contains("ne peut s'étendre lui-même")),
        "{found:?}"
    );
}

#[test]
fn sources_are_required_in_every_file() {
    let found = problems(&[("v.toml", "id = \"v\"\nextends = \"base\"\n")]);
    assert_eq!(found, ["v.toml: missing field `sources`"]);
    let found = problems(&[("v.toml", "id = \"v\"\nextends = \"base\"\nsources = []\n")]);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("v.toml:3:11: sources"), "{found:?}");
}

#[test]
fn incoherent_fields_are_reported() {
    let both = variant(
        "v",
        "\n[cas]\nbase_url = \"https://a.fr\"\nlogin_url = \"https://a.fr/login\"\nvalidate_url = \"https://a.fr/v\"\n",
    );
    let found = problems(&[("v.toml", &both)]);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("v.toml:7:13:") && p.contains("pas les deux")),
        "{found:?}"
    );

    let half = variant("v", "\n[cas]\nlogin_url = \"https://a.fr/login\"\n");
    assert!(problems(&[("v.toml", &half)])[0].contains("demande aussi validate_url"));

    let reserved = variant(
        "v",
        "\n[cas]\nlogin_params = { service = \"https://evil.fr\" }\n",
    );
    assert!(problems(&[("v.toml", &reserved)])[0].contains("fixé par la passerelle"));

    let current = variant("v", "successor = \"base\"\n");
    assert!(problems(&[("v.toml", &current)])[0].contains("legacy"));

    let missing = "id = \"lonely\"\nsources = [\"t\"]\nlabel = \"L\"\n";
    let found = problems(&[("lonely.toml", missing)]);
    assert!(
        found
            .iter()
            .any(|p| p.contains("champ « territory » manquant")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("champ « protocol » manquant")),
        "{found:?}"
    );

    let mixed = variant("v", "\n[saml]\nentity_id = \"urn:x\"\n");
    assert!(problems(&[("v.toml", &mixed)])[0].contains("[saml] sans objet"));

    let bad_id = GOOD.replace("id = \"base\"", "id = \"Base_1\"");
    let found = problems(&[("other.toml", &bad_id)]);
    assert!(
        found[0].contains("identifiant de preset invalide"),
        "{found:?}"
    );

    let alias = variant("v", "aliases = [\"https://old.fr/cas\"]\n");
    assert!(problems(&[("v.toml", &alias)])[0].contains("nom d'hôte invalide"));

    let category = variant("v", "\n[categories]\nNational_7 = [\"x\"]\n");
    assert!(problems(&[("v.toml", &category)])[0].contains("catégorie inconnue"));
}

// --- `passerelle check` -----------------------------------------------------------------------------

/// A copy of the demo configuration whose `presets_dir` points at `presets`.
fn demo_with_presets(presets: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    passerelle::demo::write_config(dir.path()).unwrap();
    let gateway = dir.path().join("passerelle.toml");
    let text = std::fs::read_to_string(&gateway).unwrap();
    let text = text.replacen(
        "spaces_dir = \"spaces\"",
        &format!(
            "spaces_dir = \"spaces\"\npresets_dir = {:?}",
            presets.display().to_string()
        ),
        1,
    );
    std::fs::write(&gateway, text).unwrap();
    dir
}

#[test]
fn check_loads_the_catalogue_into_the_config() {
    let config = passerelle::config::load(&repo().join("examples/demo/passerelle.toml"))
        .unwrap_or_else(|p| panic!("{p}"));
    assert!(config.presets.len() >= 60);
    assert!(config.presets.get("educonnect").is_some());
}

#[test]
fn check_reports_a_broken_preset_with_its_location() {
    let presets = tempfile::tempdir().unwrap();
    write(presets.path(), "base.toml", GOOD);
    write(
        presets.path(),
        "bad.toml",
        &variant("bad", "\n[cas]\nbase_url = \"http://cas.example.fr\"\n"),
    );
    let config_dir = demo_with_presets(presets.path());
    let gateway = config_dir.path().join("passerelle.toml");
    let problems = passerelle::config::load(&gateway).unwrap_err();
    let shown = problems.to_string();
    assert!(shown.contains("bad.toml:6:12:"), "{shown}");

    let (ok, _, err) = passerelle(&["check", "--config", gateway.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("bad.toml:6:12:") && err.contains("seul https://"),
        "{err}"
    );
}

#[test]
fn the_demo_command_config_leaves_the_repository_catalogue_out() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = passerelle::demo::write_config(dir.path()).unwrap();
    let config = passerelle::config::load(&gateway).unwrap_or_else(|p| panic!("{p}"));
    assert!(config.presets.is_empty());
}

// --- Presets drive the mapping ----------------------------------------------------------------------

#[test]
fn the_educonnect_preset_maps_an_assertion_and_keeps_parents_out_of_pupil_spaces() {
    let catalogue = catalogue();
    let rules = catalogue.get("educonnect").unwrap().mapping_rules();
    let attributes: Attributes = [
        (
            "urn:oid:1.3.6.1.4.1.20326.10.999.1.57",
            "9f86d081884c7d659a2feaa0c55ad015",
        ),
        ("urn:oid:1.3.6.1.4.1.20326.10.999.1.7", "resp2d"),
        ("urn:oid:1.3.6.1.4.1.20326.10.999.1.67", "1979-12-31"),
        ("urn:oid:2.5.4.4", "BERNARD"),
        ("urn:oid:2.5.4.42", "Inès"),
    ]
    .into_iter()
    .collect();
    let mapped = map_attributes(Some("_transient"), &attributes, &rules).unwrap();
    assert_eq!(mapped.login, "9f86d081884c7d659a2feaa0c55ad015");
    assert_eq!(mapped.fields.date_naissance.as_deref(), Some("31/12/1979"));
    assert_eq!(mapped.fields.categories, ["National_2"]);
    let spaces = SpaceRules::default();
    assert!(
        spaces
            .authorise(SpaceId::Parent, &mapped.categories)
            .is_ok()
    );
    assert!(
        spaces
            .authorise(SpaceId::Eleve, &mapped.categories)
            .is_err()
    );
    assert!(
        spaces
            .authorise(SpaceId::Professeur, &mapped.categories)
            .is_err()
    );

    let pupil: Attributes = [
        ("urn:oid:1.3.6.1.4.1.20326.10.999.1.57", "abc"),
        ("urn:oid:1.3.6.1.4.1.20326.10.999.1.7", "eleve2d"),
        ("urn:oid:2.5.4.4", "BERNARD"),
        ("urn:oid:2.5.4.42", "Zoé"),
    ]
    .into_iter()
    .collect();
    let mapped = map_attributes(None, &pupil, &rules).unwrap();
    assert_eq!(mapped.categories, BTreeSet::from([Category::Eleve]));
    assert!(spaces.authorise(SpaceId::Eleve, &mapped.categories).is_ok());
    assert!(
        spaces
            .authorise(SpaceId::Parent, &mapped.categories)
            .is_err()
    );
}

#[test]
fn an_edifice_preset_maps_what_pronote_registered_service_releases() {
    let catalogue = catalogue();
    let rules = catalogue.get("monlycee-net").unwrap().mapping_rules();
    let attributes: Attributes = [
        ("nom", "PETIT"),
        ("prenom", "Hugo"),
        ("dateNaissance", "2007-09-01T00:00:00.000Z"),
        ("codePostal", "75011"),
        ("categories", "National_1"),
    ]
    .into_iter()
    .collect();
    let mapped = map_attributes(Some("a2f1-33"), &attributes, &rules).unwrap();
    assert_eq!(mapped.fields.date_naissance.as_deref(), Some("01/09/2007"));
    assert_eq!(mapped.fields.code_postal.as_deref(), Some("75011"));

    // "Avec alimentation" needs the product id, whose attribute name the space file must give.
    let with = catalogue
        .get("chercan-avec-alimentation")
        .unwrap()
        .mapping_rules();
    let err = map_attributes(Some("x"), &attributes, &with).unwrap_err();
    assert_eq!(err.code(), "id_produit_absent");
}

fn load_fixture(files: &[(&str, &str)]) -> Catalogue {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base.toml", GOOD);
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    presets::load_dir(dir.path()).unwrap_or_else(|p| panic!("{p}"))
}

#[test]
fn status_and_successor_are_inherited_together() {
    let catalogue = load_fixture(&[
        ("new.toml", &variant("new", "")),
        (
            "old.toml",
            &variant("old", "status = \"obsolete\"\nsuccessor = \"new\"\n"),
        ),
        (
            "old-branch.toml",
            "id = \"old-branch\"\nextends = \"old\"\nsources = [\"t\"]\n",
        ),
        (
            "revived.toml",
            "id = \"revived\"\nextends = \"old\"\nstatus = \"current\"\nsources = [\"t\"]\n",
        ),
    ]);
    let branch = catalogue.get("old-branch").unwrap();
    assert_eq!(branch.status, Status::Obsolete);
    assert_eq!(branch.successor.as_deref(), Some("new"));
    let revived = catalogue.get("revived").unwrap();
    assert_eq!(revived.status, Status::Current);
    assert_eq!(revived.successor, None);
}

#[test]
fn inheritance_merges_parameters_and_replaces_urls_whole() {
    let catalogue = load_fixture(&[
        (
            "edu.toml",
            &variant(
                "edu",
                "\n[cas]\nlogin_params = { selection = \"EDU\", a = \"1\" }\n",
            ),
        ),
        (
            "edu-moved.toml",
            "id = \"edu-moved\"\nextends = \"edu\"\nsources = [\"t\"]\n\n[cas]\n\
             login_url = \"https://sso.example.fr/login\"\nvalidate_url = \"https://sso.example.fr/check\"\n\
             validation = \"p3\"\nlogin_params = { a = \"2\" }\n",
        ),
    ]);
    let edu = catalogue.get("edu").unwrap().cas.clone().unwrap();
    assert_eq!(edu.base_url.unwrap().as_str(), "https://cas.example.fr/");
    let moved = catalogue.get("edu-moved").unwrap().cas.clone().unwrap();
    assert_eq!(
        moved.base_url, None,
        "explicit URLs replace the base's root"
    );
    assert_eq!(moved.validation, Validation::P3);
    assert_eq!(
        moved.validate_endpoint().unwrap().as_str(),
        "https://sso.example.fr/check"
    );
    let params: Vec<(&str, &str)> = moved
        .login_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(params, [("a", "2"), ("selection", "EDU")]);
    let service = Url::parse("https://pronote.example.fr/pronote/").unwrap();
    assert_eq!(
        moved.login_redirect(&service).unwrap().as_str(),
        "https://sso.example.fr/login?service=https%3A%2F%2Fpronote.example.fr%2Fpronote%2F&a=2&selection=EDU"
    );
}
