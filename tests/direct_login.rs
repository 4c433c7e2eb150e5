//! The direct login form end to end: real gateway on loopback, real upstream, memory store.

mod common;

use common::*;
use http::StatusCode;
use passerelle::clock::Clock;
use passerelle::identity::signed_headers;

async fn setup() -> (Upstream, tempfile::TempDir, passerelle::server::Running) {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let running = Setup::new(upstream.address)
        .start(dir.path(), Clock::System)
        .await;
    (upstream, dir, running)
}

#[tokio::test]
async fn unauthenticated_space_page_leads_to_the_french_login_form() {
    let (upstream, _dir, running) = setup().await;
    let base = base(&running);
    let response = client()
        .get(format!("{base}/pronote/parent.html?fd=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        "/auth/login/parent?retour=%2Fpronote%2Fparent.html%3Ffd%3D1"
    );

    let form = client()
        .get(format!("{base}{location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(
        html.contains("Espace Parents") && html.contains("Mot de passe"),
        "{html}"
    );
    assert!(
        html.contains("value=\"/pronote/parent.html?fd=1\""),
        "the return page is kept: {html}"
    );
    assert_eq!(upstream.count(), 0, "nothing reached the upstream");
}

#[tokio::test]
async fn good_password_gives_a_session_and_the_upstream_gets_signed_identity_headers() {
    let (upstream, _dir, running) = setup().await;
    let base = base(&running);
    let response = direct_login(&base, "parent", PARENT_LOGIN, PARENT_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/pronote/parent.html?login=true"
    );
    let set = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("passerelle_session="))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    let session = set_cookie(&response, "passerelle_session").unwrap();
    assert_eq!(session.len(), 43, "256-bit id, base64url");

    let page = client()
        .get(format!(
            "{base}/pronote/parent.html?login=true&fd=1&bydlg=A6ABB224-12DD-4E31-AD3E-8A39A1C2C335"
        ))
        .header("cookie", format!("passerelle_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let seen = upstream.last();
    assert_eq!(
        seen.uri.to_string(),
        "/pronote/parent.html?login=true&fd=1&bydlg=A6ABB224-12DD-4E31-AD3E-8A39A1C2C335",
        "PRONOTE's query strings pass through untouched"
    );
    let headers = &seen.headers;
    assert_eq!(headers["x-passerelle-user"], PARENT_LOGIN);
    assert_eq!(headers["x-passerelle-space"], "parent");
    assert_eq!(headers["x-passerelle-protocol"], "direct");
    assert_eq!(headers["x-passerelle-prenom"], "H%C3%A9l%C3%A8ne");
    assert_eq!(headers["x-passerelle-categories"], "National_2");
    assert_eq!(headers["x-passerelle-date-naissance"], "14/03/1982");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    let now = Clock::System.now();
    assert_eq!(
        signed_headers::verify(headers, "X-Passerelle-", SIGNING_KEY.as_bytes(), now, 30),
        Ok(())
    );
}

#[tokio::test]
async fn identity_headers_sent_by_the_client_never_reach_the_upstream() {
    let (upstream, _dir, running) = setup().await;
    let base = base(&running);
    let session = parent_session(&base).await;
    for path in [
        "/pronote/parent.html",
        "/pronote/scripts/app.js",
        "/pronote/InfoMobileApp.json",
    ] {
        client()
            .get(format!("{base}{path}"))
            .header("cookie", format!("passerelle_session={session}"))
            .header("X-Passerelle-User", "directeur")
            .header("x_passerelle_space", "direction")
            .header("X-PASSERELLE-Id-Produit", "1")
            .header("X-Passerelle_Nom", "Pirate")
            .send()
            .await
            .unwrap();
        let headers = upstream.last().headers;
        for (name, value) in &headers {
            let folded = name.as_str().replace('_', "-");
            if folded.starts_with("x-passerelle-") {
                assert_ne!(value, "directeur", "{path}: {name}");
                assert_ne!(value, "direction", "{path}: {name}");
                assert_ne!(value, "Pirate", "{path}: {name}");
                assert!(
                    !name.as_str().contains('_'),
                    "{path}: {name} was not stripped"
                );
            }
        }
        assert!(headers.get("x-passerelle-id-produit").is_none(), "{path}");
    }
    // Unauthenticated public path: the headers are stripped and none are added.
    client()
        .get(format!("{base}/pronote/InfoMobileApp.json?id=0D264427"))
        .header("X-Passerelle-User", "directeur")
        .send()
        .await
        .unwrap();
    let headers = upstream.last().headers;
    assert!(
        headers
            .keys()
            .all(|name| !name.as_str().starts_with("x-passerelle-")),
        "{headers:?}"
    );
}

#[tokio::test]
async fn gateway_cookies_never_reach_the_upstream_but_others_do() {
    let (upstream, _dir, running) = setup().await;
    let base = base(&running);
    let session = parent_session(&base).await;
    client()
        .get(format!("{base}/pronote/parent.html"))
        .header(
            "cookie",
            format!("validationAppliMobile=abc; passerelle_session={session}; passerelle_session_csrf=x; passerelle_session_choix=parent.ent; passerelle_session_login=y; uuidAppliMobile=42"),
        )
        .send()
        .await
        .unwrap();
    let cookie = upstream.last().headers["cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(cookie, "validationAppliMobile=abc; uuidAppliMobile=42");
}

#[tokio::test]
async fn bad_password_gives_a_401_french_page_and_is_reported_to_the_guard() {
    let (upstream, _dir, running) = setup().await;
    let base = base(&running);
    let before = counter(
        &metrics(&running).await,
        "passerelle_auth_failures_total{kind=\"bad_password\"}",
    );
    let response = direct_login(&base, "parent", PARENT_LOGIN, "mauvais").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&response, "passerelle_session").is_none());
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Identifiant ou mot de passe incorrect"),
        "{html}"
    );
    assert!(
        html.contains(&format!("value=\"{PARENT_LOGIN}\"")),
        "the login is kept in the form"
    );
    let after = counter(
        &metrics(&running).await,
        "passerelle_auth_failures_total{kind=\"bad_password\"}",
    );
    assert!(
        after >= before + 1.0,
        "failure reported: {before} -> {after}"
    );

    let unknown = direct_login(&base, "parent", "inconnu", PARENT_PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(upstream.count(), 0);
}

#[tokio::test]
async fn a_user_of_another_space_is_refused() {
    let (_upstream, _dir, running) = setup().await;
    let response = direct_login(&base(&running), "eleve", PARENT_LOGIN, PARENT_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&response, "passerelle_session").is_none());
}

#[tokio::test]
async fn a_session_opens_only_its_own_space() {
    let (upstream, _dir, running) = setup().await;
    let base = base(&running);
    let session = parent_session(&base).await;
    let response = client()
        .get(format!("{base}/pronote/professeur.html"))
        .header("cookie", format!("passerelle_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/login/professeur")
    );
    assert_eq!(upstream.count(), 0);
}

#[tokio::test]
async fn unpublished_space_answers_503_with_a_french_page() {
    let (upstream, _dir, running) = setup().await;
    let base = base(&running);
    for path in [
        "/pronote/entreprise.html",
        "/pronote/mobile.entreprise.html",
        "/auth/login/entreprise",
    ] {
        let response = client().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            response.text().await.unwrap().contains("Espace non publié"),
            "{path}"
        );
    }
    assert_eq!(upstream.count(), 0);
}

#[tokio::test]
async fn form_without_the_csrf_token_is_refused() {
    let (_upstream, _dir, running) = setup().await;
    let base = base(&running);
    let response = client()
        .post(format!("{base}/auth/login/parent"))
        .header("cookie", "passerelle_session_csrf=AAAAAAAAAAAAAAAAAAAAAAAA")
        .form(&[
            ("login", PARENT_LOGIN),
            ("password", PARENT_PASSWORD),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&response, "passerelle_session").is_none());
    assert!(response.text().await.unwrap().contains("La page a expiré"));
}

#[tokio::test]
async fn login_rotates_the_session_id_so_a_planted_cookie_is_never_authenticated() {
    let (_upstream, _dir, running) = setup().await;
    let base = base(&running);
    let planted = "A".repeat(43);
    let first = parent_session(&base).await;
    assert_ne!(first, planted);
    let second = parent_session(&base).await;
    assert_ne!(first, second);
    let response = client()
        .get(format!("{base}/pronote/parent.html"))
        .header("cookie", format!("passerelle_session={planted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a planted id is not a session"
    );
}

#[tokio::test]
async fn return_target_outside_the_space_is_replaced_by_the_space_page() {
    let (_upstream, _dir, running) = setup().await;
    let base = base(&running);
    let http = client();
    let form = http
        .get(format!("{base}/auth/login/parent"))
        .send()
        .await
        .unwrap();
    let nonce = set_cookie(&form, "passerelle_session_csrf").unwrap();
    let html = form.text().await.unwrap();
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    for evil in [
        "https://evil.example/",
        "//evil.example/pronote/parent.html",
        "/pronote/eleve.html",
    ] {
        let response = http
            .post(format!("{base}/auth/login/parent"))
            .header("cookie", format!("passerelle_session_csrf={nonce}"))
            .form(&[
                ("login", PARENT_LOGIN),
                ("password", PARENT_PASSWORD),
                ("csrf", &token),
                ("retour", evil),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()["location"],
            "/pronote/parent.html",
            "{evil}"
        );
    }
}

#[tokio::test]
async fn logout_destroys_the_session() {
    let (upstream, _dir, running) = setup().await;
    let base = base(&running);
    let session = parent_session(&base).await;
    let cookie = format!("passerelle_session={session}");
    let ok = client()
        .get(format!("{base}/pronote/parent.html"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    let logout = client()
        .post(format!("{base}/auth/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let cleared = logout.headers().get_all("set-cookie").iter().any(|v| {
        v.to_str().unwrap().starts_with("passerelle_session=;")
            && v.to_str().unwrap().contains("Max-Age=0")
    });
    assert!(cleared, "the cookie is cleared");
    assert!(
        logout
            .text()
            .await
            .unwrap()
            .contains("Vous êtes déconnecté")
    );

    let seen_before = upstream.count();
    let replay = client()
        .get(format!("{base}/pronote/parent.html"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.status(),
        StatusCode::SEE_OTHER,
        "the old cookie no longer opens the space"
    );
    let resource = client()
        .get(format!("{base}/pronote/scripts/app.js"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resource.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(upstream.count(), seen_before);
}

#[tokio::test]
async fn idle_timeout_is_honoured_and_activity_extends_it() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(1_800_000_000);
    let mut setup = Setup::new(upstream.address);
    setup.idle_timeout = "15m";
    let running = setup.start(dir.path(), clock.clone()).await;
    let base = base(&running);
    let cookie = format!("passerelle_session={}", parent_session(&base).await);
    let get = || {
        client()
            .get(format!("{base}/pronote/parent.html"))
            .header("cookie", &cookie)
            .send()
    };

    clock.advance(14 * 60);
    assert_eq!(
        get().await.unwrap().status(),
        StatusCode::OK,
        "14 min idle: still valid"
    );
    clock.advance(14 * 60);
    assert_eq!(
        get().await.unwrap().status(),
        StatusCode::OK,
        "activity restarted the idle timer"
    );
    clock.advance(15 * 60);
    assert_eq!(
        get().await.unwrap().status(),
        StatusCode::SEE_OTHER,
        "15 min idle: expired"
    );
}

#[tokio::test]
async fn absolute_timeout_ends_even_an_active_session() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(1_800_000_000);
    let mut setup = Setup::new(upstream.address);
    setup.idle_timeout = "30m";
    setup.absolute_timeout = "1h";
    let running = setup.start(dir.path(), clock.clone()).await;
    let base = base(&running);
    let cookie = format!("passerelle_session={}", parent_session(&base).await);
    for _ in 0..3 {
        clock.advance(20 * 60 - 1);
        let response = client()
            .get(format!("{base}/pronote/parent.html"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    clock.advance(10);
    let response = client()
        .get(format!("{base}/pronote/parent.html"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "past one hour since login"
    );
}

#[tokio::test]
async fn an_oversized_login_form_is_refused_with_413() {
    let (_upstream, _dir, running) = setup().await;
    let huge = "x".repeat(200 * 1024);
    let response = client()
        .post(format!("{}/auth/login/parent", base(&running)))
        .form(&[("login", huge.as_str()), ("password", "p")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("trop volumineuse"));
}
