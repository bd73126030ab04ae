//! Inputs whose values are never shown: `shellProfile` can hold commands (and the secrets
//! they use) and `runAsDefaultUser` names users, so wherever a value would be shown — the
//! grouped changes, a report, a message — a short hash of it stands in.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The inputs shown only as a hash.
pub(crate) const INPUTS: &[&str] = &["shellProfile", "runAsDefaultUser"];

pub(crate) fn is_sensitive(input: &str) -> bool {
    INPUTS.contains(&input)
}

/// `sha256:` and the first 12 hex digits of the value's compact JSON, keys sorted: equal
/// values read equal whatever their key order (so targets group, and plan, apply and audit
/// agree), and the value is not shown — though, unsalted, a guessed short value can be
/// confirmed against it. An empty string says nothing and stays as it is.
pub(crate) fn masked(v: &Value) -> Value {
    match v {
        Value::String(s) if s.is_empty() => v.clone(),
        _ => {
            let mut text = String::new();
            canonical(v, &mut text);
            let short = hex::encode(&Sha256::digest(text.as_bytes())[..6]);
            Value::String(format!("sha256:{short}"))
        }
    }
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
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

/// A changed value as it may be shown, under the change's key: a sensitive input's value
/// masked, and so are those inside a whole document or `inputs` object that changed as one.
pub(crate) fn shown(key: &str, v: &Value) -> Value {
    match key {
        k if is_sensitive(k) => masked(v),
        "inputs" => mask_inputs_in(v, true),
        _ => mask_inputs_in(v, false),
    }
}

/// A JSON value's kind, for messages that must not quote the value itself.
pub(crate) fn kind(v: &Value) -> &'static str {
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
        let one = shown("shellProfile", &profile).to_string();
        assert!(!one.contains("planted-secret") && one.starts_with("\"sha256:"));
        // Equal values mask equally, whatever their key order, so grouped changes group.
        let a = json!({"linux": "x", "windows": "y"});
        let b = json!({"windows": "y", "linux": "x"});
        assert_eq!(masked(&a), masked(&b));
        assert_ne!(masked(&a), masked(&json!({"linux": "x"})));
        let doc = json!({"schemaVersion": "1.0", "inputs": {"shellProfile": profile, "runAsDefaultUser": "alice", "s3BucketName": "b"}});
        let whole = shown("content", &doc).to_string();
        assert!(!whole.contains("planted-secret") && !whole.contains("alice"));
        assert!(whole.contains("\"b\""));
        assert_eq!(masked(&json!("")), json!(""));
    }
}
