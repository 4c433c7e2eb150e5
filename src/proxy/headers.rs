//! Header hygiene between the client and the upstream.

use std::fmt::Write as _;
use std::net::IpAddr;

use http::HeaderMap;
use http::header::{CONNECTION, FORWARDED, HOST, HeaderName, HeaderValue, UPGRADE};

/// Headers that describe one connection, not the message, and so never cross a proxy (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Remove hop-by-hop headers, including any the `Connection` header names.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The protocol a client asks to switch to (`Connection: upgrade` + `Upgrade: websocket`), if any.
pub fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(UPGRADE).cloned()).flatten()
}

/// Put back the upgrade request after hop-by-hop removal: it is the one hop-by-hop exchange a proxy
/// must relay for WebSockets to work.
pub fn restore_upgrade(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, protocol);
}

/// The forwarding headers the gateway writes. Incoming ones are replaced, never extended: the client
/// address was already resolved against the trusted proxies, and anything else a client wrote there is
/// unproven.
#[derive(Debug, Clone, Copy)]
pub struct ForwardedFor {
    pub client_ip: IpAddr,
    /// `https` or `http`: how the client reached the gateway.
    pub proto: &'static str,
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

impl ForwardedFor {
    /// Runs on every proxied request, so it builds one string (`Forwarded`, whose `for=` part is
    /// also `X-Forwarded-For`) and reuses the client's `Host` value as is.
    pub fn apply(&self, headers: &mut HeaderMap) {
        let host = headers
            .get(HOST)
            .filter(|h| h.to_str().is_ok_and(|h| !h.contains(['"', ';', ','])))
            .cloned();
        let mut forwarded = String::with_capacity(96);
        forwarded.push_str("for=");
        let ip = match self.client_ip {
            IpAddr::V4(_) => {
                let start = forwarded.len();
                let _ = write!(forwarded, "{}", self.client_ip);
                start..forwarded.len()
            }
            IpAddr::V6(_) => {
                forwarded.push_str("\"[");
                let start = forwarded.len();
                let _ = write!(forwarded, "{}", self.client_ip);
                let end = forwarded.len();
                forwarded.push_str("]\"");
                start..end
            }
        };
        forwarded.push_str(";proto=");
        forwarded.push_str(self.proto);
        if let Some(host) = host.as_ref().and_then(|h| h.to_str().ok()) {
            forwarded.push_str(";host=\"");
            forwarded.push_str(host);
            forwarded.push('"');
        }
        let mut set = |name: HeaderName, value: Option<HeaderValue>| match value {
            Some(value) => {
                headers.insert(name, value);
            }
            None => {
                headers.remove(name);
            }
        };
        set(X_FORWARDED_FOR, HeaderValue::from_str(&forwarded[ip]).ok());
        set(
            X_FORWARDED_PROTO,
            Some(HeaderValue::from_static(self.proto)),
        );
        set(FORWARDED, HeaderValue::from_str(&forwarded).ok());
        set(
            X_FORWARDED_HOST,
            Some(host.unwrap_or_else(|| HeaderValue::from_static(""))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive, x-secret"));
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        remove_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("accept"));
    }

    #[test]
    fn websocket_upgrade_is_detected() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        assert_eq!(
            upgrade_protocol(&headers),
            Some(HeaderValue::from_static("websocket"))
        );
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        assert_eq!(upgrade_protocol(&headers), None);
    }

    #[test]
    fn forwarding_headers_replace_what_the_client_sent() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        headers.insert(HOST, HeaderValue::from_static("pronote.example.fr"));
        ForwardedFor {
            client_ip: "2001:db8::1".parse().unwrap(),
            proto: "https",
        }
        .apply(&mut headers);
        assert_eq!(headers["x-forwarded-for"], "2001:db8::1");
        assert_eq!(headers["x-forwarded-host"], "pronote.example.fr");
        assert_eq!(
            headers["forwarded"],
            "for=\"[2001:db8::1]\";proto=https;host=\"pronote.example.fr\""
        );
    }
}
