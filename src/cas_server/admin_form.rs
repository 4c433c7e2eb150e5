//! What a school's admin types into PRONOTE's CAS delegation form ("Déléguer l'authentification" →
//! CAS) for one space, printed by `passerelle cas-bridge --space <espace>`.

use std::fmt::Write;

use url::Url;

use crate::config::cas_bridge::{CasBridgeSettings, Principal, ServicePattern};
use crate::space::SpaceId;

/// Why there is nothing to print.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("le pont CAS n'est pas activé : ajoutez une section [cas_server] à passerelle.toml")]
    BridgeOff,
    #[error("l'espace « {0} » n'a pas de table [cas_server] (services autorisés)")]
    SpaceNotBridged(SpaceId),
}

/// The form's values for `space`, in French, one per line.
pub fn pronote_form(
    public_url: &Url,
    settings: Option<&CasBridgeSettings>,
    space: SpaceId,
) -> Result<String, FormError> {
    let settings = settings.ok_or(FormError::BridgeOff)?;
    let bridge = settings
        .space(space)
        .ok_or(FormError::SpaceNotBridged(space))?;
    let base = format!(
        "{}{}",
        public_url.as_str().trim_end_matches('/'),
        settings.prefix
    );
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "{} — délégation CAS de PRONOTE vers Passerelle",
        space.label()
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Configuration standard (une seule adresse) :");
    let _ = writeln!(out, "  Adresse du serveur CAS ............ {base}");
    let _ = writeln!(out, "  Chemin de connexion ............... /login");
    let _ = writeln!(out, "  Chemin de validation .............. /samlValidate");
    let _ = writeln!(out, "Adresses différentes :");
    let _ = writeln!(out, "  URL d'authentification CAS ........ {base}/login");
    let _ = writeln!(
        out,
        "  URL de validation CAS ............. {base}/samlValidate"
    );
    let _ = writeln!(
        out,
        "  (aussi servies : {base}/serviceValidate, {base}/p3/serviceValidate)"
    );
    let _ = writeln!(out, "URL du client CAS (service) autorisée(s) :");
    for service in &bridge.services {
        match service {
            ServicePattern::Exact(url) => {
                let _ = writeln!(out, "  {url}");
            }
            ServicePattern::Anchored(pattern) => {
                let _ = writeln!(
                    out,
                    "  toute URL reconnue par le motif {}",
                    pattern.as_str()
                );
            }
        }
    }
    let (principal, matching) = match bridge.principal {
        Principal::Login => (
            "identifiant de la personne (ENT, fournisseur d'identité ou connexion directe)",
            "rechercher par identité (nom, prénom, date de naissance…) ou saisir l'Id. CAS",
        ),
        Principal::IdProduit => (
            "Id. PRONOTE-ENT (identifiant produit)",
            "rechercher par identifiant produit",
        ),
    };
    let _ = writeln!(out, "Identifiant CAS transmis ............ {principal}");
    let names: Vec<&str> = bridge.attributes.iter().map(|a| a.name()).collect();
    let _ = writeln!(
        out,
        "Attributs transmis .................. {}",
        names.join(", ")
    );
    let _ = writeln!(out, "Mode de première connexion conseillé  {matching}");
    let _ = writeln!(
        out,
        "Durée de vie d'un ticket ............ {} s",
        settings.ticket_lifetime.as_secs()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cas_bridge::{ReleasedAttribute, SpaceBridge};

    #[test]
    fn the_form_gives_the_urls_under_the_public_url_and_prefix() {
        let settings = CasBridgeSettings {
            prefix: "/cas".to_owned(),
            ticket_lifetime: std::time::Duration::from_secs(10),
            logout_timeout: std::time::Duration::from_secs(5),
            validation_sources: Vec::new(),
            spaces: vec![SpaceBridge {
                space: SpaceId::Parent,
                services: vec![ServicePattern::Exact(
                    "https://pronote.example.fr/pronote/parent.html".to_owned(),
                )],
                principal: Principal::Login,
                attributes: ReleasedAttribute::all(),
            }],
        };
        let public = Url::parse("https://passerelle.example.fr/").unwrap();
        let form = pronote_form(&public, Some(&settings), SpaceId::Parent).unwrap();
        assert!(
            form.contains("https://passerelle.example.fr/cas/login"),
            "{form}"
        );
        assert!(
            form.contains("https://passerelle.example.fr/cas/samlValidate"),
            "{form}"
        );
        assert!(
            form.contains("https://pronote.example.fr/pronote/parent.html"),
            "{form}"
        );
        assert!(form.contains("nom, prenom, dateNaissance, codePostal, categories"));
        assert!(matches!(
            pronote_form(&public, Some(&settings), SpaceId::Eleve),
            Err(FormError::SpaceNotBridged(SpaceId::Eleve))
        ));
        assert!(matches!(
            pronote_form(&public, None, SpaceId::Parent),
            Err(FormError::BridgeOff)
        ));
    }
}
