//! The OpenID Connect relying party against a real OpenID provider (`oidc-provider`, installed by
//! tests/peers/oidc.sh): full code flows over HTTP with each client authentication method, and the
//! refusals that protect a login (replayed code, wrong state, wrong nonce, expired or forged ID
//! token, forged logout token), back-channel logout, and the provider being down.

mod oidc_peer;

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Duration as ChronoDuration, Utc};
use openidconnect::core::{
    CoreHmacKey, CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, IssuerUrl, JsonWebKeyId, Nonce, StandardClaims,
    SubjectIdentifier,
};
use serde_json::json;

use oidc_peer::{BackChannelReceiver, Browser, Provider, USER, location};
use passerelle::auth::oidc::{
    ClientAuth, Fault, LoggedIn, OidcError, PendingLogin, RelyingParty, Settings, callback,
};
use passerelle::clock::Clock;

const REDIRECT_URI: &str = "http://127.0.0.1:9/auth/callback/parent/ent";
const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/auth/logged-out";
const SECRET: &str = "un-secret-de-test-assez-long-pour-hs256-0123456789";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The client registrations at the test provider; `jwk` is the private_key_jwt client's public key.
fn clients(backchannel_uri: &str, jwk: &serde_json::Value) -> serde_json::Value {
    let client = |id: &str, method: &str| {
        let mut client = json!({
            "client_id": id,
            "token_endpoint_auth_method": method,
            "redirect_uris": [REDIRECT_URI],
            "post_logout_redirect_uris": [POST_LOGOUT_URI],
            "backchannel_logout_uri": backchannel_uri,
            "backchannel_logout_session_required": true,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        });
        if method == "private_key_jwt" {
            client["jwks"] = json!({ "keys": [jwk] });
        } else {
            client["client_secret"] = json!(SECRET);
        }
        client
    };
    json!([
        client("rp-basic", "client_secret_basic"),
        client("rp-post", "client_secret_post"),
        client("rp-jwt", "private_key_jwt"),
    ])
}

/// A provider, its back-channel receiver, and the PEM of the private_key_jwt client.
struct World {
    provider: Provider,
    backchannel: BackChannelReceiver,
    client_key_pem: String,
}

async fn world() -> World {
    let backchannel = BackChannelReceiver::start().await;
    let (client_key_pem, jwk) = oidc_peer::generate_key("rp-key-1");
    let provider = Provider::start(&clients(&backchannel.url, &jwk));
    World {
        provider,
        backchannel,
        client_key_pem,
    }
}

fn settings(issuer: &str, client_id: &str, client_auth: ClientAuth) -> Settings {
    Settings {
        issuer: issuer.to_owned(),
        client_id: client_id.to_owned(),
        client_auth,
        redirect_uri: REDIRECT_URI.to_owned(),
        scopes: vec!["profile".into(), "email".into(), "ent".into()],
        allowed_algs: Settings::default_algs(),
        userinfo: true,
        post_logout_redirect_uri: Some(POST_LOGOUT_URI.to_owned()),
        discovery_ttl_secs: 3600,
    }
}

fn basic_rp(world: &World, clock: Clock) -> RelyingParty {
    let auth = ClientAuth::SecretBasic(SECRET.into());
    RelyingParty::new(settings(&world.provider.issuer, "rp-basic", auth), clock).expect("rp")
}

/// Start a login, drive the provider's login page, and return the pending state with the callback
/// query string the provider redirected to.
async fn authorize(
    world: &World,
    rp: &RelyingParty,
    browser: &mut Browser,
) -> (PendingLogin, String) {
    let start = rp.start().await.expect("authorization URL");
    let query: Vec<(String, String)> = start.url.query_pairs().into_owned().collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(
        param("state").as_deref(),
        Some(start.pending.state.as_str())
    );
    assert_eq!(
        param("nonce").as_deref(),
        Some(start.pending.nonce.as_str())
    );
    let landing = browser
        .log_in_until(&world.provider.issuer, start.url.as_str(), REDIRECT_URI)
        .await;
    let query = landing
        .split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default();
    (start.pending, query)
}

async fn full_login(world: &World, rp: &RelyingParty) -> (LoggedIn, Browser) {
    let mut browser = Browser::new();
    let (pending, query) = authorize(world, rp, &mut browser).await;
    let callback = callback::parse(&query).expect("callback");
    let logged_in = rp
        .finish(&pending, callback)
        .await
        .unwrap_or_else(|err| panic!("login failed: {err} ({err:?})"));
    (logged_in, browser)
}

fn assert_test_user(logged_in: &LoggedIn) {
    assert_eq!(logged_in.subject, USER);
    let attr = |name: &str| logged_in.attributes.get(name).to_vec();
    assert_eq!(attr("sub"), [USER]);
    // From userinfo (the provider keeps profile claims out of the ID token by default).
    assert_eq!(attr("family_name"), ["Durand"]);
    assert_eq!(attr("given_name"), ["Léa"]);
    assert_eq!(attr("birthdate"), ["2010-05-04"]);
    assert_eq!(attr("structure_rne"), ["0750001A"]);
    assert_eq!(attr("categories"), ["National_1"]);
    assert!(logged_in.attributes.get("nonce").is_empty());
    assert!(logged_in.session_id.is_some(), "the provider sends sid");
}

#[tokio::test]
async fn client_secret_basic_login_maps_the_claims() {
    let world = world().await;
    let rp = basic_rp(&world, Clock::System);
    let (logged_in, _) = full_login(&world, &rp).await;
    assert_test_user(&logged_in);
}

#[tokio::test]
async fn client_secret_post_login_maps_the_claims() {
    let world = world().await;
    let auth = ClientAuth::SecretPost(SECRET.into());
    let rp = RelyingParty::new(
        settings(&world.provider.issuer, "rp-post", auth),
        Clock::System,
    )
    .expect("rp");
    let (logged_in, _) = full_login(&world, &rp).await;
    assert_test_user(&logged_in);
}

#[tokio::test]
async fn private_key_jwt_login_maps_the_claims() {
    let world = world().await;
    let auth = ClientAuth::PrivateKeyJwt {
        private_key_pem: world.client_key_pem.clone(),
        key_id: Some("rp-key-1".into()),
    };
    let rp = RelyingParty::new(
        settings(&world.provider.issuer, "rp-jwt", auth),
        Clock::System,
    )
    .expect("rp");
    let (logged_in, _) = full_login(&world, &rp).await;
    assert_test_user(&logged_in);
}

#[tokio::test]
async fn wrong_client_secret_is_a_configuration_error() {
    let world = world().await;
    let auth = ClientAuth::SecretBasic("pas-le-bon-secret".into());
    let rp = RelyingParty::new(
        settings(&world.provider.issuer, "rp-basic", auth),
        Clock::System,
    )
    .expect("rp");
    let mut browser = Browser::new();
    let (pending, query) = authorize(&world, &rp, &mut browser).await;
    let err = rp
        .finish(&pending, callback::parse(&query).expect("callback"))
        .await
        .expect_err("refused");
    assert!(matches!(err, OidcError::ClientRejected { .. }), "{err:?}");
    assert_eq!(err.fault(), Fault::Configuration);
}

#[tokio::test]
async fn replayed_code_is_refused() {
    let world = world().await;
    let rp = basic_rp(&world, Clock::System);
    let mut browser = Browser::new();
    let (pending, query) = authorize(&world, &rp, &mut browser).await;
    rp.finish(&pending, callback::parse(&query).expect("callback"))
        .await
        .expect("first use");
    let err = rp
        .finish(&pending, callback::parse(&query).expect("callback"))
        .await
        .expect_err("second use");
    assert!(matches!(err, OidcError::CodeRejected { .. }), "{err:?}");
    assert_eq!(err.fault(), Fault::User);
}

#[tokio::test]
async fn wrong_state_is_refused() {
    let world = world().await;
    let rp = basic_rp(&world, Clock::System);
    let mut browser = Browser::new();
    let (pending, query) = authorize(&world, &rp, &mut browser).await;
    let mut callback = callback::parse(&query).expect("callback");
    callback.state.push('x');
    let err = rp.finish(&pending, callback).await.expect_err("refused");
    assert!(matches!(err, OidcError::StateMismatch), "{err:?}");
    assert_eq!(err.fault(), Fault::User);
    // A login started in another tab (another pending state) does not accept this callback either.
    let other = rp.start().await.expect("start").pending;
    let err = rp
        .finish(&other, callback::parse(&query).expect("callback"))
        .await
        .expect_err("refused");
    assert!(matches!(err, OidcError::StateMismatch), "{err:?}");
}

#[tokio::test]
async fn wrong_nonce_is_refused() {
    let world = world().await;
    let rp = basic_rp(&world, Clock::System);
    let mut browser = Browser::new();
    let (mut pending, query) = authorize(&world, &rp, &mut browser).await;
    pending.nonce = "un-autre-nonce".into();
    let err = rp
        .finish(&pending, callback::parse(&query).expect("callback"))
        .await
        .expect_err("refused");
    assert!(matches!(err, OidcError::NonceMismatch), "{err:?}");
    assert_eq!(err.fault(), Fault::User);
}

#[tokio::test]
async fn expired_id_token_is_refused() {
    let world = world().await;
    let clock = Clock::manual(now());
    let rp = basic_rp(&world, clock.clone());
    let mut browser = Browser::new();
    let (pending, query) = authorize(&world, &rp, &mut browser).await;
    // The provider's ID tokens live one hour; by the gateway's clock, two hours have passed.
    clock.advance(2 * 3600);
    let err = rp
        .finish(&pending, callback::parse(&query).expect("callback"))
        .await
        .expect_err("refused");
    match &err {
        OidcError::InvalidIdToken(reason) => assert!(reason.contains("expiré"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.fault(), Fault::User);
}

/// Claims the RP would accept, apart from the signature.
fn forged_claims(issuer: &str, nonce: &str) -> CoreIdTokenClaims {
    CoreIdTokenClaims::new(
        IssuerUrl::new(issuer.to_owned()).expect("issuer"),
        vec![Audience::new("rp-basic".into())],
        Utc::now() + ChronoDuration::minutes(5),
        Utc::now(),
        StandardClaims::new(SubjectIdentifier::new("directeur".into())),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce.to_owned())))
}

#[tokio::test]
async fn id_token_signed_with_another_key_is_refused() {
    let world = world().await;
    let rp = basic_rp(&world, Clock::System);
    rp.discover().await.expect("discovery");
    let (attacker_pem, _) = oidc_peer::generate_key("op-key-1");
    // Same key id as the provider's key, then an unknown one (which makes the RP re-fetch the keys).
    for kid in ["op-key-1", "attacker-key"] {
        let key =
            CoreRsaPrivateSigningKey::from_pem(&attacker_pem, Some(JsonWebKeyId::new(kid.into())))
                .expect("key");
        let token = CoreIdToken::new(
            forged_claims(&world.provider.issuer, "n-1"),
            &key,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .expect("sign");
        let err = rp
            .validate_id_token(&token.to_string(), &Nonce::new("n-1".into()))
            .await
            .expect_err("refused");
        assert!(
            matches!(err, OidcError::InvalidIdToken(_)),
            "{kid}: {err:?}"
        );
        assert_eq!(err.fault(), Fault::User);
    }
    // HS256 with the client secret is a valid JWT for a confidential client, but not on the
    // allow-list.
    let hmac = CoreHmacKey::new(SECRET.as_bytes());
    let token = CoreIdToken::new(
        forged_claims(&world.provider.issuer, "n-1"),
        &hmac,
        CoreJwsSigningAlgorithm::HmacSha256,
        None,
        None,
    )
    .expect("sign");
    let err = rp
        .validate_id_token(&token.to_string(), &Nonce::new("n-1".into()))
        .await
        .expect_err("refused");
    assert!(matches!(err, OidcError::InvalidIdToken(_)), "{err:?}");
}

#[tokio::test]
async fn back_channel_logout_token_is_verified_and_names_the_session() {
    let mut world = world().await;
    let rp = basic_rp(&world, Clock::System);
    let (logged_in, mut browser) = full_login(&world, &rp).await;

    // RP-initiated logout: the provider's end_session page, confirmed by the person.
    let logout = rp
        .logout_url(Some(&logged_in.id_token), Some("etat-123"))
        .await
        .expect("logout URL");
    let pairs: Vec<(String, String)> = logout.query_pairs().into_owned().collect();
    let has = |name: &str| pairs.iter().any(|(k, _)| k == name);
    assert!(has("id_token_hint") && has("post_logout_redirect_uri") && has("client_id"));
    let page = browser.get(logout.as_str()).await;
    assert!(page.status().is_success(), "{}", page.status());
    let html = page.text().await.expect("page");
    let xsrf = html
        .split("name=\"xsrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("xsrf field in the logout form")
        .to_owned();
    let confirmed = browser
        .post_form(
            &format!("{}/session/end/confirm", world.provider.issuer),
            &[("xsrf", &xsrf), ("logout", "yes")],
        )
        .await;
    let back = location(&confirmed);
    assert!(
        back.starts_with(POST_LOGOUT_URI) && back.contains("state=etat-123"),
        "{back}"
    );

    // Back-channel: the provider POSTed a logout_token naming the provider session.
    let token = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        world.backchannel.tokens.recv(),
    )
    .await
    .expect("a back-channel logout within 10 s")
    .expect("token");
    let notice = rp
        .verify_logout_token(&token)
        .await
        .expect("valid logout token");
    assert_eq!(notice.session_id, logged_in.session_id);
    assert_eq!(notice.subject.as_deref(), Some(USER));
    assert!(!notice.token_id.is_empty());

    // The same token with its payload altered no longer verifies.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut forged =
        serde_json::from_slice::<serde_json::Value>(&base64_decode(&parts[1])).expect("payload");
    forged["sid"] = json!("une-autre-session");
    parts[1] = base64_encode(forged.to_string().as_bytes());
    let err = rp
        .verify_logout_token(&parts.join("."))
        .await
        .expect_err("refused");
    assert!(matches!(err, OidcError::InvalidLogoutToken(_)), "{err:?}");
}

#[tokio::test]
async fn logout_token_signed_with_another_key_is_refused() {
    let world = world().await;
    let rp = basic_rp(&world, Clock::System);
    let (attacker_pem, _) = oidc_peer::generate_key("op-key-1");
    let key = CoreRsaPrivateSigningKey::from_pem(
        &attacker_pem,
        Some(JsonWebKeyId::new("op-key-1".into())),
    )
    .expect("key");
    let header = json!({"alg": "RS256", "kid": "op-key-1", "typ": "logout+jwt"});
    let claims = json!({
        "iss": world.provider.issuer, "aud": "rp-basic", "iat": now(), "jti": "j-1", "sid": "s-1",
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} }
    });
    let input = format!(
        "{}.{}",
        base64_encode(header.to_string().as_bytes()),
        base64_encode(claims.to_string().as_bytes())
    );
    let signature = openidconnect::PrivateSigningKey::sign(
        &key,
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        input.as_bytes(),
    )
    .expect("sign");
    let token = format!("{input}.{}", base64_encode(&signature));
    let err = rp.verify_logout_token(&token).await.expect_err("refused");
    assert!(matches!(err, OidcError::InvalidLogoutToken(_)), "{err:?}");
    // And an unsigned one.
    let unsigned = format!(
        "{}.{}.",
        base64_encode(br#"{"alg":"none"}"#),
        base64_encode(claims.to_string().as_bytes())
    );
    assert!(rp.verify_logout_token(&unsigned).await.is_err());
}

#[tokio::test]
async fn provider_down_is_reported_as_unreachable() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let auth = ClientAuth::SecretBasic(SECRET.into());
    let rp = RelyingParty::new(
        settings(&format!("http://127.0.0.1:{port}"), "rp-basic", auth),
        Clock::System,
    )
    .expect("rp");
    let err = rp.start().await.expect_err("no provider");
    assert!(matches!(err, OidcError::Unreachable { .. }), "{err:?}");
    assert_eq!(err.fault(), Fault::ProviderDown);
    assert!(err.to_string().contains("injoignable"), "{err}");
}

#[tokio::test]
async fn provider_refusal_is_a_user_failure_once_the_state_matches() {
    let world = world().await;
    let rp = basic_rp(&world, Clock::System);
    let pending = rp.start().await.expect("start").pending;
    let query = format!(
        "error=access_denied&error_description=Refus&state={}",
        pending.state
    );
    let err = rp
        .finish(&pending, callback::parse(&query).expect("callback"))
        .await
        .expect_err("refused");
    assert!(matches!(err, OidcError::ProviderRefused { .. }), "{err:?}");
    assert_eq!(err.fault(), Fault::User);
    // With a state that is not this browser's, the refusal is not believed (nor counted).
    let forged = "error=access_denied&state=autre".to_owned();
    let err = rp
        .finish(&pending, callback::parse(&forged).expect("callback"))
        .await
        .expect_err("refused");
    assert!(matches!(err, OidcError::StateMismatch), "{err:?}");
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}
