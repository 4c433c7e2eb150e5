//! Value types that validate themselves while the TOML is read, so that a bad value is reported by the
//! TOML deserializer with the exact span of the offending text (file:line:column), not later without one.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, de};
use url::Url;

/// A duration written the human way: `"30s"`, `"15m"`, `"12h"`, `"1h 30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map(HumanDuration).map_err(|err| {
            de::Error::custom(format!(
                "durée invalide « {text} » ({err}); exemples valides : \"30s\", \"15m\", \"12h\""
            ))
        })
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// An absolute `http://` or `https://` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub Url);

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let url = Url::parse(&text)
            .map_err(|err| de::Error::custom(format!("URL invalide « {text} » ({err})")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(de::Error::custom(format!(
                "URL invalide « {text} » : il faut une adresse http:// ou https:// avec un nom d'hôte"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(de::Error::custom(format!(
                "URL invalide « {text} » : ni paramètres (?…) ni fragment (#…) ici"
            )));
        }
        Ok(HttpUrl(url))
    }
}

/// An absolute `https://` URL with a host, no query and no fragment: what the preset catalogue accepts
/// for identity-provider endpoints, because tickets and assertions must never travel in clear text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl(pub Url);

impl<'de> Deserialize<'de> for HttpsUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let HttpUrl(url) = HttpUrl::deserialize(deserializer)?;
        if url.scheme() != "https" {
            return Err(de::Error::custom(format!(
                "URL refusée « {url} » : seul https:// est accepté (les tickets et assertions ne \
                 circulent jamais en clair)"
            )));
        }
        Ok(HttpsUrl(url))
    }
}

impl fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The key that signs identity headers toward the upstream: at least 32 bytes, so that it cannot be
/// guessed and HMAC-SHA256 keeps its full strength.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(pub Vec<u8>);

pub const MIN_SIGNING_KEY_BYTES: usize = 32;

impl<'de> Deserialize<'de> for SigningKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.len() < MIN_SIGNING_KEY_BYTES {
            return Err(de::Error::custom(format!(
                "clé de signature trop courte ({} octets) : il en faut au moins {MIN_SIGNING_KEY_BYTES} \
                 (par exemple `openssl rand -base64 48`)",
                text.len()
            )));
        }
        Ok(SigningKey(text.into_bytes()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

/// An argon2id hash in PHC string form, as printed by `passerelle hash-password`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(pub String);

impl<'de> Deserialize<'de> for PasswordHashString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let parsed = argon2::PasswordHash::new(&text).map_err(|err| {
            de::Error::custom(format!(
                "empreinte de mot de passe illisible ({err}); utilisez `passerelle hash-password`"
            ))
        })?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(de::Error::custom(format!(
                "empreinte « {} » refusée : seul argon2id est accepté",
                parsed.algorithm
            )));
        }
        Ok(PasswordHashString(text))
    }
}

impl fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHashString(…)")
    }
}

/// An HTTP header name prefix such as `X-Passerelle-`: letters, digits and dashes, ending in a dash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderPrefix(pub String);

impl<'de> Deserialize<'de> for HeaderPrefix {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let valid = text.len() >= 3
            && text.ends_with('-')
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(de::Error::custom(format!(
                "préfixe d'en-tête invalide « {text} » : lettres, chiffres et tirets, terminé par un tiret \
                 (ex. \"X-Passerelle-\")"
            )));
        }
        Ok(HeaderPrefix(text))
    }
}

impl Default for HeaderPrefix {
    fn default() -> Self {
        HeaderPrefix("X-Passerelle-".to_owned())
    }
}

/// A path pattern for requests that need no session: an exact path, or a prefix ending in `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    Exact(String),
    Prefix(String),
}

impl PathPattern {
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::Exact(exact) => path == exact,
            PathPattern::Prefix(prefix) => path.starts_with(prefix.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for PathPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if !text.starts_with('/') || text.contains("..") || text.contains('?') {
            return Err(de::Error::custom(format!(
                "chemin public invalide « {text} » : un chemin absolu (/…), sans « .. » ni « ? », \
                 éventuellement terminé par * pour un préfixe"
            )));
        }
        Ok(match text.strip_suffix('*') {
            Some(prefix) if !prefix.contains('*') => PathPattern::Prefix(prefix.to_owned()),
            None if !text.contains('*') => PathPattern::Exact(text),
            _ => {
                return Err(de::Error::custom(format!(
                    "chemin public invalide « {text} » : * n'est permis qu'à la fin"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe<T> {
        value: T,
    }

    fn parse<T: for<'de> Deserialize<'de>>(value: &str) -> Result<T, String> {
        toml::from_str::<Probe<T>>(&format!("value = {value}"))
            .map(|probe| probe.value)
            .map_err(|err| err.message().to_owned())
    }

    #[test]
    fn durations_accept_human_forms_and_refuse_garbage() {
        assert_eq!(
            parse::<HumanDuration>("\"15m\"").unwrap().0,
            Duration::from_secs(900)
        );
        assert_eq!(
            parse::<HumanDuration>("\"1h 30m\"").unwrap().0,
            Duration::from_secs(5400)
        );
        assert!(
            parse::<HumanDuration>("\"quinze minutes\"")
                .unwrap_err()
                .contains("durée invalide")
        );
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(parse::<HttpUrl>("\"https://ent.example.fr/cas\"").is_ok());
        assert!(parse::<HttpUrl>("\"ftp://example.fr\"").is_err());
        assert!(parse::<HttpUrl>("\"pas une url\"").is_err());
        assert!(parse::<HttpUrl>("\"https://example.fr/?a=b\"").is_err());
    }

    #[test]
    fn https_urls_refuse_plain_http() {
        assert!(parse::<HttpsUrl>("\"https://cas.ent.example.fr:8443/cas\"").is_ok());
        assert!(
            parse::<HttpsUrl>("\"http://cas.ent.example.fr/cas\"")
                .unwrap_err()
                .contains("seul https://")
        );
        assert!(parse::<HttpsUrl>("\"https://cas.example.fr/login?service=x\"").is_err());
    }

    #[test]
    fn signing_keys_shorter_than_32_bytes_are_refused() {
        assert!(
            parse::<SigningKey>("\"trop-courte\"")
                .unwrap_err()
                .contains("trop courte")
        );
        assert!(parse::<SigningKey>(&format!("\"{}\"", "k".repeat(32))).is_ok());
    }

    #[test]
    fn public_paths_are_exact_or_trailing_star_prefixes() {
        let prefix = parse::<PathPattern>("\"/pronote/images/*\"").unwrap();
        assert!(prefix.matches("/pronote/images/logo.png"));
        assert!(!prefix.matches("/pronote/parent.html"));
        let exact = parse::<PathPattern>("\"/pronote/InfoMobileApp.json\"").unwrap();
        assert!(exact.matches("/pronote/InfoMobileApp.json"));
        assert!(!exact.matches("/pronote/InfoMobileApp.json2"));
        assert!(parse::<PathPattern>("\"/a/*/b\"").is_err());
        assert!(parse::<PathPattern>("\"relative\"").is_err());
        assert!(parse::<PathPattern>("\"/../etc\"").is_err());
    }

    #[test]
    fn header_prefix_must_end_with_a_dash() {
        assert!(parse::<HeaderPrefix>("\"X-Ecole-\"").is_ok());
        assert!(parse::<HeaderPrefix>("\"X Ecole\"").is_err());
    }
}
