//! Who is logged in to the admin page: a random id in an HttpOnly `SameSite=Strict` cookie, known only
//! to this process (the admin listener is per replica), for [`LOGIN_LIFETIME`] at most. Every form
//! carries a CSRF token bound to that id ([`CsrfTokens`] with the purpose `admin`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderMap;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::auth::csrf::CsrfTokens;
use crate::clock::Clock;
use crate::session::cookie::{self, CookieSpec};

/// How long one login to the admin page lasts.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(2 * 3600);
const CSRF_PURPOSE: &str = "admin";

/// The admin page's cookie: only sent to `/admin` pages, never cross-site. Not `Secure`: the admin
/// listener speaks plain HTTP (keep it on loopback or a management network, or behind TLS).
pub const COOKIE: CookieSpec<'static> = CookieSpec {
    name: "passerelle_admin",
    path: "/admin",
    secure: false,
    same_site: "Strict",
};

#[derive(Debug, Clone)]
pub struct AdminLogins {
    /// SHA-256 of each live login id → its end (Unix seconds).
    live: Arc<Mutex<HashMap<[u8; 32], u64>>>,
    csrf: CsrfTokens,
}

impl Default for AdminLogins {
    fn default() -> Self {
        // A key of this process's own: forms from before a restart are refused, as are the logins.
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        AdminLogins {
            live: Arc::default(),
            csrf: CsrfTokens::new(&key),
        }
    }
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl AdminLogins {
    /// Start a login; returns the cookie value.
    pub fn start(&self, clock: &Clock) -> String {
        let id = CsrfTokens::nonce();
        let now = clock.now();
        let mut live = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        live.retain(|_, end| *end > now);
        live.insert(digest(&id), now + LOGIN_LIFETIME.as_secs());
        id
    }

    /// The login id the request's cookie carries, if it is live.
    pub fn current(&self, headers: &HeaderMap, clock: &Clock) -> Option<String> {
        let id = cookie::find(headers, COOKIE.name)?;
        let live = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let end = live.get(&digest(id))?;
        (*end > clock.now()).then(|| id.to_owned())
    }

    pub fn end(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&digest(id));
    }

    pub fn csrf_token(&self, id: &str) -> String {
        self.csrf.token_for(id, CSRF_PURPOSE)
    }

    pub fn csrf_valid(&self, id: &str, token: &str) -> bool {
        self.csrf.verify_for(id, CSRF_PURPOSE, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_lives_until_it_ends_and_its_form_token_is_its_own() {
        let logins = AdminLogins::default();
        let clock = Clock::default();
        let id = logins.start(&clock);
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            format!("passerelle_admin={id}").parse().unwrap(),
        );
        assert_eq!(
            logins.current(&headers, &clock).as_deref(),
            Some(id.as_str())
        );
        let token = logins.csrf_token(&id);
        assert!(logins.csrf_valid(&id, &token));
        let other = logins.start(&clock);
        assert!(!logins.csrf_valid(&other, &token));
        logins.end(&id);
        assert_eq!(logins.current(&headers, &clock), None);
    }
}
