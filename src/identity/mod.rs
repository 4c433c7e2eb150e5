//! Who a delegation says the person is, in the terms PRONOTE cares about, and how that identity is
//! handed to the upstream.
//!
//! Every protocol (direct login, CAS, SAML2, WS-Federation, OpenID Connect) ends with an [`Identity`];
//! the session stores it and the proxy turns it into signed headers ([`signed_headers`]). Protocol
//! attributes become PRONOTE's fields, and profiles become space permissions, in [`mapping`].

pub mod mapping;
pub mod signed_headers;

use std::fmt;

use serde::{Deserialize, Serialize};

/// How the person authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Direct,
    Cas,
    Saml,
    Wsfed,
    Oidc,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Direct => "direct",
            Protocol::Cas => "cas",
            Protocol::Saml => "saml",
            Protocol::Wsfed => "wsfed",
            Protocol::Oidc => "oidc",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields PRONOTE's CAS delegation exchanges (`nom`, `prenom`, `dateNaissance`, `codePostal`,
/// `categories`) plus its product id ("Id. PRONOTE-ENT"). All optional: providers release different
/// subsets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prenom: Option<String>,
    /// `dd/mm/yyyy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_naissance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_postal: Option<String>,
    /// `National_1` (élève) … `National_4` (personnel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_produit: Option<String>,
}

/// An authenticated person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The stable subject: the login, CAS principal, NameID or `sub`.
    pub login: String,
    pub protocol: Protocol,
    #[serde(default)]
    pub fields: MappedFields,
}
