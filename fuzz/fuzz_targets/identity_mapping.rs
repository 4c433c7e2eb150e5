//! Identity mapping on attacker-controlled attribute values: birth-date normalisation and the whole
//! attribute → PRONOTE fields mapping must never panic, and a normalised date is always dd/mm/yyyy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle::identity::mapping::{
    AttributeNames, Attributes, MappingRules, map_attributes, normalise_birth_date,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(date) = normalise_birth_date(text) {
        assert_eq!(date.len(), 10);
        assert_eq!(&date[2..3], "/");
        assert_eq!(&date[5..6], "/");
    }
    // Lines "name=value" become attributes, as a CAS or SAML parser would hand them over.
    let attributes: Attributes = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();
    let rules = MappingRules {
        names: AttributeNames::pronote(),
        ..MappingRules::default()
    };
    let subject = text.lines().next();
    let _ = map_attributes(subject, &attributes, &rules);
});
