//! The admin page's HTML, in French, server-rendered, no JavaScript. Every value is escaped with
//! [`escape`]; every button is a small POST form carrying the CSRF token.

use std::fmt::Write as _;

use http::StatusCode;
use serde_json::Value;

use crate::admin::audit::RecentEvent;
use crate::guard::{PrivilegedSource, Suspension};
use crate::ui::{Page, escape};

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f2f4f7;\
color:#1d2733;margin:0;padding:1rem}main{max-width:72rem;margin:0 auto}section{background:#fff;border-radius:.6rem;\
padding:1rem 1.2rem;margin:1rem 0;box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.4rem}h2{font-size:1.1rem;\
margin-top:0}table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.35rem .5rem;\
border-bottom:1px solid #e3e7ec;vertical-align:middle}form{display:inline;margin:0}button{padding:.3rem .7rem;\
border:0;border-radius:.3rem;background:#1f5fa8;color:#fff;cursor:pointer}button.danger{background:#b3261e}\
header{display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:.5rem}\
.oui{color:#1b7a34;font-weight:600}.non{color:#b3261e;font-weight:600}.muted{color:#55606e;font-size:.85rem}\
.notice{padding:.6rem .8rem;border-radius:.4rem}.erreur{background:#fdecea;border-left:4px solid #c62828}\
label{font-weight:600}input{padding:.5rem;font-size:1rem;border:1px solid #9aa5b1;border-radius:.4rem;width:100%;\
box-sizing:border-box;margin:.4rem 0 1rem}.login{max-width:26rem;margin:3rem auto}";

fn layout(status: StatusCode, body: &str) -> Page {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>Passerelle — administration</title>\
         <style>{STYLE}</style></head><body><main>{body}</main></body></html>\n"
    );
    Page { status, html }
}

/// The login form: the admin token, posted once, exchanged for a cookie.
pub fn login(error: Option<&str>, status: StatusCode) -> Page {
    let error = error
        .map(|e| {
            format!(
                "<p class=\"notice erreur\" role=\"alert\">{}</p>",
                escape(e)
            )
        })
        .unwrap_or_default();
    layout(
        status,
        &format!(
            "<section class=\"login\"><h1>Passerelle — administration</h1>{error}\
             <form method=\"post\" action=\"/admin/connexion\">\
             <label for=\"jeton\">Jeton d'administration</label>\
             <input id=\"jeton\" name=\"jeton\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
             <button type=\"submit\">Se connecter</button></form></section>"
        ),
    )
}

/// A French page for a refusal on the admin listener (address not allowed, page off).
pub fn refused(status: StatusCode, text: &str) -> Page {
    layout(
        status,
        &format!(
            "<section class=\"login\"><h1>Accès refusé</h1><p>{}</p></section>",
            escape(text)
        ),
    )
}

/// What the dashboard shows.
pub struct Dashboard<'a> {
    pub csrf: &'a str,
    pub now: u64,
    pub notice: Option<&'a str>,
    /// `GET /api/v1/spaces` items.
    pub spaces: &'a [Value],
    /// `GET /api/v1/sessions` items, and how many there are in all.
    pub sessions: &'a [Value],
    pub sessions_total: usize,
    pub suspensions: &'a [Suspension],
    pub privileged: &'a [(ipnet::IpNet, PrivilegedSource)],
    pub audit: &'a [RecentEvent],
}

/// A one-button form posting `cible` to `/admin/<action>`.
fn button(csrf: &str, action: &str, target: &str, label: &str, danger: bool) -> String {
    format!(
        "<form method=\"post\" action=\"/admin/{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"cible\" value=\"{}\"><button type=\"submit\"{}>{}</button></form>",
        escape(csrf),
        escape(target),
        if danger { " class=\"danger\"" } else { "" },
        escape(label),
    )
}

/// `29/11/2026 07:05:12` (UTC).
pub fn date(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map_or_else(
            || "-".to_owned(),
            |d| d.format("%d/%m/%Y %H:%M:%S").to_string(),
        )
}

fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value[key].as_str().unwrap_or("-")
}

pub fn dashboard(d: &Dashboard<'_>) -> Page {
    let mut body = String::new();
    let _ = write!(
        body,
        "<header><h1>Passerelle — administration</h1><div>{} {}</div></header>",
        button(d.csrf, "recharger", "", "Recharger la configuration", false),
        button(d.csrf, "deconnexion", "", "Se déconnecter", false),
    );
    if let Some(notice) = d.notice {
        let _ = write!(
            body,
            "<p class=\"notice erreur\" role=\"alert\">{}</p>",
            escape(notice)
        );
    }

    body.push_str(
        "<section><h2>Espaces</h2><table><tr><th>Espace</th><th>Publié</th><th>Délégations</th>\
                   <th>Connexion directe</th><th>Sessions</th><th>Actions</th></tr>",
    );
    for space in d.spaces {
        let name = text(space, "space");
        let published = space["published"].as_bool() == Some(true);
        let runtime = space["source"] == "runtime";
        let delegations: Vec<&str> = space["delegations"]
            .as_array()
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let toggle = if published {
            button(d.csrf, "depublier", name, "Arrêter la publication", true)
        } else {
            button(d.csrf, "publier", name, "Publier", false)
        };
        let reset = if runtime {
            button(d.csrf, "suivre-fichier", name, "Revenir au fichier", false)
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td><span class=\"{}\">{}</span>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{toggle} {reset}</td></tr>",
            escape(text(space, "label")),
            if published { "oui" } else { "non" },
            if published { "oui" } else { "non" },
            if runtime {
                " <span class=\"muted\">(choix de l'administrateur)</span>"
            } else {
                ""
            },
            escape(&if delegations.is_empty() {
                "-".to_owned()
            } else {
                delegations.join(", ")
            }),
            match text(space, "direct_login") {
                "always" => "toujours",
                "when_idp_down" => "si le fournisseur ne répond pas",
                _ => "jamais",
            },
            space["sessions"].as_u64().unwrap_or(0),
        );
    }
    body.push_str("</table></section>");

    let _ = write!(body, "<section><h2>Connexions ({})</h2>", d.sessions_total);
    if d.sessions.is_empty() {
        body.push_str("<p class=\"muted\">Aucune session ouverte.</p>");
    } else {
        body.push_str(
            "<table><tr><th>Espace</th><th>Utilisateur</th><th>Protocole</th><th>Adresse</th>\
                       <th>Début</th><th>Dernière activité</th><th></th></tr>",
        );
        for session in d.sessions {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(text(session, "space")),
                escape(text(session, "user")),
                escape(text(session, "protocol")),
                escape(text(session, "ip")),
                date(session["started"].as_u64().unwrap_or(0)),
                date(session["last_seen"].as_u64().unwrap_or(0)),
                button(
                    d.csrf,
                    "deconnecter",
                    text(session, "id"),
                    "Déconnecter",
                    true
                ),
            );
        }
        body.push_str("</table>");
        if d.sessions_total > d.sessions.len() {
            let _ = write!(
                body,
                "<p class=\"muted\">{} plus récentes affichées ; toutes avec <code>passerelle sessions list</code>.</p>",
                d.sessions.len()
            );
        }
    }
    body.push_str("</section>");

    body.push_str("<section id=\"suspensions\"><h2>Adresses suspendues</h2>");
    if d.suspensions.is_empty() {
        body.push_str("<p class=\"muted\">Aucune adresse suspendue.</p>");
    } else {
        body.push_str("<table><tr><th>Adresse</th><th>Échecs</th><th>Jusqu'à</th><th>Dernier identifiant</th><th></th></tr>");
        for s in d.suspensions {
            let ip = s.ip.to_string();
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{} <span class=\"muted\">(encore {} s)</span></td><td>{}</td><td>{}</td></tr>",
                escape(&ip),
                s.failures,
                date(s.until),
                s.until.saturating_sub(d.now),
                escape(s.last_login.as_deref().unwrap_or("-")),
                button(d.csrf, "debloquer", &ip, "Débloquer", false),
            );
        }
        let _ = write!(
            body,
            "</table><p>{}</p>",
            button(d.csrf, "debloquer-tout", "", "Tout débloquer", true)
        );
    }
    body.push_str("</section>");

    body.push_str("<section><h2>Réseaux privilégiés</h2><p class=\"muted\">Jamais suspendus.</p>");
    if d.privileged.is_empty() {
        body.push_str("<p class=\"muted\">Aucun.</p>");
    } else {
        body.push_str("<table><tr><th>Réseau</th><th>Origine</th></tr>");
        for (net, source) in d.privileged {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&net.to_string()),
                match source {
                    PrivilegedSource::Config => "fichier de configuration",
                    PrivilegedSource::Runtime => "ajouté par l'API",
                }
            );
        }
        body.push_str("</table>");
    }
    body.push_str("</section>");

    body.push_str("<section><h2>Journal d'audit récent</h2><p class=\"muted\">Modifications faites sur cette instance.</p>");
    if d.audit.is_empty() {
        body.push_str("<p class=\"muted\">Aucune modification.</p>");
    } else {
        body.push_str("<table><tr><th>Date</th><th>Qui</th><th>Depuis</th><th>Action</th><th>Cible</th><th>Résultat</th></tr>");
        for e in d.audit {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                date(e.at),
                escape(&e.who),
                escape(&e.from),
                escape(&e.action),
                escape(&e.target),
                escape(&e.result),
            );
        }
        body.push_str("</table>");
    }
    body.push_str("</section>");
    let status = if d.notice.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    layout(status, &body)
}
