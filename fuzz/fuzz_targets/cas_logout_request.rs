//! CAS single-logout messages (back channel XML and front channel base64/deflate) on arbitrary input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle::auth::cas::slo;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = slo::session_index(text);
        if let Some(xml) = slo::decode_front_channel(text) {
            let _ = slo::session_index(&xml);
        }
    }
});
