//! Text views of the catalogue for `passerelle presets list` and `passerelle presets show`.

use std::fmt::Write;

use super::{Catalogue, Preset, PresetProtocol};

/// Longest label or territory shown in a table cell; longer text ends with "…".
const CELL: usize = 44;

/// A table, one preset a line: id, protocol, status, family, label, territory.
pub fn table(presets: &[&Preset]) -> String {
    let header = [
        "ID",
        "PROTOCOLE",
        "STATUT",
        "FAMILLE",
        "LIBELLÉ",
        "TERRITOIRE",
    ];
    let rows: Vec<[String; 6]> = presets
        .iter()
        .map(|p| {
            [
                p.id.clone(),
                p.protocol.as_str().to_owned(),
                p.status.as_str().to_owned(),
                p.family.as_str().to_owned(),
                clip(&p.label),
                clip(&p.territory),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = width - cell.chars().count();
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    let _ = writeln!(out, "{} preset(s)", rows.len());
    out
}

fn clip(text: &str) -> String {
    if text.chars().count() <= CELL {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(CELL - 1).collect();
        short.push('…');
        short
    }
}

/// The effective preset `id`, inheritance resolved, in a readable block; `None` if unknown.
pub fn show(catalogue: &Catalogue, id: &str) -> Option<String> {
    let preset = catalogue.get(id)?;
    let mut out = String::new();
    let mut field = |name: &str, value: &str| {
        let _ = writeln!(out, "{name:<22}{value}");
    };
    field("id", &preset.id);
    field("libellé", &preset.label);
    field("territoire", &preset.territory);
    field("famille", preset.family.as_str());
    field("protocole", preset.protocol.as_str());
    let status = match &preset.successor {
        Some(successor) => format!("{} (successeur : {successor})", preset.status.as_str()),
        None => preset.status.as_str().to_owned(),
    };
    field("statut", &status);
    let chain: Vec<&str> = catalogue
        .ancestry(id)
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    if chain.len() > 1 {
        field("hérite de", &chain[1..].join(" → "));
    }
    field("rapprochement", preset.matching.label());
    if !preset.aliases.is_empty() {
        field("alias (hôtes)", &preset.aliases.join(", "));
    }
    if let Some(doc) = &preset.documentation {
        field("documentation", doc.as_str());
    }

    const TO_FILL: &str = "(à renseigner dans le fichier d'espace)";
    if let Some(cas) = &preset.cas {
        let _ = writeln!(out, "\n[cas]");
        let login = cas.login_endpoint();
        let validate = cas.validate_endpoint();
        let _ = writeln!(
            out,
            "{:<22}{}",
            "connexion",
            login.as_ref().map_or(TO_FILL, |u| u.as_str())
        );
        let _ = writeln!(
            out,
            "{:<22}{}",
            "validation",
            validate.as_ref().map_or(TO_FILL, |u| u.as_str())
        );
        let _ = writeln!(out, "{:<22}{}", "méthode", cas.validation.as_str());
        for (name, value) in &cas.login_params {
            let _ = writeln!(out, "{:<22}{name}={value}", "paramètre fixe");
        }
    }
    if let Some(saml) = &preset.saml {
        let _ = writeln!(out, "\n[saml]");
        for (name, value) in [
            ("entity_id", saml.entity_id.as_deref()),
            (
                "sso_redirect_url",
                saml.sso_redirect_url.as_ref().map(|u| u.as_str()),
            ),
            (
                "sso_post_url",
                saml.sso_post_url.as_ref().map(|u| u.as_str()),
            ),
            (
                "unsolicited_sso_url",
                saml.unsolicited_sso_url.as_ref().map(|u| u.as_str()),
            ),
        ] {
            let _ = writeln!(out, "{name:<22}{}", value.unwrap_or(TO_FILL));
        }
    }

    let _ = writeln!(out, "\n[attributs → champs PRONOTE]");
    for (name, attribute) in preset.attributes.pairs() {
        let shown = match (name, attribute) {
            ("login", None) => "(sujet du protocole : cas:user, NameID, sub)",
            (_, None) => "(non transmis)",
            (_, Some(attribute)) => attribute,
        };
        let _ = writeln!(out, "{name:<22}{shown}");
    }
    let _ = writeln!(out, "\n[catégories]");
    for (category, values) in preset.categories.iter() {
        let values: Vec<String> = values.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "{:<22}{} ({})",
            category.as_str(),
            values.join(", "),
            category.label()
        );
    }

    if let Some(notes) = &preset.notes {
        let _ = writeln!(out, "\nnotes\n  {}", notes.trim().replace('\n', "\n  "));
    }
    let _ = writeln!(out, "\nsources");
    for layer in catalogue.ancestry(id) {
        for source in &layer.sources {
            if layer.id == preset.id {
                let _ = writeln!(out, "  - {source}");
            } else {
                let _ = writeln!(out, "  - [{}] {source}", layer.id);
            }
        }
    }
    let _ = writeln!(out, "\nfichier : {}", preset.file.display());
    Some(out)
}

/// What the `[[delegation]]` tables of a space file that use preset `id` write themselves: those keys
/// win over the preset shown above them. An error when the file is not TOML or no delegation uses `id`.
pub fn overrides(space_file: &str, id: &str) -> Result<String, String> {
    let table: toml::Table = space_file.parse().map_err(|err: toml::de::Error| {
        format!("fichier d'espace illisible : {}", err.message())
    })?;
    let using: Vec<&toml::Table> = table
        .get("delegation")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_table)
        .filter(|entry| entry.get("preset").and_then(toml::Value::as_str) == Some(id))
        .collect();
    if using.is_empty() {
        return Err(format!("aucune délégation n'utilise le preset « {id} »"));
    }
    let mut out = String::new();
    for entry in using {
        let name = entry.get("id").and_then(toml::Value::as_str).unwrap_or("?");
        let _ = writeln!(
            out,
            "\n[surchargé par le fichier d'espace : délégation « {name} »]"
        );
        let mut any = false;
        for (key, value) in entry {
            if matches!(key.as_str(), "id" | "protocol" | "preset") {
                continue;
            }
            any = true;
            let _ = writeln!(out, "{key:<22}{value}");
        }
        if !any {
            let _ = writeln!(out, "(rien : le preset s'applique tel quel)");
        }
    }
    Ok(out)
}

impl std::str::FromStr for PresetProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cas" => Ok(PresetProtocol::Cas),
            "saml" | "saml2" => Ok(PresetProtocol::Saml),
            "wsfed" | "ws-fed" => Ok(PresetProtocol::Wsfed),
            "oidc" => Ok(PresetProtocol::Oidc),
            _ => Err(format!(
                "protocole inconnu « {s} » (cas, saml, wsfed ou oidc)"
            )),
        }
    }
}
