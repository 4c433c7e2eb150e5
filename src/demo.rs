//! `passerelle demo`: the whole gateway on one machine in a minute, with no other service.
//!
//! The configuration in `examples/demo/` is embedded in the binary and written to a temporary folder,
//! and a stand-in for PRONOTE.net answers on the upstream address with a page showing the identity
//! headers it received and whether their signature checks out.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::identity::signed_headers;
use crate::ui::escape;

/// The demo configuration files, relative to the folder they are written to.
const FILES: &[(&str, &str)] = &[
    (
        "passerelle.toml",
        include_str!("../examples/demo/passerelle.toml"),
    ),
    ("users.toml", include_str!("../examples/demo/users.toml")),
    (
        "spaces/commune.toml",
        include_str!("../examples/demo/spaces/commune.toml"),
    ),
    (
        "spaces/direction.toml",
        include_str!("../examples/demo/spaces/direction.toml"),
    ),
    (
        "spaces/professeur.toml",
        include_str!("../examples/demo/spaces/professeur.toml"),
    ),
    (
        "spaces/viescolaire.toml",
        include_str!("../examples/demo/spaces/viescolaire.toml"),
    ),
    (
        "spaces/parent.toml",
        include_str!("../examples/demo/spaces/parent.toml"),
    ),
    (
        "spaces/accompagnant.toml",
        include_str!("../examples/demo/spaces/accompagnant.toml"),
    ),
    (
        "spaces/eleve.toml",
        include_str!("../examples/demo/spaces/eleve.toml"),
    ),
    (
        "spaces/entreprise.toml",
        include_str!("../examples/demo/spaces/entreprise.toml"),
    ),
    (
        "spaces/academie.toml",
        include_str!("../examples/demo/spaces/academie.toml"),
    ),
];

/// Write the embedded demo configuration into `dir`; returns the gateway file's path.
pub fn write_config(dir: &Path) -> io::Result<PathBuf> {
    for (name, content) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // The repository's catalogue is not embedded: drop the line that points at it.
        let content = if *name == "passerelle.toml" {
            without_presets_dir(content)
        } else {
            (*content).to_owned()
        };
        std::fs::write(path, content)?;
    }
    Ok(dir.join("passerelle.toml"))
}

fn without_presets_dir(text: &str) -> String {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("presets_dir"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// What the stand-in needs to check signatures.
#[derive(Debug, Clone)]
pub struct StandIn {
    pub header_prefix: String,
    pub signing_key: Vec<u8>,
}

/// Serve the stand-in PRONOTE.net on `listener` until the task is dropped.
pub async fn serve_stand_in(listener: TcpListener, stand_in: StandIn) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let stand_in = stand_in.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let page = render(&request, &stand_in);
                async move { Ok::<_, Infallible>(page) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Bind the stand-in's address.
pub async fn bind_stand_in(address: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(address).await
}

fn render(request: &Request<Incoming>, stand_in: &StandIn) -> Response<Full<Bytes>> {
    let prefix = stand_in.header_prefix.to_ascii_lowercase();
    let verdict = match signed_headers::verify(
        request.headers(),
        &prefix,
        &stand_in.signing_key,
        Clock::System.now(),
        30,
    ) {
        Ok(()) => "signature valide : ces en-têtes viennent bien de la passerelle".to_owned(),
        Err(err) => format!("pas d'identité vérifiée ({err})"),
    };
    let mut rows = String::new();
    for (name, value) in request.headers() {
        if name.as_str().starts_with(&prefix) {
            let value = value.to_str().unwrap_or("");
            let decoded = percent_decode_str(value).decode_utf8_lossy();
            rows.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(name.as_str()),
                escape(&decoded)
            ));
        }
    }
    let html = format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>PRONOTE (démo)</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body>\
         <h1>PRONOTE.net — serveur de démonstration</h1><p>Page demandée : <code>{path}</code></p>\
         <p><strong>{verdict}</strong></p><table>{rows}</table>\
         <p><a href=\"/auth/logout\">Se déconnecter</a></p></body></html>",
        path = escape(&request.uri().to_string()),
        verdict = escape(&verdict),
    );
    let mut response = Response::new(Full::new(Bytes::from(html)));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}
