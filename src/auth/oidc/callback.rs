//! Reading the provider's redirect back to the gateway (`?code=…&state=…` or `?error=…&state=…`).
//! This parses bytes from the browser, so it is strict and bounded (and has a fuzz target).

use super::error::OidcError;

/// Longest `code` or `state` accepted; real ones are well under this.
const MAX_VALUE_LEN: usize = 2048;
/// Longest `error_description` kept (it ends up on a page).
const MAX_DESCRIPTION_LEN: usize = 300;

/// A parsed callback: the `state` to check, and either the code or the provider's refusal.
#[derive(Debug)]
pub struct Callback {
    pub state: String,
    pub result: Result<String, OidcError>,
}

/// Parse the callback query string. A missing `state` or repeated parameter is refused outright;
/// a provider error is kept in `result` so that the caller still checks `state` first (otherwise
/// anyone could make a browser report made-up failures).
pub fn parse(query: &str) -> Result<Callback, OidcError> {
    from_pairs(url::form_urlencoded::parse(query.as_bytes()))
}

/// [`parse`] over already decoded parameters (query string and form, as the shared flow collects
/// them).
pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Callback, OidcError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let (mut code, mut state, mut error, mut description) = (None, None, None, None);
    for (name, value) in pairs {
        let slot = match name.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        if slot.is_some() {
            return Err(OidcError::BadCallback("paramètre répété"));
        }
        *slot = Some(value.as_ref().to_owned());
    }
    let state = state
        .filter(|s| !s.is_empty() && s.len() <= MAX_VALUE_LEN)
        .ok_or(OidcError::BadCallback("state absent ou invalide"))?;
    let result = match (error, code) {
        (Some(error), _) => Err(OidcError::ProviderRefused {
            code: sanitise(&error, 64),
            description: description.map(|d| sanitise(&d, MAX_DESCRIPTION_LEN)),
        }),
        (None, Some(code)) if !code.is_empty() && code.len() <= MAX_VALUE_LEN => Ok(code),
        (None, _) => Err(OidcError::BadCallback("code absent ou invalide")),
    };
    Ok(Callback { state, result })
}

/// Keep provider-chosen text printable and short: it is shown to people and logged.
fn sanitise(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_state_are_read() {
        let cb = parse("code=abc&state=xyz&iss=https%3A%2F%2Fop").expect("valid");
        assert_eq!(cb.state, "xyz");
        assert_eq!(cb.result.expect("code"), "abc");
    }

    #[test]
    fn provider_errors_keep_the_state_for_checking() {
        let cb = parse("error=access_denied&error_description=Refus%0A&state=s").expect("valid");
        assert_eq!(cb.state, "s");
        match cb.result {
            Err(OidcError::ProviderRefused { code, description }) => {
                assert_eq!(code, "access_denied");
                assert_eq!(description.as_deref(), Some("Refus"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_or_repeated_parameters_are_refused() {
        for bad in [
            "code=a",
            "code=a&state=",
            "code=a&state=s&state=t",
            "code=a&code=b&state=s",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("state=s").expect("parsed").result.is_err());
    }
}
