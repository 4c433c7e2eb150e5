//! Reading and writing the gateway's cookies, and keeping them away from the upstream.

use http::HeaderValue;
use http::header::{COOKIE, HeaderMap};

/// The value of cookie `name` in the request, if sent (HTTP/2 may split cookies over several headers).
pub fn find<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Remove the named cookies from the `Cookie` headers; the upstream never sees a gateway cookie.
/// Leaves the headers untouched (no allocation) when none of them is present.
pub fn strip(headers: &mut HeaderMap, names: &[&str]) {
    let is_ours = |pair: &str| {
        let key = pair
            .trim()
            .split_once('=')
            .map_or(pair.trim(), |(key, _)| key);
        names.contains(&key)
    };
    let present = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(';').any(is_ours));
    if !present {
        return;
    }
    let kept: Vec<String> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter(|pair| !pair.trim().is_empty() && !is_ours(pair))
        .map(|pair| pair.trim().to_owned())
        .collect();
    headers.remove(COOKIE);
    if !kept.is_empty()
        && let Ok(value) = HeaderValue::from_str(&kept.join("; "))
    {
        headers.insert(COOKIE, value);
    }
}

/// Attributes of a cookie the gateway sets.
#[derive(Debug, Clone, Copy)]
pub struct CookieSpec<'a> {
    pub name: &'a str,
    pub path: &'a str,
    pub secure: bool,
    /// `Lax` for the session (top-level navigations from an IdP keep it); `Strict` for form tokens.
    pub same_site: &'static str,
}

impl CookieSpec<'_> {
    /// `Set-Cookie` for `value`; a browser-session cookie (no `Max-Age`): the server enforces expiry.
    pub fn set(&self, value: &str) -> HeaderValue {
        self.header(value, "")
    }

    /// `Set-Cookie` for `value`, kept by the browser for `max_age_secs` (a preference, not a secret).
    pub fn set_for(&self, value: &str, max_age_secs: u64) -> HeaderValue {
        self.header(value, &format!("; Max-Age={max_age_secs}"))
    }

    /// `Set-Cookie` that makes the browser forget the cookie.
    pub fn clear(&self) -> HeaderValue {
        self.header("", "; Max-Age=0")
    }

    fn header(&self, value: &str, extra: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!(
            "{}={value}; Path={}; HttpOnly; SameSite={}{secure}{extra}",
            self.name, self.path, self.same_site
        );
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(COOKIE, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn finds_a_cookie_across_several_headers() {
        let map = headers(&["a=1; sid=abc", "b=2"]);
        assert_eq!(find(&map, "sid"), Some("abc"));
        assert_eq!(find(&map, "b"), Some("2"));
        assert_eq!(find(&map, "si"), None);
    }

    #[test]
    fn strip_removes_only_gateway_cookies() {
        let mut map = headers(&["a=1; sid=abc; csrf=x", "b=2"]);
        strip(&mut map, &["sid", "csrf"]);
        assert_eq!(map.get_all(COOKIE).iter().count(), 1);
        assert_eq!(map[COOKIE], "a=1; b=2");

        let mut only_ours = headers(&["sid=abc"]);
        strip(&mut only_ours, &["sid"]);
        assert!(only_ours.get(COOKIE).is_none());
    }

    #[test]
    fn session_cookie_is_httponly_secure_lax() {
        let spec = CookieSpec {
            name: "sid",
            path: "/",
            secure: true,
            same_site: "Lax",
        };
        assert_eq!(
            spec.set("v"),
            "sid=v; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(spec.clear().to_str().unwrap().ends_with("Max-Age=0"));
    }
}
