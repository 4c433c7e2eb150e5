//! The browser side of CAS: the URL that sends a person to the CAS server's `/login`, and the one that
//! ends their CAS session at `/logout`.

use url::Url;

use crate::config::CasSettings;

/// `<login_url>?service=<service>&<fixed params>[&renew=true|&gateway=true]`. The service is the
/// canonical callback URL, byte for byte the one validation will send.
pub fn login_redirect(settings: &CasSettings, service: &str) -> String {
    let mut url = settings.login_url.clone();
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("service", service);
        for (name, value) in &settings.login_params {
            query.append_pair(name, value);
        }
        if settings.renew {
            query.append_pair("renew", "true");
        } else if settings.gateway {
            query.append_pair("gateway", "true");
        }
    }
    url.into()
}

/// `<logout_url>?service=<where to come back>`, when the delegation ends CAS sessions too.
pub fn logout_redirect(settings: &CasSettings, come_back_to: &str) -> Option<String> {
    let mut url: Url = settings.logout_url.clone()?;
    url.query_pairs_mut().append_pair("service", come_back_to);
    Some(url.into())
}
