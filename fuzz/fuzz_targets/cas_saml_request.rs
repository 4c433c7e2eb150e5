//! The CAS bridge's `/samlValidate` SOAP request parser on arbitrary bytes: never a panic, and any
//! ticket it returns is trimmed, non-empty and bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle::cas_server::saml11;

fuzz_target!(|data: &[u8]| {
    if let Ok(ticket) = saml11::parse_request(data) {
        assert!(!ticket.is_empty() && ticket.len() <= 256);
        assert_eq!(ticket.trim(), ticket);
    }
});
