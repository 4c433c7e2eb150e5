//! Reading the files, substituting `${ENV}`, parsing, and the checks that span several fields or files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::env::substitute;
use super::model::{GatewayFile, SpaceFile, StoreBackend, UsersFile};
use super::presets;
use super::problems::{Problem, Problems};
use super::{
    AdminSettings, Config, GuardSettings, IdentitySettings, ListenSettings, SessionSettings,
    SpaceSettings, SpaceTable, StoreSettings, TlsFiles, UpstreamSettings,
};
use crate::space::SpaceId;

/// Session idle timeouts outside this range are refused: PRONOTE's own choices (5–120 min) sit inside.
const IDLE_TIMEOUT_RANGE: (u64, u64) = (60, 24 * 3600);

/// Load and validate the gateway file at `path` and everything it points to.
pub fn load(path: &Path) -> Result<Config, Problems> {
    let mut problems = Vec::new();
    let base_dir = path.parent().unwrap_or(Path::new(".")).to_owned();
    let Some((gateway, text)) = parse_file::<GatewayFile>(path, &mut problems) else {
        return Err(Problems(problems));
    };

    check_gateway(path, &text, &gateway, &mut problems);
    check_guard_and_admin(path, &text, &gateway, &mut problems);
    let spaces_dir = base_dir.join(gateway.spaces_dir.get_ref());
    let users = load_users(path, &text, &gateway, &base_dir, &mut problems);
    let presets = match &gateway.presets_dir {
        Some(dir)
            if require_dir(
                path,
                &text,
                dir,
                &base_dir,
                "catalogue de presets",
                &mut problems,
            ) =>
        {
            presets::load_dir(&base_dir.join(dir.get_ref())).unwrap_or_else(|found| {
                problems.extend(found.0);
                presets::Catalogue::default()
            })
        }
        _ => presets::Catalogue::default(),
    };
    let mut bridged = Vec::new();
    let spaces = load_spaces(
        path,
        &text,
        &gateway,
        &spaces_dir,
        &presets,
        &mut bridged,
        &mut problems,
    );
    let cas_server = cas_bridge_settings(path, &text, &gateway, bridged, &mut problems);
    let tls = gateway.listen.tls.as_ref().map(|tls| TlsFiles {
        certificate: base_dir.join(tls.certificate.get_ref()),
        private_key: base_dir.join(tls.private_key.get_ref()),
    });
    if let Some(section) = &gateway.listen.tls {
        for (field, label) in [
            (&section.certificate, "certificat TLS"),
            (&section.private_key, "clé privée TLS"),
        ] {
            let full = base_dir.join(field.get_ref());
            if !full.is_file() {
                problems.push(Problem::at_span(
                    path,
                    &text,
                    field.span(),
                    format!("{label} introuvable : {}", full.display()),
                ));
            }
        }
    }

    let (Some(spaces), Some(users)) = (spaces, users) else {
        return Err(Problems(problems));
    };
    if !problems.is_empty() {
        return Err(Problems(problems));
    }

    let session = &gateway.session;
    let store = &gateway.store;
    Ok(Config {
        source: path.to_owned(),
        public_url: gateway.public_url.0,
        trusted_proxies: gateway.trusted_proxies,
        public_paths: gateway.public_paths,
        listen: ListenSettings {
            addresses: gateway.listen.addresses,
            tls,
            gateway_body_limit: gateway.listen.gateway_body_limit_bytes,
        },
        upstream: UpstreamSettings {
            url: gateway.upstream.url.get_ref().0.clone(),
            connect_timeout: gateway.upstream.connect_timeout.0,
            response_timeout: gateway.upstream.response_timeout.0,
            pool_idle_timeout: gateway.upstream.pool_idle_timeout.0,
            preserve_host: gateway.upstream.preserve_host,
        },
        session: SessionSettings {
            cookie_name: session.cookie_name.clone(),
            idle_timeout: session.idle_timeout.get_ref().0,
            absolute_timeout: session.absolute_timeout.get_ref().0,
            secure_cookie: session.secure_cookie,
            touch_interval: session.touch_interval.0,
        },
        store: StoreSettings {
            backend: *store.backend.get_ref(),
            redis_url: store.redis_url.as_ref().map(|url| url.get_ref().clone()),
            key_prefix: store.key_prefix.clone(),
            state_file: base_dir.join(
                store
                    .state_file
                    .as_deref()
                    .unwrap_or(std::path::Path::new("passerelle-state.json")),
            ),
        },
        identity: IdentitySettings {
            header_prefix: gateway.identity.header_prefix.0.clone(),
            signing_key: gateway.identity.signing_key.0.clone(),
        },
        admin_listen: gateway.admin.listen,
        admin: AdminSettings {
            token_sha256: gateway
                .admin
                .token_sha256
                .as_ref()
                .and_then(|hash| parse_sha256(hash.get_ref())),
            token_label: gateway.admin.token_label.clone(),
            allow_cidrs: gateway.admin.allow_cidrs.clone(),
            audit_file: gateway
                .admin
                .audit_file
                .as_ref()
                .map(|file| base_dir.join(file.get_ref())),
        },
        guard: guard_settings(&gateway.guard),
        log: gateway.log,
        spaces,
        users,
        presets,
        cas_server,
    })
}

/// The CAS bridge: the gateway section and the spaces' tables, checked together.
fn cas_bridge_settings(
    path: &Path,
    text: &str,
    gateway: &GatewayFile,
    spaces: Vec<super::cas_bridge::SpaceBridge>,
    problems: &mut Vec<Problem>,
) -> Option<super::cas_bridge::CasBridgeSettings> {
    let Some(section) = &gateway.cas_server else {
        if !spaces.is_empty() {
            problems.push(Problem::whole_file(
                path,
                "des espaces ont une table [cas_server] mais passerelle.toml n'a pas de section \
                 [cas_server] : ajoutez-la pour activer le pont CAS",
            ));
        }
        return None;
    };
    let (prefix, ticket_lifetime, logout_timeout) =
        super::cas_bridge::resolve_section(path, text, section, problems)?;
    Some(super::cas_bridge::CasBridgeSettings {
        prefix,
        ticket_lifetime,
        logout_timeout,
        validation_sources: section.validation_sources.clone(),
        spaces,
    })
}

/// Read, substitute and parse one file; on failure, record why and return `None`.
fn parse_file<T: DeserializeOwned>(
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Option<(T, String)> {
    let raw = match std::fs::read_to_string(path) {
        Ok(raw) => raw,
        Err(err) => {
            problems.push(Problem::whole_file(
                path,
                format!("lecture impossible : {err}"),
            ));
            return None;
        }
    };
    let text = match substitute(&raw, |name| std::env::var(name).ok()) {
        Ok(text) => text,
        Err(env_problems) => {
            problems.extend(
                env_problems
                    .into_iter()
                    .map(|p| Problem::at_span(path, &raw, p.span, p.message)),
            );
            return None;
        }
    };
    match toml::from_str::<T>(&text) {
        Ok(value) => Some((value, text)),
        Err(err) => {
            problems.push(Problem::from_toml(path, &text, &err));
            None
        }
    }
}

fn check_gateway(path: &Path, text: &str, gateway: &GatewayFile, problems: &mut Vec<Problem>) {
    let mut at = |span, message: String| problems.push(Problem::at_span(path, text, span, message));

    if gateway.listen.addresses.is_empty() {
        at(
            0..0,
            "[listen] addresses : au moins une adresse d'écoute".to_owned(),
        );
    }
    let upstream = &gateway.upstream.url;
    if upstream.get_ref().0.path() != "/" {
        at(
            upstream.span(),
            "[upstream] url : seulement le schéma, l'hôte et le port (PRONOTE est servi sous /pronote/)"
                .to_owned(),
        );
    }
    let idle = gateway.session.idle_timeout.get_ref().0;
    let absolute = gateway.session.absolute_timeout.get_ref().0;
    let (min, max) = IDLE_TIMEOUT_RANGE;
    if idle.as_secs() < min || idle.as_secs() > max {
        at(
            gateway.session.idle_timeout.span(),
            "idle_timeout doit être entre 1 minute et 24 heures (PRONOTE propose 5 à 120 minutes)"
                .to_owned(),
        );
    }
    if absolute < idle {
        at(
            gateway.session.absolute_timeout.span(),
            "absolute_timeout doit être au moins égal à idle_timeout".to_owned(),
        );
    }
    let cookie = &gateway.session.cookie_name;
    if cookie.is_empty()
        || !cookie
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        at(
            0..0,
            format!("cookie_name « {cookie} » : lettres, chiffres, _ et - seulement"),
        );
    }
    let store = &gateway.store;
    match (store.backend.get_ref(), &store.redis_url) {
        (StoreBackend::Redis, None) => at(
            store.backend.span(),
            "backend = \"redis\" demande redis_url (ex. \"redis://127.0.0.1:6379\")".to_owned(),
        ),
        (_, Some(url)) if redis::parse_redis_url(url.get_ref()).is_none() => at(
            url.span(),
            format!("redis_url invalide « {} »", url.get_ref()),
        ),
        _ => {}
    }
}

fn guard_settings(guard: &super::model::GuardSection) -> GuardSettings {
    GuardSettings {
        max_failures: *guard.max_failures.get_ref(),
        window: guard.window.0,
        suspension: guard.suspension.0,
        escalation_factor: *guard.escalation_factor.get_ref(),
        max_suspension: guard.max_suspension.0.max(guard.suspension.0),
        offence_memory: guard.offence_memory.0,
        pair_max_failures: *guard.pair_max_failures.get_ref(),
        privileged: guard.privileged.clone(),
        rate_per_second: *guard.rate_per_second.get_ref(),
        rate_burst: *guard.rate_burst.get_ref(),
        ipv6_prefix_len: *guard.ipv6_prefix_len.get_ref(),
        bar_authenticated_traffic: guard.bar_authenticated_traffic,
    }
}

/// 64 hex digits to 32 bytes; anything else is `None` (reported by `check_guard_and_admin`).
fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(text.trim()).ok()?;
    bytes.try_into().ok()
}

fn check_guard_and_admin(
    path: &Path,
    text: &str,
    gateway: &GatewayFile,
    problems: &mut Vec<Problem>,
) {
    let mut at = |span, message: String| problems.push(Problem::at_span(path, text, span, message));
    let guard = &gateway.guard;
    if !(2..=8).contains(guard.max_failures.get_ref()) {
        at(
            guard.max_failures.span(),
            "[guard] max_failures doit être entre 2 et 8 (comme PRONOTE)".to_owned(),
        );
    }
    let pair = *guard.pair_max_failures.get_ref();
    if pair == 0 || pair > *guard.max_failures.get_ref() {
        at(
            guard.pair_max_failures.span(),
            "[guard] pair_max_failures doit être entre 1 et max_failures".to_owned(),
        );
    }
    if *guard.escalation_factor.get_ref() == 0 || *guard.escalation_factor.get_ref() > 16 {
        at(
            guard.escalation_factor.span(),
            "[guard] escalation_factor doit être entre 1 (pas d'escalade) et 16".to_owned(),
        );
    }
    for (value, name) in [
        (&guard.rate_per_second, "rate_per_second"),
        (&guard.rate_burst, "rate_burst"),
    ] {
        if *value.get_ref() == 0 {
            at(value.span(), format!("[guard] {name} doit être au moins 1"));
        }
    }
    let prefix = *guard.ipv6_prefix_len.get_ref();
    if !(32..=128).contains(&prefix) {
        at(
            guard.ipv6_prefix_len.span(),
            "[guard] ipv6_prefix_len doit être entre 32 et 128 (64 conseillé)".to_owned(),
        );
    }
    if guard.window.0.is_zero() || guard.suspension.0.is_zero() {
        at(
            0..0,
            "[guard] window et suspension doivent être d'au moins 1 seconde".to_owned(),
        );
    }
    if let Some(hash) = &gateway.admin.token_sha256
        && parse_sha256(hash.get_ref()).is_none()
    {
        at(
            hash.span(),
            "[admin] token_sha256 : 64 chiffres hexadécimaux (passerelle hash-token)".to_owned(),
        );
    }
}

fn require_dir(
    path: &Path,
    text: &str,
    dir: &toml::Spanned<PathBuf>,
    base_dir: &Path,
    what: &str,
    problems: &mut Vec<Problem>,
) -> bool {
    let full = base_dir.join(dir.get_ref());
    if !full.is_dir() {
        problems.push(Problem::at_span(
            path,
            text,
            dir.span(),
            format!("dossier du {what} introuvable : {}", full.display()),
        ));
        return false;
    }
    true
}

fn load_spaces(
    path: &Path,
    text: &str,
    gateway: &GatewayFile,
    spaces_dir: &Path,
    presets: &presets::Catalogue,
    bridged: &mut Vec<super::cas_bridge::SpaceBridge>,
    problems: &mut Vec<Problem>,
) -> Option<SpaceTable> {
    if !spaces_dir.is_dir() {
        problems.push(Problem::at_span(
            path,
            text,
            gateway.spaces_dir.span(),
            format!("dossier des espaces introuvable : {}", spaces_dir.display()),
        ));
        return None;
    }
    let mut loaded = Vec::with_capacity(SpaceId::ALL.len());
    for space in SpaceId::ALL {
        let file = spaces_dir.join(format!("{space}.toml"));
        if !file.is_file() {
            problems.push(Problem::whole_file(
                &file,
                format!(
                    "fichier de l'espace « {space} » manquant (chaque espace a son fichier ; \
                     `published = false` pour ne pas le publier)"
                ),
            ));
            continue;
        }
        if let Some((parsed, space_text)) = parse_file::<SpaceFile>(&file, problems) {
            let delegations = super::delegation::resolve(
                &file,
                &space_text,
                parsed.delegations,
                presets,
                problems,
            );
            if let Some(entry) = &parsed.cas_server {
                bridged.extend(super::cas_bridge::resolve_space(
                    &file,
                    &space_text,
                    space,
                    entry,
                    problems,
                ));
            }
            loaded.push(SpaceSettings {
                published: parsed.published,
                direct_login: parsed.direct_login,
                delegations,
            });
        }
    }
    let settings: [SpaceSettings; 9] = loaded.try_into().ok()?;
    Some(SpaceTable::new(settings))
}

fn load_users(
    path: &Path,
    text: &str,
    gateway: &GatewayFile,
    base_dir: &Path,
    problems: &mut Vec<Problem>,
) -> Option<Vec<super::UserEntry>> {
    let Some(users_path) = &gateway.direct_login.users_file else {
        return Some(Vec::new());
    };
    let file = base_dir.join(users_path.get_ref());
    if !file.is_file() {
        problems.push(Problem::at_span(
            path,
            text,
            users_path.span(),
            format!("fichier des utilisateurs introuvable : {}", file.display()),
        ));
        return None;
    }
    let (parsed, users_text) = parse_file::<UsersFile>(&file, problems)?;
    let before = problems.len();
    let mut seen = HashSet::new();
    for user in &parsed.users {
        let login = user.login.get_ref();
        if login.trim().is_empty() || login.len() > 128 {
            problems.push(Problem::at_span(
                &file,
                &users_text,
                user.login.span(),
                "identifiant vide ou trop long",
            ));
        } else if !seen.insert(login.to_lowercase()) {
            problems.push(Problem::at_span(
                &file,
                &users_text,
                user.login.span(),
                format!("identifiant « {login} » en double"),
            ));
        }
        for space in &user.spaces {
            if let Err(err) = space.parse::<SpaceId>() {
                problems.push(Problem::at_span(
                    &file,
                    &users_text,
                    user.login.span(),
                    err.to_string(),
                ));
            }
        }
    }
    (problems.len() == before).then_some(parsed.users)
}
