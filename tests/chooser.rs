//! The connection chooser: a space with several ways of logging in shows a French page with one
//! button each; the choice starts that way, and can be remembered.

mod common;

use common::*;
use http::StatusCode;
use passerelle::clock::Clock;

const PARENT_SPACE: &str = r#"published = true
direct_login = "always"

[[delegation]]
id = "educonnect"
protocol = "cas"
label = "Élève ou parent : EduConnect"
base_url = "https://educonnect.example.fr/cas"

[[delegation]]
id = "ent"
protocol = "cas"
label = "Personnel : ENT"
base_url = "https://ent.example.fr/cas"
login_params = { selection = "EDU_parent_eleve" }
"#;

async fn gateway() -> (Upstream, tempfile::TempDir, passerelle::server::Running) {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::new(upstream.address);
    setup.write(dir.path());
    std::fs::write(dir.path().join("spaces/parent.toml"), PARENT_SPACE).unwrap();
    let config = passerelle::config::load(&dir.path().join("passerelle.toml"))
        .unwrap_or_else(|p| panic!("{p}"));
    let running = passerelle::server::start(
        config,
        passerelle::server::Options {
            clock: Clock::System,
        },
    )
    .await
    .unwrap();
    (upstream, dir, running)
}

#[tokio::test]
async fn a_space_with_several_ways_shows_the_french_chooser() {
    let (_upstream, _dir, running) = gateway().await;
    let response = client()
        .get(format!("{}/pronote/parent.html?fd=1", base(&running)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Choisissez comment vous connecter"), "{html}");
    assert!(
        html.contains("action=\"/auth/start/parent\"") && html.contains("method=\"get\""),
        "{html}"
    );
    assert!(
        html.contains("name=\"via\" value=\"educonnect\">Élève ou parent : EduConnect</button>"),
        "{html}"
    );
    assert!(
        html.contains("name=\"via\" value=\"ent\">Personnel : ENT</button>"),
        "{html}"
    );
    assert!(
        html.contains(
            "name=\"via\" value=\"direct\">Autres : identifiant et mot de passe PRONOTE</button>"
        ),
        "{html}"
    );
    assert!(
        html.contains("name=\"retour\" value=\"/pronote/parent.html?fd=1\""),
        "{html}"
    );
    assert!(html.contains("name=\"souvenir\""), "{html}");
    assert!(
        html.contains("width=device-width") && !html.contains("<script"),
        "phone-sized, no JavaScript"
    );
}

#[tokio::test]
async fn picking_a_delegation_starts_it_and_picking_direct_opens_the_form() {
    let (_upstream, _dir, running) = gateway().await;
    let base = base(&running);
    let ent = client()
        .get(format!(
            "{base}/auth/start/parent?via=ent&retour=%2Fpronote%2Fparent.html"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ent.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(ent.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("ent.example.fr"));
    assert_eq!(location.path(), "/cas/login");
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(
        pairs[0],
        (
            "service".to_owned(),
            "http://127.0.0.1:8080/auth/callback/parent/ent".to_owned()
        )
    );
    assert!(pairs.contains(&("selection".to_owned(), "EDU_parent_eleve".to_owned())));
    assert!(
        set_cookie(&ent, "passerelle_session_login").is_some(),
        "the pending login is bound to the browser"
    );
    assert!(
        set_cookie(&ent, "passerelle_session_choix").is_none(),
        "not remembered unless asked"
    );

    let direct = client()
        .get(format!(
            "{base}/auth/start/parent?via=direct&retour=%2Fpronote%2Fparent.html"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        direct.headers()["location"],
        "/auth/login/parent?retour=%2Fpronote%2Fparent.html"
    );

    let unknown = client()
        .get(format!("{base}/auth/start/parent?via=pirate"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        StatusCode::OK,
        "an unknown choice shows the chooser again"
    );
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Choisissez comment vous connecter")
    );
}

#[tokio::test]
async fn a_remembered_choice_skips_the_chooser_until_forgotten() {
    let (upstream, _dir, running) = gateway().await;
    let base = base(&running);
    let pick = client()
        .get(format!(
            "{base}/auth/start/parent?via=educonnect&retour=%2Fpronote%2Fparent.html&souvenir=1"
        ))
        .send()
        .await
        .unwrap();
    let remembered =
        set_cookie(&pick, "passerelle_session_choix").expect("the choice is remembered");
    assert_eq!(remembered, "parent.educonnect");
    let cookie = format!("passerelle_session_choix={remembered}");

    let page = client()
        .get(format!("{base}/pronote/parent.html"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://educonnect.example.fr/cas/login?service=")
    );

    let other_space = client()
        .get(format!("{base}/pronote/eleve.html"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(
        other_space.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/login/eleve"),
        "a choice is per space"
    );

    let forget = client()
        .get(format!("{base}/auth/choose/parent"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(forget.status(), StatusCode::OK);
    let cleared = forget.headers().get_all("set-cookie").iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("passerelle_session_choix=;") && v.contains("Max-Age=0")
    });
    assert!(cleared, "the chooser page forgets the choice");

    let login_true = client()
        .get(format!("{base}/pronote/parent.html?login=true"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(
        login_true.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/login/parent"),
        "?login=true still opens the form"
    );
    assert_eq!(upstream.count(), 0);
}
