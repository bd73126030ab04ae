//! The preferences file checked: JSON syntax, the document's keys and each input's type,
//! range and name rules, every problem with its line and column.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::{Map, Value};

use super::diff::{MAX_CONTENT_BYTES, to_content};
use crate::error::{Origin, Problem};
use crate::names;
use crate::sensitive;
use crate::suggest::did_you_mean;
use crate::target::Target;

/// Inputs SSM-SessionManagerRunShell (a Standard_Stream session document) understands.
pub(super) const BOOL_INPUTS: &[&str] = &[
    "s3EncryptionEnabled",
    "cloudWatchEncryptionEnabled",
    "cloudWatchStreamingEnabled",
    "runAsEnabled",
];
pub(super) const STRING_INPUTS: &[&str] = &[
    "s3BucketName",
    "s3KeyPrefix",
    "cloudWatchLogGroupName",
    "kmsKeyId",
    "runAsDefaultUser",
];
/// (input, minimum, maximum, empty allowed): minutes, written as strings.
pub(super) const RANGE_INPUTS: &[(&str, u32, u32, bool)] = &[
    ("idleSessionTimeout", 1, 60, false),
    ("maxSessionDuration", 1, 1440, true),
];
pub(super) const TOP_KEYS: &[&str] = &["schemaVersion", "description", "sessionType", "inputs"];
/// Values copied from the AWS page's example that nobody means to deploy.
pub(super) const EXAMPLE_VALUES: &[&str] = &[
    "DOC-EXAMPLE-BUCKET",
    "MyBucketPrefix",
    "MyLogGroupName",
    "MyKMSKeyID",
    "MyDefaultRunAsUser",
];
pub(super) fn known_inputs() -> impl Iterator<Item = &'static str> {
    BOOL_INPUTS
        .iter()
        .chain(STRING_INPUTS)
        .copied()
        .chain(RANGE_INPUTS.iter().map(|r| r.0))
        .chain(["shellProfile"])
}

pub(super) type Checked = (Value, Vec<(String, usize)>, Vec<Problem>);

/// Parse, then validate: every problem in the file, not just the first.
pub(super) fn check(path: &Path, text: &str) -> Result<Checked, Vec<Problem>> {
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

pub(super) fn check_inputs(
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
            let broken = value.as_str().and_then(|s| name_problem(k, s));
            match value {
                // A bucket made in us-east-1 before March 2018 may have capitals and
                // underscores: S3, asked by preflight, decides (the AWS page's example stays
                // refused).
                Value::String(s)
                    if broken.is_some()
                        && k == "s3BucketName"
                        && !EXAMPLE_VALUES.contains(&s.as_str())
                        && names::legacy_bucket_name(s) =>
                {
                    warn(
                        line,
                        format!(
                            "{key} {s:?} {}, unless it is a bucket created in us-east-1 before March 2018 (such names may have capitals and underscores): preflight asks S3 whether it exists",
                            broken.unwrap_or_default()
                        ),
                    )
                }
                // A name AWS would refuse, or that cannot work: an example value too.
                Value::String(s) if broken.is_some() => problem(
                    line,
                    format!(
                        "{key} {s:?} {}{}",
                        broken.unwrap_or_default(),
                        if EXAMPLE_VALUES.contains(&s.as_str()) {
                            " (it is the AWS page's example value: replace it with your own)"
                        } else {
                            ""
                        }
                    ),
                ),
                Value::String(s) if EXAMPLE_VALUES.contains(&s.as_str()) => warn(
                    line,
                    format!(
                        "{key} is {s:?}, the AWS page's example value: replace it with your own"
                    ),
                ),
                Value::String(_) => {}
                other if sensitive::is_sensitive(k) => problem(
                    line,
                    format!("{key} must be a string, not {}", sensitive::kind(other)),
                ),
                other => problem(line, format!("{key} must be a string, not {other}")),
            }
        } else if let Some(&(_, min, max, empty_ok)) = RANGE_INPUTS.iter().find(|r| r.0 == k) {
            match value {
                Value::String(s) if s.is_empty() && empty_ok => {}
                Value::String(s) if has_placeholder(s) => {}
                // AWS's schema takes digits only: no sign, no leading zero ("+5", "020").
                Value::String(s) => match s.parse::<u32>() {
                    Ok(n)
                        if (min..=max).contains(&n)
                            && s.bytes().all(|b| b.is_ascii_digit())
                            && !s.starts_with('0') => {}
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
                                    "shellProfile.{os} must be a string of commands, not {}",
                                    sensitive::kind(cmd)
                                ),
                            );
                        }
                    }
                }
                other => problem(
                    line,
                    format!(
                        "shellProfile must be an object with \"windows\" and/or \"linux\", not {}",
                        sensitive::kind(other)
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

/// The inputs whose values are held to a name's rules ([`name_problem`]).
pub(super) const NAMED_INPUTS: [&str; 4] = [
    "s3BucketName",
    "cloudWatchLogGroupName",
    "kmsKeyId",
    "runAsDefaultUser",
];

/// Why a string input's value cannot work, by AWS's naming rules; a value with placeholders
/// is checked with each placeholder standing for a short valid word (the rendered values are
/// checked per target once the inventory is known: [`Preferences::invalid_names`]).
pub(super) fn name_problem(key: &str, value: &str) -> Option<String> {
    let templated = has_placeholder(value);
    let sample = if templated {
        let mut out = String::new();
        let mut last = 0;
        for (a, b) in placeholders_in(value) {
            out.push_str(&value[last..a]);
            out.push_str("000");
            last = b;
        }
        out.push_str(&value[last..]);
        out
    } else {
        value.to_string()
    };
    match key {
        "s3BucketName" if !sample.is_empty() => names::bucket_problem(&sample),
        "cloudWatchLogGroupName" if !sample.is_empty() => names::log_group_problem(&sample),
        // A whole key id from a placeholder looks like nothing before it is filled.
        "kmsKeyId" if !sample.is_empty() && !templated => names::kms_key_problem(&sample),
        "runAsDefaultUser" if sample == "root" => Some(
            "cannot work: Session Manager does not run sessions as root; name an unprivileged OS user"
                .into(),
        ),
        _ => None,
    }
}

/// A serde_json syntax error, pointed at the line a person has to fix.
pub(super) fn json_syntax_problem(path: &Path, text: &str, e: &serde_json::Error) -> Problem {
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
        origin: Origin::File(path.to_path_buf()),
        line: Some(line),
        column: Some(column),
        message,
    }
}

pub(super) fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    Some((start + column.saturating_sub(1)).min(text.len()))
}

pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = offset - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// Where each key of a (valid) JSON text is written, by its path of keys, and the keys written
/// twice in one object, which serde_json resolves silently by keeping the last.
pub(super) struct KeyLines {
    pub(super) lines: HashMap<Vec<String>, usize>,
    /// (path, first line, line of the repeat)
    pub(super) duplicates: Vec<(Vec<String>, usize, usize)>,
}

impl KeyLines {
    pub(super) fn scan(text: &str) -> Self {
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

    pub(super) fn line(&self, path: &[&str]) -> Option<usize> {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.lines.get(&path).copied()
    }
}

pub(super) fn line_of_text(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|o| line_col(text, o).0)
}

/// A byte of a placeholder's name: letters, digits and `_`.
fn in_placeholder_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `name` is a placeholder's name, as `{name}` is written in the preferences (what
/// `--var` and an Organizations tag `ssm-prefs:NAME` may fill).
pub(crate) fn is_placeholder_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(in_placeholder_name)
}

/// `{name}` inside a string; `${name}` is shell syntax (in shellProfile) and is left alone.
pub(super) fn placeholders_in(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if bytes[i] == b'{' && (i == 0 || bytes[i - 1] != b'$') {
                let start = i;
                let mut j = i + 1;
                while j < bytes.len() && in_placeholder_name(bytes[j]) {
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

pub(super) fn has_placeholder(s: &str) -> bool {
    placeholders_in(s).next().is_some()
}

pub(super) fn find_placeholders(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    visit_strings(v, &mut |s| {
        for (a, b) in placeholders_in(s) {
            out.insert(s[a + 1..b - 1].to_string());
        }
    });
    out
}

pub(super) fn visit_strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| visit_strings(x, f)),
        Value::Object(m) => m.values().for_each(|x| visit_strings(x, f)),
        _ => {}
    }
}

/// The value a target gives a placeholder: a built-in, else the account's (or inventory's)
/// vars, else the run's `--var`.
pub(super) fn placeholder_value(
    target: &Target,
    name: &str,
    run_vars: &BTreeMap<String, String>,
) -> Option<String> {
    match name {
        "account_id" => Some(target.account.id.to_string()),
        "account_name" => Some(target.account.name.clone()),
        "region" => Some(target.region.to_string()),
        "partition" => Some(target.region.partition().to_string()),
        _ => target
            .account
            .vars
            .get(name)
            .or_else(|| run_vars.get(name))
            .cloned(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! The checks by example, then properties: no text makes validation panic, and every
    //! problem names the file on a line that exists. The generators of documents are here,
    //! beside what they are made to pass or fail; load.rs's properties use them too.
    use proptest::prelude::*;
    use proptest::sample::{Index, select};

    use super::*;
    use crate::error::InputError;
    use crate::proptests::{any_text, config, problems_name_the_file, soup};

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
    fn placeholders_skip_shell_syntax() {
        let found: Vec<_> = placeholders_in("{region}-${HOME}-{x y}-{account_id}").collect();
        assert_eq!(found, vec![(0, 8), (23, 35)]);
    }

    // ---- generators -------------------------------------------------------------------------

    /// The file every generated document is checked as.
    pub(in crate::preferences) const FILE: &str = "p.json";

    /// Tokens of JSON and of this file's vocabulary, glued at random: mostly invalid JSON that
    /// reaches deeper than random characters do (unclosed strings, bad escapes, BOMs).
    fn json_soup() -> impl Strategy<Value = String> {
        let tokens = vec![
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
        ];
        soup(tokens, 48)
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
    pub(in crate::preferences) enum Doc {
        Leaf(Value),
        Arr(Vec<Doc>),
        Obj(Vec<(String, Doc)>),
    }

    impl Doc {
        pub(in crate::preferences) fn from_value(v: &Value) -> Doc {
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
    pub(in crate::preferences) struct Layout {
        indent: Option<&'static str>,
        gaps: Vec<&'static str>,
    }

    pub(in crate::preferences) fn layout() -> impl Strategy<Value = Layout> {
        let gap = select(vec!["", " ", "  ", "\n", "\t", "\r\n", " \n  ", "\n\n"]);
        (
            prop::option::of(select(vec!["", " ", "  ", "    ", "\t"])),
            prop::collection::vec(gap, 0..12),
        )
            .prop_map(|(indent, gaps)| Layout { indent, gaps })
    }

    pub(in crate::preferences) struct Writer<'a> {
        layout: &'a Layout,
        turn: usize,
        out: String,
    }

    impl Writer<'_> {
        pub(in crate::preferences) fn write(layout: &Layout, doc: &Doc) -> String {
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

        /// An array's or object's items between `open` and `close`, each on a line of its own
        /// (indented one deeper, `,` between) and written by `item`, gaps around each.
        fn list<T>(
            &mut self,
            [open, close]: [char; 2],
            items: &[T],
            depth: usize,
            item: impl Fn(&mut Self, &T),
        ) {
            self.out.push(open);
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.newline(depth + 1);
                self.gap();
                item(self, x);
                self.gap();
            }
            if !items.is_empty() {
                self.newline(depth);
            }
            self.out.push(close);
        }

        fn doc(&mut self, doc: &Doc, depth: usize) {
            match doc {
                Doc::Leaf(v) => self.out.push_str(&v.to_string()),
                Doc::Arr(items) => self.list(['[', ']'], items, depth, |w, item| {
                    w.doc(item, depth + 1);
                }),
                Doc::Obj(entries) => self.list(['{', '}'], entries, depth, |w, (k, v)| {
                    w.out.push_str(&Value::String(k.clone()).to_string());
                    w.gap();
                    w.out.push(':');
                    w.gap();
                    w.doc(v, depth + 1);
                }),
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
    pub(in crate::preferences) fn valid_doc() -> impl Strategy<Value = Value> {
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

    // ---- properties -------------------------------------------------------------------------

    /// Every problem is about p.json, on a line it has; so is the error they make.
    fn assert_problems_name_the_file(
        text: &str,
        problems: &[Problem],
    ) -> Result<(), TestCaseError> {
        problems_name_the_file(problems, Path::new(FILE), text.split('\n').count())?;
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

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn check_survives_any_text(text in any_text()) {
            check_text(&text)?;
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
    }
}
