//! The `passerelle suspensions …` and `passerelle sessions …` commands: a small client of the admin
//! API, printing tables or JSON.

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

    /// One page of live sessions; `filter` holds `space`, `user`, `offset`, `limit` pairs.
    pub async fn sessions(&self, filter: &[(&str, String)]) -> Result<Value, ClientError> {
        self.call(
            reqwest::Method::GET,
            &format!("/sessions{}", query_string(filter)),
        )
        .await
    }

    pub async fn revoke_session(&self, id: &str) -> Result<Value, ClientError> {
        let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        self.call(reqwest::Method::DELETE, &format!("/sessions/{id}"))
            .await
    }

    /// Every session of a user (in one space when `filter` also names a space).
    pub async fn revoke_user(&self, filter: &[(&str, String)]) -> Result<Value, ClientError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("/sessions{}", query_string(filter)),
        )
        .await
    }
}

impl AdminClient {
    pub async fn spaces(&self) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, "/spaces").await
    }

    /// `action` is `publish`, `unpublish` or `reset`; `space` `None` means every space.
    pub async fn change_publication(
        &self,
        space: Option<&str>,
        action: &str,
    ) -> Result<Value, ClientError> {
        let path = match space {
            Some(space) => {
                let space: String =
                    url::form_urlencoded::byte_serialize(space.as_bytes()).collect();
                format!("/spaces/{space}/{action}")
            }
            None => format!("/spaces/{action}"),
        };
        self.call(reqwest::Method::POST, &path).await
    }
}

/// The spaces and their publication as a readable table.
pub fn spaces_table(list: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:<8} {:<9} {:>8}  DÉLÉGATIONS",
        "ESPACE", "PUBLIÉ", "SOURCE", "SESSIONS"
    );
    for item in list["spaces"].as_array().cloned().unwrap_or_default() {
        let delegations: Vec<_> = item["delegations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|d| d.as_str().map(str::to_owned))
            .collect();
        let _ = writeln!(
            out,
            "{:<12} {:<8} {:<9} {:>8}  {}",
            item["space"].as_str().unwrap_or("?"),
            if item["published"].as_bool() == Some(true) {
                "oui"
            } else {
                "non"
            },
            if item["source"] == "runtime" {
                "admin"
            } else {
                "fichier"
            },
            item["sessions"].as_u64().unwrap_or(0),
            if delegations.is_empty() {
                "-".to_owned()
            } else {
                delegations.join(", ")
            },
        );
    }
    out
}

fn query_string(pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let mut query = url::form_urlencoded::Serializer::new(String::from("?"));
    query.extend_pairs(pairs);
    query.finish()
}

/// A page of sessions as a readable table.
pub fn sessions_table(page: &Value) -> String {
    let items = page["sessions"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return "aucune session\n".to_owned();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<64}  {:<12} {:<24} {:<9} {:<39} {:>10} {:>10}",
        "SESSION", "ESPACE", "UTILISATEUR", "PROTOCOLE", "ADRESSE", "DÉBUT", "VU"
    );
    for item in &items {
        let _ = writeln!(
            out,
            "{:<64}  {:<12} {:<24} {:<9} {:<39} {:>10} {:>10}",
            item["id"].as_str().unwrap_or("?"),
            item["space"].as_str().unwrap_or("?"),
            item["user"].as_str().unwrap_or("?"),
            item["protocol"].as_str().unwrap_or("?"),
            item["ip"].as_str().unwrap_or("?"),
            item["started"].as_u64().unwrap_or(0),
            item["last_seen"].as_u64().unwrap_or(0),
        );
    }
    let offset = page["offset"].as_u64().unwrap_or(0);
    let _ = writeln!(
        out,
        "sessions {} à {} sur {}",
        offset + 1,
        offset + items.len() as u64,
        page["total"]
    );
    out
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
