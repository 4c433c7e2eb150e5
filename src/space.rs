//! PRONOTE.net's web spaces (Espaces) and how a request path maps to one.
//!
//! PRONOTE publishes nine spaces, each with a desktop page and a mobile page. Everything else under the
//! upstream (scripts, images, AJAX calls) belongs to no space: it is reachable by any browser holding a
//! session for some space. This module is the one place that knows the URL layout.

use std::fmt;
use std::str::FromStr;

/// One PRONOTE space. The names are the ones PRONOTE uses in its page URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpaceId {
    /// Page commune: `/pronote/` and `/pronote/mobile.html`.
    Commune,
    Direction,
    Professeur,
    Viescolaire,
    Parent,
    Accompagnant,
    Eleve,
    Entreprise,
    Academie,
}

/// Whether a page is the desktop or the mobile variant of a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Desktop,
    Mobile,
}

/// The path prefix under which PRONOTE.net publishes its pages.
pub const PRONOTE_ROOT: &str = "/pronote/";

impl SpaceId {
    pub const ALL: [SpaceId; 9] = [
        SpaceId::Commune,
        SpaceId::Direction,
        SpaceId::Professeur,
        SpaceId::Viescolaire,
        SpaceId::Parent,
        SpaceId::Accompagnant,
        SpaceId::Eleve,
        SpaceId::Entreprise,
        SpaceId::Academie,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SpaceId::Commune => "commune",
            SpaceId::Direction => "direction",
            SpaceId::Professeur => "professeur",
            SpaceId::Viescolaire => "viescolaire",
            SpaceId::Parent => "parent",
            SpaceId::Accompagnant => "accompagnant",
            SpaceId::Eleve => "eleve",
            SpaceId::Entreprise => "entreprise",
            SpaceId::Academie => "academie",
        }
    }

    /// The label PRONOTE's own console shows, for French pages.
    pub fn label(self) -> &'static str {
        match self {
            SpaceId::Commune => "Page commune",
            SpaceId::Direction => "Espace Direction",
            SpaceId::Professeur => "Espace Professeurs",
            SpaceId::Viescolaire => "Espace Vie scolaire",
            SpaceId::Parent => "Espace Parents",
            SpaceId::Accompagnant => "Espace Accompagnants",
            SpaceId::Eleve => "Espace Élèves",
            SpaceId::Entreprise => "Espace Entreprise",
            SpaceId::Academie => "Espace Académie",
        }
    }

    /// The page's path, e.g. `/pronote/parent.html` or `/pronote/mobile.parent.html`.
    pub fn page_path(self, variant: Variant) -> String {
        match (self, variant) {
            (SpaceId::Commune, Variant::Desktop) => PRONOTE_ROOT.to_owned(),
            (SpaceId::Commune, Variant::Mobile) => format!("{PRONOTE_ROOT}mobile.html"),
            (space, Variant::Desktop) => format!("{PRONOTE_ROOT}{}.html", space.as_str()),
            (space, Variant::Mobile) => format!("{PRONOTE_ROOT}mobile.{}.html", space.as_str()),
        }
    }

    /// Which space page, if any, a request path is. The query string must already be removed.
    pub fn from_page_path(path: &str) -> Option<(SpaceId, Variant)> {
        let page = path.strip_prefix(PRONOTE_ROOT)?;
        match page {
            "" | "index.html" => return Some((SpaceId::Commune, Variant::Desktop)),
            "mobile.html" => return Some((SpaceId::Commune, Variant::Mobile)),
            _ => {}
        }
        let name = page.strip_suffix(".html")?;
        let (name, variant) = match name.strip_prefix("mobile.") {
            Some(rest) => (rest, Variant::Mobile),
            None => (name, Variant::Desktop),
        };
        let space = name.parse().ok()?;
        (space != SpaceId::Commune).then_some((space, variant))
    }
}

impl fmt::Display for SpaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of PRONOTE's nine spaces.
#[derive(Debug, thiserror::Error)]
#[error(
    "« {0} » n'est pas un espace PRONOTE (commune, direction, professeur, viescolaire, parent, accompagnant, eleve, entreprise, academie)"
)]
pub struct UnknownSpace(pub String);

impl FromStr for SpaceId {
    type Err = UnknownSpace;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpaceId::ALL
            .into_iter()
            .find(|space| space.as_str() == s)
            .ok_or_else(|| UnknownSpace(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_path_routes_back_to_its_space() {
        for space in SpaceId::ALL {
            for variant in [Variant::Desktop, Variant::Mobile] {
                let path = space.page_path(variant);
                assert_eq!(
                    SpaceId::from_page_path(&path),
                    Some((space, variant)),
                    "{path}"
                );
            }
        }
    }

    #[test]
    fn commune_has_the_root_and_mobile_html() {
        assert_eq!(
            SpaceId::from_page_path("/pronote/"),
            Some((SpaceId::Commune, Variant::Desktop))
        );
        assert_eq!(
            SpaceId::from_page_path("/pronote/mobile.html"),
            Some((SpaceId::Commune, Variant::Mobile))
        );
        assert_eq!(SpaceId::from_page_path("/pronote/commune.html"), None);
    }

    #[test]
    fn other_paths_are_not_space_pages() {
        for path in [
            "/pronote",
            "/pronote/scripts/app.js",
            "/pronote/mobile.inconnu.html",
            "/pronote/parent.htm",
            "/autre/parent.html",
            "/pronote/mobile..html",
        ] {
            assert_eq!(SpaceId::from_page_path(path), None, "{path}");
        }
    }
}
