//! Everything the gateway reads from a request before any authentication: the path it routes on, the
//! `Cookie` headers, `X-Forwarded-For` / `Forwarded`, the session id and the return page after login.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use passerelle::auth::safe_return;
use passerelle::server::client_ip;
use passerelle::session::{SessionId, cookie};
use passerelle::space::SpaceId;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = SpaceId::from_page_path(&text);
    let _ = SessionId::parse(&text);
    let _ = safe_return(SpaceId::Parent, &text);

    let Ok(value) = HeaderValue::from_bytes(data) else { return };
    let mut headers = HeaderMap::new();
    headers.append("cookie", value.clone());
    headers.append("x-forwarded-for", value.clone());
    headers.append("forwarded", value);
    let _ = cookie::find(&headers, "passerelle_session");
    cookie::strip(&mut headers, &["passerelle_session", "passerelle_session_csrf"]);
    let trusted = ["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    let _ = client_ip::resolve([127, 0, 0, 1].into(), &headers, &trusted);
});
