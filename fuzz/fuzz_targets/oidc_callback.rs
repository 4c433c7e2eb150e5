//! The OpenID Connect callback query string (`code`, `state`, `error`…) comes from the browser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        let _ = passerelle::auth::oidc::callback::parse(query);
    }
});
