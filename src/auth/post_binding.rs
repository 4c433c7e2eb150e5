//! Identity providers that answer with an auto-submitted `POST` (SAML HTTP-POST binding,
//! WS-Federation `wresult`) post cross-site, and browsers do not send the `SameSite=Lax` pending-login
//! cookie on a cross-site `POST`. The callback answers such a `POST` once with a page that re-posts
//! the same fields to the same address from the gateway's own origin; that second, same-site `POST`
//! carries the cookie, so the login stays bound to the browser that started it. A marker field stops
//! a second round: a re-posted form that still has no cookie is a login this browser never started.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use http::Response;
use rand::RngCore;

use super::delegation::Incoming;
use crate::ui;
use crate::web::{self, Body};

/// The field the re-posted form adds; its presence means "already re-posted once".
pub const RESUBMITTED_FIELD: &str = "passerelle_relance";

/// Whether a callback without the pending cookie deserves one same-origin re-post: a `POST` with a
/// form, not already re-posted.
pub fn should_resubmit(incoming: &Incoming, has_pending_cookie: bool) -> bool {
    !has_pending_cookie
        && incoming.post
        && !incoming.form.is_empty()
        && !incoming.form.iter().any(|(k, _)| k == RESUBMITTED_FIELD)
}

/// The auto-submitting page that re-posts `incoming.form` (plus the marker) to `action`, a path of the
/// gateway. Its only script is allowed by a fresh CSP nonce; forms may only go to our own origin.
pub fn resubmit(action: &str, incoming: &Incoming) -> Response<Body> {
    let mut nonce = [0u8; 18];
    rand::rng().fill_bytes(&mut nonce);
    let nonce = URL_SAFE_NO_PAD.encode(nonce);
    let mut fields = incoming.form.clone();
    fields.push((RESUBMITTED_FIELD.to_owned(), "1".to_owned()));
    let mut response = web::page(ui::resubmit_form(action, &fields, &nonce));
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert("content-security-policy", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(fields: &[(&str, &str)]) -> Incoming {
        Incoming {
            post: true,
            query: Vec::new(),
            form: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn only_a_first_cookieless_post_is_resubmitted() {
        let first = posted(&[("SAMLResponse", "PHNhbWw+"), ("RelayState", "s")]);
        assert!(should_resubmit(&first, false));
        assert!(!should_resubmit(&first, true));
        let again = posted(&[("SAMLResponse", "x"), (RESUBMITTED_FIELD, "1")]);
        assert!(!should_resubmit(&again, false));
        let get = Incoming {
            post: false,
            ..first.clone()
        };
        assert!(!should_resubmit(&get, false));
    }

    #[tokio::test]
    async fn the_page_reposts_every_field_escaped_with_a_nonce_script() {
        use http_body_util::BodyExt;
        let response = resubmit(
            "/auth/callback/eleve/educonnect",
            &posted(&[
                ("SAMLResponse", "a\"><script>x</script>"),
                ("RelayState", "r"),
            ]),
        );
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap()
            .to_owned();
        let html = String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        assert!(
            html.contains(&format!("<script nonce=\"{nonce}\">")),
            "{html}"
        );
        assert!(html.contains("action=\"/auth/callback/eleve/educonnect\""));
        assert!(
            html.contains("value=\"a&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""),
            "{html}"
        );
        assert!(html.contains(&format!("name=\"{RESUBMITTED_FIELD}\" value=\"1\"")));
        assert!(html.contains("Continuer"));
        assert!(csp.contains("form-action 'self'"));
    }
}
