//! Typed configuration: the gateway file, one file per space, the direct-login users file, the ENT
//! preset catalogue ([`presets`]).
//!
//! `load` reads and validates everything offline and returns either a [`Config`] ready to run or every
//! [`Problem`] found, each located to file, line and column. The running gateway only ever sees a
//! `Config` that passed validation, so a reload that fails keeps the old one.

pub mod cas_bridge;
pub mod delegation;
mod env;
mod load;
pub mod model;
pub mod presets;
mod problems;
pub mod saml;
pub mod values;
mod wsfed;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

pub use delegation::{
    CasSettings, DelegationKind, DelegationSettings, OidcSettings, WsFedSettings,
};
pub use load::load;
pub use model::{DirectLoginPolicy, LogFormat, LogSection, StoreBackend, UserEntry};
pub use problems::{Problem, Problems};
pub use values::PathPattern;

use crate::space::SpaceId;

/// The whole validated configuration.
#[derive(Debug)]
pub struct Config {
    /// The gateway file this was loaded from.
    pub source: PathBuf,
    pub public_url: Url,
    pub trusted_proxies: Vec<IpNet>,
    pub public_paths: Vec<PathPattern>,
    pub listen: ListenSettings,
    pub upstream: UpstreamSettings,
    pub session: SessionSettings,
    pub store: StoreSettings,
    pub identity: IdentitySettings,
    pub admin_listen: Option<SocketAddr>,
    pub admin: AdminSettings,
    pub guard: GuardSettings,
    pub log: LogSection,
    pub spaces: SpaceTable,
    pub users: Vec<UserEntry>,
    /// The ENT preset catalogue from `presets_dir`; empty when no catalogue is configured.
    pub presets: presets::Catalogue,
    /// The CAS bridge (`[cas_server]`), when turned on.
    pub cas_server: Option<cas_bridge::CasBridgeSettings>,
}

#[derive(Debug)]
pub struct ListenSettings {
    pub addresses: Vec<SocketAddr>,
    pub tls: Option<TlsFiles>,
    pub gateway_body_limit: usize,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
}

#[derive(Debug)]
pub struct UpstreamSettings {
    pub url: Url,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    pub pool_idle_timeout: Duration,
    pub preserve_host: bool,
}

#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub cookie_name: String,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    pub secure_cookie: bool,
    pub touch_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub backend: StoreBackend,
    pub redis_url: Option<String>,
    pub key_prefix: String,
    /// Runtime publication choices with the memory store (see `server::publication`).
    pub state_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct IdentitySettings {
    pub header_prefix: String,
    pub signing_key: Vec<u8>,
}

/// The admin API's access rules.
#[derive(Debug, Clone, Default)]
pub struct AdminSettings {
    /// SHA-256 of the bearer token; `None` turns the admin API off.
    pub token_sha256: Option<[u8; 32]>,
    pub token_label: String,
    pub allow_cidrs: Vec<IpNet>,
    pub audit_file: Option<PathBuf>,
}

/// The guard's policy, validated (see `[guard]` in the model for each field's meaning).
#[derive(Debug, Clone)]
pub struct GuardSettings {
    pub max_failures: u32,
    pub window: Duration,
    pub suspension: Duration,
    pub escalation_factor: u32,
    pub max_suspension: Duration,
    pub offence_memory: Duration,
    pub pair_max_failures: u32,
    pub privileged: Vec<IpNet>,
    pub rate_per_second: u32,
    pub rate_burst: u32,
    pub ipv6_prefix_len: u8,
    pub bar_authenticated_traffic: bool,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            max_failures: 5,
            window: Duration::from_secs(900),
            suspension: Duration::from_secs(900),
            escalation_factor: 2,
            max_suspension: Duration::from_secs(86_400),
            offence_memory: Duration::from_secs(86_400),
            pair_max_failures: 3,
            privileged: Vec::new(),
            rate_per_second: 10,
            rate_burst: 60,
            ipv6_prefix_len: 64,
            bar_authenticated_traffic: false,
        }
    }
}

/// What one space does.
#[derive(Debug, Clone)]
pub struct SpaceSettings {
    pub published: bool,
    pub direct_login: DirectLoginPolicy,
    /// In the order of the space file; the first is the default.
    pub delegations: Vec<DelegationSettings>,
}

/// The nine spaces' settings, indexed by [`SpaceId`].
#[derive(Debug, Clone)]
pub struct SpaceTable([SpaceSettings; 9]);

impl SpaceTable {
    pub fn new(settings: [SpaceSettings; 9]) -> Self {
        SpaceTable(settings)
    }

    pub fn get(&self, space: SpaceId) -> &SpaceSettings {
        &self.0[space as usize]
    }
}

impl Config {
    /// Whether `path` is served without a session.
    pub fn is_public_path(&self, path: &str) -> bool {
        self.public_paths
            .iter()
            .any(|pattern| pattern.matches(path))
    }
}
