//! Generators for the property tests of check.rs, diff.rs and load.rs: text that is not
//! JSON, documents shaped like a preferences file (valid, near valid, or edited), laid out in
//! any whitespace and key order, targets to render them for.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Map, Value};

use super::check::*;
use super::diff::to_content;
use super::load::{Preferences, sha256_hex};
use crate::target::{Account, AccountId, Region, Target};

/// The file every generated document is checked as.
pub(super) const FILE: &str = "p.json";

/// Cases per property.
pub(super) fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// Tokens of JSON and of this file's vocabulary, glued at random: mostly invalid JSON that
/// reaches deeper than random characters do (unclosed strings, bad escapes, BOMs).
pub(super) fn json_soup() -> impl Strategy<Value = String> {
    let tokens = select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\\",
        "\\u",
        "\n",
        " ",
        "\r\n",
        "\t",
        "\u{feff}",
        "é",
        "😀",
        "\"inputs\"",
        "\"schemaVersion\"",
        "\"1.0\"",
        "\"sessionType\"",
        "\"Standard_Stream\"",
        "\"s3BucketName\"",
        "\"idleSessionTimeout\"",
        "\"shellProfile\"",
        "\"linux\"",
        "\"runAsEnabled\"",
        "true",
        "null",
        "20",
        "-1e400",
        "\"{region}\"",
        "\"a\\\"b\"",
        "\"é\"",
        "/*",
        "//",
    ]);
    prop::collection::vec(tokens, 0..48).prop_map(|t| t.concat())
}

pub(super) fn odd_string() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "",
            "1.0",
            "1",
            "Standard_Stream",
            "0",
            "60",
            "61",
            "1440",
            "1441",
            "-1",
            " 20",
            "20 ",
            "{region}",
            "{nope}",
            "${HOME}",
            "DOC-EXAMPLE-BUCKET",
            "MyLogGroupName",
            "windows",
            "linux",
            "é\"\\\n",
        ])
        .prop_map(String::from),
        ".{0,12}",
    ]
}

pub(super) fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(
            known_inputs()
                .chain(TOP_KEYS.iter().copied())
                .chain(["windows", "linux", "macos", "s3bucketname", "idleTimeout"])
                .collect::<Vec<_>>()
        )
        .prop_map(String::from),
        1 => ".{0,10}",
    ]
}

pub(super) fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        odd_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any_key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// JSON written entry by entry, so that a key can be written twice.
#[derive(Debug, Clone)]
pub(super) enum Doc {
    Leaf(Value),
    Arr(Vec<Doc>),
    Obj(Vec<(String, Doc)>),
}

impl Doc {
    pub(super) fn from_value(v: &Value) -> Doc {
        match v {
            Value::Array(a) => Doc::Arr(a.iter().map(Doc::from_value).collect()),
            Value::Object(m) => Doc::Obj(
                m.iter()
                    .map(|(k, v)| (k.clone(), Doc::from_value(v)))
                    .collect(),
            ),
            scalar => Doc::Leaf(scalar.clone()),
        }
    }
}

/// How a document is laid out: an optional indent (pretty) and the whitespace put between
/// tokens, taken in turn.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    indent: Option<&'static str>,
    gaps: Vec<&'static str>,
}

pub(super) fn layout() -> impl Strategy<Value = Layout> {
    let gap = select(vec!["", " ", "  ", "\n", "\t", "\r\n", " \n  ", "\n\n"]);
    (
        prop::option::of(select(vec!["", " ", "  ", "    ", "\t"])),
        prop::collection::vec(gap, 0..12),
    )
        .prop_map(|(indent, gaps)| Layout { indent, gaps })
}

pub(super) struct Writer<'a> {
    layout: &'a Layout,
    turn: usize,
    out: String,
}

impl Writer<'_> {
    pub(super) fn write(layout: &Layout, doc: &Doc) -> String {
        let mut w = Writer {
            layout,
            turn: 0,
            out: String::new(),
        };
        w.gap();
        w.doc(doc, 0);
        w.gap();
        w.out
    }

    fn gap(&mut self) {
        if !self.layout.gaps.is_empty() {
            let g = self.layout.gaps[self.turn % self.layout.gaps.len()];
            self.out.push_str(g);
            self.turn += 1;
        }
    }

    fn newline(&mut self, depth: usize) {
        if let Some(indent) = self.layout.indent {
            self.out.push('\n');
            self.out.push_str(&indent.repeat(depth));
        }
    }

    fn doc(&mut self, doc: &Doc, depth: usize) {
        match doc {
            Doc::Leaf(v) => self.out.push_str(&v.to_string()),
            Doc::Arr(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.gap();
                    self.doc(item, depth + 1);
                    self.gap();
                }
                if !items.is_empty() {
                    self.newline(depth);
                }
                self.out.push(']');
            }
            Doc::Obj(entries) => {
                self.out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.gap();
                    self.out.push_str(&Value::String(k.clone()).to_string());
                    self.gap();
                    self.out.push(':');
                    self.gap();
                    self.doc(v, depth + 1);
                    self.gap();
                }
                if !entries.is_empty() {
                    self.newline(depth);
                }
                self.out.push('}');
            }
        }
    }
}

pub(super) fn input_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        odd_string().prop_map(Value::String),
        (0u32..2000).prop_map(|n| Value::String(n.to_string())),
        (0u32..2000).prop_map(Value::from),
        prop::collection::vec(
            (select(vec!["windows", "linux", "macos"]), any_json()),
            0..3
        )
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        any_json(),
    ]
}

/// A document shaped like a preferences file, with the wrong types, unknown and repeated
/// keys, and missing fields mixed in.
pub(super) fn near_valid() -> impl Strategy<Value = Doc> {
    let top = |v: &'static str| {
        prop::option::weighted(
            0.9,
            prop_oneof![
                3 => Just(Value::String(v.into())),
                1 => any_json(),
            ],
        )
    };
    // Keys drawn from a small set, so that some are written twice.
    let input_key = prop_oneof![
        select(known_inputs().collect::<Vec<_>>()).prop_map(String::from),
        any_key(),
    ];
    let input = (input_key, input_value().prop_map(|v| Doc::from_value(&v)));
    let inputs = prop_oneof![
        4 => prop::collection::vec(input, 0..10).prop_map(Doc::Obj),
        1 => any_json().prop_map(|v| Doc::from_value(&v)),
    ];
    (
        top("1.0"),
        top("Standard_Stream"),
        top("a description"),
        prop::option::weighted(0.9, inputs),
        prop::collection::vec((any_key(), any_json()), 0..2),
        any::<u64>(),
    )
        .prop_map(|(schema, session, description, inputs, extra, seed)| {
            let mut entries: Vec<(String, Doc)> = vec![];
            for (k, v) in [
                ("schemaVersion", schema),
                ("sessionType", session),
                ("description", description),
            ] {
                if let Some(v) = v {
                    entries.push((k.into(), Doc::Leaf(v)));
                }
            }
            if let Some(inputs) = inputs {
                entries.push(("inputs".into(), inputs));
            }
            entries.extend(extra.into_iter().map(|(k, v)| (k, Doc::from_value(&v))));
            // A cheap shuffle: rotate by the seed, then maybe reverse.
            let n = entries.len().max(1);
            entries.rotate_left(seed as usize % n);
            if seed & (1 << 40) != 0 {
                entries.reverse();
            }
            Doc::Obj(entries)
        })
}

/// Text for a string input: literal pieces and the placeholders a target fills, and shell
/// braces and stray braces that are not placeholders. No piece closes a `{name}` opened by
/// another, so every placeholder here is one the test target can fill.
pub(super) fn text_value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        select(vec![
            "{account_id}",
            "{account_name}",
            "{region}",
            "{partition}",
            "{log_bucket}",
            "${HOME}",
            "{x y}",
            "{not closed",
            "closed}",
            "{}",
            "$",
            "\"",
            "\\",
        ])
        .prop_map(String::from),
        "[^{}]{0,6}",
    ];
    prop::collection::vec(piece, 0..5).prop_map(|p| p.concat())
}

/// A valid document, written out, then edited a few times: a character deleted, a token
/// inserted, a comma put after the last entry of an object or list, or the text cut short.
pub(super) fn mutated_json() -> impl Strategy<Value = String> {
    let token = select(vec![
        ",", ":", "\"", "{", "}", "[", "]", "\\", "\n", "\"k\":", "1", "true", "é", "\u{feff}",
    ]);
    let edit = (0..10u8, any::<Index>(), token);
    (valid_doc(), layout(), prop::collection::vec(edit, 1..4)).prop_map(|(doc, layout, edits)| {
        let mut chars: Vec<char> = Writer::write(&layout, &Doc::from_value(&doc))
            .chars()
            .collect();
        for (op, at, token) in edits {
            let i = at.index(chars.len() + 1);
            match op {
                0..=3 if i < chars.len() => {
                    chars.remove(i);
                }
                4..=6 => {
                    chars.splice(i..i, token.chars());
                }
                7 | 8 => {
                    let closers: Vec<usize> = (0..chars.len())
                        .filter(|&j| matches!(chars[j], '}' | ']'))
                        .collect();
                    if !closers.is_empty() {
                        chars.insert(closers[at.index(closers.len())], ',');
                    }
                }
                _ => chars.truncate(i),
            }
        }
        chars.into_iter().collect()
    })
}

/// A document `check` accepts, with at least one input.
pub(super) fn valid_doc() -> impl Strategy<Value = Value> {
    let bools = prop::collection::vec(prop::option::of(any::<bool>()), 4);
    let strings = prop::collection::vec(prop::option::of(text_value()), 5);
    let idle = prop::option::of(prop_oneof![
        (1u32..=60).prop_map(|n| n.to_string()),
        Just("{idle_minutes}".to_string()),
    ]);
    let max = prop::option::of(prop_oneof![
        Just(String::new()),
        (1u32..=1440).prop_map(|n| n.to_string()),
    ]);
    let shell = prop::option::of((
        prop::option::of(text_value()),
        prop::option::of(text_value()),
    ));
    (
        bools,
        strings,
        idle,
        max,
        shell,
        prop::option::of(text_value()),
    )
        .prop_map(|(bools, strings, idle, max, shell, description)| {
            let mut inputs = Map::new();
            for (k, v) in BOOL_INPUTS.iter().zip(bools) {
                if let Some(v) = v {
                    inputs.insert(k.to_string(), Value::Bool(v));
                }
            }
            for (k, v) in STRING_INPUTS.iter().zip(strings) {
                if let Some(v) = v {
                    // A name AWS's rules refuse is another test's subject: stand in a
                    // valid one.
                    let v = match name_problem(k, &v) {
                        Some(_) => match *k {
                            "s3BucketName" => "org-session-logs".to_string(),
                            "cloudWatchLogGroupName" => "/ssm/sessions".to_string(),
                            "kmsKeyId" => "alias/ssm-sessions".to_string(),
                            _ => "ssm-user".to_string(),
                        },
                        None => v,
                    };
                    inputs.insert(k.to_string(), Value::String(v));
                }
            }
            if let Some(v) = idle {
                inputs.insert("idleSessionTimeout".into(), Value::String(v));
            }
            if let Some(v) = max {
                inputs.insert("maxSessionDuration".into(), Value::String(v));
            }
            if let Some((windows, linux)) = shell {
                let mut profile = Map::new();
                if let Some(w) = windows {
                    profile.insert("windows".into(), Value::String(w));
                }
                if let Some(l) = linux {
                    profile.insert("linux".into(), Value::String(l));
                }
                inputs.insert("shellProfile".into(), Value::Object(profile));
            }
            let user_missing = inputs
                .get("runAsDefaultUser")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
            if inputs.get("runAsEnabled") == Some(&Value::Bool(true)) && user_missing {
                inputs.insert("runAsDefaultUser".into(), Value::String("ssm-user".into()));
            }
            if inputs.is_empty() {
                inputs.insert("s3EncryptionEnabled".into(), Value::Bool(true));
            }
            let mut doc = Map::new();
            doc.insert("schemaVersion".into(), Value::String("1.0".into()));
            if let Some(d) = description {
                doc.insert("description".into(), Value::String(d));
            }
            doc.insert(
                "sessionType".into(),
                Value::String("Standard_Stream".into()),
            );
            doc.insert("inputs".into(), Value::Object(inputs));
            Value::Object(doc)
        })
}

pub(super) fn target() -> impl Strategy<Value = Target> {
    (
        "[0-9]{12}",
        "[^\u{0}]{0,10}",
        select(vec![
            "us-east-1",
            "eu-west-1",
            "cn-north-1",
            "us-gov-west-1",
        ]),
        "[^\u{0}]{0,10}",
        1u32..=60,
    )
        .prop_map(|(id, name, region, bucket, idle)| Target {
            account: Arc::new(Account {
                name,
                vars: BTreeMap::from([
                    ("log_bucket".to_string(), bucket),
                    ("idle_minutes".to_string(), idle.to_string()),
                ]),
                ..Account::new(AccountId::parse(&id).expect("12 digits"), 0)
            }),
            region: Region::parse(region).expect("a known region"),
        })
}

/// Validates `doc` as a file would be, then renders it for `target`.
pub(super) fn rendered(doc: &Value, target: &Target) -> Result<Value, TestCaseError> {
    let text = to_content(doc);
    let (parsed, placeholders, _warnings) = check(Path::new(FILE), &text).map_err(|p| {
        TestCaseError::fail(format!("a valid document was rejected: {p:?}\n{text}"))
    })?;
    let prefs = Preferences {
        path: FILE.into(),
        doc: parsed,
        file_sha256: sha256_hex(text.as_bytes()),
        placeholders,
        warnings: vec![],
        vars: BTreeMap::new(),
    };
    let unfillable = prefs.unfillable(std::slice::from_ref(target));
    prop_assert!(unfillable.is_empty(), "{:?}", unfillable);
    prefs
        .desired(target, None, false)
        .map_err(|e| TestCaseError::fail(format!("render failed: {e}\n{text}")))
}

/// The same document with its entries (top level, inputs, shellProfile) in another order.
pub(super) fn reorder(v: &Value, keys: &[u32]) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(usize, (&String, &Value))> = m.iter().enumerate().collect();
            entries.sort_by_key(|(i, _)| (keys.get(*i % keys.len().max(1)).copied(), *i));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(_, (k, v))| (k.clone(), reorder(v, keys)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// A value that differs from `v`.
pub(super) fn changed(v: &Value) -> Value {
    match v {
        Value::Bool(b) => Value::Bool(!b),
        Value::String(s) => Value::String(format!("{s}x")),
        Value::Object(m) => {
            let mut m = m.clone();
            let linux = match m.get("linux") {
                Some(Value::String(s)) => format!("{s}; echo changed"),
                _ => "echo changed".into(),
            };
            m.insert("linux".into(), Value::String(linux));
            Value::Object(m)
        }
        _ => Value::Null,
    }
}
