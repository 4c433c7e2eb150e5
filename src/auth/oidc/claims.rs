//! Claims (from the ID token and userinfo) turned into attributes: a name → values multimap, the
//! protocol-neutral shape the identity mapping layer reads for every protocol.

use std::collections::BTreeMap;

use openidconnect::AdditionalClaims;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Attribute name → values, as every delegation protocol hands them to the identity mapping.
pub use crate::identity::mapping::Attributes;

/// Claims the crate has no field for (`sid`, provider-specific ones such as `structure_rne`), kept
/// as they came.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl AdditionalClaims for OtherClaims {}

/// Protocol bookkeeping that says nothing about the person; the nonce is also a secret.
const NOT_ATTRIBUTES: [&str; 3] = ["nonce", "at_hash", "c_hash"];

/// Flatten a JSON object of claims: strings as they are, numbers and booleans as text, arrays as
/// several values, nested objects (`address`) as `address.street_address`…
pub fn attributes_from(claims: &Value, into: &mut Attributes) {
    let Value::Object(map) = claims else {
        return;
    };
    for (name, value) in map {
        if NOT_ATTRIBUTES.contains(&name.as_str()) {
            continue;
        }
        match value {
            Value::Object(inner) => {
                for (sub, value) in inner {
                    push(into, format!("{name}.{sub}"), value);
                }
            }
            _ => push(into, name.clone(), value),
        }
    }
}

fn push(into: &mut Attributes, name: String, value: &Value) {
    let mut values = Vec::new();
    match value {
        Value::Array(items) => values.extend(items.iter().filter_map(scalar)),
        other => values.extend(scalar(other)),
    }
    for value in values {
        // The ID token and userinfo often repeat a claim: keep one copy.
        if !into.get(&name).contains(&value) {
            into.insert(name.clone(), value);
        }
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        // Deeper structures are rare; keep them as JSON text rather than lose them.
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_become_a_multimap() {
        let claims = serde_json::json!({
            "sub": "u1", "nonce": "secret", "email_verified": true,
            "groups": ["a", "b", "a"], "address": {"postal_code": "75001"}, "middle_name": null
        });
        let mut attrs = Attributes::new();
        attributes_from(&claims, &mut attrs);
        assert_eq!(attrs.get("sub"), ["u1"]);
        assert_eq!(attrs.get("email_verified"), ["true"]);
        assert_eq!(attrs.get("groups"), ["a", "b"]);
        assert_eq!(attrs.get("address.postal_code"), ["75001"]);
        assert!(attrs.get("nonce").is_empty());
        assert!(attrs.get("middle_name").is_empty());
    }
}
