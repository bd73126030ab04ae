//! The preferences file loaded (checked by check.rs), and rendered per target: placeholders
//! filled, names checked, the content SSM is sent and its hash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::check::*;
use crate::error::{InputError, Problem};
use crate::target::Target;
use crate::words::count;

/// Placeholders every target can fill.
pub(crate) const BUILTIN_PLACEHOLDERS: &[&str] =
    &["account_id", "account_name", "region", "partition"];

/// A validated preferences file.
#[derive(Debug)]
pub(crate) struct Preferences {
    pub path: PathBuf,
    /// The parsed document, keys in file order.
    pub doc: Value,
    /// SHA-256 of the file's bytes, for the run's metadata.
    pub file_sha256: String,
    /// `{name}` placeholders used in string values, with the line of their first use.
    pub placeholders: Vec<(String, usize)>,
    pub warnings: Vec<Problem>,
    /// `--var KEY=VALUE`: a placeholder's value for every account that gives none.
    pub vars: BTreeMap<String, String>,
}

/// Loads and validates a preferences file, reporting every problem at once.
pub(crate) fn load(path: &Path) -> Result<Preferences, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::read(path, source))?;
    let file_sha256 = sha256_hex(&bytes);
    let text = String::from_utf8(bytes)
        .map_err(|_| InputError::one(path, None, "the preferences file is not UTF-8 text"))?;
    // A UTF-8 byte order mark (an editor's, on Windows) is not JSON: read past it, as the
    // inventory is read.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let (doc, placeholders, warnings) = check(path, text).map_err(InputError::Problems)?;
    Ok(Preferences {
        path: path.to_path_buf(),
        doc,
        file_sha256,
        placeholders,
        warnings,
        vars: BTreeMap::new(),
    })
}

impl Preferences {
    /// The placeholders that stand in a sensitive input's value (`shellProfile`,
    /// `runAsDefaultUser`): only reviewed sources may fill those.
    pub(crate) fn sensitive_placeholders(&self) -> BTreeSet<String> {
        let inputs = self.doc.get("inputs");
        crate::sensitive::INPUTS
            .iter()
            .filter_map(|k| inputs.and_then(|i| i.get(*k)))
            .flat_map(find_placeholders)
            .collect()
    }

    /// Whether a placeholder of this name is filled somewhere in the file.
    pub(crate) fn uses(&self, placeholder: &str) -> bool {
        self.placeholders
            .iter()
            .any(|(name, _)| name == placeholder)
    }

    /// Placeholders that the given targets cannot fill, each naming the first targets that lack it.
    pub(crate) fn unfillable(&self, targets: &[Target]) -> Vec<Problem> {
        let mut out = vec![];
        for (name, line) in &self.placeholders {
            let missing: Vec<&Target> = targets
                .iter()
                .filter(|t| placeholder_value(t, name, &self.vars).is_none())
                .collect();
            if let Some(first) = missing.first() {
                let mut accounts: Vec<String> = missing
                    .iter()
                    .map(|t| format!("{} ({})", t.account.id, t.account.name))
                    .collect();
                accounts.dedup();
                let more = if accounts.len() > 3 {
                    format!(" and {} more", accounts.len() - 3)
                } else {
                    String::new()
                };
                accounts.truncate(3);
                out.push(Problem::at(
                    &self.path,
                    Some(*line),
                    format!(
                        "placeholder {{{name}}} has no value for account {}{more} (target {}/{}): add `{name}` to the account's vars or the inventory's top-level vars, or pass --var {name}=VALUE",
                        accounts.join(", "),
                        first.account.id,
                        first.region
                    ),
                ));
            }
        }
        out
    }

    /// Names that break AWS's rules once rendered for these targets (a per-account bucket
    /// name with an upper-case account name, say), each naming the first targets affected.
    pub(crate) fn invalid_names(&self, targets: &[Target]) -> Vec<Problem> {
        let Some(Value::Object(inputs)) = self.doc.get("inputs") else {
            return vec![];
        };
        let templated: Vec<(&String, &str)> = inputs
            .iter()
            .filter_map(|(k, v)| v.as_str().filter(|s| has_placeholder(s)).map(|s| (k, s)))
            .collect();
        let mut out = vec![];
        for (key, template) in templated {
            let mut broken: Vec<(String, String)> = vec![];
            for t in targets {
                let mut value = Value::String(template.to_string());
                if render(&mut value, t, &self.vars).is_err() {
                    continue; // unfillable, reported on its own
                }
                let rendered = value.as_str().unwrap_or_default();
                if let Some(why) = name_problem(key, rendered) {
                    broken.push((
                        format!("{}/{}", t.account.id, t.region),
                        format!("{rendered:?} {why}"),
                    ));
                }
            }
            if let Some((first, why)) = broken.first() {
                let line = placeholders_in(template)
                    .next()
                    .and_then(|(a, b)| {
                        let name = &template[a + 1..b - 1];
                        self.placeholders.iter().find(|(n, _)| n == name)
                    })
                    .map(|(_, line)| *line);
                let more = match broken.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", count(n - 1, "target")),
                };
                out.push(Problem::at(
                    &self.path,
                    line,
                    format!("{key} for target {first} is {why}{more}"),
                ));
            }
        }
        out
    }

    /// The content this target should hold: placeholders filled, and with `merge`, the
    /// target's own inputs that the file does not set kept.
    pub(crate) fn desired(
        &self,
        target: &Target,
        current: Option<&Value>,
        merge: bool,
    ) -> Result<Value, String> {
        let mut doc = self.doc.clone();
        render(&mut doc, target, &self.vars)?;
        if merge
            && let (Some(Value::Object(cur)), Some(Value::Object(want))) =
                (current.and_then(|c| c.get("inputs")), doc.get_mut("inputs"))
        {
            for (k, v) in cur {
                if !want.contains_key(k) {
                    want.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(doc)
    }
}

pub(super) fn render(
    v: &mut Value,
    target: &Target,
    run_vars: &BTreeMap<String, String>,
) -> Result<(), String> {
    match v {
        Value::String(s) if has_placeholder(s) => {
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for (a, b) in placeholders_in(s) {
                let name = &s[a + 1..b - 1];
                let value = placeholder_value(target, name, run_vars)
                    .ok_or_else(|| format!("placeholder {{{name}}} has no value"))?;
                out.push_str(&s[last..a]);
                out.push_str(&value);
                last = b;
            }
            out.push_str(&s[last..]);
            *s = out;
        }
        Value::Array(a) => a.iter_mut().try_for_each(|x| render(x, target, run_vars))?,
        Value::Object(m) => m
            .values_mut()
            .try_for_each(|x| render(x, target, run_vars))?,
        _ => {}
    }
    Ok(())
}

/// The SHA-256 of `bytes`, as lowercase hex: how a file or a document's content is named by
/// its hash.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preferences::{changed_keys, diff};

    fn problems(text: &str) -> Vec<Problem> {
        check(Path::new("p.json"), text).err().unwrap_or_default()
    }

    const OK: &str = r#"{"schemaVersion":"1.0","description":"d","sessionType":"Standard_Stream","inputs":{"s3BucketName":"logs-b","runAsEnabled":false}}"#;

    #[test]
    fn accepts_a_valid_file() {
        assert!(check(Path::new("p.json"), OK).is_ok());
    }

    #[test]
    fn key_lines_follow_the_path_and_catch_repeats() {
        let text = "{\n \"description\": \"d\",\n \"inputs\": {\n  \"a\\\"\": 1,\n  \"description\": 2,\n  \"description\": 3\n }\n}";
        let keys = KeyLines::scan(text);
        assert_eq!(keys.line(&["description"]), Some(2));
        assert_eq!(keys.line(&["inputs", "a\""]), Some(4));
        assert_eq!(keys.line(&["inputs", "description"]), Some(5));
        let path = vec!["inputs".to_string(), "description".to_string()];
        assert_eq!(keys.duplicates, vec![(path, 5, 6)]);
    }

    #[test]
    fn trailing_comma_points_at_the_comma() {
        let text =
            "{\n \"schemaVersion\": \"1.0\",\n \"inputs\": {\n  \"s3BucketName\": \"x\",\n }\n}";
        let p = &problems(text)[0];
        assert_eq!(p.line, Some(4));
        assert!(p.message.contains("trailing comma"), "{}", p.message);
    }

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

    #[test]
    fn placeholders_skip_shell_syntax() {
        let found: Vec<_> = placeholders_in("{region}-${HOME}-{x y}-{account_id}").collect();
        assert_eq!(found, vec![(0, 8), (23, 35)]);
    }
}

#[cfg(test)]
mod proptests {
    //! Properties: no text makes validation panic, and every problem names the file on a line
    //! that exists; a rendered document compares equal to itself and to what is written for it;
    //! key order and whitespace never count as a change, and one changed input is named exactly.

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use proptest::prelude::*;
    use proptest::sample::{Index, select};

    use super::*;
    use crate::error::InputError;
    use crate::error::Origin;
    use crate::preferences::{Change, changed_keys, diff, to_content};
    use crate::target::Account;
    use crate::target::{AccountId, Region};
    use serde_json::Map;

    const CASES: u32 = 256;
    const FILE: &str = "p.json";

    fn config() -> ProptestConfig {
        ProptestConfig::with_cases(CASES)
    }

    /// Every problem is about p.json, says so first when printed, and points at a line the
    /// file has (a `file:line` that opens nowhere helps nobody).
    fn assert_problems_name_the_file(
        text: &str,
        problems: &[Problem],
    ) -> Result<(), TestCaseError> {
        prop_assert!(!problems.is_empty(), "an error with no problem in it");
        let lines = text.split('\n').count();
        for p in problems {
            prop_assert_eq!(&p.origin, &Origin::File(FILE.into()));
            let shown = p.to_string();
            prop_assert!(shown.starts_with("p.json:"), "{}", shown);
            if let Some(line) = p.line {
                prop_assert!(
                    (1..=lines).contains(&line),
                    "line {} of {}: {}",
                    line,
                    lines,
                    shown
                );
            }
        }
        let all = InputError::Problems(problems.to_vec()).to_string();
        prop_assert!(all.contains(FILE), "{}", all);
        Ok(())
    }

    fn check_text(text: &str) -> Result<(), TestCaseError> {
        match check(Path::new(FILE), text) {
            Ok(_) => Ok(()),
            Err(problems) => assert_problems_name_the_file(text, &problems),
        }
    }

    // ---- generators -------------------------------------------------------------------------

    /// Tokens of JSON and of this file's vocabulary, glued at random: mostly invalid JSON that
    /// reaches deeper than random characters do (unclosed strings, bad escapes, BOMs).
    fn json_soup() -> impl Strategy<Value = String> {
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

    fn odd_string() -> impl Strategy<Value = String> {
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

    fn any_key() -> impl Strategy<Value = String> {
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

    fn any_json() -> impl Strategy<Value = Value> {
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
    enum Doc {
        Leaf(Value),
        Arr(Vec<Doc>),
        Obj(Vec<(String, Doc)>),
    }

    impl Doc {
        fn from_value(v: &Value) -> Doc {
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
    struct Layout {
        indent: Option<&'static str>,
        gaps: Vec<&'static str>,
    }

    fn layout() -> impl Strategy<Value = Layout> {
        let gap = select(vec!["", " ", "  ", "\n", "\t", "\r\n", " \n  ", "\n\n"]);
        (
            prop::option::of(select(vec!["", " ", "  ", "    ", "\t"])),
            prop::collection::vec(gap, 0..12),
        )
            .prop_map(|(indent, gaps)| Layout { indent, gaps })
    }

    struct Writer<'a> {
        layout: &'a Layout,
        turn: usize,
        out: String,
    }

    impl Writer<'_> {
        fn write(layout: &Layout, doc: &Doc) -> String {
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

    fn input_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            odd_string().prop_map(Value::String),
            (0u32..2000).prop_map(|n| Value::String(n.to_string())),
            (0u32..2000).prop_map(Value::from),
            prop::collection::vec(
                (select(vec!["windows", "linux", "macos"]), any_json()),
                0..3
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
            any_json(),
        ]
    }

    /// A document shaped like a preferences file, with the wrong types, unknown and repeated
    /// keys, and missing fields mixed in.
    fn near_valid() -> impl Strategy<Value = Doc> {
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
    fn text_value() -> impl Strategy<Value = String> {
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
    fn mutated_json() -> impl Strategy<Value = String> {
        let token = select(vec![
            ",", ":", "\"", "{", "}", "[", "]", "\\", "\n", "\"k\":", "1", "true", "é", "\u{feff}",
        ]);
        let edit = (0..10u8, any::<Index>(), token);
        (valid_doc(), layout(), prop::collection::vec(edit, 1..4)).prop_map(
            |(doc, layout, edits)| {
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
            },
        )
    }

    /// A document `check` accepts, with at least one input.
    fn valid_doc() -> impl Strategy<Value = Value> {
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

    fn target() -> impl Strategy<Value = Target> {
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
    fn rendered(doc: &Value, target: &Target) -> Result<Value, TestCaseError> {
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
    fn reorder(v: &Value, keys: &[u32]) -> Value {
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
    fn changed(v: &Value) -> Value {
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

    // ---- properties -------------------------------------------------------------------------

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn check_survives_any_text(text in any::<String>()) {
            check_text(&text)?;
        }

        #[test]
        fn check_survives_any_bytes_read_as_utf8(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            check_text(&String::from_utf8_lossy(&bytes))?;
        }

        #[test]
        fn check_survives_json_soup(text in json_soup()) {
            check_text(&text)?;
        }

        #[test]
        fn check_survives_edited_valid_documents(text in mutated_json()) {
            check_text(&text)?;
            // A trailing comma is reported where the comma to delete is.
            if let Err(problems) = check(Path::new(FILE), &text) {
                for p in problems.iter().filter(|p| p.message.contains("trailing comma")) {
                    let (line, column) = (p.line.expect("a line"), p.column.expect("a column"));
                    let at = text.split('\n').nth(line - 1).and_then(|l| l.as_bytes().get(column - 1));
                    prop_assert_eq!(at, Some(&b','), "{}\n{}", p, text);
                }
            }
        }

        #[test]
        fn check_survives_near_valid_documents(doc in near_valid(), layout in layout()) {
            let text = Writer::write(&layout, &doc);
            check_text(&text)?;
        }

        #[test]
        fn a_rendered_document_equals_itself_and_what_is_written_for_it(
            doc in valid_doc(),
            target in target(),
        ) {
            let rendered = rendered(&doc, &target)?;
            prop_assert!(diff(&rendered, &rendered).is_empty());
            let content = to_content(&rendered);
            let back: Value = serde_json::from_str(&content).expect("the content is JSON");
            prop_assert!(diff(&rendered, &back).is_empty(), "{:?}", diff(&rendered, &back));
            prop_assert!(diff(&back, &rendered).is_empty(), "{:?}", diff(&back, &rendered));
            // Writing what was read back gives the same bytes, so content_sha256 is stable.
            prop_assert_eq!(to_content(&back), content);
            // Merging a target that already holds it changes nothing.
            let prefs = Preferences {
                path: FILE.into(),
                doc: doc.clone(),
                file_sha256: String::new(),
                placeholders: vec![],
                warnings: vec![],
                vars: BTreeMap::new(),
            };
            let merged = prefs.desired(&target, Some(&back), true).expect("renders");
            prop_assert!(diff(&merged, &back).is_empty());
        }

        #[test]
        fn key_order_and_whitespace_are_not_changes(
            doc in valid_doc(),
            target in target(),
            keys in prop::collection::vec(any::<u32>(), 1..16),
            style in 0..3u8,
            layout in layout(),
        ) {
            let rendered = rendered(&doc, &target)?;
            let shuffled = reorder(&rendered, &keys);
            let text = match style {
                0 => serde_json::to_string(&shuffled).expect("serializes"),
                1 => serde_json::to_string_pretty(&shuffled).expect("serializes"),
                _ => Writer::write(&layout, &Doc::from_value(&shuffled)),
            };
            let current: Value = serde_json::from_str(&text).expect("valid JSON");
            prop_assert!(diff(&rendered, &current).is_empty(), "{:?}\n{}", diff(&rendered, &current), text);
            prop_assert!(diff(&current, &rendered).is_empty());
            // The file itself, reordered and re-spaced, still validates.
            let text = Writer::write(&layout, &Doc::from_value(&reorder(&doc, &keys)));
            prop_assert!(check(Path::new(FILE), &text).is_ok(), "{}", text);
        }

        #[test]
        fn one_changed_input_is_named_exactly(
            doc in valid_doc(),
            target in target(),
            keys in prop::collection::vec(any::<u32>(), 1..16),
            layout in layout(),
            pick in any::<Index>(),
        ) {
            let rendered = rendered(&doc, &target)?;
            let current: Value = serde_json::from_str(&Writer::write(
                &layout,
                &Doc::from_value(&reorder(&rendered, &keys)),
            ))
            .expect("valid JSON");
            let inputs = rendered["inputs"].as_object().expect("inputs");
            let (key, was) = inputs.iter().nth(pick.index(inputs.len())).expect("an input");

            let mut want = rendered.clone();
            let now = changed(was);
            want["inputs"][key] = now.clone();
            let changes = diff(&want, &current);
            // As shown: a sensitive input's values are masked.
            prop_assert_eq!(
                changes,
                vec![Change::shown(key.clone(), Some(was.clone()), Some(now))]
            );

            // Dropped from the desired content, or found only on the target: also that key alone.
            let mut dropped = rendered.clone();
            dropped["inputs"].as_object_mut().expect("inputs").shift_remove(key);
            let changes = diff(&dropped, &current);
            prop_assert_eq!(changed_keys(&changes), key.as_str());
            prop_assert_eq!(&changes[0].to, &None);
            let changes = diff(&current, &dropped);
            prop_assert_eq!(changed_keys(&changes), key.as_str());
            prop_assert_eq!(&changes[0].from, &None);
        }
    }
}
