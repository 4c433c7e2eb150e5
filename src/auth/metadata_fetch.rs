//! Downloading a provider's metadata document (SAML IdP metadata, WS-Federation
//! `FederationMetadata.xml`): https only (plain http on loopback, for tests), a timeout, no redirects,
//! and a size cap enforced while reading. What the document says is the caller's business.

use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The document at `url`, as text, or why it could not be had (in French, with the URL).
pub async fn fetch_document(url: &str, max_bytes: usize) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(format!("{url} : https requis"));
    }
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| format!("{url} : {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} : HTTP {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url} : {e}"))? {
        if body.len() + chunk.len() > max_bytes {
            return Err("document trop volumineux".into());
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "document non UTF-8".into())
}
