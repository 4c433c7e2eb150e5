//! End to end through the gateway: the pupils' space delegated to a real OpenID provider
//! (`oidc-provider`). The browser asks for the space, is sent to the provider, logs in, comes back to
//! `/auth/callback/eleve/ent`, reaches the upstream with the identity headers; then the person logs
//! out at the provider and its back-channel logout (to `/auth/slo/eleve/ent`) ends the gateway
//! session; logged in again, the gateway's own logout continues at the provider with the ID token as
//! `id_token_hint`.

mod common;
mod oidc_peer;

use std::net::TcpListener as StdListener;
use std::time::Duration;

use serde_json::json;

use common::Upstream;
use oidc_peer::{Browser, Provider, USER, location};
use passerelle::server::Options;

const SECRET: &str = "secret-du-client-passerelle-0123456789";

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

#[tokio::test]
async fn pupil_logs_in_through_the_provider_and_both_logouts_end_the_sessions() {
    let upstream = Upstream::start().await;
    let (gateway_port, provider_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{gateway_port}");
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let callback = format!("{base}/auth/callback/eleve/ent");
    let provider = Provider::start_on(
        &json!([{
            "client_id": "passerelle",
            "client_secret": SECRET,
            "redirect_uris": [callback],
            "post_logout_redirect_uris": [format!("{base}/auth/logout")],
            "backchannel_logout_uri": format!("{base}/auth/slo/eleve/ent"),
            "backchannel_logout_session_required": true,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        }]),
        provider_port,
    );
    assert_eq!(provider.issuer, issuer);

    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = common::unique_prefix("oidc-gateway");
    let redis = common::redis_url();
    std::fs::write(
        dir.path().join("passerelle.toml"),
        format!(
            r#"public_url = "{base}"
spaces_dir = "spaces"
[listen]
addresses = ["127.0.0.1:{gateway_port}"]
[upstream]
url = "http://{upstream}"
[session]
secure_cookie = false
[store]
backend = "redis"
redis_url = "{redis}"
key_prefix = "{prefix}"
[identity]
signing_key = "test-test-test-test-test-test-test-test"
[admin]
listen = "127.0.0.1:0"
[direct_login]
users_file = "users.toml"
"#,
            upstream = upstream.address
        ),
    )
    .expect("write config");
    std::fs::write(dir.path().join("users.toml"), "").expect("users");
    let spaces = dir.path().join("spaces");
    std::fs::create_dir(&spaces).expect("spaces");
    for space in passerelle::space::SpaceId::ALL {
        std::fs::write(spaces.join(format!("{space}.toml")), "published = false\n").expect("space");
    }
    std::fs::write(
        spaces.join("eleve.toml"),
        format!(
            "published = true\n[[delegation]]\nid = \"ent\"\nprotocol = \"oidc\"\nissuer = \"{issuer}\"\n\
             allow_insecure_http = true\nclient_id = \"passerelle\"\nclient_secret = \"{SECRET}\"\n\
             scopes = [\"profile\", \"address\", \"ent\"]\nuserinfo = true\nprovider_logout = true\n"
        ),
    )
    .expect("eleve.toml");
    let config = passerelle::config::load(&dir.path().join("passerelle.toml"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    let _running = passerelle::server::start(config, Options::default())
        .await
        .expect("gateway starts");

    // The very first request after start goes to the provider: the login waits for the discovery
    // when the background fetch has not finished.
    let mut browser = Browser::new();
    let page = format!("{base}/pronote/eleve.html");
    let to_provider = location(&browser.get(&page).await);
    assert!(
        to_provider.starts_with(&format!("{issuer}/auth?")),
        "{to_provider}"
    );

    let back = browser.log_in_until(&issuer, &to_provider, &callback).await;
    let finished = browser.get(&back).await;
    assert_eq!(location(&finished), "/pronote/eleve.html");

    let proxied = browser.get(&page).await;
    assert_eq!(proxied.status(), 200, "the session opens the space");
    let seen = upstream.last();
    let header = |name: &str| {
        seen.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("x-passerelle-user"), USER);
    assert_eq!(header("x-passerelle-protocol"), "oidc");
    assert_eq!(header("x-passerelle-space"), "eleve");
    assert_eq!(header("x-passerelle-categories"), "National_1");

    // Logout at the provider (another application, say): its back-channel call ends our session.
    let end = browser
        .get(&format!("{issuer}/session/end?client_id=passerelle"))
        .await;
    let html = end.text().await.expect("logout page");
    let xsrf = html
        .split("name=\"xsrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("xsrf")
        .to_owned();
    browser
        .post_form(
            &format!("{issuer}/session/end/confirm"),
            &[("xsrf", &xsrf), ("logout", "yes")],
        )
        .await;
    let mut ended = false;
    for _ in 0..50 {
        let response = browser.get(&page).await;
        if response.status().is_redirection() {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "the back-channel logout ended the gateway session");

    // Again, then the gateway's own logout: it ends the session and continues at the provider's
    // end_session_endpoint with the ID token, which the provider accepts.
    let to_provider = location(&browser.get(&page).await);
    let back = browser.log_in_until(&issuer, &to_provider, &callback).await;
    browser.get(&back).await;
    assert_eq!(browser.get(&page).await.status(), 200, "logged in again");
    let onward = location(&browser.get(&format!("{base}/auth/logout")).await);
    assert!(
        onward.starts_with(&format!("{issuer}/session/end?")),
        "{onward}"
    );
    let hint = url::Url::parse(&onward)
        .expect("logout URL")
        .query_pairs()
        .find(|(k, _)| k == "id_token_hint")
        .map(|(_, v)| v.into_owned())
        .expect("id_token_hint in the provider logout");
    assert_eq!(hint.split('.').count(), 3, "a JWT: {hint}");
    let confirm = browser.get(&onward).await;
    assert_eq!(confirm.status(), 200, "the provider accepts the hint");
    assert!(
        browser.get(&page).await.status().is_redirection(),
        "the gateway session is over"
    );
}
