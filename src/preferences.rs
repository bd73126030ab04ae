//! The preferences JSON: load and validate it, render it per target, compare it with what a
//! target holds (parsed JSON, never bytes), and name the inputs that differ.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{InputError, Problem};
use crate::suggest::did_you_mean;
use crate::target::Target;

/// SSM rejects document content over 64 KB.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;

/// Inputs SSM-SessionManagerRunShell (a Standard_Stream session document) understands.
const BOOL_INPUTS: &[&str] = &[
    "s3EncryptionEnabled",
    "cloudWatchEncryptionEnabled",
    "cloudWatchStreamingEnabled",
    "runAsEnabled",
];
const STRING_INPUTS: &[&str] = &[
    "s3BucketName",
    "s3KeyPrefix",
    "cloudWatchLogGroupName",
    "kmsKeyId",
    "runAsDefaultUser",
];
/// (input, minimum, maximum, empty allowed): minutes, written as strings.
const RANGE_INPUTS: &[(&str, u32, u32, bool)] = &[
    ("idleSessionTimeout", 1, 60, false),
    ("maxSessionDuration", 1, 1440, true),
];
const TOP_KEYS: &[&str] = &["schemaVersion", "description", "sessionType", "inputs"];
/// Values copied from the AWS page's example that nobody means to deploy.
const EXAMPLE_VALUES: &[&str] = &[
    "DOC-EXAMPLE-BUCKET",
    "MyBucketPrefix",
    "MyLogGroupName",
    "MyKMSKeyID",
    "MyDefaultRunAsUser",
];
/// Placeholders every target can fill.
pub const BUILTIN_PLACEHOLDERS: &[&str] = &["account_id", "account_name", "region", "partition"];

fn known_inputs() -> impl Iterator<Item = &'static str> {
    BOOL_INPUTS
        .iter()
        .chain(STRING_INPUTS)
        .copied()
        .chain(RANGE_INPUTS.iter().map(|r| r.0))
        .chain(["shellProfile"])
}

/// A validated preferences file.
#[derive(Debug)]
pub struct Preferences {
    pub path: PathBuf,
    /// The parsed document, keys in file order.
    pub doc: Value,
    /// SHA-256 of the file's bytes, for the run's metadata.
    pub file_sha256: String,
    /// `{name}` placeholders used in string values, with the line of their first use.
    pub placeholders: Vec<(String, usize)>,
    pub warnings: Vec<Problem>,
}

/// One input (or top-level field) whose value differs between a target and the desired content.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub key: String,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

/// Loads and validates a preferences file, reporting every problem at once.
pub fn load(path: &Path) -> Result<Preferences, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.into(),
        source,
    })?;
    let file_sha256 = sha256_hex(&bytes);
    let text = String::from_utf8(bytes)
        .map_err(|_| InputError::one(path, None, "the preferences file is not UTF-8 text"))?;
    let (doc, placeholders, warnings) = check(path, &text).map_err(InputError::Problems)?;
    Ok(Preferences {
        path: path.to_path_buf(),
        doc,
        file_sha256,
        placeholders,
        warnings,
    })
}

type Checked = (Value, Vec<(String, usize)>, Vec<Problem>);

/// Parse, then validate: every problem in the file, not just the first.
pub fn check(path: &Path, text: &str) -> Result<Checked, Vec<Problem>> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| vec![json_syntax_problem(path, text, &e)])?;
    let mut problems = vec![];
    let mut warnings = vec![];
    let keys = KeyLines::scan(text);
    let line_of = |key: &str| keys.line(&[key]);
    let mut problem =
        |line: Option<usize>, msg: String| problems.push(Problem::at(path, line, msg));

    for (key_path, first, again) in &keys.duplicates {
        problem(
            Some(*again),
            format!(
                "{} is set twice (lines {first} and {again}): JSON keeps only the last one, silently; delete one",
                key_path.join(".")
            ),
        );
    }
    // What is sent is the parsed document pretty-printed, not the file's bytes.
    let size = to_content(&doc).len();
    if size > MAX_CONTENT_BYTES {
        problem(
            None,
            format!(
                "the content is {size} bytes as sent to SSM: SSM documents are limited to {MAX_CONTENT_BYTES} bytes (64 KB)"
            ),
        );
    }
    let Value::Object(top) = &doc else {
        return Err(vec![Problem::at(
            path,
            Some(1),
            "the preferences must be a JSON object with schemaVersion, sessionType and inputs",
        )]);
    };
    for key in top.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            problem(
                line_of(key),
                format!(
                    "unknown top-level key {key:?}{}",
                    did_you_mean(key, TOP_KEYS.iter().copied())
                ),
            );
        }
    }
    match top.get("schemaVersion") {
        Some(Value::String(v)) if v == "1.0" => {}
        Some(other) => problem(
            line_of("schemaVersion"),
            format!("schemaVersion must be \"1.0\", not {other}"),
        ),
        None => problem(
            Some(1),
            "schemaVersion is missing: session documents use \"1.0\"".into(),
        ),
    }
    match top.get("sessionType") {
        Some(Value::String(v)) if v == "Standard_Stream" => {}
        Some(other) => problem(
            line_of("sessionType"),
            format!(
                "sessionType must be \"Standard_Stream\" (Session Manager preferences), not {other}"
            ),
        ),
        None => problem(
            Some(1),
            "sessionType is missing: Session Manager preferences use \"Standard_Stream\"".into(),
        ),
    }
    if let Some(d) = top.get("description").filter(|d| !d.is_string()) {
        problem(
            line_of("description"),
            format!("description must be a string, not {d}"),
        );
    }
    match top.get("inputs") {
        Some(Value::Object(inputs)) => check_inputs(
            inputs,
            &|key_path| keys.line(key_path),
            &mut problem,
            &mut |line, msg| warnings.push(Problem::at(path, line, msg)),
        ),
        Some(other) => problem(
            line_of("inputs"),
            format!("inputs must be an object, not {other}"),
        ),
        None => problem(
            Some(1),
            "inputs is missing: it holds the preferences".into(),
        ),
    }
    let placeholders = find_placeholders(&doc).into_iter().map(|p| {
        let line = line_of_text(text, &format!("{{{p}}}")).unwrap_or(1);
        (p, line)
    });
    let placeholders = placeholders.collect();
    if problems.is_empty() {
        Ok((doc, placeholders, warnings))
    } else {
        Err(problems)
    }
}

fn check_inputs(
    inputs: &Map<String, Value>,
    line_of: &dyn Fn(&[&str]) -> Option<usize>,
    problem: &mut dyn FnMut(Option<usize>, String),
    warn: &mut dyn FnMut(Option<usize>, String),
) {
    for (key, value) in inputs {
        let line = line_of(&["inputs", key]);
        let k = key.as_str();
        if BOOL_INPUTS.contains(&k) {
            if !value.is_boolean() {
                problem(
                    line,
                    format!("{key} must be true or false (a JSON boolean, unquoted), not {value}"),
                );
            }
        } else if STRING_INPUTS.contains(&k) {
            match value {
                Value::String(s) if EXAMPLE_VALUES.contains(&s.as_str()) => warn(
                    line,
                    format!(
                        "{key} is {s:?}, the AWS page's example value: replace it with your own"
                    ),
                ),
                Value::String(_) => {}
                other => problem(line, format!("{key} must be a string, not {other}")),
            }
        } else if let Some(&(_, min, max, empty_ok)) = RANGE_INPUTS.iter().find(|r| r.0 == k) {
            match value {
                Value::String(s) if s.is_empty() && empty_ok => {}
                Value::String(s) if has_placeholder(s) => {}
                Value::String(s) => match s.parse::<u32>() {
                    Ok(n) if (min..=max).contains(&n) => {}
                    _ => problem(
                        line,
                        format!(
                            "{key} must be a whole number of minutes from {min} to {max}, written as a string; {s:?} is not"
                        ),
                    ),
                },
                Value::Number(n) => problem(
                    line,
                    format!(
                        "{key} must be a string such as \"{n}\" (in quotes), not the number {n}"
                    ),
                ),
                other => problem(
                    line,
                    format!("{key} must be a string of minutes from {min} to {max}, not {other}"),
                ),
            }
        } else if k == "shellProfile" {
            match value {
                Value::Object(profile) => {
                    for (os, cmd) in profile {
                        if os != "windows" && os != "linux" {
                            problem(
                                line_of(&["inputs", "shellProfile", os]),
                                format!(
                                    "shellProfile has only \"windows\" and \"linux\", not {os:?}"
                                ),
                            );
                        } else if !cmd.is_string() {
                            problem(
                                line_of(&["inputs", "shellProfile", os]),
                                format!(
                                    "shellProfile.{os} must be a string of commands, not {cmd}"
                                ),
                            );
                        }
                    }
                }
                other => problem(
                    line,
                    format!(
                        "shellProfile must be an object with \"windows\" and/or \"linux\", not {other}"
                    ),
                ),
            }
        } else {
            problem(
                line,
                format!("unknown input {key:?}{}", did_you_mean(key, known_inputs())),
            );
        }
    }
    if inputs.get("runAsEnabled") == Some(&Value::Bool(true)) {
        let user = inputs
            .get("runAsDefaultUser")
            .and_then(Value::as_str)
            .unwrap_or("");
        if user.is_empty() {
            problem(line_of(&["inputs", "runAsEnabled"]), "runAsEnabled is true but runAsDefaultUser is empty: name the OS user sessions run as".into());
        }
    }
}

/// A serde_json syntax error, pointed at the line a person has to fix.
fn json_syntax_problem(path: &Path, text: &str, e: &serde_json::Error) -> Problem {
    let full = e.to_string();
    let msg = full
        .rsplit_once(" at line ")
        .map(|(m, _)| m.to_string())
        .unwrap_or(full);
    let (mut line, mut column) = (e.line(), e.column());
    let message = if msg.starts_with("trailing comma") {
        // serde_json points at the closing brace; the comma to delete is before it.
        if let Some((l, c)) = offset_of(text, line, column)
            .and_then(|o| text[..o].rfind(','))
            .map(|o| line_col(text, o))
        {
            (line, column) = (l, c);
        }
        "invalid JSON: trailing comma after the last entry; delete it (the AWS page's own warning: the last line of a section must not end with a comma)".to_string()
    } else if e.is_eof() {
        format!("invalid JSON: the file ends early ({msg}): a closing brace or quote is missing")
    } else {
        format!("invalid JSON: {msg}")
    };
    Problem {
        file: path.to_path_buf(),
        line: Some(line),
        column: Some(column),
        message,
    }
}

fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    Some((start + column.saturating_sub(1)).min(text.len()))
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = offset - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// Where each key of a (valid) JSON text is written, by its path of keys, and the keys written
/// twice in one object, which serde_json resolves silently by keeping the last.
struct KeyLines {
    lines: HashMap<Vec<String>, usize>,
    /// (path, first line, line of the repeat)
    duplicates: Vec<(Vec<String>, usize, usize)>,
}

impl KeyLines {
    fn scan(text: &str) -> Self {
        /// An open object (its keys so far, and the key whose value is being read) or array.
        enum Frame {
            Object(HashMap<String, usize>, Option<String>),
            Array,
        }
        let mut out = KeyLines {
            lines: HashMap::new(),
            duplicates: vec![],
        };
        let bytes = text.as_bytes();
        let mut stack: Vec<Frame> = vec![];
        let (mut i, mut line, mut expect_key) = (0, 1, false);
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => line += 1,
                b'{' => {
                    stack.push(Frame::Object(HashMap::new(), None));
                    expect_key = true;
                }
                b'[' => {
                    stack.push(Frame::Array);
                    expect_key = false;
                }
                b'}' | b']' => {
                    stack.pop();
                    expect_key = false;
                }
                b',' => expect_key = matches!(stack.last(), Some(Frame::Object(..))),
                b'"' => {
                    // Valid JSON: a string ends at the first quote not escaped, on this line.
                    let start = i;
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    if expect_key {
                        let key: String =
                            serde_json::from_str(&text[start..=i.min(text.len() - 1)])
                                .unwrap_or_default();
                        let mut path: Vec<String> = stack
                            .iter()
                            .take(stack.len().saturating_sub(1))
                            .map(|f| match f {
                                Frame::Object(_, Some(k)) => k.clone(),
                                _ => "[]".to_string(),
                            })
                            .collect();
                        path.push(key.clone());
                        if let Some(Frame::Object(seen, current)) = stack.last_mut() {
                            match seen.get(&key) {
                                Some(&first) => out.duplicates.push((path.clone(), first, line)),
                                None => {
                                    seen.insert(key.clone(), line);
                                }
                            }
                            *current = Some(key);
                        }
                        out.lines.entry(path).or_insert(line);
                        expect_key = false;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        out
    }

    fn line(&self, path: &[&str]) -> Option<usize> {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.lines.get(&path).copied()
    }
}

fn line_of_text(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|o| line_col(text, o).0)
}

/// `{name}` inside a string; `${name}` is shell syntax (in shellProfile) and is left alone.
fn placeholders_in(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if bytes[i] == b'{' && (i == 0 || bytes[i - 1] != b'$') {
                let start = i;
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                if j > start + 1 && j < bytes.len() && bytes[j] == b'}' {
                    i = j + 1;
                    return Some((start, j + 1));
                }
            }
            i += 1;
        }
        None
    })
}

fn has_placeholder(s: &str) -> bool {
    placeholders_in(s).next().is_some()
}

fn find_placeholders(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    visit_strings(v, &mut |s| {
        for (a, b) in placeholders_in(s) {
            out.insert(s[a + 1..b - 1].to_string());
        }
    });
    out
}

fn visit_strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| visit_strings(x, f)),
        Value::Object(m) => m.values().for_each(|x| visit_strings(x, f)),
        _ => {}
    }
}

/// The value a target gives a placeholder: a built-in, else the account's (or inventory's) vars.
fn placeholder_value(target: &Target, name: &str) -> Option<String> {
    match name {
        "account_id" => Some(target.account.id.to_string()),
        "account_name" => Some(target.account.name.clone()),
        "region" => Some(target.region.to_string()),
        "partition" => Some(target.region.partition().to_string()),
        _ => target.account.vars.get(name).cloned(),
    }
}

impl Preferences {
    /// Placeholders that the given targets cannot fill, each naming the first targets that lack it.
    pub fn unfillable(&self, targets: &[Target]) -> Vec<Problem> {
        let mut out = vec![];
        for (name, line) in &self.placeholders {
            let missing: Vec<&Target> = targets
                .iter()
                .filter(|t| placeholder_value(t, name).is_none())
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
                        "placeholder {{{name}}} has no value for account {}{more} (target {}/{}): add `{name}` to the account's vars or the inventory's top-level vars",
                        accounts.join(", "),
                        first.account.id,
                        first.region
                    ),
                ));
            }
        }
        out
    }

    /// The content this target should hold: placeholders filled, and with `merge`, the
    /// target's own inputs that the file does not set kept.
    pub fn desired(
        &self,
        target: &Target,
        current: Option<&Value>,
        merge: bool,
    ) -> Result<Value, String> {
        let mut doc = self.doc.clone();
        render(&mut doc, target)?;
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

fn render(v: &mut Value, target: &Target) -> Result<(), String> {
    match v {
        Value::String(s) if has_placeholder(s) => {
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for (a, b) in placeholders_in(s) {
                let name = &s[a + 1..b - 1];
                let value = placeholder_value(target, name)
                    .ok_or_else(|| format!("placeholder {{{name}}} has no value"))?;
                out.push_str(&s[last..a]);
                out.push_str(&value);
                last = b;
            }
            out.push_str(&s[last..]);
            *s = out;
        }
        Value::Array(a) => a.iter_mut().try_for_each(|x| render(x, target))?,
        Value::Object(m) => m.values_mut().try_for_each(|x| render(x, target))?,
        _ => {}
    }
    Ok(())
}

/// What is written to SSM: stable, readable JSON in the file's key order.
pub fn to_content(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).expect("a JSON value always serializes")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fields and inputs that differ; empty means the target already holds the desired content.
/// Compares parsed values, so key order and whitespace never count.
pub fn diff(desired: &Value, current: &Value) -> Vec<Change> {
    let (Value::Object(want), Value::Object(have)) = (desired, current) else {
        return if desired == current {
            vec![]
        } else {
            vec![Change {
                key: "content".into(),
                from: Some(current.clone()),
                to: Some(desired.clone()),
            }]
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
                    changes.push(Change {
                        key: k.clone(),
                        from: h.get(k).cloned(),
                        to: w.get(k).cloned(),
                    });
                }
            }
            if want.get("inputs").is_some() != have.get("inputs").is_some()
                && w.is_empty()
                && h.is_empty()
            {
                changes.push(Change {
                    key: "inputs".into(),
                    from: have.get("inputs").cloned(),
                    to: want.get("inputs").cloned(),
                });
            }
        } else if want.get(key) != have.get(key) {
            changes.push(Change {
                key: key.clone(),
                from: have.get(key).cloned(),
                to: want.get(key).cloned(),
            });
        }
    }
    changes
}

fn union<'a>(a: &'a Map<String, Value>, b: &'a Map<String, Value>) -> Vec<&'a String> {
    let mut keys: Vec<&String> = a.keys().collect();
    keys.extend(b.keys().filter(|k| !a.contains_key(*k)));
    keys
}

/// `changed_inputs` column: the keys, `;`-separated.
pub fn changed_keys(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| c.key.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        check(Path::new("p.json"), text).err().unwrap_or_default()
    }

    const OK: &str = r#"{"schemaVersion":"1.0","description":"d","sessionType":"Standard_Stream","inputs":{"s3BucketName":"b","runAsEnabled":false}}"#;

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
