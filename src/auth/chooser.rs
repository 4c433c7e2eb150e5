//! The connection chooser (WAYF): when a space offers several ways of logging in — several
//! delegations, and the direct form where the policy is `always` — a French page lets the person
//! pick one ("Élève ou parent : EduConnect", "Personnel : ENT", "Autres : identifiant PRONOTE").
//! The choice can be remembered in a cookie for the space, and `/auth/choose/<space>` forgets it.
//! Plain links and one GET form: it works on a phone and without JavaScript.

use std::net::IpAddr;

use http::header::SET_COOKIE;
use http::{HeaderMap, Response};

use super::{AUTH_PREFIX, LoginFlow};
use crate::config::{DirectLoginPolicy, SpaceSettings};
use crate::session::cookie::{self, CookieSpec};
use crate::space::SpaceId;
use crate::ui::{self, ChooserOption};
use crate::web::{self, Body};

/// Path of the chooser (always shown, and forgets a remembered choice).
pub const CHOOSE_PREFIX: &str = "/auth/choose/";
/// Path the chooser's buttons submit to.
pub const PICK_PREFIX: &str = "/auth/start/";
/// The value that stands for the direct form in a choice.
const DIRECT: &str = "direct";
/// How long a remembered choice lasts.
const CHOICE_MAX_AGE_SECS: u64 = 30 * 24 * 3600;

/// One way of logging in a browser picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Direct,
    Delegation(String),
}

/// Whether the space has more than one way of logging in.
pub fn offers_a_choice(settings: &SpaceSettings) -> bool {
    let direct = usize::from(settings.direct_login == DirectLoginPolicy::Always);
    settings.delegations.len() + direct > 1
}

/// `303` to the direct form of `space`, coming back to `requested` after login.
pub fn direct_form_redirect(space: SpaceId, requested: &str) -> Response<Body> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("retour", requested)
        .finish();
    web::redirect(&format!("{AUTH_PREFIX}login/{space}?{query}"))
}

/// The choice `value` names, if it is one the space offers.
fn parse_choice(settings: &SpaceSettings, value: &str) -> Option<Choice> {
    if value == DIRECT {
        return (settings.direct_login == DirectLoginPolicy::Always).then_some(Choice::Direct);
    }
    settings
        .delegations
        .iter()
        .any(|d| d.id == value)
        .then(|| Choice::Delegation(value.to_owned()))
}

impl LoginFlow {
    /// The choice this browser remembered for `space`, if it is still offered.
    pub(super) fn remembered_choice(
        &self,
        headers: &HeaderMap,
        space: SpaceId,
        settings: &SpaceSettings,
    ) -> Option<Choice> {
        let value = cookie::find(headers, &self.choice_cookie)?;
        let (remembered_space, choice) = value.split_once('.')?;
        (remembered_space == space.as_str())
            .then(|| parse_choice(settings, choice))
            .flatten()
    }

    /// The chooser page for `space`, returning to `requested` after login.
    pub(super) fn chooser_page(
        &self,
        space: SpaceId,
        settings: &SpaceSettings,
        requested: &str,
    ) -> Response<Body> {
        let mut options: Vec<ChooserOption<'_>> = settings
            .delegations
            .iter()
            .map(|d| ChooserOption {
                value: &d.id,
                label: &d.label,
            })
            .collect();
        if settings.direct_login == DirectLoginPolicy::Always {
            options.push(ChooserOption {
                value: DIRECT,
                label: "Autres : identifiant et mot de passe PRONOTE",
            });
        }
        let action = format!("{PICK_PREFIX}{space}");
        web::page(ui::chooser(
            space,
            &action,
            &self.return_target(space, requested),
            &options,
        ))
    }

    /// `GET /auth/choose/<space>?retour=…`: the chooser, forgetting any remembered choice.
    pub async fn choose(
        &self,
        space: SpaceId,
        settings: &SpaceSettings,
        query: Option<&str>,
    ) -> Response<Body> {
        if !settings.published {
            return web::page(ui::not_published(space));
        }
        let requested = query_value(query, "retour").unwrap_or_default();
        let mut response = self.chooser_page(space, settings, &requested);
        response
            .headers_mut()
            .append(SET_COOKIE, self.choice_spec().clear());
        response
    }

    /// `GET /auth/start/<space>?via=<id|direct>&retour=…[&souvenir=1]`: the chooser's answer.
    pub async fn pick(
        &self,
        space: SpaceId,
        settings: &SpaceSettings,
        query: Option<&str>,
        client_ip: IpAddr,
    ) -> Response<Body> {
        if !settings.published {
            return web::page(ui::not_published(space));
        }
        let requested =
            self.return_target(space, &query_value(query, "retour").unwrap_or_default());
        let via = query_value(query, "via").unwrap_or_default();
        let Some(choice) = parse_choice(settings, &via) else {
            return self.chooser_page(space, settings, &requested);
        };
        let mut response = match &choice {
            Choice::Direct => direct_form_redirect(space, &requested),
            Choice::Delegation(id) => {
                self.start_delegation(space, settings, id, &requested, client_ip)
                    .await
            }
        };
        if query_value(query, "souvenir").is_some_and(|v| v == "1") {
            let value = match &choice {
                Choice::Direct => format!("{space}.{DIRECT}"),
                Choice::Delegation(id) => format!("{space}.{id}"),
            };
            response.headers_mut().append(
                SET_COOKIE,
                self.choice_spec().set_for(&value, CHOICE_MAX_AGE_SECS),
            );
        }
        response
    }

    fn choice_spec(&self) -> CookieSpec<'_> {
        CookieSpec {
            name: &self.choice_cookie,
            path: "/",
            secure: self.sessions.settings().secure_cookie,
            same_site: "Lax",
        }
    }
}

fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
