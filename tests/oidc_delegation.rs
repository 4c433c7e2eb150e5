//! The OIDC delegation as the shared login flow will drive it, against the real provider: the
//! flow's pending state is the OIDC `state`, nonce and PKCE verifier are derived from it, the claims
//! go through the identity mapping, and a back-channel logout names the index the login stored.

mod oidc_peer;

use serde_json::json;

use oidc_peer::{BackChannelReceiver, Browser, Provider, USER, location};
use passerelle::auth::oidc::delegation::{CallbackError, OidcDelegation};
use passerelle::auth::oidc::{ClientAuth, OidcError, Settings};
use passerelle::clock::Clock;
use passerelle::identity::mapping::{AttributeNames, MappingRules};

const CALLBACK: &str = "http://127.0.0.1:9/auth/callback/eleve/ent";
const LOGGED_OUT: &str = "http://127.0.0.1:9/auth/logout";
const SECRET: &str = "secret-de-la-delegation-de-test-0123456789";
const KEY: &[u8] = b"cle-de-signature-de-la-passerelle-pour-les-tests";

async fn setup() -> (Provider, BackChannelReceiver, OidcDelegation) {
    let backchannel = BackChannelReceiver::start().await;
    let provider = Provider::start(&json!([{
        "client_id": "passerelle",
        "client_secret": SECRET,
        "redirect_uris": [CALLBACK],
        "post_logout_redirect_uris": [LOGGED_OUT],
        "backchannel_logout_uri": backchannel.url,
        "backchannel_logout_session_required": true,
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    }]));
    let settings = Settings {
        issuer: provider.issuer.clone(),
        client_id: "passerelle".into(),
        client_auth: ClientAuth::SecretBasic(SECRET.into()),
        redirect_uri: CALLBACK.into(),
        scopes: vec!["profile".into(), "address".into(), "ent".into()],
        allowed_algs: Settings::default_algs(),
        userinfo: true,
        post_logout_redirect_uri: Some(LOGGED_OUT.into()),
        discovery_ttl_secs: 3600,
    };
    let rules = MappingRules {
        names: AttributeNames {
            nom: Some("family_name".into()),
            prenom: Some("given_name".into()),
            date_naissance: Some("birthdate".into()),
            code_postal: Some("address.postal_code".into()),
            categories: Some("categories".into()),
            ..AttributeNames::default()
        },
        ..MappingRules::default()
    };
    let delegation =
        OidcDelegation::new(settings, rules, KEY, true, Clock::System).expect("delegation");
    delegation.check_provider().await.expect("provider up");
    (provider, backchannel, delegation)
}

fn pairs(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn delegated_login_maps_the_identity_and_back_channel_logout_names_its_session() {
    let (provider, mut backchannel, delegation) = setup().await;
    let state = "etat-en-attente-0123456789abcdef";
    let url = delegation
        .authorization_redirect(state)
        .await
        .expect("authorization URL");
    let mut browser = Browser::new();
    let landing = browser.log_in_until(&provider.issuer, &url, CALLBACK).await;

    let authenticated = delegation
        .complete(state, pairs(&landing))
        .await
        .unwrap_or_else(|err| panic!("{err} ({err:?})"));
    let identity = &authenticated.identity;
    assert_eq!(identity.login, USER);
    assert_eq!(identity.protocol.as_str(), "oidc");
    assert_eq!(identity.fields.nom.as_deref(), Some("Durand"));
    assert_eq!(identity.fields.prenom.as_deref(), Some("Léa"));
    assert_eq!(
        identity.fields.date_naissance.as_deref(),
        Some("04/05/2010")
    );
    assert_eq!(identity.fields.code_postal.as_deref(), Some("75011"));
    assert_eq!(identity.fields.categories, ["National_1"]);

    // The gateway's logout continues at the provider; confirming there triggers back-channel logout.
    let logout = delegation
        .provider_logout_url(Some(&authenticated.logged_in.id_token))
        .expect("provider logout URL");
    let html = browser
        .get(&logout)
        .await
        .text()
        .await
        .expect("logout page");
    let xsrf = html
        .split("name=\"xsrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("xsrf")
        .to_owned();
    let confirmed = browser
        .post_form(
            &format!("{}/session/end/confirm", provider.issuer),
            &[("xsrf", &xsrf), ("logout", "yes")],
        )
        .await;
    assert!(location(&confirmed).starts_with(LOGGED_OUT));
    let token = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        backchannel.tokens.recv(),
    )
    .await
    .expect("back-channel logout within 10 s")
    .expect("token");
    let index = delegation
        .logout_index_for_token(&token)
        .await
        .expect("valid logout token");
    assert_eq!(index, authenticated.logout_index);
}

#[tokio::test]
async fn a_callback_for_another_pending_login_is_refused() {
    let (provider, _backchannel, delegation) = setup().await;
    let url = delegation
        .authorization_redirect("etat-du-navigateur-a")
        .await
        .expect("URL");
    let mut browser = Browser::new();
    let landing = browser.log_in_until(&provider.issuer, &url, CALLBACK).await;
    // Another browser's pending state (login CSRF: the attacker's code in the victim's browser).
    let err = delegation
        .complete("etat-du-navigateur-b", pairs(&landing))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, CallbackError::Oidc(OidcError::StateMismatch)),
        "{err:?}"
    );
    // The right browser still completes (the code was not spent by the refused attempt).
    delegation
        .complete("etat-du-navigateur-a", pairs(&landing))
        .await
        .expect("the right browser logs in");
}
