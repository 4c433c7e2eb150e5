//! `passerelle check` on broken configurations: a precise, located, human message and exit code 2.

mod common;

use std::path::Path;
use std::process::Command;

fn check(config: &Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["check", "--config"])
        .arg(config)
        .env_remove("PASSERELLE_SIGNING_KEY")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

/// A valid configuration folder, then `edit` applied to the gateway file's text.
fn broken(edit: impl Fn(String) -> String) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = common::Setup::new("127.0.0.1:9".parse().unwrap()).write(dir.path());
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
    (dir, path)
}

fn line_of(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

#[test]
fn a_valid_configuration_passes() {
    let (_dir, path) = broken(|text| text);
    let (code, text) = check(&path);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("configuration valide"));
}

#[test]
fn the_demo_configuration_passes() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/passerelle.toml");
    let (code, text) = check(&demo);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn unknown_key_is_located() {
    let (_dir, path) =
        broken(|text| text.replace("[upstream]\n", "[upstream]\nurll = \"http://x\"\n"));
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    let line = line_of(&path, "urll");
    assert!(
        text.contains(&format!("passerelle.toml:{line}:1:")),
        "{text}"
    );
    assert!(text.contains("urll"), "{text}");
}

#[test]
fn bad_url_is_located() {
    let (_dir, path) =
        broken(|text| text.replace("url = \"http://127.0.0.1:9\"", "url = \"ftp//pronote\""));
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    let line = line_of(&path, "ftp//pronote");
    assert!(
        text.contains(&format!("passerelle.toml:{line}:7:")),
        "{text}"
    );
    assert!(text.contains("URL invalide « ftp//pronote »"), "{text}");
}

#[test]
fn bad_duration_is_located() {
    let (_dir, path) = broken(|text| {
        text.replace(
            "idle_timeout = \"30m\"",
            "idle_timeout = \"une demi-heure\"",
        )
    });
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    let line = line_of(&path, "une demi-heure");
    assert!(
        text.contains(&format!("passerelle.toml:{line}:16:")),
        "{text}"
    );
    assert!(text.contains("durée invalide"), "{text}");
}

#[test]
fn missing_space_file_is_named() {
    let (dir, path) = broken(|text| text);
    std::fs::remove_file(dir.path().join("spaces/eleve.toml")).unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("spaces/eleve.toml") && text.contains("« eleve » manquant"),
        "{text}"
    );
}

#[test]
fn bad_space_policy_is_located_in_the_space_file() {
    let (dir, path) = broken(|text| text);
    std::fs::write(
        dir.path().join("spaces/parent.toml"),
        "published = true\ndirect_login = \"parfois\"\n",
    )
    .unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("spaces/parent.toml:2:16:"), "{text}");
    assert!(text.contains("parfois"), "{text}");
}

#[test]
fn missing_environment_variable_is_located() {
    let (_dir, path) = broken(|text| {
        text.replace(
            &format!("signing_key = \"{}\"", common::SIGNING_KEY),
            "signing_key = \"${PASSERELLE_SIGNING_KEY}\"",
        )
    });
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    let line = line_of(&path, "PASSERELLE_SIGNING_KEY");
    assert!(
        text.contains(&format!("passerelle.toml:{line}:16:")),
        "{text}"
    );
    assert!(
        text.contains("PASSERELLE_SIGNING_KEY n'est pas définie"),
        "{text}"
    );
}

#[test]
fn several_problems_are_all_reported() {
    let (dir, path) =
        broken(|text| text.replace("absolute_timeout = \"12h\"", "absolute_timeout = \"5m\""));
    std::fs::remove_file(dir.path().join("spaces/academie.toml")).unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("absolute_timeout doit être au moins égal à idle_timeout"),
        "{text}"
    );
    assert!(text.contains("academie"), "{text}");
    assert!(text.contains("2 problème(s)"), "{text}");
}

#[test]
fn short_signing_key_is_refused() {
    let (_dir, path) = broken(|text| text.replace(common::SIGNING_KEY, "court"));
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("clé de signature trop courte"), "{text}");
}

#[test]
fn missing_users_file_is_located() {
    let (dir, path) = broken(|text| text);
    std::fs::remove_file(dir.path().join("users.toml")).unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    let line = line_of(&path, "users_file");
    assert!(
        text.contains(&format!("passerelle.toml:{line}:14:")),
        "{text}"
    );
    assert!(
        text.contains("fichier des utilisateurs introuvable"),
        "{text}"
    );
}

#[test]
fn cas_bridge_prefix_and_ticket_lifetime_are_located() {
    let (_dir, path) = broken(|text| {
        text.replace(
            "[listen]",
            "[cas_server]\nprefix = \"/auth/cas\"\nticket_lifetime = \"10m\"\n\n[listen]",
        )
    });
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    let prefix = line_of(&path, "prefix = ");
    let lifetime = line_of(&path, "ticket_lifetime");
    assert!(
        text.contains(&format!("passerelle.toml:{prefix}:")),
        "{text}"
    );
    assert!(text.contains("hors de /auth"), "{text}");
    assert!(
        text.contains(&format!("passerelle.toml:{lifetime}:")),
        "{text}"
    );
}

#[test]
fn cas_bridge_services_are_checked_in_the_space_file() {
    let (dir, path) = broken(|text| text.replace("[listen]", "[cas_server]\n\n[listen]"));
    let parent = dir.path().join("spaces/parent.toml");
    let mut space = std::fs::read_to_string(&parent).unwrap();
    space.push_str(
        "[cas_server]\nservices = [\"https://pronote.example.fr/pronote/parent.html\", \"^https://pronote\\\\.example\\\\.fr/.*\"]\n",
    );
    std::fs::write(&parent, space).unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    let line = line_of(&parent, "services");
    assert!(
        text.contains(&format!("spaces/parent.toml:{line}:")),
        "{text}"
    );
    assert!(text.contains("finit par $"), "{text}");

    // A space table without the gateway section is a mistake, not a silent no-op.
    let fixed = std::fs::read_to_string(&parent)
        .unwrap()
        .replace("/.*\"", "/.*$\"");
    std::fs::write(&parent, fixed).unwrap();
    let gateway = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, gateway.replace("[cas_server]\n", "")).unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("n'a pas de section [cas_server]"), "{text}");
}
