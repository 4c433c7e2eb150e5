//! The browser redirects of the passive requestor profile: `wa=wsignin1.0` to log in and
//! `wa=wsignout1.0` to end the STS session.

use super::Settings;

pub const WSIGNIN: &str = "wsignin1.0";
pub const WSIGNOUT: &str = "wsignout1.0";
pub const WSIGNOUT_CLEANUP: &str = "wsignoutcleanup1.0";

/// The STS passive endpoint with `wa=wsignin1.0`, `wtrealm`, `wreply` (our callback), `wctx` (the
/// pending-login state, echoed back), `wct`, and `whr` / `wfresh` when configured.
pub fn signin_url(
    settings: &Settings,
    reply: &str,
    context: &str,
    now: u64,
) -> Result<String, url::ParseError> {
    let mut url = url::Url::parse(&settings.sts.passive_endpoint)?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("wa", WSIGNIN)
            .append_pair("wtrealm", &settings.realm)
            .append_pair("wreply", reply)
            .append_pair("wctx", context)
            .append_pair("wct", &crate::auth::saml::saml_instant(now as i64));
        if let Some(home_realm) = &settings.home_realm {
            query.append_pair("whr", home_realm);
        }
        if let Some(freshness) = settings.freshness {
            query.append_pair("wfresh", &freshness.to_string());
        }
    }
    Ok(url.into())
}

/// The STS passive endpoint with `wa=wsignout1.0`, `wtrealm` and `wreply` (where the STS sends the
/// browser afterwards).
pub fn signout_url(settings: &Settings, reply: &str) -> Result<String, url::ParseError> {
    let mut url = url::Url::parse(&settings.sts.passive_endpoint)?;
    url.query_pairs_mut()
        .append_pair("wa", WSIGNOUT)
        .append_pair("wtrealm", &settings.realm)
        .append_pair("wreply", reply);
    Ok(url.into())
}
