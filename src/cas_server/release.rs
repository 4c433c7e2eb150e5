//! What a service learns about the person: the principal and the attributes the space releases, in the
//! shape PRONOTE's CAS delegation reads them (`nom`, `prenom`, `dateNaissance` as `dd/mm/yyyy`,
//! `codePostal`, `categories` `;`-joined), taken from the identity the session already holds.

use serde::{Deserialize, Serialize};

use crate::config::cas_bridge::{Principal, ReleasedAttribute, SpaceBridge};
use crate::identity::Identity;
use crate::identity::mapping::normalise_birth_date;

/// The principal and the attributes (name, value) released for one ticket, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    pub principal: String,
    pub attributes: Vec<(String, String)>,
}

/// The identity lacks the field chosen as principal (e.g. no PRONOTE product id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("l'identité n'a pas de valeur pour le principal « {} »", .0.as_str())]
pub struct MissingPrincipal(pub Principal);

/// What `bridge` releases of `identity`. An absent or empty field is left out; a birth date that
/// cannot be read as a date is left out too (PRONOTE refuses a malformed one outright).
pub fn release(bridge: &SpaceBridge, identity: &Identity) -> Result<Released, MissingPrincipal> {
    let fields = &identity.fields;
    let principal = match bridge.principal {
        Principal::Login => Some(identity.login.clone()),
        Principal::IdProduit => fields.id_produit.clone(),
    }
    .filter(|value| !value.trim().is_empty())
    .ok_or(MissingPrincipal(bridge.principal))?;
    let mut attributes = Vec::with_capacity(bridge.attributes.len());
    for attribute in &bridge.attributes {
        let value = match attribute {
            ReleasedAttribute::Nom => fields.nom.clone(),
            ReleasedAttribute::Prenom => fields.prenom.clone(),
            ReleasedAttribute::CodePostal => fields.code_postal.clone(),
            ReleasedAttribute::DateNaissance => fields.date_naissance.as_deref().and_then(|raw| {
                normalise_birth_date(raw)
                    .inspect_err(|_| {
                        tracing::warn!(login = %identity.login, "date de naissance illisible : non transmise");
                    })
                    .ok()
            }),
            ReleasedAttribute::Categories => {
                Some(fields.categories.join(";")).filter(|joined| !joined.is_empty())
            }
        };
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            attributes.push((attribute.name().to_owned(), value));
        }
    }
    Ok(Released {
        principal,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{MappedFields, Protocol};
    use crate::space::SpaceId;

    fn bridge(principal: Principal) -> SpaceBridge {
        SpaceBridge {
            space: SpaceId::Parent,
            services: Vec::new(),
            principal,
            attributes: ReleasedAttribute::all(),
        }
    }

    fn identity() -> Identity {
        Identity {
            login: "ent-7c1b9a1e".to_owned(),
            protocol: Protocol::Oidc,
            fields: MappedFields {
                nom: Some("Martin".to_owned()),
                prenom: Some("Hélène".to_owned()),
                date_naissance: Some("1982-03-14".to_owned()),
                code_postal: None,
                categories: vec!["National_2".to_owned(), "National_4".to_owned()],
                id_produit: None,
            },
        }
    }

    #[test]
    fn pronote_gets_its_names_dates_and_joined_categories() {
        let released = release(&bridge(Principal::Login), &identity()).unwrap();
        assert_eq!(released.principal, "ent-7c1b9a1e");
        let pairs: Vec<(&str, &str)> = released
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("nom", "Martin"),
                ("prenom", "Hélène"),
                ("dateNaissance", "14/03/1982"),
                ("categories", "National_2;National_4"),
            ]
        );
    }

    #[test]
    fn a_product_id_principal_must_exist() {
        assert_eq!(
            release(&bridge(Principal::IdProduit), &identity()),
            Err(MissingPrincipal(Principal::IdProduit))
        );
        let mut with_id = identity();
        with_id.fields.id_produit = Some("PRN-42".to_owned());
        let released = release(&bridge(Principal::IdProduit), &with_id).unwrap();
        assert_eq!(released.principal, "PRN-42");
    }
}
