//! A back-channel `logout_token` is POSTed by anyone who can reach the gateway: taking the compact
//! JWS apart and checking its claims must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle::auth::oidc::{jws, logout};

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        if let Ok(token) = jws::split(raw) {
            let _ = logout::check_claims(&token.payload, "https://op.example", "rp", 1_700_000_000);
        }
    }
    // The claims checker alone, on arbitrary bytes.
    let _ = logout::check_claims(data, "https://op.example", "rp", 1_700_000_000);
});
