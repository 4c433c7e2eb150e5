//! The authenticated path's reading of untrusted `Cookie` headers: finding the session cookie,
//! parsing the id, and stripping the gateway's cookies before proxying. None of it may panic, and
//! stripping must leave no gateway cookie behind.
#![no_main]

use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};
use libfuzzer_sys::fuzz_target;
use passerelle::session::{SessionId, cookie};

const NAMES: [&str; 2] = ["passerelle_session", "passerelle_session_csrf"];

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for part in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append(COOKIE, value);
        }
    }
    if let Some(value) = cookie::find(&headers, NAMES[0]) {
        let _ = SessionId::parse(value);
    }
    cookie::strip(&mut headers, &NAMES);
    for name in NAMES {
        assert!(cookie::find(&headers, name).is_none());
    }
});
