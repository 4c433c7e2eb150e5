//! Listeners and the life of the process: bind, accept (HTTP/1.1 and HTTP/2, optional TLS), serve each
//! connection with the [`Gateway`], and on shutdown stop accepting and let in-flight requests finish.
//! Routing and proxying live in [`gateway`]; this module only wires sockets to it.

pub mod client_ip;
mod gateway;
mod live;
pub mod publication;
mod request_metrics;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

pub use gateway::Gateway;
pub use live::{Live, ReloadError, Reloaded};

use crate::admin::{self, AdminState};
use crate::auth::registry::BadDelegation;
use crate::clock::Clock;
use crate::config::{Config, StoreBackend};
use crate::guard::{Guard, RedisGuardStore};
use crate::identity::signed_headers::BadPrefix;
use crate::proxy::BadUpstream;
use crate::session::{AnyStore, MemoryStore, RedisStore, StoreError};
use publication::Publication;

/// How long in-flight requests may run after a shutdown begins.
const DRAIN_DEADLINE: Duration = Duration::from_secs(30);
/// How long a client may take to send its request headers (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(15);
/// How often expired sessions are swept from memory.
const HOUSEKEEPING_PERIOD: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("écoute impossible sur {address} : {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Upstream(#[from] BadUpstream),
    #[error(transparent)]
    HeaderPrefix(#[from] BadPrefix),
    #[error(transparent)]
    Delegation(#[from] BadDelegation),
    #[error(transparent)]
    Guard(#[from] crate::guard::GuardStoreError),
    #[error("pont CAS : {0}")]
    CasBridge(reqwest::Error),
    #[error(transparent)]
    Publication(#[from] publication::PublicationError),
    #[error("journal d'audit {path} : {source}")]
    Audit {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// What can be changed when starting the gateway from code (tests, the demo).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub clock: Clock,
}

/// A started gateway.
#[derive(Debug)]
pub struct Running {
    /// Where the public listeners are bound (useful with port 0).
    pub addresses: Vec<SocketAddr>,
    pub admin_address: Option<SocketAddr>,
    pub live: Arc<Live>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Stop accepting, let in-flight requests finish (up to a deadline), and return.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Serve until SIGTERM or Ctrl-C, then shut down gracefully. SIGHUP reloads the configuration
    /// (see [`Live::reload`]); a refused reload is logged and the process keeps serving.
    pub async fn run_until_signal(self) {
        wait_for_stop(&self.live).await;
        tracing::info!("arrêt demandé : fin des requêtes en cours");
        self.shutdown().await;
    }
}

/// Build the gateway from a validated configuration and start listening.
pub async fn start(config: Config, options: Options) -> Result<Running, StartError> {
    let config = Arc::new(config);
    let clock = options.clock;
    let store = match config.store.backend {
        StoreBackend::Memory => AnyStore::Memory(MemoryStore::new(clock.clone())),
        StoreBackend::Redis => {
            let url = config.store.redis_url.as_deref().unwrap_or_default();
            AnyStore::Redis(RedisStore::new(
                url,
                &config.store.key_prefix,
                clock.clone(),
            )?)
        }
    };
    // The guard shares the sessions' backend choice: with Redis, every replica sees the same counts.
    let shared_guard = match config.store.backend {
        StoreBackend::Memory => None,
        StoreBackend::Redis => Some(RedisGuardStore::new(
            config.store.redis_url.as_deref().unwrap_or_default(),
            &config.store.key_prefix,
        )?),
    };
    let guard = Guard::with_settings(config.guard.clone(), clock.clone(), shared_guard);
    let audit =
        admin::audit::AuditLog::open(config.admin.audit_file.as_deref()).map_err(|source| {
            StartError::Audit {
                path: config.admin.audit_file.clone().unwrap_or_default(),
                source,
            }
        })?;
    let publication = match &store {
        AnyStore::Memory(_) => Publication::file(&config.store.state_file)?,
        AnyStore::Redis(redis) => {
            let (connection, prefix) = redis.connection();
            let publication = Publication::redis(connection, prefix);
            // Redis down at start: serve the files' choices and catch up when it answers.
            if let Err(err) = publication.refresh().await {
                tracing::warn!(error = %err, "état de publication partagé illisible au démarrage");
            }
            publication
        }
    };
    let tls = config.listen.tls.as_ref().map(tls::acceptor).transpose()?;
    let shared = live::Shared {
        store: store.clone(),
        guard: guard.clone(),
        clock: clock.clone(),
        publication: publication.clone(),
        tls: tls.is_some(),
    };
    let live = Arc::new(Live::new(
        live::build(Arc::clone(&config), &shared)?,
        shared,
    ));

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut addresses = Vec::new();
    for &address in &config.listen.addresses {
        let listener = bind(address).await?;
        addresses.push(
            listener
                .local_addr()
                .map_err(|source| StartError::Bind { address, source })?,
        );
        tasks.spawn(accept_loop(
            listener,
            Arc::clone(&live),
            tls.clone(),
            shutdown_rx.clone(),
        ));
    }
    let admin_address = match config.admin_listen {
        Some(address) => {
            let listener = bind(address).await?;
            let bound = listener
                .local_addr()
                .map_err(|source| StartError::Bind { address, source })?;
            let router = admin::router(AdminState {
                store: store.clone(),
                guard: guard.clone(),
                access: Arc::new(config.admin.clone()),
                audit: audit.clone(),
                clock: clock.clone(),
                live: Arc::clone(&live),
                logins: admin::page::logins::AdminLogins::default(),
            });
            let mut stop = shutdown_rx.clone();
            tasks.spawn(async move {
                let service = router.into_make_service_with_connect_info::<SocketAddr>();
                let serve = axum::serve(listener, service).with_graceful_shutdown(async move {
                    stopped(&mut stop).await;
                });
                if let Err(err) = serve.await {
                    tracing::error!(error = %err, "listener d'administration arrêté");
                }
            });
            Some(bound)
        }
        None => None,
    };
    tasks.spawn(guard_housekeeping(guard, shutdown_rx.clone()));
    tasks.spawn(publication_refresh(publication, shutdown_rx.clone()));
    tasks.spawn(housekeeping(store, shutdown_rx));
    tracing::info!(?addresses, ?admin_address, upstream = %config.upstream.url, "passerelle démarrée");
    Ok(Running {
        addresses,
        admin_address,
        live,
        shutdown,
        tasks,
    })
}

async fn bind(address: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind { address, source })
}

async fn accept_loop(
    listener: TcpListener,
    live: Arc<Live>,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(stream, peer, Arc::clone(&live), tls.clone(), graceful.watcher()));
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "accept en échec");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_DEADLINE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("délai d'arrêt dépassé : connexions restantes coupées");
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    live: Arc<Live>,
    tls: Option<TlsAcceptor>,
    watcher: Watcher,
) {
    // The gateway is loaded per request, not per connection: a reload reaches keep-alive connections.
    let service = service_fn(move |request| {
        let gateway = live.gateway();
        async move { Ok::<_, std::convert::Infallible>(gateway.handle(request, peer).await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let result = match tls {
        None => {
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            watcher.watch(connection.into_owned()).await
        }
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls_stream) => {
                let connection =
                    builder.serve_connection_with_upgrades(TokioIo::new(tls_stream), service);
                watcher.watch(connection.into_owned()).await
            }
            Err(err) => {
                tracing::debug!(%peer, error = %err, "poignée de main TLS en échec");
                return;
            }
        },
    };
    if let Err(err) = result {
        tracing::debug!(%peer, error = %err, "connexion terminée sur une erreur");
    }
}

/// Sweep expired sessions from memory (Redis forgets them by itself).
async fn housekeeping(store: AnyStore, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(HOUSEKEEPING_PERIOD);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stopped(&mut shutdown) => return,
        }
        if let AnyStore::Memory(memory) = &store {
            memory.sweep();
        }
    }
}

/// Keep this replica's view of the shared publication overrides fresh (Redis only).
async fn publication_refresh(publication: Publication, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(publication::PUBLICATION_TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stopped(&mut shutdown) => return,
        }
        if let Err(err) = publication.refresh().await {
            tracing::debug!(error = %err, "état de publication non rafraîchi");
        }
    }
}

/// How often the guard probes Redis while degraded and refreshes privileged networks.
const GUARD_TICK: Duration = Duration::from_secs(1);
/// Every this many ticks, the rate limiter is trimmed and the suspended gauge refreshed.
const GUARD_FULL_EVERY: u32 = 30;

async fn guard_housekeeping(guard: Guard, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(GUARD_TICK);
    let mut count = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stopped(&mut shutdown) => return,
        }
        count = count.wrapping_add(1);
        guard.housekeeping(count % GUARD_FULL_EVERY == 1).await;
    }
}

/// Resolves once a shutdown has been asked for.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here rather than across an await.
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// Resolves on SIGTERM or Ctrl-C; reloads on every SIGHUP meanwhile.
async fn wait_for_stop(live: &Live) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hangup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                _ = term.recv() => return,
                _ = &mut ctrl_c => return,
                _ = hangup.recv() => {
                    tracing::info!("SIGHUP : rechargement de la configuration");
                    // The outcome is logged by `reload`; a refused reload keeps the old configuration.
                    let _ = live.reload().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = live;
        let _ = ctrl_c.await;
    }
}
