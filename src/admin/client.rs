//! The `passerelle suspensions …` commands: a small client of the admin API, printing tables or JSON.

use std::fmt::Write as _;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("API d'administration injoignable : {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("l'API a répondu {status} : {message} ({code})")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
}

/// Where the admin API is and the token to present.
pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminClient {
    pub fn new(base: &str, token: &str) -> Self {
        AdminClient {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str) -> Result<Value, ClientError> {
        let response = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let error = &body["error"];
            return Err(ClientError::Refused {
                status: status.as_u16(),
                code: error["code"].as_str().unwrap_or("unknown").to_owned(),
                message: error["message"].as_str().unwrap_or("").to_owned(),
            });
        }
        Ok(body)
    }

    pub async fn list(&self) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, "/suspensions").await
    }

    pub async fn unblock(&self, ip: &str) -> Result<Value, ClientError> {
        let ip: String = url::form_urlencoded::byte_serialize(ip.as_bytes()).collect();
        self.call(reqwest::Method::DELETE, &format!("/suspensions/{ip}"))
            .await
    }

    pub async fn unblock_all(&self) -> Result<Value, ClientError> {
        self.call(reqwest::Method::DELETE, "/suspensions").await
    }
}

/// The suspensions list as a readable table.
pub fn table(list: &Value) -> String {
    let mut out = String::new();
    let items = list["suspensions"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return "aucune adresse suspendue\n".to_owned();
    }
    let _ = writeln!(
        out,
        "{:<40} {:>9} {:>8}  DERNIER IDENTIFIANT",
        "ADRESSE", "ÉCHECS", "RESTE"
    );
    for item in items {
        let remaining = item["remaining_secs"].as_u64().unwrap_or(0);
        let _ = writeln!(
            out,
            "{:<40} {:>9} {:>7}s  {}",
            item["ip"].as_str().unwrap_or("?"),
            item["failures"].as_u64().unwrap_or(0),
            remaining,
            item["last_login"].as_str().unwrap_or("-"),
        );
    }
    out
}
