//! The `passerelle` command: a thin CLI over the library.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use passerelle::config::presets::{self, PresetProtocol, render};
use passerelle::config::{self, Config};
use passerelle::server::{self, Options};
use passerelle::{auth, demo, telemetry};

/// Exit code for an invalid configuration, as `passerelle check` documents it.
const EXIT_BAD_CONFIG: u8 = 2;

#[derive(Parser)]
#[command(
    name = "passerelle",
    version,
    about = "Passerelle d'authentification devant PRONOTE.net"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// The gateway file (`passerelle.toml`).
        #[arg(long, short, env = "PASSERELLE_CONFIG")]
        config: PathBuf,
    },
    /// Validate the configuration offline; prints each problem as file:line:column, exits 2 on error.
    Check {
        #[arg(long, short, env = "PASSERELLE_CONFIG")]
        config: PathBuf,
    },
    /// Run the embedded demo: the gateway on 127.0.0.1:8080 in front of a stand-in PRONOTE.net.
    Demo,
    /// Read a password on standard input and print its argon2id hash for the users file.
    HashPassword,
    /// Browse the ENT preset catalogue.
    Presets {
        /// The catalogue folder.
        #[arg(long, env = "PASSERELLE_PRESETS_DIR", default_value = "ent-presets")]
        dir: PathBuf,
        #[command(subcommand)]
        command: PresetsCommand,
    },
    /// Print what to type into PRONOTE's CAS delegation form for a space served by the CAS bridge.
    CasBridge {
        #[arg(long, short, env = "PASSERELLE_CONFIG")]
        config: PathBuf,
        /// The space (parent, eleve, professeur…).
        #[arg(long)]
        space: passerelle::space::SpaceId,
    },
    /// Read an admin API token on standard input and print its SHA-256 for `[admin] token_sha256`.
    HashToken,
    /// Print the SAML SP metadata of a space's SAML delegation (to send to the IdP's administrators).
    Metadata {
        #[arg(long, short, env = "PASSERELLE_CONFIG")]
        config: PathBuf,
        /// The space (eleve, parent, professeur, …).
        #[arg(long)]
        space: String,
        /// The delegation id, needed when the space has several SAML or WS-Federation delegations.
        #[arg(long)]
        delegation: Option<String>,
    },
    /// List or lift IP suspensions through the admin API.
    Suspensions {
        #[command(flatten)]
        api: AdminApi,
        #[command(subcommand)]
        action: SuspensionsAction,
    },
    /// Publish or unpublish spaces at runtime through the admin API.
    Spaces {
        #[command(flatten)]
        api: AdminApi,
        #[command(subcommand)]
        action: SpacesAction,
    },
    /// List live sessions or disconnect them through the admin API.
    Sessions {
        #[command(flatten)]
        api: AdminApi,
        #[command(subcommand)]
        action: SessionsAction,
    },
}

/// What `passerelle spaces` does.
#[derive(Subcommand)]
enum SpacesAction {
    /// Every space: published or not (and whether by the file or by an administrator), sessions.
    List,
    /// Publish one space (`publish parent`) or all of them (`publish --all`).
    Publish(SpaceChoice),
    /// Stop publishing one space or all of them: their pages answer 503 « Espace non publié ».
    Unpublish(SpaceChoice),
    /// Forget the administrator's choice: the space file decides again.
    Reset(SpaceChoice),
}

#[derive(clap::Args)]
struct SpaceChoice {
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    space: Option<String>,
    #[arg(long)]
    all: bool,
}

/// How the admin commands reach the admin API.
#[derive(clap::Args)]
struct AdminApi {
    /// Base URL of the admin listener.
    #[arg(
        long,
        env = "PASSERELLE_ADMIN_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    admin_url: String,
    /// Bearer token of the admin API.
    #[arg(long, env = "PASSERELLE_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum SessionsAction {
    /// Live sessions, newest first, one page at a time.
    List {
        /// Only this space (`parent`, `eleve`…).
        #[arg(long)]
        space: Option<String>,
        /// Only this user (login, CAS principal, NameID or `sub`).
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// End one session (`revoke <id>`) or every session of a user (`revoke --user <login>`).
    Revoke {
        #[arg(required_unless_present = "user", conflicts_with = "user")]
        id: Option<String>,
        #[arg(long)]
        user: Option<String>,
        /// With `--user`: only this space.
        #[arg(long, requires = "user")]
        space: Option<String>,
    },
}

#[derive(Subcommand)]
enum PresetsCommand {
    /// A table of the presets, optionally filtered.
    List {
        /// Keep presets whose territory contains this text (case and accents ignored).
        #[arg(long)]
        territory: Option<String>,
        /// Keep presets of this protocol: cas, saml, wsfed, oidc.
        #[arg(long)]
        protocol: Option<PresetProtocol>,
        /// Keep presets mentioning this word (id, label, territory, family, hosts, notes).
        #[arg(long)]
        search: Option<String>,
    },
    /// One preset with its inheritance resolved, and what a space file's delegations using it
    /// override (`--space-file spaces/parent.toml`).
    Show {
        id: String,
        #[arg(long)]
        space_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SuspensionsAction {
    /// Current suspensions.
    List,
    /// Lift one suspension (`unblock 203.0.113.7`) or all of them (`unblock --all`).
    Unblock {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ip: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { config } => serve(config).await,
        Command::Check { config } => check(&config),
        Command::Demo => run_demo().await,
        Command::HashPassword => hash_password(),
        Command::Presets { dir, command } => presets(&dir, command),
        Command::HashToken => hash_token(),
        Command::Metadata {
            config,
            space,
            delegation,
        } => sp_metadata(&config, &space, delegation.as_deref()),
        Command::CasBridge { config, space } => cas_bridge_form(&config, space),
        Command::Suspensions { api, action } => suspensions(&api, action).await,
        Command::Sessions { api, action } => sessions(&api, action).await,
        Command::Spaces { api, action } => spaces(&api, action).await,
    }
}

fn load_or_report(path: &std::path::Path) -> Result<Config, ExitCode> {
    config::load(path).map_err(|problems| {
        eprintln!("{problems}");
        eprintln!("configuration invalide : {} problème(s)", problems.0.len());
        ExitCode::from(EXIT_BAD_CONFIG)
    })
}

fn check(path: &std::path::Path) -> ExitCode {
    match load_or_report(path) {
        Ok(config) => {
            println!("configuration valide : {}", path.display());
            if !config.presets.is_empty() {
                println!(
                    "catalogue de presets valide : {} presets",
                    config.presets.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// The metadata the identity provider's administrator imports: SAML SP metadata, or WS-Federation
/// relying-party metadata (ADFS "Add Relying Party Trust").
fn sp_metadata(path: &std::path::Path, space: &str, delegation: Option<&str>) -> ExitCode {
    let config = match load_or_report(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let Ok(space) = space.parse::<passerelle::space::SpaceId>() else {
        eprintln!("espace inconnu « {space} »");
        return ExitCode::from(EXIT_BAD_CONFIG);
    };
    let federated: Vec<&config::DelegationSettings> = config
        .spaces
        .get(space)
        .delegations
        .iter()
        .filter(|d| {
            matches!(
                d.kind,
                config::DelegationKind::Saml(_) | config::DelegationKind::Wsfed(_)
            )
        })
        .collect();
    let chosen = match (delegation, federated.as_slice()) {
        (Some(id), _) => federated.iter().find(|d| d.id == id).copied(),
        (None, [only]) => Some(*only),
        (None, []) => {
            eprintln!("l'espace {space} n'a aucune délégation SAML ou WS-Federation");
            return ExitCode::FAILURE;
        }
        (None, several) => {
            let ids: Vec<&str> = several.iter().map(|d| d.id.as_str()).collect();
            eprintln!(
                "l'espace {space} a plusieurs délégations SAML ou WS-Federation : précisez --delegation ({})",
                ids.join(", ")
            );
            return ExitCode::FAILURE;
        }
    };
    let Some(chosen) = chosen else {
        eprintln!(
            "pas de délégation SAML ou WS-Federation « {} » dans l'espace {space}",
            delegation.unwrap_or_default()
        );
        return ExitCode::FAILURE;
    };
    let id = chosen.id.as_str();
    if let config::DelegationKind::Wsfed(wsfed) = &chosen.kind {
        let reply = format!(
            "{}{}{space}/{id}",
            config.public_url.as_str().trim_end_matches('/'),
            auth::CALLBACK_PREFIX
        );
        let claims: Vec<&str> = wsfed
            .mapping
            .names
            .pairs()
            .into_iter()
            .filter_map(|(_, claim)| claim)
            .collect();
        print!(
            "{}",
            auth::wsfed::metadata::rp_metadata(&wsfed.settings.realm, &reply, &claims)
        );
        return ExitCode::SUCCESS;
    }
    let delegations = match auth::registry::Delegations::from_config(
        &config.spaces,
        &config.public_url,
        &config.identity.signing_key,
        &passerelle::clock::Clock::default(),
    ) {
        Ok(delegations) => delegations,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    match delegations.saml(space, id) {
        Some(saml) => {
            print!("{}", auth::saml::metadata::sp_metadata(saml.sp_settings()));
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("pas de délégation SAML « {id} » dans l'espace {space}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(path: PathBuf) -> ExitCode {
    let config = match load_or_report(&path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    telemetry::init_logging(&config.log);
    telemetry::metrics();
    match server::start(config, Options::default()).await {
        Ok(running) => {
            running.run_until_signal().await;
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "démarrage impossible");
            eprintln!("démarrage impossible : {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run_demo() -> ExitCode {
    let dir = std::env::temp_dir().join(format!("passerelle-demo-{}", std::process::id()));
    let path = match demo::write_config(&dir) {
        Ok(path) => path,
        Err(err) => {
            eprintln!("écriture de la configuration de démonstration impossible : {err}");
            return ExitCode::FAILURE;
        }
    };
    let config = match load_or_report(&path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    telemetry::init_logging(&config.log);
    telemetry::metrics();
    let stand_in = demo::StandIn {
        header_prefix: config.identity.header_prefix.clone(),
        signing_key: config.identity.signing_key.clone(),
    };
    let upstream_address = match config
        .upstream
        .url
        .socket_addrs(|| None)
        .ok()
        .and_then(|addrs| addrs.into_iter().next())
    {
        Some(address) => address,
        None => {
            eprintln!("adresse amont de démonstration illisible");
            return ExitCode::FAILURE;
        }
    };
    let listener = match demo::bind_stand_in(upstream_address).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("le PRONOTE de démonstration ne peut écouter sur {upstream_address} : {err}");
            return ExitCode::FAILURE;
        }
    };
    tokio::spawn(demo::serve_stand_in(listener, stand_in));
    let public_url = config.public_url.clone();
    match server::start(config, Options::default()).await {
        Ok(running) => {
            println!(
                "Démo prête : ouvrez {public_url}pronote/parent.html (identifiant parent.demo, mot de passe parent-demo).\n\
                 Administration : http://{} (/metrics, /readyz). Ctrl-C pour arrêter.",
                running
                    .admin_address
                    .map_or_else(|| "-".to_owned(), |a| a.to_string())
            );
            running.run_until_signal().await;
            let _ = std::fs::remove_dir_all(&dir);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("démarrage impossible : {err}");
            ExitCode::FAILURE
        }
    }
}

fn presets(dir: &std::path::Path, command: PresetsCommand) -> ExitCode {
    let catalogue = match presets::load_dir(dir) {
        Ok(catalogue) => catalogue,
        Err(problems) => {
            eprintln!("{problems}");
            eprintln!("catalogue invalide : {} problème(s)", problems.0.len());
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    match command {
        PresetsCommand::List {
            territory,
            protocol,
            search,
        } => {
            let filter = presets::Filter {
                territory,
                protocol,
                search,
            };
            print!("{}", render::table(&catalogue.filter(&filter)));
            ExitCode::SUCCESS
        }
        PresetsCommand::Show { id, space_file } => match render::show(&catalogue, &id) {
            Some(text) => {
                print!("{text}");
                let Some(path) = space_file else {
                    return ExitCode::SUCCESS;
                };
                let overrides = std::fs::read_to_string(&path)
                    .map_err(|err| err.to_string())
                    .and_then(|text| render::overrides(&text, &id));
                match overrides {
                    Ok(text) => {
                        print!("{text}");
                        ExitCode::SUCCESS
                    }
                    Err(err) => {
                        eprintln!("{} : {err}", path.display());
                        ExitCode::FAILURE
                    }
                }
            }
            None => {
                eprintln!("preset « {id} » introuvable (voir `passerelle presets list`)");
                ExitCode::FAILURE
            }
        },
    }
}

fn cas_bridge_form(path: &std::path::Path, space: passerelle::space::SpaceId) -> ExitCode {
    let config = match load_or_report(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match passerelle::cas_server::admin_form::pronote_form(
        &config.public_url,
        config.cas_server.as_ref(),
        space,
    ) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

fn hash_password() -> ExitCode {
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        eprintln!("lecture du mot de passe impossible");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        eprintln!("mot de passe vide");
        return ExitCode::FAILURE;
    }
    match auth::direct::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("calcul de l'empreinte impossible : {err}");
            ExitCode::FAILURE
        }
    }
}

fn hash_token() -> ExitCode {
    use sha2::Digest;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim().is_empty() {
        eprintln!("jeton vide ou illisible");
        return ExitCode::FAILURE;
    }
    println!(
        "{}",
        hex::encode(sha2::Sha256::digest(line.trim().as_bytes()))
    );
    ExitCode::SUCCESS
}

async fn suspensions(api: &AdminApi, action: SuspensionsAction) -> ExitCode {
    use passerelle::admin::client::{AdminClient, table};
    let json = api.json;
    let client = AdminClient::new(&api.admin_url, &api.token);
    let result = match &action {
        SuspensionsAction::List => client.list().await,
        SuspensionsAction::Unblock { all: true, .. } => client.unblock_all().await,
        SuspensionsAction::Unblock { ip, .. } => client.unblock(ip.as_deref().unwrap_or("")).await,
    };
    match result {
        Ok(value) => {
            if json {
                println!("{value}");
            } else {
                match action {
                    SuspensionsAction::List => print!("{}", table(&value)),
                    SuspensionsAction::Unblock { all: true, .. } => {
                        println!("{} adresse(s) débloquée(s)", value["unblocked"]);
                    }
                    SuspensionsAction::Unblock { .. } => {
                        let lifted = value["unblocked"].as_bool().unwrap_or(false);
                        let ip = value["ip"].as_str().unwrap_or("?");
                        if lifted {
                            println!("{ip} débloquée");
                        } else {
                            println!("{ip} n'était pas suspendue");
                        }
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

async fn sessions(api: &AdminApi, action: SessionsAction) -> ExitCode {
    use passerelle::admin::client::{AdminClient, sessions_table};
    let client = AdminClient::new(&api.admin_url, &api.token);
    let result = match &action {
        SessionsAction::List {
            space,
            user,
            offset,
            limit,
        } => {
            let mut filter = vec![("offset", offset.to_string()), ("limit", limit.to_string())];
            filter.extend(space.clone().map(|space| ("space", space)));
            filter.extend(user.clone().map(|user| ("user", user)));
            client.sessions(&filter).await
        }
        SessionsAction::Revoke {
            user: Some(user),
            space,
            ..
        } => {
            let mut filter = vec![("user", user.clone())];
            filter.extend(space.clone().map(|space| ("space", space)));
            client.revoke_user(&filter).await
        }
        SessionsAction::Revoke { id, .. } => {
            client.revoke_session(id.as_deref().unwrap_or("")).await
        }
    };
    let value = match result {
        Ok(value) => value,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    if api.json {
        println!("{value}");
        return ExitCode::SUCCESS;
    }
    match action {
        SessionsAction::List { .. } => print!("{}", sessions_table(&value)),
        SessionsAction::Revoke { user: Some(_), .. } => {
            println!(
                "{} session(s) terminée(s) pour {}",
                value["revoked"], value["user"]
            );
        }
        SessionsAction::Revoke { .. } => println!("session terminée"),
    }
    ExitCode::SUCCESS
}

async fn spaces(api: &AdminApi, action: SpacesAction) -> ExitCode {
    use passerelle::admin::client::{AdminClient, spaces_table};
    let client = AdminClient::new(&api.admin_url, &api.token);
    let result = match &action {
        SpacesAction::List => client.spaces().await,
        SpacesAction::Publish(choice) => {
            client
                .change_publication(choice.space.as_deref(), "publish")
                .await
        }
        SpacesAction::Unpublish(choice) => {
            client
                .change_publication(choice.space.as_deref(), "unpublish")
                .await
        }
        SpacesAction::Reset(choice) => {
            client
                .change_publication(choice.space.as_deref(), "reset")
                .await
        }
    };
    match result {
        Ok(value) if api.json => println!("{value}"),
        Ok(value) => print!("{}", spaces_table(&value)),
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
