//! End-user pages, in French: the direct login form and every error a person can meet.
//!
//! Pages are small server-rendered HTML with inline CSS, readable on a phone, with no JavaScript. Every
//! value that comes from a request or a configuration is escaped with [`escape`].

use http::StatusCode;

use crate::space::SpaceId;

/// A rendered page and the status it goes with.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub html: String,
}

/// Escape text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f2f4f7;\
color:#1d2733;margin:0;padding:1rem}main{max-width:26rem;margin:2rem auto;background:#fff;border-radius:.6rem;\
padding:1.5rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.3rem;margin-top:0}p.small{font-size:.85rem;\
color:#55606e}label{display:block;margin-top:1rem;font-weight:600}input{width:100%;box-sizing:border-box;\
padding:.7rem;margin-top:.3rem;font-size:1rem;border:1px solid #9aa5b1;border-radius:.4rem}button{margin-top:1.4rem;\
width:100%;padding:.8rem;font-size:1rem;border:0;border-radius:.4rem;background:#1f5fa8;color:#fff}\
.erreur{background:#fdecea;border-left:4px solid #c62828;padding:.6rem .8rem}a{color:#1f5fa8}";

fn layout(status: StatusCode, title: &str, body: &str) -> Page {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        title = escape(title),
    );
    Page { status, html }
}

fn message(status: StatusCode, title: &str, lines: &[&str], link: Option<(&str, &str)>) -> Page {
    let mut body = format!("<h1>{}</h1>", escape(title));
    for line in lines {
        body.push_str(&format!("<p>{}</p>", escape(line)));
    }
    if let Some((href, label)) = link {
        body.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape(href),
            escape(label)
        ));
    }
    layout(status, title, &body)
}

/// What the login form needs to render.
#[derive(Debug)]
pub struct LoginForm<'a> {
    pub space: SpaceId,
    pub action: &'a str,
    pub csrf_token: &'a str,
    pub return_to: &'a str,
    pub login: &'a str,
    pub error: Option<&'a str>,
}

pub fn login_form(form: &LoginForm<'_>, status: StatusCode) -> Page {
    let error = form
        .error
        .map(|e| format!("<p class=\"erreur\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{label}</h1><p>Connectez-vous avec votre identifiant et votre mot de passe PRONOTE.</p>{error}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"retour\" value=\"{retour}\">\
         <label for=\"login\">Identifiant</label>\
         <input id=\"login\" name=\"login\" autocomplete=\"username\" autocapitalize=\"none\" required value=\"{login}\">\
         <label for=\"password\">Mot de passe</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Se connecter</button></form>\
         <p class=\"small\">Après plusieurs échecs, l'adresse IP est provisoirement suspendue.</p>",
        label = escape(form.space.label()),
        action = escape(form.action),
        csrf = escape(form.csrf_token),
        retour = escape(form.return_to),
        login = escape(form.login),
    );
    layout(
        status,
        &format!("Connexion — {}", form.space.label()),
        &body,
    )
}

/// One way of logging in on the chooser.
#[derive(Debug)]
pub struct ChooserOption<'a> {
    /// What the form submits (`via=`).
    pub value: &'a str,
    pub label: &'a str,
}

/// The connection chooser: one big button per way of logging in, and "remember my choice".
pub fn chooser(
    space: SpaceId,
    action: &str,
    return_to: &str,
    options: &[ChooserOption<'_>],
) -> Page {
    let mut buttons = String::new();
    for option in options {
        buttons.push_str(&format!(
            "<button type=\"submit\" name=\"via\" value=\"{}\">{}</button>",
            escape(option.value),
            escape(option.label)
        ));
    }
    let body = format!(
        "<h1>{label}</h1><p>Choisissez comment vous connecter.</p>\
         <form method=\"get\" action=\"{action}\">\
         <input type=\"hidden\" name=\"retour\" value=\"{retour}\">{buttons}\
         <label style=\"font-weight:normal\"><input type=\"checkbox\" name=\"souvenir\" value=\"1\" \
         style=\"width:auto;margin-right:.5rem\">Se souvenir de mon choix sur cet appareil</label></form>\
         <p class=\"small\">Vous pourrez changer de choix à l'adresse <a href=\"/auth/choose/{space}\">/auth/choose/{space}</a>.</p>",
        label = escape(space.label()),
        action = escape(action),
        retour = escape(return_to),
    );
    layout(
        StatusCode::OK,
        &format!("Connexion — {}", space.label()),
        &body,
    )
}

/// The person authenticated, but their profile does not open this space.
pub fn profile_refused(reason: &str) -> Page {
    let reason = capitalise_first(reason);
    message(
        StatusCode::FORBIDDEN,
        "Accès refusé",
        &[
            &format!("{reason}."),
            "Si vous pensez que c'est une erreur, contactez votre établissement.",
        ],
        Some(("/pronote/", "Aller à la page d'accueil")),
    )
}

fn capitalise_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub fn not_published(space: SpaceId) -> Page {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Espace non publié",
        &[&format!(
            "L'{} n'est pas publié pour le moment. Réessayez plus tard ou contactez votre établissement.",
            space.label().to_lowercase()
        )],
        None,
    )
}

pub fn no_login_method(space: SpaceId) -> Page {
    message(
        StatusCode::FORBIDDEN,
        "Accès refusé",
        &[&format!(
            "Aucun moyen de connexion n'est ouvert pour l'{}. Contactez votre établissement.",
            space.label().to_lowercase()
        )],
        None,
    )
}

pub fn direct_login_refused(space: SpaceId) -> Page {
    message(
        StatusCode::FORBIDDEN,
        "Connexion directe non autorisée",
        &[&format!(
            "L'{} n'accepte pas la connexion par identifiant et mot de passe PRONOTE.",
            space.label().to_lowercase()
        )],
        Some((
            &space.page_path(crate::space::Variant::Desktop),
            "Revenir à l'espace",
        )),
    )
}

/// A delegated login failed; `message` comes from [`crate::auth::AuthError::message`].
pub fn delegation_failed(space: SpaceId, status: StatusCode, message_text: &str) -> Page {
    message(
        status,
        "Connexion impossible",
        &[message_text],
        Some((
            &space.page_path(crate::space::Variant::Desktop),
            "Recommencer la connexion",
        )),
    )
}

/// `/cas/login` without a service, or for one no space declares (the CAS bridge).
pub fn cas_service_refused() -> Page {
    message(
        StatusCode::FORBIDDEN,
        "Application non autorisée",
        &[
            "Cette application n'est pas déclarée auprès de la passerelle de connexion : aucun ticket ne lui est délivré. Contactez votre établissement.",
        ],
        None,
    )
}

/// The CAS bridge cannot name the person to the application (e.g. no PRONOTE product id).
pub fn cas_identity_incomplete(reason: &str) -> Page {
    message(
        StatusCode::FORBIDDEN,
        "Identification impossible",
        &[
            "Votre compte ne porte pas l'information qui permet à PRONOTE de vous reconnaître. Contactez votre établissement.",
            reason,
        ],
        None,
    )
}

pub fn session_required() -> Page {
    message(
        StatusCode::UNAUTHORIZED,
        "Session expirée",
        &["Votre session a expiré ou vous n'êtes pas connecté. Reconnectez-vous pour continuer."],
        Some(("/pronote/", "Aller à la page d'accueil")),
    )
}

pub fn form_expired(retry: &str) -> Page {
    message(
        StatusCode::FORBIDDEN,
        "La page a expiré",
        &["Le formulaire n'est plus valide. Rechargez la page de connexion et recommencez."],
        Some((retry, "Revenir au formulaire")),
    )
}

pub fn logged_out() -> Page {
    message(
        StatusCode::OK,
        "Vous êtes déconnecté",
        &["Votre session est terminée. Pensez à fermer le navigateur sur un ordinateur partagé."],
        Some(("/pronote/", "Se reconnecter")),
    )
}

pub fn suspended(retry_after_secs: u64) -> Page {
    let minutes = retry_after_secs.div_ceil(60).max(1);
    message(
        StatusCode::FORBIDDEN,
        "Votre adresse IP est provisoirement suspendue",
        &[
            "Trop de tentatives de connexion ont échoué depuis votre adresse.",
            &format!("Réessayez dans {minutes} minute(s), ou contactez votre établissement."),
        ],
        None,
    )
}

pub fn rate_limited(retry_after_secs: u64) -> Page {
    message(
        StatusCode::TOO_MANY_REQUESTS,
        "Vous avez effectué trop de demandes",
        &[&format!(
            "Patientez {} seconde(s) avant de réessayer.",
            retry_after_secs.max(1)
        )],
        None,
    )
}

pub fn bad_gateway() -> Page {
    message(
        StatusCode::BAD_GATEWAY,
        "Le site est momentanément indisponible",
        &["Le serveur PRONOTE ne répond pas. Réessayez dans quelques instants."],
        None,
    )
}

pub fn gateway_timeout() -> Page {
    message(
        StatusCode::GATEWAY_TIMEOUT,
        "Le site est momentanément indisponible",
        &["Le serveur PRONOTE met trop de temps à répondre. Réessayez dans quelques instants."],
        None,
    )
}

pub fn service_unavailable() -> Page {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Le site est momentanément indisponible",
        &["Le service de connexion rencontre un problème. Réessayez dans quelques instants."],
        None,
    )
}

pub fn not_found() -> Page {
    message(
        StatusCode::NOT_FOUND,
        "Page introuvable",
        &["Cette adresse n'existe pas."],
        Some(("/pronote/", "Aller à la page d'accueil")),
    )
}

pub fn bad_request() -> Page {
    message(
        StatusCode::BAD_REQUEST,
        "Adresse invalide",
        &["Cette adresse est mal formée."],
        Some(("/pronote/", "Aller à la page d'accueil")),
    )
}

pub fn payload_too_large() -> Page {
    message(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Demande trop volumineuse",
        &["Les données envoyées dépassent la taille autorisée."],
        None,
    )
}

pub fn method_not_allowed() -> Page {
    message(
        StatusCode::METHOD_NOT_ALLOWED,
        "Action non autorisée",
        &["Cette adresse n'accepte pas ce type de demande."],
        None,
    )
}

/// The page that re-posts an identity provider's answer to the same address from our own origin (see
/// `auth::post_binding`): an inline script (allowed by `script_nonce`) submits it at once; without
/// JavaScript, the person presses "Continuer".
pub fn resubmit_form(action: &str, fields: &[(String, String)], script_nonce: &str) -> Page {
    let mut inputs = String::new();
    for (name, value) in fields {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        ));
    }
    let body = format!(
        "<h1>Connexion en cours…</h1>\
         <form id=\"relance\" method=\"post\" action=\"{action}\">{inputs}\
         <p>Votre fournisseur d'identité a confirmé votre identité. Si la page ne change pas d'elle-même, \
         appuyez sur « Continuer ».</p><button type=\"submit\">Continuer</button></form>\
         <script nonce=\"{nonce}\">document.getElementById(\"relance\").submit();</script>",
        action = escape(action),
        nonce = escape(script_nonce),
    );
    layout(StatusCode::OK, "Connexion en cours", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }

    #[test]
    fn login_form_escapes_what_the_user_typed() {
        let page = login_form(
            &LoginForm {
                space: SpaceId::Parent,
                action: "/auth/login/parent",
                csrf_token: "t",
                return_to: "/pronote/parent.html",
                login: "\"><script>",
                error: Some("Identifiant ou mot de passe incorrect."),
            },
            StatusCode::UNAUTHORIZED,
        );
        assert!(!page.html.contains("<script>"));
        assert!(page.html.contains("Espace Parents"));
        assert!(page.html.contains("lang=\"fr\""));
    }
}
