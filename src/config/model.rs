//! The configuration files as they are written: every option is a typed field with its default beside
//! it. Unknown keys are errors (`deny_unknown_fields`), so a typo never silently does nothing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::values::{
    HeaderPrefix, HttpUrl, HumanDuration, PasswordHashString, PathPattern, SigningKey,
};

/// `passerelle.toml`, the gateway file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayFile {
    /// The address people type, e.g. `https://pronote.college-exemple.fr`. Return URLs and callback
    /// URLs are built from it.
    pub public_url: HttpUrl,
    /// Folder holding one `<space>.toml` per PRONOTE space, relative to this file.
    pub spaces_dir: Spanned<PathBuf>,
    /// Folder of the ENT preset catalogue, relative to this file.
    #[serde(default)]
    pub presets_dir: Option<Spanned<PathBuf>>,
    /// Peers whose `X-Forwarded-For` / `Forwarded` headers are believed (load balancers, ingress).
    #[serde(default)]
    pub trusted_proxies: Vec<IpNet>,
    /// Paths proxied without a session (e.g. `/pronote/InfoMobileApp.json`, `/pronote/images/*`).
    #[serde(default)]
    pub public_paths: Vec<PathPattern>,
    pub listen: ListenSection,
    pub upstream: UpstreamSection,
    #[serde(default)]
    pub session: SessionSection,
    #[serde(default)]
    pub store: StoreSection,
    pub identity: IdentitySection,
    #[serde(default)]
    pub admin: AdminSection,
    #[serde(default)]
    pub log: LogSection,
    #[serde(default)]
    pub direct_login: DirectLoginSection,
    #[serde(default)]
    pub guard: GuardSection,
    /// Passerelle as a CAS server for PRONOTE (docs/cas-bridge.md); absent: off.
    #[serde(default)]
    pub cas_server: Option<super::cas_bridge::CasServerSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenSection {
    /// Addresses of the public listener(s), e.g. `["0.0.0.0:443", "[::]:443"]`.
    pub addresses: Vec<SocketAddr>,
    /// Serve HTTPS (HTTP/1.1 and HTTP/2 by ALPN) with this certificate chain and key (PEM files).
    #[serde(default)]
    pub tls: Option<TlsSection>,
    /// Largest request body accepted on the gateway's own endpoints (login forms, callbacks).
    #[serde(default = "default_gateway_body_limit")]
    pub gateway_body_limit_bytes: usize,
}

fn default_gateway_body_limit() -> usize {
    64 * 1024
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub certificate: Spanned<PathBuf>,
    pub private_key: Spanned<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// PRONOTE.net's base URL, e.g. `http://10.0.0.5:8080` (scheme, host and port only).
    pub url: Spanned<HttpUrl>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// How long the upstream may take to start answering (headers). Bodies then stream freely.
    #[serde(default = "default_response_timeout")]
    pub response_timeout: HumanDuration,
    #[serde(default = "default_pool_idle_timeout")]
    pub pool_idle_timeout: HumanDuration,
    /// Send the client's `Host` header upstream instead of the upstream's own authority.
    #[serde(default)]
    pub preserve_host: bool,
}

fn default_connect_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}
fn default_response_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}
fn default_pool_idle_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(90))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSection {
    #[serde(default = "default_cookie_name")]
    pub cookie_name: String,
    /// Ends a session nobody used for this long. PRONOTE offers 5 to 120 minutes.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: Spanned<HumanDuration>,
    /// Ends a session this long after login, however active.
    #[serde(default = "default_absolute_timeout")]
    pub absolute_timeout: Spanned<HumanDuration>,
    /// `Secure` on cookies. Only a plain-HTTP local demo may turn it off.
    #[serde(default = "default_true")]
    pub secure_cookie: bool,
    /// "Last seen" is written at most this often per session, not on every request.
    #[serde(default = "default_touch_interval")]
    pub touch_interval: HumanDuration,
}

impl Default for SessionSection {
    fn default() -> Self {
        SessionSection {
            cookie_name: default_cookie_name(),
            idle_timeout: default_idle_timeout(),
            absolute_timeout: default_absolute_timeout(),
            secure_cookie: true,
            touch_interval: default_touch_interval(),
        }
    }
}

fn default_cookie_name() -> String {
    "passerelle_session".to_owned()
}
fn default_idle_timeout() -> Spanned<HumanDuration> {
    Spanned::new(0..0, HumanDuration(Duration::from_secs(30 * 60)))
}
fn default_absolute_timeout() -> Spanned<HumanDuration> {
    Spanned::new(0..0, HumanDuration(Duration::from_secs(12 * 3600)))
}
fn default_touch_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackend {
    /// In this process only: nothing else to run, lost on restart.
    #[default]
    Memory,
    /// Shared by every replica through Redis.
    Redis,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    #[serde(default = "default_backend")]
    pub backend: Spanned<StoreBackend>,
    /// `redis://host:port/db` (or `rediss://` for TLS); required with `backend = "redis"`.
    #[serde(default)]
    pub redis_url: Option<Spanned<String>>,
    /// Prefix of every Redis key, so that several gateways can share one Redis.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// With the memory store: where runtime publication choices are kept across restarts (relative to
    /// this file). Default `passerelle-state.json` next to this file. With Redis they live in Redis.
    #[serde(default)]
    pub state_file: Option<PathBuf>,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            backend: default_backend(),
            redis_url: None,
            key_prefix: default_key_prefix(),
            state_file: None,
        }
    }
}

fn default_backend() -> Spanned<StoreBackend> {
    Spanned::new(0..0, StoreBackend::Memory)
}

fn default_key_prefix() -> String {
    "passerelle:".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySection {
    /// Namespace of the identity headers; incoming headers in it are always removed.
    #[serde(default)]
    pub header_prefix: HeaderPrefix,
    /// HMAC-SHA256 key the upstream uses to check the identity headers (use `${ENV}` for it).
    pub signing_key: SigningKey,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// Where `/metrics`, `/healthz` and `/readyz` are served. Keep it on loopback or a management
    /// network.
    #[serde(default = "default_admin_listen")]
    pub listen: Option<SocketAddr>,
    /// SHA-256 (hex) of the admin API bearer token (`passerelle hash-token`). No hash: the API is off.
    #[serde(default)]
    pub token_sha256: Option<Spanned<String>>,
    /// Who the token stands for in the audit log.
    #[serde(default = "default_token_label")]
    pub token_label: String,
    /// Only these peers may call the admin API; empty means any peer that reaches the listener.
    #[serde(default)]
    pub allow_cidrs: Vec<IpNet>,
    /// Append every admin change to this JSON-lines file too (relative to this file).
    #[serde(default)]
    pub audit_file: Option<Spanned<PathBuf>>,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection {
            listen: default_admin_listen(),
            token_sha256: None,
            token_label: default_token_label(),
            allow_cidrs: Vec::new(),
            audit_file: None,
        }
    }
}

fn default_token_label() -> String {
    "admin".to_owned()
}

/// `[guard]`: failure counting, suspension and rate limiting on the login surface.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSection {
    /// Failed logins from one address before it is suspended (PRONOTE offers 2 to 8).
    #[serde(default = "default_max_failures")]
    pub max_failures: Spanned<u32>,
    /// Failures older than this are forgotten.
    #[serde(default = "default_guard_window")]
    pub window: HumanDuration,
    /// How long a first suspension lasts.
    #[serde(default = "default_suspension")]
    pub suspension: HumanDuration,
    /// Each repeat suspension lasts this many times the previous one ...
    #[serde(default = "default_escalation_factor")]
    pub escalation_factor: Spanned<u32>,
    /// ... but never longer than this.
    #[serde(default = "default_max_suspension")]
    pub max_suspension: HumanDuration,
    /// How long an address counts as a repeat offender after a suspension.
    #[serde(default = "default_offence_memory")]
    pub offence_memory: HumanDuration,
    /// Failures for one (address, login) pair before that pair alone is locked; below
    /// `max_failures` so one pupil's typos do not lock the whole school NAT.
    #[serde(default = "default_pair_max_failures")]
    pub pair_max_failures: Spanned<u32>,
    /// Addresses never suspended (school NAT, ENT servers). More can be added at runtime.
    #[serde(default)]
    pub privileged: Vec<IpNet>,
    /// Requests per second per address on the login surface, and the burst allowed above it.
    #[serde(default = "default_rate_per_second")]
    pub rate_per_second: Spanned<u32>,
    #[serde(default = "default_rate_burst")]
    pub rate_burst: Spanned<u32>,
    /// IPv6 clients are counted per network of this length (an attacker with a /64 has 2^64 addresses).
    #[serde(default = "default_ipv6_prefix_len")]
    pub ipv6_prefix_len: Spanned<u8>,
    /// Whether a suspended address is also refused on pages it already has a session for.
    #[serde(default)]
    pub bar_authenticated_traffic: bool,
}

impl Default for GuardSection {
    fn default() -> Self {
        GuardSection {
            max_failures: default_max_failures(),
            window: default_guard_window(),
            suspension: default_suspension(),
            escalation_factor: default_escalation_factor(),
            max_suspension: default_max_suspension(),
            offence_memory: default_offence_memory(),
            pair_max_failures: default_pair_max_failures(),
            privileged: Vec::new(),
            rate_per_second: default_rate_per_second(),
            rate_burst: default_rate_burst(),
            ipv6_prefix_len: default_ipv6_prefix_len(),
            bar_authenticated_traffic: false,
        }
    }
}

fn default_max_failures() -> Spanned<u32> {
    Spanned::new(0..0, 5)
}
fn default_guard_window() -> HumanDuration {
    HumanDuration(Duration::from_secs(15 * 60))
}
fn default_suspension() -> HumanDuration {
    HumanDuration(Duration::from_secs(15 * 60))
}
fn default_escalation_factor() -> Spanned<u32> {
    Spanned::new(0..0, 2)
}
fn default_max_suspension() -> HumanDuration {
    HumanDuration(Duration::from_secs(24 * 3600))
}
fn default_offence_memory() -> HumanDuration {
    HumanDuration(Duration::from_secs(24 * 3600))
}
fn default_pair_max_failures() -> Spanned<u32> {
    Spanned::new(0..0, 3)
}
fn default_rate_per_second() -> Spanned<u32> {
    Spanned::new(0..0, 10)
}
fn default_rate_burst() -> Spanned<u32> {
    Spanned::new(0..0, 60)
}
fn default_ipv6_prefix_len() -> Spanned<u8> {
    Spanned::new(0..0, 64)
}

fn default_admin_listen() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 9090)))
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    #[serde(default)]
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `passerelle=debug,info`; `RUST_LOG` wins when set.
    #[serde(default = "default_log_level")]
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            format: LogFormat::default(),
            level: default_log_level(),
        }
    }
}

fn default_log_level() -> String {
    "info".to_owned()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectLoginSection {
    /// Local users for the direct login form (argon2id hashes), relative to this file.
    #[serde(default)]
    pub users_file: Option<Spanned<PathBuf>>,
}

/// Whether a space offers the direct login form (PRONOTE's "Autoriser l'accès direct").
#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DirectLoginPolicy {
    #[default]
    Never,
    Always,
    /// Only while the space's identity provider does not answer ("seulement si le serveur ne répond pas").
    WhenIdpDown,
}

/// `spaces/<space>.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceFile {
    /// An unpublished space answers 503 "espace non publié".
    pub published: bool,
    #[serde(default)]
    pub direct_login: DirectLoginPolicy,
    /// Ways to log in through an identity provider (`[[delegation]]` tables), in the chooser's order.
    #[serde(default, rename = "delegation")]
    pub delegations: Vec<DelegationEntry>,
    /// The services (PRONOTE's CAS client URLs) this space authenticates for the CAS bridge.
    #[serde(default)]
    pub cas_server: Option<super::cas_bridge::CasServiceEntry>,
}

/// Which protocol a delegation speaks.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DelegationProtocol {
    Cas,
    Oidc,
    /// SAML2 (docs/saml.md), EduConnect included.
    Saml,
    /// WS-Federation passive requestor (ADFS, Entra ID…); its keys sit in `[delegation.wsfed]`.
    Wsfed,
}

impl DelegationProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            DelegationProtocol::Cas => "cas",
            DelegationProtocol::Oidc => "oidc",
            DelegationProtocol::Saml => "saml",
            DelegationProtocol::Wsfed => "wsfed",
        }
    }
}

/// How an OpenID Connect delegation authenticates at the token endpoint.
#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OidcClientAuth {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

/// How a CAS delegation validates tickets.
#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum CasValidation {
    /// SAML 1.1 `POST /samlValidate` (PRONOTE's own default).
    #[default]
    #[serde(rename = "samlValidate")]
    SamlValidate,
    /// CAS 2 `/serviceValidate`.
    #[serde(rename = "serviceValidate")]
    ServiceValidate,
    /// CAS 3 `/p3/serviceValidate`.
    #[serde(rename = "p3")]
    P3,
    /// CAS 3 `/p3/serviceValidate?format=JSON`.
    #[serde(rename = "json")]
    Json,
    /// CAS 1 `/validate` (no attributes).
    #[serde(rename = "validate")]
    Validate,
}

impl CasValidation {
    pub fn as_str(self) -> &'static str {
        match self {
            CasValidation::SamlValidate => "samlValidate",
            CasValidation::ServiceValidate => "serviceValidate",
            CasValidation::P3 => "p3",
            CasValidation::Json => "json",
            CasValidation::Validate => "validate",
        }
    }

    /// The validation endpoint relative to the CAS base URL (JSON adds `format=JSON` when called).
    pub fn path(self) -> &'static str {
        match self {
            CasValidation::SamlValidate => "samlValidate",
            CasValidation::ServiceValidate => "serviceValidate",
            CasValidation::P3 | CasValidation::Json => "p3/serviceValidate",
            CasValidation::Validate => "validate",
        }
    }
}

pub use crate::identity::mapping::AttributeNames;

/// One `[[delegation]]` table of a space file. Protocol-specific keys sit beside the common ones;
/// `load` checks that the keys match the protocol. A `preset` names a catalogue entry whose values
/// fill every key left out here (resolving presets is the catalogue's job).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationEntry {
    /// Short name used in URLs (`/auth/callback/<space>/<id>`): letters, digits, `-`, `_`.
    pub id: Spanned<String>,
    pub protocol: Spanned<DelegationProtocol>,
    /// What the chooser shows, e.g. "Mon Bureau Numérique".
    #[serde(default)]
    pub label: Option<String>,
    /// An ENT preset from the catalogue.
    #[serde(default)]
    pub preset: Option<Spanned<String>>,
    // --- CAS ---
    /// CAS server base URL, e.g. `https://ent.example.fr/cas`; `/login` and the validation path are
    /// appended. Or give `login_url` and `validate_url` explicitly.
    #[serde(default)]
    pub base_url: Option<Spanned<HttpUrl>>,
    #[serde(default)]
    pub login_url: Option<Spanned<HttpUrl>>,
    #[serde(default)]
    pub validate_url: Option<Spanned<HttpUrl>>,
    /// Where the gateway's logout sends the browser to end the ENT session too (`/logout?service=`).
    /// Defaults to `<base_url>/logout` when `cas_logout = true`.
    #[serde(default)]
    pub logout_url: Option<Spanned<HttpUrl>>,
    #[serde(default)]
    pub cas_logout: bool,
    #[serde(default)]
    pub validation: Option<CasValidation>,
    /// Fixed parameters added to the login redirect (`selection = "EDU_parent_eleve"`, `idpId = "…"`).
    #[serde(default)]
    pub login_params: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub renew: bool,
    #[serde(default)]
    pub gateway: bool,
    #[serde(default)]
    pub attributes: Option<AttributeNames>,
    /// How PRONOTE finds the account at first connection: `identity` (names, birth date…) or
    /// `product_id` (the ENT releases PRONOTE's own id).
    #[serde(default)]
    pub matching: Option<crate::identity::mapping::MatchingMode>,
    /// The provider's values for each PRONOTE category, e.g. `categories = { National_2 = ["Parent*"] }`;
    /// categories not named keep PRONOTE's own values (`National_N`).
    #[serde(default)]
    pub categories: Option<
        std::collections::BTreeMap<
            crate::identity::mapping::Category,
            Vec<crate::identity::mapping::ValuePattern>,
        >,
    >,
    /// Which PRONOTE categories open which space (PRONOTE's "correspondances espaces / catégories"),
    /// e.g. `spaces = { viescolaire = ["National_4", "National_3"] }`; unnamed spaces keep the
    /// defaults (élève → eleve, parent → parent, enseignant → professeur, personnel → direction and
    /// viescolaire, everyone → commune).
    #[serde(default)]
    pub spaces: Option<crate::identity::mapping::SpaceRules>,
    /// Source addresses allowed to post single-logout requests (the CAS servers' addresses).
    #[serde(default)]
    pub slo_sources: Vec<IpNet>,
    /// Allow `http://` CAS URLs (tests and labs only: tickets would cross the network in clear).
    #[serde(default)]
    pub allow_insecure_http: bool,
    #[serde(default)]
    pub connect_timeout: Option<HumanDuration>,
    /// How long ticket validation may take in all.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    // --- OpenID Connect (docs/oidc.md) ---
    /// The provider's issuer identifier; metadata comes from `<issuer>/.well-known/openid-configuration`.
    #[serde(default)]
    pub issuer: Option<Spanned<HttpUrl>>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// For the `client_secret_*` methods; write `${ENV_VAR}`, never the secret itself.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub client_auth: Option<OidcClientAuth>,
    /// For `private_key_jwt`: RSA private key, PKCS#1 PEM, relative to the space file.
    #[serde(default)]
    pub private_key: Option<Spanned<PathBuf>>,
    /// For `private_key_jwt`: the `kid` of the registered public key.
    #[serde(default)]
    pub key_id: Option<String>,
    /// Scopes besides `openid`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Also call the userinfo endpoint and merge its claims.
    #[serde(default)]
    pub userinfo: bool,
    /// The gateway's logout also ends the provider session (`end_session_endpoint`).
    #[serde(default)]
    pub provider_logout: bool,
    /// How long discovered metadata and keys are reused (default 1 h).
    #[serde(default)]
    pub discovery_ttl: Option<HumanDuration>,
    // --- SAML2 (docs/saml.md) ---
    /// Our entityID, the audience the IdP writes in its assertions.
    #[serde(default)]
    pub sp_entity_id: Option<String>,
    /// The IdP's metadata: a file (relative to the space file) or an `https://` URL, re-read every
    /// `metadata_refresh`.
    #[serde(default)]
    pub idp_metadata: Option<Spanned<String>>,
    /// The entityID the metadata must describe (presets fill it; required for an aggregate).
    #[serde(default)]
    pub idp_entity_id: Option<String>,
    /// Pinned IdP signing certificates (PEM files): they replace the metadata's, so that a metadata
    /// refresh cannot change whom we trust.
    #[serde(default)]
    pub idp_certificates: Vec<Spanned<PathBuf>>,
    /// Our key and certificate (PEM) signing AuthnRequests and logout messages.
    #[serde(default)]
    pub signing_key: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub signing_certificate: Option<Spanned<PathBuf>>,
    /// Keys that decrypt assertions, tried in order: two during a rollover.
    #[serde(default)]
    pub encryption_keys: Vec<SamlKeyFiles>,
    /// Accept IdP-initiated responses (ENT portals' `Unsolicited/SSO`).
    #[serde(default)]
    pub allow_unsolicited: bool,
    /// Accept RSA-SHA1 and SHA-1 digests (legacy IdPs; refused with EduConnect).
    #[serde(default)]
    pub allow_sha1: bool,
    /// Tolerated clock difference with the IdP (default 60 s).
    #[serde(default)]
    pub clock_skew: Option<HumanDuration>,
    /// Oldest accepted `IssueInstant` (default 5 min).
    #[serde(default)]
    pub max_issue_age: Option<HumanDuration>,
    /// How often the IdP metadata is read again (default 1 h).
    #[serde(default)]
    pub metadata_refresh: Option<HumanDuration>,
    /// Read the identity the EduConnect way (OID attributes, `FrEduCtId`, profile must match the space).
    #[serde(default)]
    pub educonnect: Option<bool>,
    // --- WS-Federation (docs/wsfed.md) ---
    #[serde(default)]
    pub wsfed: Option<WsFedEntry>,
}

/// One SP key pair of a SAML delegation (PEM files, relative to the space file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlKeyFiles {
    pub key: Spanned<PathBuf>,
    pub certificate: Spanned<PathBuf>,
}

/// The `[delegation.wsfed]` table of a `protocol = "wsfed"` delegation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsFedEntry {
    /// `wtrealm`: the identifier the STS knows this gateway by; every token's audience must be it.
    pub realm: Spanned<String>,
    /// The STS's `FederationMetadata.xml`: a saved file (relative to the space file), or its
    /// `https://` URL, fetched at start and every `metadata_refresh`.
    pub metadata: Spanned<PathBuf>,
    /// How often metadata fetched from an URL is fetched again (default 24 h).
    #[serde(default)]
    pub metadata_refresh: Option<HumanDuration>,
    /// Pin the token-signing certificate(s) (PEM files): they replace the metadata's.
    #[serde(default)]
    pub certificates: Vec<Spanned<PathBuf>>,
    /// Or pin by thumbprint (SHA-256 or SHA-1, hex): only the metadata's certificates that match.
    #[serde(default)]
    pub thumbprints: Vec<String>,
    /// `whr`: home-realm hint (skip the STS's realm discovery).
    #[serde(default)]
    pub home_realm: Option<String>,
    /// `wfresh`: longest age of the STS authentication, in minutes (0 forces a new one).
    #[serde(default)]
    pub freshness: Option<u32>,
    /// Accept RSA-SHA1 signatures (old ADFS farms only).
    #[serde(default)]
    pub allow_sha1: bool,
    /// Tolerated clock difference with the STS (default 60 s).
    #[serde(default)]
    pub clock_skew: Option<HumanDuration>,
    /// Oldest token accepted, whatever its lifetime (default 1 h).
    #[serde(default)]
    pub max_token_age: Option<HumanDuration>,
    /// The gateway's logout also signs out at the STS (`wa=wsignout1.0`).
    #[serde(default)]
    pub sign_out: bool,
}

/// The direct-login users file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    #[serde(default, rename = "user")]
    pub users: Vec<UserEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub login: Spanned<String>,
    pub password_hash: PasswordHashString,
    #[serde(default)]
    pub nom: Option<String>,
    #[serde(default)]
    pub prenom: Option<String>,
    /// `dd/mm/yyyy`, as PRONOTE expects it.
    #[serde(default)]
    pub date_naissance: Option<String>,
    #[serde(default)]
    pub code_postal: Option<String>,
    /// PRONOTE categories (`National_1` élève … `National_4` personnel).
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub id_produit: Option<String>,
    /// Spaces this user may open; empty means every space that offers direct login.
    #[serde(default)]
    pub spaces: Vec<String>,
}
