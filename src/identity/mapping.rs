//! One mapping layer for every protocol: the attributes an identity provider released (a multimap
//! name → values, whatever the protocol: CAS attributes, SAML attributes, OIDC claims, WS-Fed claims)
//! become the fields PRONOTE exchanges ([`MappedFields`]), and the person's profile decides which
//! spaces they may open.
//!
//! Names of the attributes come from the delegation's preset ([`AttributeNames`]); raw profile values
//! (`National_2`, `resp2d`, …) are translated to PRONOTE's four national categories
//! ([`CategoryValues`]); [`SpaceRules`] is PRONOTE's "correspondances espaces / catégories". Every
//! failure is a [`MappingError`] named after PRONOTE's own error (`TypeErreurCAS`): bad birth-date
//! format, no categories, missing login…

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, de};

use super::MappedFields;
use crate::space::SpaceId;

/// What a protocol released: attribute name → values, in the order received. Names are kept as given
/// (CAS element names, SAML `Name` such as `urn:oid:…`, OIDC claim names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes(BTreeMap<String, Vec<String>>);

impl Attributes {
    pub fn new() -> Self {
        Attributes::default()
    }

    /// Add one value; a repeated name makes the attribute multi-valued.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.entry(name.into()).or_default().push(value.into());
    }

    /// The values of `name` (empty when absent).
    pub fn get(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut attributes = Attributes::new();
        for (name, value) in iter {
            attributes.insert(name, value);
        }
        attributes
    }
}

/// Which attribute carries each PRONOTE field (PRONOTE's `AttributsCAS`: `AUC_Login`, `AUC_Nom`, …).
/// `None` means the provider does not release it; for `login`, `None` means "the protocol's own
/// subject" (CAS `cas:user`, SAML NameID, OIDC `sub`), i.e. PRONOTE's `UtiliserAttributLogin` unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeNames {
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub nom: Option<String>,
    #[serde(default)]
    pub prenom: Option<String>,
    #[serde(default)]
    pub date_naissance: Option<String>,
    #[serde(default)]
    pub code_postal: Option<String>,
    #[serde(default)]
    pub categories: Option<String>,
    #[serde(default)]
    pub id_produit: Option<String>,
}

impl AttributeNames {
    /// PRONOTE's own vocabulary, which ENT CAS servers release to it (Open ENT NG's
    /// `PronoteRegisteredService`, laclasse.com's `PronoteTokenBuilder`).
    pub fn pronote() -> Self {
        AttributeNames {
            login: None,
            nom: Some("nom".to_owned()),
            prenom: Some("prenom".to_owned()),
            date_naissance: Some("dateNaissance".to_owned()),
            code_postal: Some("codePostal".to_owned()),
            categories: Some("categories".to_owned()),
            id_produit: None,
        }
    }

    /// OpenID Connect's standard claims (Core §5.1); `categories` is not standard but is what ENT
    /// providers that speak PRONOTE's vocabulary release.
    pub fn openid_connect() -> Self {
        AttributeNames {
            login: None,
            nom: Some("family_name".to_owned()),
            prenom: Some("given_name".to_owned()),
            date_naissance: Some("birthdate".to_owned()),
            code_postal: Some("address.postal_code".to_owned()),
            categories: Some("categories".to_owned()),
            id_produit: None,
        }
    }

    /// Fields of `self` where set, else those of `base`.
    pub fn or(self, base: &AttributeNames) -> AttributeNames {
        AttributeNames {
            login: self.login.or_else(|| base.login.clone()),
            nom: self.nom.or_else(|| base.nom.clone()),
            prenom: self.prenom.or_else(|| base.prenom.clone()),
            date_naissance: self.date_naissance.or_else(|| base.date_naissance.clone()),
            code_postal: self.code_postal.or_else(|| base.code_postal.clone()),
            categories: self.categories.or_else(|| base.categories.clone()),
            id_produit: self.id_produit.or_else(|| base.id_produit.clone()),
        }
    }

    /// (PRONOTE field, attribute name) pairs, for display.
    pub fn pairs(&self) -> [(&'static str, Option<&str>); 7] {
        [
            ("login", self.login.as_deref()),
            ("nom", self.nom.as_deref()),
            ("prenom", self.prenom.as_deref()),
            ("date_naissance", self.date_naissance.as_deref()),
            ("code_postal", self.code_postal.as_deref()),
            ("categories", self.categories.as_deref()),
            ("id_produit", self.id_produit.as_deref()),
        ]
    }
}

/// PRONOTE's four national categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// `National_1`: élève.
    Eleve,
    /// `National_2`: parent (responsable légal).
    Parent,
    /// `National_3`: enseignant.
    Enseignant,
    /// `National_4`: personnel (direction, vie scolaire, administratif).
    Personnel,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Eleve,
        Category::Parent,
        Category::Enseignant,
        Category::Personnel,
    ];

    /// The value PRONOTE expects, e.g. `National_2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Eleve => "National_1",
            Category::Parent => "National_2",
            Category::Enseignant => "National_3",
            Category::Personnel => "National_4",
        }
    }

    /// The French word for people.
    pub fn label(self) -> &'static str {
        match self {
            Category::Eleve => "élève",
            Category::Parent => "parent",
            Category::Enseignant => "enseignant",
            Category::Personnel => "personnel",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "catégorie inconnue « {s} » (National_1, National_2, National_3 ou National_4)"
                )
            })
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// A raw profile value as an identity provider sends it: exact (`National_2`, `resp2d`) or a prefix
/// ending in `*` (`resp*`). Compared without regard to ASCII case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuePattern {
    Exact(String),
    Prefix(String),
}

impl ValuePattern {
    pub fn matches(&self, value: &str) -> bool {
        match self {
            ValuePattern::Exact(exact) => exact.eq_ignore_ascii_case(value),
            ValuePattern::Prefix(prefix) => value
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
        }
    }
}

impl fmt::Display for ValuePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValuePattern::Exact(exact) => f.write_str(exact),
            ValuePattern::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

impl FromStr for ValuePattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed != text {
            return Err(format!(
                "valeur de catégorie invalide « {text} » : ni vide ni espaces autour"
            ));
        }
        match text.strip_suffix('*') {
            Some(prefix) if !prefix.is_empty() && !prefix.contains('*') => {
                Ok(ValuePattern::Prefix(prefix.to_owned()))
            }
            None if !text.contains('*') => Ok(ValuePattern::Exact(text.to_owned())),
            _ => Err(format!(
                "valeur de catégorie invalide « {text} » : * seulement à la fin, après au moins un caractère"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for ValuePattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// Which raw values mean which category (PRONOTE's per-profile category values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryValues(BTreeMap<Category, Vec<ValuePattern>>);

impl Default for CategoryValues {
    /// Each category is recognised by its own name (`National_1` …), as ENTs send them to PRONOTE.
    fn default() -> Self {
        CategoryValues(
            Category::ALL
                .into_iter()
                .map(|c| (c, vec![ValuePattern::Exact(c.as_str().to_owned())]))
                .collect(),
        )
    }
}

impl CategoryValues {
    /// Start from the defaults and replace the values of the categories present in `table`.
    pub fn with_overrides(table: &BTreeMap<Category, Vec<ValuePattern>>) -> Self {
        let mut values = CategoryValues::default();
        for (category, patterns) in table {
            values.0.insert(*category, patterns.clone());
        }
        values
    }

    /// The categories a raw value stands for (usually one).
    pub fn categories_of(&self, value: &str) -> impl Iterator<Item = Category> + '_ {
        let value = value.trim().to_owned();
        self.0
            .iter()
            .filter(move |(_, patterns)| patterns.iter().any(|p| p.matches(&value)))
            .map(|(category, _)| *category)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Category, &[ValuePattern])> {
        self.0.iter().map(|(c, p)| (*c, p.as_slice()))
    }
}

/// How a first connection is matched to a PRONOTE account (PRONOTE's `ModePremiereConnexion`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchingMode {
    /// "Mode sans alimentation": by identity (nom, prénom, date de naissance, code postal, catégories).
    #[default]
    Identity,
    /// "Mode avec alimentation": the provider carries the PRONOTE product id ("Id. PRONOTE-ENT").
    ProductId,
}

impl MatchingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchingMode::Identity => "identity",
            MatchingMode::ProductId => "product_id",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MatchingMode::Identity => "par identité (mode sans alimentation)",
            MatchingMode::ProductId => "par identifiant PRONOTE (mode avec alimentation)",
        }
    }
}

/// Everything the mapping needs from a delegation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingRules {
    pub names: AttributeNames,
    pub categories: CategoryValues,
    pub matching: MatchingMode,
}

/// The result of a successful mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The stable subject PRONOTE will know as "Id. CAS".
    pub login: String,
    /// The fields handed to PRONOTE; `categories` holds `National_N` values only.
    pub fields: MappedFields,
    /// The same categories, typed, for space authorisation.
    pub categories: BTreeSet<Category>,
}

/// Why an identity cannot be handed to PRONOTE. Named after PRONOTE's `TypeErreurCAS` where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("le fournisseur d'identité n'a pas transmis d'identifiant{}", at_attribute(.attribute))]
    MissingLogin { attribute: Option<String> },
    #[error(
        "le fournisseur d'identité a transmis plusieurs valeurs différentes pour « {field} » (attribut {attribute})"
    )]
    SeveralValues {
        field: &'static str,
        attribute: String,
    },
    #[error(
        "format de date de naissance non reconnu (attribut {attribute}) : attendu jj/mm/aaaa, aaaa-mm-jj, aaaammjj…"
    )]
    BadBirthDateFormat { attribute: String },
    #[error("le fournisseur d'identité n'a transmis aucune catégorie{}", at_attribute(.attribute))]
    NoCategories { attribute: Option<String> },
    #[error("catégorie(s) non reconnue(s) : {}", .values.join(", "))]
    UnknownCategories { values: Vec<String> },
    #[error(
        "le rapprochement par identité demande « {field} », que le fournisseur d'identité n'a pas transmis"
    )]
    IncompleteIdentity { field: &'static str },
    #[error(
        "le rapprochement par identifiant PRONOTE demande l'identifiant produit, que le fournisseur d'identité n'a pas transmis{}",
        at_attribute(.attribute)
    )]
    MissingProductId { attribute: Option<String> },
}

fn at_attribute(attribute: &Option<String>) -> String {
    attribute
        .as_ref()
        .map_or_else(String::new, |name| format!(" (attribut {name})"))
}

impl MappingError {
    /// Stable code for logs and the API.
    pub fn code(&self) -> &'static str {
        match self {
            MappingError::MissingLogin { .. } => "identifiant_absent",
            MappingError::SeveralValues { .. } => "valeurs_multiples",
            MappingError::BadBirthDateFormat { .. } => "date_naissance_invalide",
            MappingError::NoCategories { .. } => "categories_absentes",
            MappingError::UnknownCategories { .. } => "categories_inconnues",
            MappingError::IncompleteIdentity { .. } => "identite_incomplete",
            MappingError::MissingProductId { .. } => "id_produit_absent",
        }
    }
}

/// Map what a provider released to PRONOTE's fields. `subject` is the protocol's own subject (CAS
/// user, NameID, `sub`), used as login unless the rules name a login attribute.
pub fn map_attributes(
    subject: Option<&str>,
    attributes: &Attributes,
    rules: &MappingRules,
) -> Result<Mapped, MappingError> {
    let names = &rules.names;
    let login = match &names.login {
        Some(name) => single(attributes, name, "login")?,
        None => subject
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    }
    .ok_or_else(|| MappingError::MissingLogin {
        attribute: names.login.clone(),
    })?;

    let field = |name: &Option<String>, field: &'static str| match name {
        Some(name) => single(attributes, name, field),
        None => Ok(None),
    };
    let nom = field(&names.nom, "nom")?;
    let prenom = field(&names.prenom, "prenom")?;
    let code_postal = field(&names.code_postal, "code_postal")?;
    let id_produit = field(&names.id_produit, "id_produit")?;
    let date_naissance = match (
        &names.date_naissance,
        field(&names.date_naissance, "date_naissance")?,
    ) {
        (Some(attribute), Some(raw)) => {
            Some(
                normalise_birth_date(&raw).map_err(|_| MappingError::BadBirthDateFormat {
                    attribute: attribute.clone(),
                })?,
            )
        }
        _ => None,
    };
    let categories = categories(attributes, names.categories.as_deref(), &rules.categories)?;

    match rules.matching {
        MatchingMode::Identity => {
            if nom.is_none() {
                return Err(MappingError::IncompleteIdentity { field: "nom" });
            }
            if prenom.is_none() {
                return Err(MappingError::IncompleteIdentity { field: "prenom" });
            }
        }
        MatchingMode::ProductId if id_produit.is_none() => {
            return Err(MappingError::MissingProductId {
                attribute: names.id_produit.clone(),
            });
        }
        MatchingMode::ProductId => {}
    }

    Ok(Mapped {
        login,
        fields: MappedFields {
            nom,
            prenom,
            date_naissance,
            code_postal,
            categories: categories.iter().map(|c| c.as_str().to_owned()).collect(),
            id_produit,
        },
        categories,
    })
}

/// The one value of a single-valued field: blank values are absent, repeated equal values are one,
/// different values are an error (PRONOTE refuses "plusieurs Id CAS" rather than pick one).
fn single(
    attributes: &Attributes,
    name: &str,
    field: &'static str,
) -> Result<Option<String>, MappingError> {
    let mut found: Option<&str> = None;
    for value in attributes.get(name) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match found {
            Some(previous) if previous != value => {
                return Err(MappingError::SeveralValues {
                    field,
                    attribute: name.to_owned(),
                });
            }
            _ => found = Some(value),
        }
    }
    Ok(found.map(str::to_owned))
}

/// Categories from a multi-valued attribute whose values may also be `;`-joined (Open ENT NG joins
/// several categories with `;`).
fn categories(
    attributes: &Attributes,
    name: Option<&str>,
    values: &CategoryValues,
) -> Result<BTreeSet<Category>, MappingError> {
    let raw: Vec<&str> = name
        .map(|name| attributes.get(name))
        .unwrap_or_default()
        .iter()
        .flat_map(|value| value.split(';'))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .collect();
    if raw.is_empty() {
        return Err(MappingError::NoCategories {
            attribute: name.map(str::to_owned),
        });
    }
    let found: BTreeSet<Category> = raw
        .iter()
        .flat_map(|value| values.categories_of(value))
        .collect();
    if found.is_empty() {
        return Err(MappingError::UnknownCategories {
            values: raw.into_iter().map(str::to_owned).collect(),
        });
    }
    Ok(found)
}

/// A birth date that is not a real calendar date in a known format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("format de date de naissance non reconnu")]
pub struct BadBirthDate;

/// Normalise a birth date to PRONOTE's `dd/mm/yyyy`. Accepted, as seen from ENTs and national IdPs:
/// `dd/mm/yyyy` (PRONOTE, SDET), `d/m/yyyy`, `dd-mm-yyyy`, `dd.mm.yyyy`, `yyyy-mm-dd` (EduConnect
/// `FrEduCtDateNaissance`, OIDC `birthdate`), `yyyy/mm/dd`, `yyyymmdd`, ISO 8601 with a time
/// (`2008-05-17T00:00:00Z`, `…T00:00:00.000+02:00`, Edifice `birthDate`), `yyyy-mm-dd HH:MM:SS.mmm`
/// (Shibboleth style) and LDAP generalized time (`20080517000000Z`). The date part is taken as
/// written: a birth date is a calendar date, never shifted by a time zone. Two-digit years are refused
/// (ambiguous), as are impossible dates (31/02) and years outside 1900–2100.
pub fn normalise_birth_date(raw: &str) -> Result<String, BadBirthDate> {
    let text = raw.trim();
    if !text.is_ascii() || text.len() > 40 {
        return Err(BadBirthDate);
    }
    let (day, month, year) = parse_date(text).ok_or(BadBirthDate)?;
    if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) {
        return Err(BadBirthDate);
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(BadBirthDate);
    }
    Ok(format!("{day:02}/{month:02}/{year:04}"))
}

fn parse_date(text: &str) -> Option<(u32, u32, u32)> {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // yyyymmdd, or LDAP generalized time yyyymmddHHMMSS[.f][Z]
    if text.len() >= 8 && all_digits(&text[..8]) {
        let rest = &text[8..];
        let time_ok = rest.is_empty()
            || (rest.len() >= 6 && all_digits(&rest[..6]) && is_time_zone_or_fraction(&rest[6..]));
        if time_ok {
            return Some((
                text[6..8].parse().ok()?,
                text[4..6].parse().ok()?,
                text[..4].parse().ok()?,
            ));
        }
        return None;
    }
    // Year first: yyyy-mm-dd[(T| )time] or yyyy/mm/dd.
    if text.len() >= 10 && all_digits(&text[..4]) {
        let sep = text.as_bytes()[4];
        if !matches!(sep, b'-' | b'/' | b'.') || text.as_bytes()[7] != sep {
            return None;
        }
        let (month, day) = (&text[5..7], &text[8..10]);
        if !all_digits(month) || !all_digits(day) {
            return None;
        }
        let rest = &text[10..];
        if !rest.is_empty() {
            let time = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
            if !is_time(time) {
                return None;
            }
        }
        return Some((
            day.parse().ok()?,
            month.parse().ok()?,
            text[..4].parse().ok()?,
        ));
    }
    // Day first: d[d]/m[m]/yyyy with one separator kind.
    let sep = text.bytes().find(|b| matches!(b, b'/' | b'-' | b'.'))?;
    let parts: Vec<&str> = text.split(sep as char).collect();
    match parts.as_slice() {
        [day, month, year]
            if (1..=2).contains(&day.len())
                && (1..=2).contains(&month.len())
                && year.len() == 4
                && all_digits(day)
                && all_digits(month)
                && all_digits(year) =>
        {
            Some((day.parse().ok()?, month.parse().ok()?, year.parse().ok()?))
        }
        _ => None,
    }
}

/// `HH:MM[:SS[.fff]]` followed by nothing, `Z` or `±hh[:mm]`.
fn is_time(time: &str) -> bool {
    let b = time.as_bytes();
    let two_digits = |i: usize| {
        b.get(i..i + 2)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    if !(two_digits(0) && b.get(2) == Some(&b':') && two_digits(3)) {
        return false;
    }
    let mut i = 5;
    if b.get(i) == Some(&b':') {
        if !two_digits(i + 1) {
            return false;
        }
        i += 3;
    }
    is_time_zone_or_fraction(&time[i..])
}

/// `[.fff][Z|±hh[:mm]]`
fn is_time_zone_or_fraction(rest: &str) -> bool {
    let mut rest = rest;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    match rest.as_bytes().first() {
        None => true,
        Some(b'Z') => rest.len() == 1,
        Some(b'+' | b'-') => {
            let zone = &rest[1..];
            let ok = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
            match zone.split_once(':') {
                Some((h, m)) => ok(h) && ok(m),
                None => ok(zone) || (zone.len() == 4 && ok(&zone[..2]) && ok(&zone[2..])),
            }
        }
        Some(_) => false,
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// PRONOTE's "correspondances espaces / catégories": which categories may open which space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceRules(BTreeMap<SpaceId, BTreeSet<Category>>);

impl Default for SpaceRules {
    /// Pupils → Espace Élèves, parents → Espace Parents, teachers → Espace Professeurs, staff →
    /// Direction and Vie scolaire; the Page commune to everyone; Accompagnants, Entreprise and Académie
    /// to nobody until the school says who (no national category means them).
    fn default() -> Self {
        use Category::*;
        let rules = [
            (SpaceId::Commune, &Category::ALL[..]),
            (SpaceId::Eleve, &[Eleve][..]),
            (SpaceId::Parent, &[Parent][..]),
            (SpaceId::Professeur, &[Enseignant][..]),
            (SpaceId::Direction, &[Personnel][..]),
            (SpaceId::Viescolaire, &[Personnel][..]),
            (SpaceId::Accompagnant, &[][..]),
            (SpaceId::Entreprise, &[][..]),
            (SpaceId::Academie, &[][..]),
        ];
        SpaceRules(
            rules
                .into_iter()
                .map(|(space, cats)| (space, cats.iter().copied().collect()))
                .collect(),
        )
    }
}

impl SpaceRules {
    /// Replace the categories allowed in `space`.
    pub fn allow(mut self, space: SpaceId, categories: impl IntoIterator<Item = Category>) -> Self {
        self.0.insert(space, categories.into_iter().collect());
        self
    }

    pub fn allowed(&self, space: SpaceId) -> impl Iterator<Item = Category> + '_ {
        self.0.get(&space).into_iter().flatten().copied()
    }

    /// May a person with `categories` open `space`?
    pub fn authorise(
        &self,
        space: SpaceId,
        categories: &BTreeSet<Category>,
    ) -> Result<(), SpaceRefusal> {
        if self.allowed(space).any(|c| categories.contains(&c)) {
            Ok(())
        } else {
            Err(SpaceRefusal {
                space,
                categories: categories.iter().copied().collect(),
            })
        }
    }
}

/// Written in a delegation as a table `space = ["National_N", …]`; spaces not listed keep the
/// defaults.
impl<'de> Deserialize<'de> for SpaceRules {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = BTreeMap::<String, Vec<Category>>::deserialize(deserializer)?;
        let mut rules = SpaceRules::default();
        for (space, categories) in table {
            let space: SpaceId = space.parse().map_err(de::Error::custom)?;
            rules = rules.allow(space, categories);
        }
        Ok(rules)
    }
}

/// The person's profile does not open this space.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", refusal_message(*.space, .categories))]
pub struct SpaceRefusal {
    pub space: SpaceId,
    pub categories: Vec<Category>,
}

impl SpaceRefusal {
    pub fn code(&self) -> &'static str {
        "profil_non_autorise"
    }
}

fn refusal_message(space: SpaceId, categories: &[Category]) -> String {
    let profile = if categories.is_empty() {
        "sans catégorie".to_owned()
    } else {
        categories
            .iter()
            .map(|c| c.label())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "votre profil ({profile}) ne donne pas accès à l'{}",
        space.label()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_birth_date_format_seen_in_the_wild_becomes_dd_mm_yyyy() {
        for raw in [
            "17/05/2008",
            "17/5/2008",
            "7/05/2008",
            "17-05-2008",
            "17.05.2008",
            "2008-05-17",
            "2008/05/17",
            "2008.05.17",
            "20080517",
            "20080517000000Z",
            "20080517000000.0Z",
            "2008-05-17T00:00:00Z",
            "2008-05-17T00:00:00.000Z",
            "2008-05-17T00:00:00+02:00",
            "2008-05-17T00:00:00.000+0200",
            "2008-05-17T00:00",
            "2008-05-17 00:00:00.000",
            " 2008-05-17 ",
        ] {
            let expected = if raw.starts_with('7') {
                "07/05/2008"
            } else {
                "17/05/2008"
            };
            assert_eq!(normalise_birth_date(raw).as_deref(), Ok(expected), "{raw}");
        }
    }

    #[test]
    fn impossible_or_ambiguous_birth_dates_are_refused() {
        for raw in [
            "",
            "31/02/2008",
            "29/02/2007",
            "17/13/2008",
            "00/05/2008",
            "17/05/08",
            "2008-5-17",
            "17/05-2008",
            "1850-01-01",
            "2008-05-17X",
            "2008-05-17T25",
            "2008-05-17Tnoon",
            "17 mai 2008",
            "٢٠٠٨-٠٥-١٧",
            "2008051",
            "200805170000",
            "2008-05-17T00:00:00+2",
        ] {
            assert_eq!(normalise_birth_date(raw), Err(BadBirthDate), "{raw:?}");
        }
        assert_eq!(
            normalise_birth_date("29/02/2008").as_deref(),
            Ok("29/02/2008")
        );
        assert_eq!(
            normalise_birth_date("29/02/2000").as_deref(),
            Ok("29/02/2000")
        );
        assert_eq!(normalise_birth_date("29/02/1900"), Err(BadBirthDate));
    }

    fn pronote_rules() -> MappingRules {
        MappingRules {
            names: AttributeNames::pronote(),
            ..MappingRules::default()
        }
    }

    #[test]
    fn an_open_ent_ng_release_maps_to_pronote_fields() {
        // PronoteRegisteredService: principal + nom, prenom, dateNaissance, codePostal, categories.
        let attributes: Attributes = [
            ("nom", "MARTIN"),
            ("prenom", "Léa"),
            ("dateNaissance", "17/05/2008"),
            ("codePostal", "76000"),
            ("categories", "National_2;National_3"),
        ]
        .into_iter()
        .collect();
        let mapped = map_attributes(Some("f3c2-91"), &attributes, &pronote_rules()).unwrap();
        assert_eq!(mapped.login, "f3c2-91");
        assert_eq!(mapped.fields.nom.as_deref(), Some("MARTIN"));
        assert_eq!(mapped.fields.date_naissance.as_deref(), Some("17/05/2008"));
        assert_eq!(mapped.fields.categories, ["National_2", "National_3"]);
        assert_eq!(
            mapped.categories,
            [Category::Parent, Category::Enseignant].into()
        );
    }

    #[test]
    fn repeated_category_elements_are_read_like_joined_ones() {
        let attributes: Attributes = [
            ("nom", "A"),
            ("prenom", "B"),
            ("categories", "National_1"),
            ("categories", " National_1 ; "),
        ]
        .into_iter()
        .collect();
        let mapped = map_attributes(Some("u"), &attributes, &pronote_rules()).unwrap();
        assert_eq!(mapped.fields.categories, ["National_1"]);
    }

    fn educonnect_rules() -> MappingRules {
        let oid = |n: &str| Some(format!("urn:oid:1.3.6.1.4.1.20326.10.999.1.{n}"));
        MappingRules {
            names: AttributeNames {
                login: oid("57"),
                nom: Some("urn:oid:2.5.4.4".to_owned()),
                prenom: Some("urn:oid:2.5.4.42".to_owned()),
                date_naissance: oid("67"),
                categories: oid("7"),
                ..AttributeNames::default()
            },
            categories: CategoryValues::with_overrides(&BTreeMap::from([
                (Category::Eleve, vec!["eleve*".parse().unwrap()]),
                (Category::Parent, vec!["resp*".parse().unwrap()]),
            ])),
            matching: MatchingMode::Identity,
        }
    }

    #[test]
    fn an_educonnect_assertion_maps_through_oids_and_affiliations() {
        let attributes: Attributes = [
            ("urn:oid:1.3.6.1.4.1.20326.10.999.1.57", "a1b2c3"),
            ("urn:oid:1.3.6.1.4.1.20326.10.999.1.7", "resp2d"),
            ("urn:oid:1.3.6.1.4.1.20326.10.999.1.67", "1980-02-29"),
            ("urn:oid:2.5.4.4", "DURAND"),
            ("urn:oid:2.5.4.42", "Paul"),
        ]
        .into_iter()
        .collect();
        let mapped =
            map_attributes(Some("transient-id"), &attributes, &educonnect_rules()).unwrap();
        assert_eq!(
            mapped.login, "a1b2c3",
            "FrEduCtId, never the transient NameID"
        );
        assert_eq!(mapped.fields.date_naissance.as_deref(), Some("29/02/1980"));
        assert_eq!(mapped.fields.categories, ["National_2"]);
        assert_eq!(mapped.fields.code_postal, None);
    }

    #[test]
    fn mapping_errors_follow_pronote_taxonomy() {
        let rules = pronote_rules();
        let base = [("nom", "A"), ("prenom", "B"), ("categories", "National_1")];
        let with = |extra: &[(&'static str, &'static str)]| -> Attributes {
            base.iter().chain(extra).copied().collect()
        };

        let err = map_attributes(None, &with(&[]), &rules).unwrap_err();
        assert_eq!(err.code(), "identifiant_absent");
        let err = map_attributes(Some("  "), &with(&[]), &rules).unwrap_err();
        assert_eq!(err.code(), "identifiant_absent");

        let err = map_attributes(Some("u"), &with(&[("dateNaissance", "2008-13-01")]), &rules)
            .unwrap_err();
        assert_eq!(err.code(), "date_naissance_invalide");
        assert!(err.to_string().contains("dateNaissance"));
        assert!(
            !err.to_string().contains("2008-13-01"),
            "no personal data in messages"
        );

        let no_categories: Attributes = [("nom", "A"), ("prenom", "B")].into_iter().collect();
        let err = map_attributes(Some("u"), &no_categories, &rules).unwrap_err();
        assert_eq!(err.code(), "categories_absentes");
        let blank: Attributes = [("nom", "A"), ("prenom", "B"), ("categories", " ; ")]
            .into_iter()
            .collect();
        assert_eq!(
            map_attributes(Some("u"), &blank, &rules)
                .unwrap_err()
                .code(),
            "categories_absentes"
        );

        let unknown: Attributes = [("nom", "A"), ("prenom", "B"), ("categories", "Teacher")]
            .into_iter()
            .collect();
        let err = map_attributes(Some("u"), &unknown, &rules).unwrap_err();
        assert_eq!(
            err,
            MappingError::UnknownCategories {
                values: vec!["Teacher".into()]
            }
        );

        let twice = with(&[
            ("dateNaissance", "01/01/2008"),
            ("dateNaissance", "02/01/2008"),
        ]);
        let err = map_attributes(Some("u"), &twice, &rules).unwrap_err();
        assert_eq!(err.code(), "valeurs_multiples");
        let same_twice = with(&[
            ("dateNaissance", "01/01/2008"),
            ("dateNaissance", "01/01/2008"),
        ]);
        assert!(map_attributes(Some("u"), &same_twice, &rules).is_ok());

        let nameless: Attributes = [("prenom", "B"), ("categories", "National_1")]
            .into_iter()
            .collect();
        let err = map_attributes(Some("u"), &nameless, &rules).unwrap_err();
        assert_eq!(err, MappingError::IncompleteIdentity { field: "nom" });

        let product = MappingRules {
            matching: MatchingMode::ProductId,
            names: AttributeNames {
                id_produit: Some("idPronote".into()),
                ..AttributeNames::pronote()
            },
            ..MappingRules::default()
        };
        let err = map_attributes(Some("u"), &with(&[]), &product).unwrap_err();
        assert_eq!(err.code(), "id_produit_absent");
        let mapped = map_attributes(Some("u"), &with(&[("idPronote", "PN-42")]), &product).unwrap();
        assert_eq!(mapped.fields.id_produit.as_deref(), Some("PN-42"));
    }

    #[test]
    fn a_login_attribute_replaces_the_protocol_subject() {
        let rules = MappingRules {
            names: AttributeNames {
                login: Some("ENTPersonLogin".into()),
                ..AttributeNames::pronote()
            },
            ..MappingRules::default()
        };
        let attributes: Attributes = [
            ("ENTPersonLogin", "lea.martin"),
            ("nom", "A"),
            ("prenom", "B"),
            ("categories", "National_1"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            map_attributes(Some("x"), &attributes, &rules)
                .unwrap()
                .login,
            "lea.martin"
        );
        let without: Attributes = [("nom", "A"), ("prenom", "B"), ("categories", "National_1")]
            .into_iter()
            .collect();
        assert_eq!(
            map_attributes(Some("x"), &without, &rules).unwrap_err(),
            MappingError::MissingLogin {
                attribute: Some("ENTPersonLogin".into())
            }
        );
    }

    #[test]
    fn a_parent_cannot_open_the_pupils_or_teachers_space() {
        let rules = SpaceRules::default();
        let parent = BTreeSet::from([Category::Parent]);
        assert!(rules.authorise(SpaceId::Parent, &parent).is_ok());
        assert!(rules.authorise(SpaceId::Commune, &parent).is_ok());
        for space in [
            SpaceId::Eleve,
            SpaceId::Professeur,
            SpaceId::Direction,
            SpaceId::Viescolaire,
        ] {
            let refusal = rules.authorise(space, &parent).unwrap_err();
            assert_eq!(refusal.code(), "profil_non_autorise");
            assert_eq!(refusal.space, space);
        }
        let refusal = rules.authorise(SpaceId::Eleve, &parent).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "votre profil (parent) ne donne pas accès à l'Espace Élèves"
        );
        let staff = BTreeSet::from([Category::Personnel]);
        assert!(rules.authorise(SpaceId::Direction, &staff).is_ok());
        assert!(rules.authorise(SpaceId::Viescolaire, &staff).is_ok());
        assert!(rules.authorise(SpaceId::Accompagnant, &staff).is_err());
    }

    #[test]
    fn space_rules_are_configurable_per_delegation() {
        #[derive(Deserialize)]
        struct Probe {
            spaces: SpaceRules,
        }
        let probe: Probe = toml::from_str(
            "spaces = { viescolaire = [\"National_3\", \"National_4\"], accompagnant = [\"National_4\"] }",
        )
        .unwrap();
        let teacher = BTreeSet::from([Category::Enseignant]);
        assert!(
            probe
                .spaces
                .authorise(SpaceId::Viescolaire, &teacher)
                .is_ok()
        );
        assert!(
            probe
                .spaces
                .authorise(SpaceId::Professeur, &teacher)
                .is_ok(),
            "defaults kept"
        );
        let err = toml::from_str::<Probe>("spaces = { salle = [\"National_1\"] }")
            .err()
            .unwrap();
        assert!(err.message().contains("n'est pas un espace PRONOTE"));
        let err = toml::from_str::<Probe>("spaces = { eleve = [\"National_9\"] }")
            .err()
            .unwrap();
        assert!(err.message().contains("catégorie inconnue"));
    }

    #[test]
    fn category_patterns_match_exactly_or_by_prefix() {
        let prefix: ValuePattern = "resp*".parse().unwrap();
        assert!(prefix.matches("resp1d") && prefix.matches("RESP2D"));
        assert!(!prefix.matches("eleve2d") && !prefix.matches("res"));
        assert!("*".parse::<ValuePattern>().is_err());
        assert!("a*b".parse::<ValuePattern>().is_err());
        assert!(" x".parse::<ValuePattern>().is_err());
    }
}
