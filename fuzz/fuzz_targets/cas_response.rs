//! Every CAS validation-response parser on arbitrary bytes: none may panic, and a success always names
//! a non-empty user.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle::auth::cas::parse::{self, SamlExpectations};

fuzz_target!(|data: &[u8]| {
    let expect = SamlExpectations {
        service: "https://pronote.example.fr/auth/callback/parent/ent",
        now: 1_795_925_400,
    };
    for result in [
        parse::parse_service_response(data),
        parse::parse_json(data),
        parse::parse_saml11(data, expect),
        parse::parse_cas1(data),
    ] {
        if let Ok(success) = result {
            assert!(!success.user.trim().is_empty());
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse::parse_instant(text);
    }
});
