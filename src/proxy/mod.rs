//! The reverse proxy toward PRONOTE.net: one pooled keep-alive client, bodies streamed both ways,
//! header hygiene, WebSocket and other upgrades passed through, and upstream failures turned into
//! French 502/504 pages rather than panics or hangs.

mod headers;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use http::header::{HOST, HeaderValue};
use http::uri::{Authority, Scheme};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use metrics::Histogram;

pub use headers::{ForwardedFor, remove_hop_by_hop};

use crate::config::UpstreamSettings;
use crate::ui;
use crate::web::{self, Body, BoxError};

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("amont injoignable : {0}")]
    Unreachable(String),
    #[error("l'amont n'a pas répondu à temps")]
    Timeout,
}

impl ProxyError {
    /// The French page a person sees.
    pub fn into_response(self) -> Response<Body> {
        match self {
            ProxyError::Unreachable(_) => web::page(ui::bad_gateway()),
            ProxyError::Timeout => web::page(ui::gateway_timeout()),
        }
    }
}

/// The upstream PRONOTE.net and the pooled client that reaches it.
#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Incoming>,
    scheme: Scheme,
    authority: Authority,
    host_header: HeaderValue,
    response_timeout: Duration,
    preserve_host: bool,
    /// `passerelle_upstream_duration_seconds`, registered on first use rather than looked up in the
    /// recorder's registry on every request.
    duration: OnceLock<Histogram>,
}

/// The upstream URL in the configuration has no usable host.
#[derive(Debug, thiserror::Error)]
#[error("URL amont inutilisable : {0}")]
pub struct BadUpstream(String);

impl Upstream {
    pub fn new(settings: &UpstreamSettings) -> Result<Self, BadUpstream> {
        let url = &settings.url;
        let authority: Authority = url[url::Position::BeforeHost..url::Position::AfterPort]
            .parse()
            .map_err(|_| BadUpstream(url.to_string()))?;
        let scheme: Scheme = url
            .scheme()
            .parse()
            .map_err(|_| BadUpstream(url.to_string()))?;
        let host_header =
            HeaderValue::from_str(authority.as_str()).map_err(|_| BadUpstream(url.to_string()))?;

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(settings.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|err| BadUpstream(format!("certificats racines : {err}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(settings.pool_idle_timeout)
            .build(connector);
        Ok(Upstream {
            client,
            scheme,
            authority,
            host_header,
            response_timeout: settings.response_timeout,
            preserve_host: settings.preserve_host,
            duration: OnceLock::new(),
        })
    }

    /// Forward a request whose headers the caller has already prepared (identity, cookies, forwarding
    /// headers), and stream the answer back.
    pub async fn forward(
        &self,
        mut request: Request<Incoming>,
    ) -> Result<Response<Body>, ProxyError> {
        let client_upgrade = headers::upgrade_protocol(request.headers())
            .map(|protocol| (protocol, hyper::upgrade::on(&mut request)));
        let (mut parts, body) = request.into_parts();
        remove_hop_by_hop(&mut parts.headers);
        if let Some((protocol, _)) = &client_upgrade {
            headers::restore_upgrade(&mut parts.headers, protocol.clone());
        }
        let original_authority = parts.uri.authority().cloned();
        let path_and_query = parts.uri.path_and_query().cloned();
        let mut uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone());
        if let Some(path_and_query) = path_and_query {
            uri = uri.path_and_query(path_and_query);
        }
        parts.uri = uri
            .build()
            .map_err(|err| ProxyError::Unreachable(err.to_string()))?;
        if !self.preserve_host {
            parts.headers.insert(HOST, self.host_header.clone());
        } else if !parts.headers.contains_key(HOST) {
            // HTTP/2 clients send `:authority` instead of `Host`.
            if let Some(value) =
                original_authority.and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            {
                parts.headers.insert(HOST, value);
            }
        }
        parts.version = http::Version::HTTP_11;

        let started = Instant::now();
        let sent = self.client.request(Request::from_parts(parts, body));
        let result = tokio::time::timeout(self.response_timeout, sent).await;
        self.duration
            .get_or_init(|| metrics::histogram!("passerelle_upstream_duration_seconds"))
            .record(started.elapsed().as_secs_f64());
        let mut response = match result {
            Err(_) => return Err(ProxyError::Timeout),
            Ok(Err(err)) => return Err(ProxyError::Unreachable(error_chain(&err))),
            Ok(Ok(response)) => response,
        };

        if response.status() == StatusCode::SWITCHING_PROTOCOLS
            && let Some((_, client_upgrade)) = client_upgrade
        {
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((client, upstream)) => {
                        let mut client = TokioIo::new(client);
                        let mut upstream = TokioIo::new(upstream);
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "passage de protocole interrompu")
                    }
                }
            });
            let (parts, _) = response.into_parts();
            return Ok(Response::from_parts(parts, web::empty()));
        }
        remove_hop_by_hop(response.headers_mut());
        Ok(response.map(|body| body.map_err(|err| Box::new(err) as BoxError).boxed_unsync()))
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
