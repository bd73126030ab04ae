//! The content SSM is sent, and what differs between the preferences and what a target holds:
//! parsed values compared (never bytes), each differing input named, sensitive values shown
//! only as a hash.

use serde_json::{Map, Value};

use crate::model::Change;
use crate::sensitive;

/// SSM rejects document content over 64 KB.
pub(crate) const MAX_CONTENT_BYTES: usize = 64 * 1024;

/// What is written to SSM: stable, readable JSON in the file's key order.
pub(crate) fn to_content(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).expect("a JSON value always serializes")
}

/// The one constructor of the model's [`Change`], here where what is sensitive is known.
impl Change {
    /// A change as it may be shown: changes exist to be shown, so every one is made here,
    /// with a sensitive input's values (also inside a whole document or `inputs` object)
    /// masked (src/sensitive.rs).
    pub(crate) fn shown(key: impl Into<String>, from: Option<Value>, to: Option<Value>) -> Change {
        let key = key.into();
        Change {
            from: from.map(|v| sensitive::shown(&key, &v)),
            to: to.map(|v| sensitive::shown(&key, &v)),
            key,
        }
    }
}

/// The fields and inputs that differ; empty means the target already holds the desired content.
/// Compares parsed values, so key order and whitespace never count.
pub(crate) fn diff(desired: &Value, current: &Value) -> Vec<Change> {
    let (Value::Object(want), Value::Object(have)) = (desired, current) else {
        return if desired == current {
            vec![]
        } else {
            vec![Change::shown(
                "content",
                Some(current.clone()),
                Some(desired.clone()),
            )]
        };
    };
    let mut changes = vec![];
    let empty = Map::new();
    for key in union(want, have) {
        if key == "inputs" {
            let w = want
                .get("inputs")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let h = have
                .get("inputs")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            for k in union(w, h) {
                if w.get(k) != h.get(k) {
                    changes.push(Change::shown(
                        k.clone(),
                        h.get(k).cloned(),
                        w.get(k).cloned(),
                    ));
                }
            }
            if want.get("inputs").is_some() != have.get("inputs").is_some()
                && w.is_empty()
                && h.is_empty()
            {
                changes.push(Change::shown(
                    "inputs",
                    have.get("inputs").cloned(),
                    want.get("inputs").cloned(),
                ));
            }
        } else if want.get(key) != have.get(key) {
            changes.push(Change::shown(
                key.clone(),
                have.get(key).cloned(),
                want.get(key).cloned(),
            ));
        }
    }
    changes
}

pub(super) fn union<'a>(a: &'a Map<String, Value>, b: &'a Map<String, Value>) -> Vec<&'a String> {
    let mut keys: Vec<&String> = a.keys().collect();
    keys.extend(b.keys().filter(|k| !a.contains_key(*k)));
    keys
}

/// `changed_inputs` column: the keys, `;`-separated.
pub(crate) fn changed_keys(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| c.key.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    //! What differs, by example; the properties, on rendered documents, are in load.rs (the
    //! renderer is above this file).
    use super::*;

    #[test]
    fn diff_ignores_order_and_whitespace() {
        let a: Value = serde_json::from_str(r#"{"a":1,"inputs":{"x":"1","y":true}}"#).unwrap();
        let b: Value =
            serde_json::from_str("{ \"inputs\" : { \"y\" : true, \"x\" : \"1\" },\n \"a\" : 1 }")
                .unwrap();
        assert!(diff(&a, &b).is_empty());
        let c: Value = serde_json::from_str(r#"{"a":1,"inputs":{"x":"2"}}"#).unwrap();
        assert_eq!(changed_keys(&diff(&a, &c)), "x;y");
    }
}
