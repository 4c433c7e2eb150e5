//! The HTTP client used for the back-channel calls to the provider (discovery, JWKS, token,
//! userinfo), and the small adapter that lets `openidconnect` use reqwest 0.13 (the crate's own
//! integration is tied to reqwest 0.12).
//!
//! Redirects are never followed (a provider answer that redirects is an error, and following would
//! let a hostile provider aim the gateway at internal addresses) and every call is bounded in time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

use super::error::OidcError;

/// Time allowed to open a connection to the provider.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole back-channel exchange.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The back-channel client: no redirects, bounded time.
pub fn client() -> Result<reqwest::Client, OidcError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("passerelle/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| OidcError::Configuration(format!("client HTTP : {err}")))
}

/// The back-channel client as `openidconnect` uses it. A named type (rather than a closure) so that
/// the futures it returns are plainly `Send`, which the gateway's request handlers require.
#[derive(Debug, Clone)]
pub struct HttpClient(reqwest::Client);

/// Wrap a reqwest client so that `openidconnect` can send its requests through it.
pub fn adapter(client: reqwest::Client) -> HttpClient {
    HttpClient(client)
}

impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let (status, headers) = (response.status(), response.headers().clone());
            let mut out = http::Response::new(response.bytes().await?.to_vec());
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}

/// Classify a transport failure: no answer at all means the provider is down.
pub fn transport_error(what: &'static str, err: &reqwest::Error) -> OidcError {
    if err.is_connect() || err.is_timeout() || err.is_request() {
        OidcError::Unreachable { what }
    } else {
        OidcError::ProviderFailure {
            what,
            detail: err.to_string(),
        }
    }
}
