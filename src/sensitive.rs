//! Inputs whose values are never shown: `shellProfile` can hold commands (and the secrets
//! they use) and `runAsDefaultUser` names users, so wherever a value would be shown — the
//! grouped changes, a report, a message — a short hash of it stands in.

use serde_json::Value;

use crate::preferences::{Change, sha256_hex};

/// The inputs shown only as a hash.
pub const INPUTS: &[&str] = &["shellProfile", "runAsDefaultUser"];

pub fn is_sensitive(input: &str) -> bool {
    INPUTS.contains(&input)
}

/// `sha256:` and the first 12 hex digits of the value's compact JSON: equal values still
/// read equal (so targets group), and nothing of the value can be read back. An empty
/// string says nothing and stays as it is.
pub fn masked(v: &Value) -> Value {
    match v {
        Value::String(s) if s.is_empty() => v.clone(),
        _ => {
            let text = serde_json::to_string(v).expect("a JSON value always serializes");
            Value::String(format!("sha256:{}", &sha256_hex(text.as_bytes())[..12]))
        }
    }
}

/// A document (or its `inputs` object) with every sensitive input's value masked.
fn mask_inputs_in(v: &Value, is_inputs: bool) -> Value {
    let mut v = v.clone();
    let inputs = if is_inputs {
        v.as_object_mut()
    } else {
        v.get_mut("inputs").and_then(Value::as_object_mut)
    };
    if let Some(inputs) = inputs {
        for (k, value) in inputs.iter_mut() {
            if is_sensitive(k) {
                *value = masked(value);
            }
        }
    }
    v
}

/// The change as it may be shown: a sensitive input's values masked, and so are those
/// inside a whole document or `inputs` object that changed as one.
pub fn mask(c: Change) -> Change {
    let show = |v: Option<Value>| -> Option<Value> {
        let v = v?;
        Some(match c.key.as_str() {
            k if is_sensitive(k) => masked(&v),
            "inputs" => mask_inputs_in(&v, true),
            _ => mask_inputs_in(&v, false),
        })
    };
    Change {
        from: show(c.from.clone()),
        to: show(c.to.clone()),
        key: c.key,
    }
}

/// A JSON value's kind, for messages that must not quote the value itself.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_values_never_survive_masking() {
        let profile = json!({"linux": "export TOKEN=planted-secret"});
        let c = mask(Change {
            key: "shellProfile".into(),
            from: None,
            to: Some(profile.clone()),
        });
        let shown = c.to.unwrap().to_string();
        assert!(!shown.contains("planted-secret") && shown.starts_with("\"sha256:"));
        // Equal values mask equally, so grouped changes still group.
        assert_eq!(masked(&profile), masked(&profile.clone()));
        let doc = json!({"schemaVersion": "1.0", "inputs": {"shellProfile": profile, "runAsDefaultUser": "alice", "s3BucketName": "b"}});
        let whole = mask(Change {
            key: "content".into(),
            from: None,
            to: Some(doc),
        })
        .to
        .unwrap()
        .to_string();
        assert!(!whole.contains("planted-secret") && !whole.contains("alice"));
        assert!(whole.contains("\"b\""));
        assert_eq!(masked(&json!("")), json!(""));
    }
}
