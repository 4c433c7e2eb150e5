//! Reading `ent-presets/`: parse every file, resolve `extends`, and check what spans files
//! (duplicate ids, dangling `extends`/`successor`, inheritance cycles). Every problem is located to
//! file:line:column and loading goes on, so that `passerelle check` lists them all at once.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::file::{CasSection, PresetFile, SamlSection};
use super::{CasSettings, Catalogue, Preset, PresetProtocol, SamlSettings, Status};
use crate::config::problems::{Problem, Problems};
use crate::identity::mapping::{AttributeNames, CategoryValues};

/// `/login` parameters the CAS flow sets itself; a preset may not fix them.
const RESERVED_LOGIN_PARAMS: [&str; 5] = ["service", "ticket", "renew", "gateway", "method"];

/// One parsed file.
struct Parsed {
    path: PathBuf,
    text: String,
    file: PresetFile,
}

impl Parsed {
    fn id(&self) -> &str {
        &self.file.id.get_ref().0
    }

    fn problem(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> Problem {
        Problem::at_span(&self.path, &self.text, span, message)
    }

    fn at_id(&self, message: impl Into<String>) -> Problem {
        self.problem(self.file.id.span(), message)
    }
}

/// Load every `*.toml` in `dir` into a catalogue, or return every problem found.
pub fn load_dir(dir: &Path) -> Result<Catalogue, Problems> {
    let mut problems = Vec::new();
    let mut paths = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect::<Vec<_>>(),
        Err(err) => {
            return Err(Problems(vec![Problem::whole_file(
                dir,
                format!("lecture du catalogue de presets impossible : {err}"),
            )]));
        }
    };
    paths.sort();

    let mut parsed = Vec::new();
    for path in paths {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => {
                problems.push(Problem::whole_file(
                    &path,
                    format!("lecture impossible : {err}"),
                ));
                continue;
            }
        };
        match toml::from_str::<PresetFile>(&text) {
            Ok(file) => {
                let one = Parsed { path, text, file };
                check_file(&one, &mut problems);
                parsed.push(one);
            }
            Err(err) => problems.push(Problem::from_toml(&path, &text, &err)),
        }
    }

    // Ids: the first file (in name order) keeps the id; later ones are errors.
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (index, one) in parsed.iter().enumerate() {
        if let Some(&first) = by_id.get(one.id()) {
            problems.push(one.at_id(format!(
                "identifiant « {} » déjà utilisé par {}",
                one.id(),
                parsed[first].path.display()
            )));
        } else {
            by_id.insert(one.id(), index);
        }
    }

    let mut presets = BTreeMap::new();
    for (index, one) in parsed.iter().enumerate() {
        if by_id.get(one.id()) != Some(&index) {
            continue;
        }
        if let Some(successor) = &one.file.successor {
            let name = successor.get_ref();
            if !by_id.contains_key(name.as_str()) {
                problems.push(one.problem(
                    successor.span(),
                    format!("successeur « {name} » introuvable dans le catalogue"),
                ));
            } else if name == one.id() {
                problems.push(
                    one.problem(successor.span(), "un preset ne peut se succéder à lui-même"),
                );
            }
        }
        let Some(chain) = chain(&parsed, &by_id, index, &mut problems) else {
            continue;
        };
        if let Some(preset) = resolve(&parsed, &chain, &mut problems) {
            presets.insert(preset.id.clone(), preset);
        }
    }

    if problems.is_empty() {
        Ok(Catalogue { presets })
    } else {
        Err(Problems(problems))
    }
}

/// Checks that need only the file itself.
fn check_file(one: &Parsed, problems: &mut Vec<Problem>) {
    let file = &one.file;
    let sources = &file.sources;
    if sources.get_ref().is_empty() || sources.get_ref().iter().any(|s| s.trim().is_empty()) {
        problems.push(one.problem(
            sources.span(),
            "sources : au moins une source, aucune vide (d'où vient chaque information ?)",
        ));
    }
    if let Some(cas) = &file.cas {
        let explicit = cas.login_url.as_ref().or(cas.validate_url.as_ref());
        if let (Some(_), Some(url)) = (&cas.base_url, explicit) {
            problems.push(one.problem(
                url.span(),
                "[cas] : soit base_url, soit login_url et validate_url, pas les deux",
            ));
        }
        match (&cas.login_url, &cas.validate_url) {
            (Some(url), None) => {
                problems.push(one.problem(url.span(), "[cas] login_url demande aussi validate_url"))
            }
            (None, Some(url)) => {
                problems.push(one.problem(url.span(), "[cas] validate_url demande aussi login_url"))
            }
            _ => {}
        }
        for (name, value) in cas.login_params.iter().flatten() {
            if RESERVED_LOGIN_PARAMS.contains(&name.as_str()) {
                problems.push(one.problem(
                    value.span(),
                    format!("[cas.login_params] « {name} » est fixé par la passerelle elle-même"),
                ));
            } else if name.is_empty() || value.get_ref().is_empty() {
                problems
                    .push(one.problem(value.span(), "[cas.login_params] nom et valeur non vides"));
            }
        }
    }
    if let Some(extends) = &file.extends
        && extends.get_ref() == one.id()
    {
        problems.push(one.problem(extends.span(), "un preset ne peut s'étendre lui-même"));
    }
}

/// The inheritance chain of `index`, itself first; `None` after recording a dangling base or a cycle.
fn chain(
    parsed: &[Parsed],
    by_id: &HashMap<&str, usize>,
    index: usize,
    problems: &mut Vec<Problem>,
) -> Option<Vec<usize>> {
    let mut chain = vec![index];
    let mut current = index;
    while let Some(extends) = &parsed[current].file.extends {
        let name = extends.get_ref();
        let Some(&base) = by_id.get(name.as_str()) else {
            // Reported on the file that names it, once.
            if current == index {
                problems.push(parsed[current].problem(
                    extends.span(),
                    format!("extends : preset « {name} » introuvable dans le catalogue"),
                ));
            }
            return None;
        };
        if chain.contains(&base) {
            if base == index {
                let names: Vec<&str> = chain.iter().map(|&i| parsed[i].id()).collect();
                problems.push(
                    parsed[index].problem(
                        parsed[index]
                            .file
                            .extends
                            .as_ref()
                            .map_or(0..0, |e| e.span()),
                        format!(
                            "héritage circulaire : {} → {}",
                            names.join(" → "),
                            parsed[base].id()
                        ),
                    ),
                );
            }
            // A chain that reaches a cycle it is not part of is reported by the cycle's members.
            return None;
        }
        chain.push(base);
        current = base;
    }
    Some(chain)
}

/// Merge the chain (base last) into one effective preset and check what must be there.
fn resolve(parsed: &[Parsed], chain: &[usize], problems: &mut Vec<Problem>) -> Option<Preset> {
    let own = &parsed[chain[0]];
    let layers = || chain.iter().map(|&i| &parsed[i].file);

    macro_rules! inherited {
        ($field:ident) => {
            layers().find_map(|f| f.$field.clone())
        };
    }
    let before = problems.len();
    let mut required = |name: &str| {
        problems.push(own.at_id(format!(
            "champ « {name} » manquant (ni dans ce fichier ni dans le preset qu'il étend)"
        )))
    };
    let label = inherited!(label);
    let territory = inherited!(territory);
    let family = inherited!(family);
    let protocol = inherited!(protocol);
    if label.is_none() {
        required("label");
    }
    if territory.is_none() {
        required("territory");
    }
    if family.is_none() {
        required("family");
    }
    if protocol.is_none() {
        required("protocol");
    }
    let (Some(label), Some(territory), Some(family), Some(protocol)) =
        (label, territory, family, protocol)
    else {
        return None;
    };

    // Status and successor travel together: the nearest file that sets either gives both, so a
    // variant that says nothing shares its base's fate, and a variant marked current inherits no successor.
    let fate = layers().find(|f| f.status.is_some() || f.successor.is_some());
    let status = fate.and_then(|f| f.status).unwrap_or_default();
    let successor = fate
        .and_then(|f| f.successor.as_ref())
        .map(|s| s.get_ref().clone());
    if status == Status::Current
        && let Some(s) = &own.file.successor
    {
        problems.push(own.problem(
            s.span(),
            "successor n'a de sens que pour status = \"legacy\" ou \"obsolete\"",
        ));
    }

    let cas = merge_cas(layers());
    let saml = merge_saml(layers());
    match protocol {
        PresetProtocol::Cas if saml.is_some() => problems.push(own.at_id(
            "section [saml] sans objet pour protocol = \"cas\"",
        )),
        PresetProtocol::Saml if cas.is_some() => problems.push(own.at_id(
            "section [cas] sans objet pour protocol = \"saml\"",
        )),
        PresetProtocol::Wsfed | PresetProtocol::Oidc if cas.is_some() || saml.is_some() => problems
            .push(own.at_id(format!(
                "protocol = \"{protocol}\" : ni [cas] ni [saml] (le fournisseur est décrit dans le fichier d'espace)"
            ))),
        _ => {}
    }
    if problems.len() > before {
        return None;
    }

    let mut attributes = AttributeNames::default();
    for layer in layers() {
        if let Some(names) = &layer.attributes {
            attributes = attributes.or(names);
        }
    }
    if protocol == PresetProtocol::Cas {
        attributes = attributes.or(&AttributeNames::pronote());
    }
    let mut category_table = BTreeMap::new();
    for layer in layers().collect::<Vec<_>>().into_iter().rev() {
        for (category, values) in layer.categories.iter().flatten() {
            category_table.insert(*category, values.clone());
        }
    }

    Some(Preset {
        id: own.id().to_owned(),
        extends: own.file.extends.as_ref().map(|e| e.get_ref().clone()),
        label,
        territory,
        family,
        protocol,
        status,
        successor,
        aliases: inherited!(aliases)
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.0)
            .collect(),
        documentation: inherited!(documentation).map(|u| u.0),
        sources: own.file.sources.get_ref().clone(),
        notes: own.file.notes.clone(),
        matching: inherited!(matching).unwrap_or_default(),
        cas: (protocol == PresetProtocol::Cas).then(|| cas.unwrap_or_default()),
        saml,
        attributes,
        categories: CategoryValues::with_overrides(&category_table),
        file: own.path.clone(),
    })
}

/// The nearest layer that gives any URL gives all of them (a variant that moves host must not keep its
/// base's other URL); the flavour and login parameters merge key by key.
fn merge_cas<'a>(layers: impl Iterator<Item = &'a PresetFile>) -> Option<CasSettings> {
    let sections: Vec<&CasSection> = layers.filter_map(|f| f.cas.as_ref()).collect();
    if sections.is_empty() {
        return None;
    }
    let urls = sections
        .iter()
        .find(|s| s.base_url.is_some() || s.login_url.is_some() || s.validate_url.is_some());
    let url = |pick: fn(&CasSection) -> &Option<toml::Spanned<crate::config::values::HttpsUrl>>| {
        urls.and_then(|s| pick(s).as_ref())
            .map(|u| u.get_ref().0.clone())
    };
    let mut login_params = BTreeMap::new();
    for section in sections.iter().rev() {
        for (name, value) in section.login_params.iter().flatten() {
            login_params.insert(name.clone(), value.get_ref().clone());
        }
    }
    Some(CasSettings {
        base_url: url(|s| &s.base_url),
        login_url: url(|s| &s.login_url),
        validate_url: url(|s| &s.validate_url),
        validation: sections
            .iter()
            .find_map(|s| s.validation)
            .unwrap_or_default(),
        login_params,
    })
}

/// The nearest `[saml]` section wins whole: an IdP's entity ID and endpoints belong together (the
/// PR4 pre-production variant must never inherit production endpoints).
fn merge_saml<'a>(mut layers: impl Iterator<Item = &'a PresetFile>) -> Option<SamlSettings> {
    let section: &SamlSection = layers.find_map(|f| f.saml.as_ref())?;
    let url = |u: &Option<crate::config::values::HttpsUrl>| u.as_ref().map(|u| u.0.clone());
    Some(SamlSettings {
        entity_id: section.entity_id.clone(),
        sso_redirect_url: url(&section.sso_redirect_url),
        sso_post_url: url(&section.sso_post_url),
        unsolicited_sso_url: url(&section.unsolicited_sso_url),
    })
}
