//! Who the client is. `X-Forwarded-For` and `Forwarded` are believed only when the TCP peer is one of
//! the configured trusted proxies, and then only up to the right-most address that is not itself a
//! trusted proxy: everything left of it was written by the client and proves nothing.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The client's address for logs, suspensions and `X-Forwarded-For`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    let peer = canonical(peer);
    if !is_trusted(&peer) {
        return peer;
    }
    let mut chain = forwarded_chain(headers);
    let mut client = peer;
    while let Some(hop) = chain.pop() {
        let Some(ip) = hop else {
            // An unreadable hop: nothing before it can be vouched for.
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
}

/// The addresses the proxies recorded, left (first) to right (nearest). `X-Forwarded-For` is used when
/// present, else `Forwarded`'s `for=`. `None` marks an entry that is not an IP address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("?").split(','))
        .map(parse_node)
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all("forwarded")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("for=?").split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.eq_ignore_ascii_case("for").then(|| parse_node(value))
            })
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:567`, `2001:db8::1`, `"[2001:db8::1]:567"`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    let inner = text.strip_prefix('[')?.split(']').next()?;
    inner.parse().ok().map(canonical)
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, seen on dual-stack sockets) is the IPv4 client it stands for.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_static(value));
        map
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let ip = resolve(
            "203.0.113.9".parse().unwrap(),
            &headers("x-forwarded-for", "1.1.1.1"),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(ip, "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_trusted_proxy_gives_the_rightmost_untrusted_address() {
        let trusted = nets(&["10.0.0.0/8"]);
        let map = headers("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1");
        let ip = resolve("10.0.0.2".parse().unwrap(), &map, &trusted);
        assert_eq!(ip, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn forwarded_header_is_understood() {
        let trusted = nets(&["10.0.0.0/8"]);
        let map = headers(
            "forwarded",
            "for=192.0.2.60;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
        );
        let ip = resolve("10.0.0.2".parse().unwrap(), &map, &trusted);
        assert_eq!(ip, "2001:db8:cafe::17".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_trusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        let map = headers("x-forwarded-for", "1.1.1.1, n'importe quoi");
        let ip = resolve("10.0.0.2".parse().unwrap(), &map, &trusted);
        assert_eq!(ip, "10.0.0.2".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn mapped_ipv4_is_canonicalised() {
        let ip = resolve("::ffff:192.0.2.1".parse().unwrap(), &HeaderMap::new(), &[]);
        assert_eq!(ip, "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
