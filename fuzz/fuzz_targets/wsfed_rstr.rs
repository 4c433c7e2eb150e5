//! The WS-Federation input path before and around the signature check: the strict reading of a
//! posted `wresult` (RSTR) down to the standalone assertion, the whole token verification with a
//! trust anchor that random input cannot satisfy, and STS federation metadata parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle::auth::wsfed::metadata::StsMetadata;
use passerelle::auth::wsfed::{Settings, rstr, token};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rstr::parse(&text, false, 256 * 1024);
    let _ = StsMetadata::parse(&text);
    let sts = StsMetadata {
        entity_id: "urn:sts".into(),
        passive_endpoint: "https://sts.test/adfs/ls/".into(),
        signing_certs: vec![b"not a certificate".to_vec()],
        claims_offered: Vec::new(),
    };
    let _ = token::verify(&text, &Settings::new("urn:rp", sts), 0);
});
